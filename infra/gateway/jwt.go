package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// jwtAuthorizer checks a bearer token the way an HTTP API JWT authorizer does: an RSA signature by
// a key of the issuer's JWKS, the exact issuer, an audience (aud of an ID token, client_id of an
// access token) from the configured list, exp, nbf and iat.
type jwtAuthorizer struct {
	header   string // the identity source, $request.header.<header>
	issuer   string
	audience []string
	keys     *jwksCache
	now      func() time.Time
}

// jwtAlgorithms are the algorithms API Gateway's JWT authorizer accepts: RSA only.
var jwtAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512}

// invalidToken is a 401 with the www-authenticate header API Gateway's JWT authorizer sends.
func invalidToken(format string, args ...any) *authError {
	reason := fmt.Sprintf(format, args...)
	h := http.Header{}
	h.Set("Www-Authenticate", fmt.Sprintf(`Bearer scope="" error="invalid_token" error_description=%q`, reason))
	return &authError{status: http.StatusUnauthorized, reason: "jwt: " + reason, header: h}
}

func (a *jwtAuthorizer) authorize(ctx context.Context, ri *requestInfo) (*events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription, *authError) {
	raw := ri.headers[strings.ToLower(a.header)]
	if raw == "" {
		return nil, unauthorized("jwt: no token in the " + a.header + " header")
	}
	// The bearer scheme is optional, as with API Gateway.
	if scheme, rest, found := strings.Cut(raw, " "); found && strings.EqualFold(scheme, "Bearer") {
		raw = strings.TrimSpace(rest)
	}
	tok, err := jwt.ParseSigned(raw, jwtAlgorithms)
	if err != nil {
		return nil, invalidToken("the token is not a signed JWT using an RSA algorithm")
	}
	key, err := a.keys.key(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return nil, invalidToken("%v", err)
	}
	var std jwt.Claims
	var claims map[string]any
	if err := tok.Claims(key, &std, &claims); err != nil {
		return nil, invalidToken("signature verification failed")
	}
	if c, ok := claims["client_id"].(string); ok && len(std.Audience) == 0 {
		std.Audience = jwt.Audience{c} // Cognito access tokens name the app client in client_id
	}
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: a.issuer, AnyAudience: a.audience, Time: a.now()}, 0)
	switch {
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return nil, invalidToken("the token's issuer is not %s", a.issuer)
	case errors.Is(err, jwt.ErrInvalidAudience):
		return nil, invalidToken("the token's audience (aud or client_id) is not allowed")
	case std.Expiry == nil:
		return nil, invalidToken("the token has no exp claim")
	case errors.Is(err, jwt.ErrExpired):
		return nil, invalidToken("the token has expired")
	case errors.Is(err, jwt.ErrNotValidYet):
		return nil, invalidToken("the token is not valid yet")
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return nil, invalidToken("the token was issued in the future")
	case err != nil:
		return nil, invalidToken("%v", err)
	}
	out := &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{}, Scopes: tokenScopes(claims)}
	for k, v := range claims {
		out.Claims[k] = claimString(v)
	}
	return out, nil
}

func tokenScopes(claims map[string]any) []string {
	for _, name := range []string{"scope", "scp"} {
		switch v := claims[name].(type) {
		case string:
			return strings.Fields(v)
		case []any:
			var out []string
			for _, s := range v {
				if s, ok := s.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
	}
	return nil
}

// claimString renders a claim as API Gateway does in requestContext.authorizer.jwt.claims, where
// every value is a string: numbers in plain notation, lists as "[a b]", objects as JSON.
func claimString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = claimString(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// jwksCache holds an issuer's signing keys. A token with an unknown kid triggers a refetch, at most
// once per minKeyRefresh, so rotated keys are picked up without letting bad tokens hammer the
// endpoint.
type jwksCache struct {
	url    string
	client *http.Client

	mu      sync.Mutex
	set     jose.JSONWebKeySet
	fetched time.Time
}

const (
	minKeyRefresh = 5 * time.Second
	// API Gateway's quotas for the JWKS endpoint.
	jwksTimeout  = 1500 * time.Millisecond
	jwksMaxBytes = 150000
)

func (c *jwksCache) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ks := c.set.Key(kid); len(ks) == 0 && time.Since(c.fetched) >= minKeyRefresh {
		if err := c.fetch(ctx); err != nil {
			return nil, fmt.Errorf("fetching the JWKS failed: %v", err)
		}
	}
	if ks := c.set.Key(kid); len(ks) > 0 {
		return &ks[0], nil
	}
	return nil, errors.New("no key of the issuer's JWKS matches the token's kid")
}

func (c *jwksCache) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, jwksTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, jwksMaxBytes)).Decode(&set); err != nil {
		return fmt.Errorf("not a JSON Web Key Set within %d bytes", jwksMaxBytes)
	}
	c.set, c.fetched = set, time.Now()
	return nil
}
