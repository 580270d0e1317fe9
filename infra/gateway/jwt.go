package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
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
	kid := tok.Headers[0].KeyID
	key, err := a.keys.key(ctx, kid)
	if err != nil {
		return nil, invalidToken("%v", err)
	}
	var claims map[string]any
	if err := tok.Claims(key, &claims); err != nil {
		return nil, invalidToken("signature verification failed")
	}
	if iss, _ := claims["iss"].(string); iss != a.issuer {
		return nil, invalidToken("the token's issuer is not %s", a.issuer)
	}
	if !a.audienceOK(claims) {
		return nil, invalidToken("the token's audience (aud or client_id) is not allowed")
	}
	now := a.now()
	exp, ok := numericClaim(claims, "exp")
	if !ok {
		return nil, invalidToken("the token has no exp claim")
	}
	if !now.Before(time.Unix(exp, 0)) {
		return nil, invalidToken("the token has expired")
	}
	if nbf, ok := numericClaim(claims, "nbf"); ok && now.Before(time.Unix(nbf, 0)) {
		return nil, invalidToken("the token is not valid yet")
	}
	if iat, ok := numericClaim(claims, "iat"); ok && now.Before(time.Unix(iat, 0)) {
		return nil, invalidToken("the token was issued in the future")
	}

	out := &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{}, Scopes: tokenScopes(claims)}
	for k, v := range claims {
		out.Claims[k] = claimString(v)
	}
	return out, nil
}

func (a *jwtAuthorizer) audienceOK(claims map[string]any) bool {
	var auds []string
	switch aud := claims["aud"].(type) {
	case string:
		auds = []string{aud}
	case []any:
		for _, v := range aud {
			if s, ok := v.(string); ok {
				auds = append(auds, s)
			}
		}
	case nil:
		// Cognito access tokens carry the app client in client_id instead.
		if c, ok := claims["client_id"].(string); ok {
			auds = []string{c}
		}
	}
	return slices.ContainsFunc(auds, func(s string) bool { return slices.Contains(a.audience, s) })
}

func numericClaim(claims map[string]any, name string) (int64, bool) {
	f, ok := claims[name].(float64)
	return int64(f), ok
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
	url    string // "" until found by OpenID Connect discovery from issuer
	issuer string
	client *http.Client

	mu      sync.Mutex
	set     *jose.JSONWebKeySet
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
	if c.set != nil {
		if ks := c.set.Key(kid); len(ks) > 0 {
			return &ks[0], nil
		}
		if time.Since(c.fetched) < minKeyRefresh {
			return nil, errors.New("no key of the issuer's JWKS matches the token's kid")
		}
	}
	if c.url == "" {
		u, err := discoverJWKS(ctx, c.client, c.issuer)
		if err != nil {
			return nil, err
		}
		c.url = u
	}
	set, err := c.fetch(ctx)
	if err != nil {
		return nil, err
	}
	c.set, c.fetched = set, time.Now()
	if ks := set.Key(kid); len(ks) > 0 {
		return &ks[0], nil
	}
	return nil, errors.New("no key of the issuer's JWKS matches the token's kid")
}

func (c *jwksCache) fetch(ctx context.Context) (*jose.JSONWebKeySet, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the JWKS failed: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the JWKS failed: %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBytes+1))
	if err != nil || len(b) > jwksMaxBytes {
		return nil, errors.New("fetching the JWKS failed: unreadable or too large")
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, errors.New("the JWKS is not a JSON Web Key Set")
	}
	return &set, nil
}

// discoverJWKS finds an issuer's JWKS through OpenID Connect discovery, as API Gateway does for
// issuers that are not mapped to a local endpoint.
func discoverJWKS(ctx context.Context, client *http.Client, issuer string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, jwksMaxBytes)).Decode(&doc); err != nil || doc.JWKSURI == "" {
		return "", fmt.Errorf("OpenID discovery for %s gave no jwks_uri", issuer)
	}
	return doc.JWKSURI, nil
}
