package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// identitySource is one of an authorizer's identity sources, e.g. $request.header.Authorization.
type identitySource struct {
	expr   string
	header string // lower-cased header name, or ""
	query  string // query string parameter, or ""
}

func parseIdentitySource(expr string) (identitySource, error) {
	s := identitySource{expr: expr}
	switch {
	case strings.HasPrefix(expr, "$request.header."):
		s.header = strings.ToLower(strings.TrimPrefix(expr, "$request.header."))
	case strings.HasPrefix(expr, "$request.querystring."):
		s.query = strings.TrimPrefix(expr, "$request.querystring.")
	default:
		return s, fmt.Errorf("identity source %q is not supported locally (only $request.header.* and $request.querystring.*)", expr)
	}
	return s, nil
}

// value returns the source's value; a missing or empty one counts as absent, as in API Gateway.
func (s identitySource) value(ri *requestInfo) (string, bool) {
	var v string
	if s.header != "" {
		v = ri.headers[s.header]
	} else {
		v = ri.query[s.query]
	}
	return v, v != ""
}

// lambdaAuthorizer calls an authorizer function with a payload format 2.0 request. With simple
// responses the function answers {"isAuthorized": bool, "context": {...}}; otherwise an IAM policy
// whose execute-api:Invoke statements are evaluated against the route ARN.
type lambdaAuthorizer struct {
	name     string
	function string
	invoker  Invoker
	sources  []identitySource
	simple   bool
	ttl      time.Duration // 0: every request is authorized afresh
	timeout  time.Duration
	now      func() time.Time

	mu    sync.Mutex
	cache map[string]cachedDecision
}

type cachedDecision struct {
	allowed bool
	context map[string]any
	expires time.Time
}

// authorize returns the context for requestContext.authorizer.lambda, or the refusal.
func (a *lambdaAuthorizer) authorize(ctx context.Context, g *Gateway, ri *requestInfo, rt *route, params map[string]string) (map[string]any, *authError) {
	values := make([]string, 0, len(a.sources))
	for _, s := range a.sources {
		v, ok := s.value(ri)
		if !ok {
			// API Gateway answers 401 without calling the authorizer.
			return nil, unauthorized("lambda authorizer " + a.name + ": " + s.expr + " is missing")
		}
		values = append(values, v)
	}
	cacheKey := strings.Join(values, "\x00")
	if a.ttl > 0 {
		a.mu.Lock()
		d, ok := a.cache[cacheKey]
		a.mu.Unlock()
		if ok && a.now().Before(d.expires) {
			return d.decide(a.name + " (cached)")
		}
	}

	routeArn := fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/$default/%s%s", g.region, g.accountID, g.apiID, ri.method, ri.path)
	ev := events.APIGatewayV2CustomAuthorizerV2Request{
		Version:               "2.0",
		Type:                  "REQUEST",
		RouteArn:              routeArn,
		IdentitySource:        values,
		RouteKey:              rt.key,
		RawPath:               ri.path,
		RawQueryString:        ri.rawQuery,
		Cookies:               ri.cookies,
		Headers:               ri.headers,
		QueryStringParameters: ri.query,
		RequestContext:        g.requestContext(ri, rt),
		PathParameters:        params,
	}
	payload, err := marshalEvent(ev)
	if err != nil {
		return nil, internalError("lambda authorizer "+a.name, err)
	}
	ictx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	inv, err := a.invoker.Invoke(ictx, payload)
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		return nil, internalError("lambda authorizer "+a.name, fmt.Errorf("no answer within %s", a.timeout))
	case err != nil:
		return nil, internalError("lambda authorizer "+a.name, err)
	case inv.FunctionError != "":
		return nil, internalError("lambda authorizer "+a.name, fmt.Errorf("function error: %s", errorSummary(inv.Payload)))
	}
	d, err := a.parse(inv.Payload, routeArn)
	if err != nil {
		return nil, internalError("lambda authorizer "+a.name, err)
	}
	if a.ttl > 0 {
		d.expires = a.now().Add(a.ttl)
		a.mu.Lock()
		a.cache[cacheKey] = d
		a.mu.Unlock()
	}
	return d.decide(a.name)
}

func (d cachedDecision) decide(name string) (map[string]any, *authError) {
	if !d.allowed {
		return nil, &authError{status: http.StatusForbidden, reason: "lambda authorizer " + name + ": denied"}
	}
	return d.context, nil
}

func internalError(who string, err error) *authError {
	return &authError{status: http.StatusInternalServerError, reason: who + ": " + err.Error()}
}

func (a *lambdaAuthorizer) parse(payload []byte, routeArn string) (cachedDecision, error) {
	if a.simple {
		var r struct {
			IsAuthorized *bool          `json:"isAuthorized"`
			Context      map[string]any `json:"context"`
		}
		if err := json.Unmarshal(payload, &r); err != nil || r.IsAuthorized == nil {
			return cachedDecision{}, errors.New("the response is not a simple response ({\"isAuthorized\": bool})")
		}
		return cachedDecision{allowed: *r.IsAuthorized, context: r.Context}, nil
	}
	var r struct {
		PrincipalID    string `json:"principalId"`
		PolicyDocument *struct {
			Statement []policyStatement `json:"Statement"`
		} `json:"policyDocument"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(payload, &r); err != nil || r.PolicyDocument == nil {
		return cachedDecision{}, errors.New("the response is not an IAM policy response")
	}
	allowed := false
	for _, s := range r.PolicyDocument.Statement {
		if !s.matches(routeArn) {
			continue
		}
		if strings.EqualFold(s.Effect, "Deny") {
			allowed = false
			break
		}
		if strings.EqualFold(s.Effect, "Allow") {
			allowed = true
		}
	}
	return cachedDecision{allowed: allowed, context: r.Context}, nil
}

type policyStatement struct {
	Effect   string      `json:"Effect"`
	Action   stringOrSet `json:"Action"`
	Resource stringOrSet `json:"Resource"`
}

func (s policyStatement) matches(routeArn string) bool {
	action := false
	for _, a := range s.Action {
		if a == "*" || strings.EqualFold(a, "execute-api:Invoke") || strings.EqualFold(a, "execute-api:*") {
			action = true
		}
	}
	if !action {
		return false
	}
	return slices.ContainsFunc(s.Resource, func(r string) bool { return wildcardMatch(r, routeArn) })
}

// wildcardMatch matches IAM-style patterns where * spans any characters and ? matches one.
func wildcardMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if wildcardMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && wildcardMatch(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && wildcardMatch(pattern[1:], s[1:])
}

// stringOrSet is an IAM field that is a string or a list of strings.
type stringOrSet []string

func (s *stringOrSet) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// errorSummary extracts errorType and errorMessage from a function error document for the log.
func errorSummary(doc []byte) string {
	var e struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(doc, &e) != nil {
		return fmt.Sprintf("%.200s", doc)
	}
	msg := e.ErrorMessage
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return e.ErrorType + ": " + msg
}
