// Package gateway is a local stand-in for an API Gateway HTTP API, driven by template.yaml: it
// serves the routes of one AWS::Serverless::HttpApi with their JWT and Lambda authorizers and CORS
// configuration, sends payload format 2.0 events to the functions, and answers with API Gateway's
// own status codes and bodies when something fails ({"message":"Not Found"} and friends).
//
// The functions themselves are Invokers; RIEPool runs a function's real bootstrap under the AWS
// Lambda Runtime Interface Emulator. Nothing here knows the project's routes: they all come from
// the template, so a route added there is served locally without touching Go code.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"codex/infra/samtemplate"
)

// API Gateway's limits that the gateway enforces.
const (
	// MaxBodyBytes is an HTTP API's payload limit.
	MaxBodyBytes = 10 << 20
	// MaxInvokePayload is Lambda's limit on a synchronous invocation's payload: Lambda refuses an
	// event of this size or more ("Request must be smaller than 6291456 bytes") before the function
	// runs. The event carries the body (base64 for binary types, a third larger), so bodies from
	// about 6 MB to the API's 10 MB never reach a function.
	MaxInvokePayload = 6 << 20
	// DefaultIntegrationTimeout is an HTTP API's maximum integration timeout.
	DefaultIntegrationTimeout = 30 * time.Second
	// DefaultAuthorizerTimeout is how long an HTTP API waits for a Lambda authorizer.
	DefaultAuthorizerTimeout = 10 * time.Second
)

// Config describes the API to serve.
type Config struct {
	Template *samtemplate.Template
	// API is the logical id of the AWS::Serverless::HttpApi to serve; "" picks the only API that
	// has routes.
	API string
	// Functions maps a function's logical id to its invoker. Every function a route or a Lambda
	// authorizer of the API uses must be present.
	Functions map[string]Invoker
	// Names resolves the template's references (issuers, audiences) to local values: logical id
	// → physical id (UserPool → the local pool id, UserPoolClient → the local client id) and
	// pseudo parameters such as AWS::Region. Parameters fall back to their defaults.
	Names map[string]string
	// JWKSURL maps a JWT authorizer's issuer to the URL of its key set; nil or "" uses OpenID
	// Connect discovery from the issuer. The local stack maps Cognito issuers to moto.
	JWKSURL func(issuer string) string
	// Region, AccountID and APIID fill ARNs and requestContext. Defaults: us-east-1,
	// 123456789012, "local".
	Region, AccountID, APIID string
	// IntegrationTimeout bounds a function invocation (default 30 s); past it the client gets
	// 503, as from API Gateway. AuthorizerTimeout bounds a Lambda authorizer (default 10 s).
	IntegrationTimeout time.Duration
	AuthorizerTimeout  time.Duration
	// Log receives the access log (one line per request) and the reasons for refusals.
	Log *slog.Logger
	// Now is the clock for token expiry and caches; default time.Now.
	Now func() time.Time
	// HTTPClient fetches JWKS documents; default a client with API Gateway's 1.5 s timeout.
	HTTPClient *http.Client
}

// Gateway is an http.Handler serving one HTTP API.
type Gateway struct {
	router    router
	functions map[string]Invoker
	jwt       map[string]*jwtAuthorizer
	lambda    map[string]*lambdaAuthorizer
	cors      *cors
	scopes    map[*route][]string
	buckets   map[*route]*bucket

	region, accountID, apiID string
	integrationTimeout       time.Duration
	log                      *slog.Logger
	now                      func() time.Time
}

// New checks that everything the API needs is there (an invoker for every function, a resolvable
// issuer and audience for every JWT authorizer) and returns the handler. Call Template.Validate
// first: New reports only what stops it from serving.
func New(cfg Config) (*Gateway, error) {
	tpl := cfg.Template
	g := &Gateway{
		functions:          cfg.Functions,
		jwt:                map[string]*jwtAuthorizer{},
		lambda:             map[string]*lambdaAuthorizer{},
		scopes:             map[*route][]string{},
		buckets:            map[*route]*bucket{},
		region:             cmpOr(cfg.Region, "us-east-1"),
		accountID:          cmpOr(cfg.AccountID, "123456789012"),
		apiID:              cmpOr(cfg.APIID, "local"),
		integrationTimeout: cfg.IntegrationTimeout,
		log:                cfg.Log,
		now:                cfg.Now,
	}
	if g.integrationTimeout <= 0 {
		g.integrationTimeout = DefaultIntegrationTimeout
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: jwksTimeout}
	}

	apiID, err := pickAPI(tpl, cfg.API)
	if err != nil {
		return nil, err
	}
	api := tpl.HTTPAPIs[apiID] // nil for SAM's implicit API
	var problems []error
	for _, r := range tpl.Routes() {
		if r.API != apiID {
			continue
		}
		c, err := compileRoute(r)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if cfg.Functions[r.Function] == nil {
			problems = append(problems, fmt.Errorf("route %s: function %s is not available", c.key, r.Function))
		}
		if r.Authorizer != "" && (api == nil || api.Authorizers[r.Authorizer] == nil) {
			problems = append(problems, fmt.Errorf("route %s: authorizer %s is not defined on %s", c.key, r.Authorizer, apiID))
		}
		g.router.routes = append(g.router.routes, c)
		g.scopes[c] = eventScopes(tpl, r)
		if b := newBucket(api, c.key); b != nil {
			g.buckets[c] = b
		}
	}
	if api != nil {
		names := maps.Clone(cfg.Names)
		if names == nil {
			names = map[string]string{}
		}
		if _, ok := names["AWS::Region"]; !ok {
			names["AWS::Region"] = g.region
		}
		if _, ok := names["AWS::AccountId"]; !ok {
			names["AWS::AccountId"] = g.accountID
		}
		for _, name := range slices.Sorted(maps.Keys(api.Authorizers)) {
			if err := g.addAuthorizer(tpl, api.Authorizers[name], names, cfg, client); err != nil {
				problems = append(problems, fmt.Errorf("authorizer %s: %w", name, err))
			}
		}
		if api.CORS != nil {
			g.cors = &cors{cfg: api.CORS}
		}
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	return g, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// pickAPI returns the API to serve: the one asked for, or the only one with routes.
func pickAPI(tpl *samtemplate.Template, want string) (string, error) {
	if want != "" {
		if tpl.HTTPAPIs[want] == nil && want != samtemplate.ImplicitHTTPAPI {
			return "", fmt.Errorf("no AWS::Serverless::HttpApi %q in the template", want)
		}
		return want, nil
	}
	apis := map[string]bool{}
	for _, r := range tpl.Routes() {
		apis[r.API] = true
	}
	switch len(apis) {
	case 0:
		return "", errors.New("the template has no HttpApi routes")
	case 1:
		for id := range apis {
			return id, nil
		}
	}
	return "", fmt.Errorf("the template has routes on several APIs (%s); choose one", strings.Join(slices.Sorted(maps.Keys(apis)), ", "))
}

func eventScopes(tpl *samtemplate.Template, r samtemplate.Route) []string {
	for _, ev := range tpl.Functions[r.Function].Events {
		if ev.Name == r.Event {
			return ev.AuthorizationScopes
		}
	}
	return nil
}

func (g *Gateway) addAuthorizer(tpl *samtemplate.Template, a *samtemplate.Authorizer, names map[string]string, cfg Config, client *http.Client) error {
	switch {
	case a.JWT != nil:
		src, err := parseIdentitySource(cmpOr(a.JWT.IdentitySource, "$request.header.Authorization"))
		if err != nil {
			return err
		}
		issuer, err := tpl.Resolve(a.JWT.Issuer, names)
		if err != nil {
			return fmt.Errorf("issuer: %w", err)
		}
		ja := &jwtAuthorizer{name: a.Name, source: src, issuer: issuer, now: g.now,
			keys: &jwksCache{issuer: issuer, client: client}}
		if cfg.JWKSURL != nil {
			ja.keys.url = cfg.JWKSURL(issuer)
		}
		for _, v := range a.JWT.Audience {
			aud, err := tpl.Resolve(v, names)
			if err != nil {
				return fmt.Errorf("audience: %w", err)
			}
			ja.audience = append(ja.audience, aud)
		}
		g.jwt[a.Name] = ja
	case a.Lambda != nil:
		l := a.Lambda
		if l.PayloadFormatVersion != "" && l.PayloadFormatVersion != "2.0" {
			return fmt.Errorf("AuthorizerPayloadFormatVersion %s is not supported locally; use 2.0", l.PayloadFormatVersion)
		}
		inv := cfg.Functions[l.Function]
		if inv == nil {
			return fmt.Errorf("function %s is not available", l.Function)
		}
		la := &lambdaAuthorizer{name: a.Name, function: l.Function, invoker: inv, simple: l.EnableSimpleResponses,
			timeout: DefaultAuthorizerTimeout, now: g.now, cache: map[string]cachedDecision{}}
		if cfg.AuthorizerTimeout > 0 {
			la.timeout = cfg.AuthorizerTimeout
		}
		// Unset ReauthorizeEvery means API Gateway's default of 300 s; 0 turns caching off.
		la.ttl = 300 * time.Second
		if l.ReauthorizeEvery != nil {
			la.ttl = time.Duration(*l.ReauthorizeEvery) * time.Second
		}
		headers := l.IdentityHeaders
		if len(headers) == 0 {
			headers = []string{"Authorization"}
		}
		for _, h := range headers {
			la.sources = append(la.sources, identitySource{expr: "$request.header." + h, header: strings.ToLower(h)})
		}
		g.lambda[a.Name] = la
	}
	return nil
}

// gatewayMessages are API Gateway's bodies for the errors it produces itself.
var gatewayMessages = map[int]string{
	http.StatusBadRequest:            "Bad Request",
	http.StatusUnauthorized:          "Unauthorized",
	http.StatusForbidden:             "Forbidden",
	http.StatusNotFound:              "Not Found",
	http.StatusRequestEntityTooLarge: "Request Entity Too Large",
	http.StatusTooManyRequests:       "Too Many Requests",
	http.StatusInternalServerError:   "Internal Server Error",
	http.StatusServiceUnavailable:    "Service Unavailable",
}

func writeGatewayError(w http.ResponseWriter, status int, extra http.Header) {
	for k, vs := range extra {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": gatewayMessages[status]})
	_, _ = w.Write(b)
}

// ServeHTTP handles one request the way API Gateway would.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	id := newRequestID()
	rec.Header().Set("Apigw-Requestid", id)
	var reason string
	defer func() {
		if rec.status == 0 {
			rec.status = http.StatusOK // net/http's default when nothing was written
		}
		attrs := []any{"method", r.Method, "path", r.URL.EscapedPath(), "status", rec.status,
			"latency_ms", float64(time.Since(start).Microseconds()) / 1000, "request_id", id}
		if rec.route != "" {
			attrs = append(attrs, "route", rec.route)
		}
		if reason != "" {
			// Why the gateway refused or failed the request; never a credential.
			attrs = append(attrs, "reason", reason)
		}
		g.log.Info("request", attrs...)
	}()
	reason = g.serve(rec, r, id)
}

func (g *Gateway) serve(w *statusRecorder, r *http.Request, id string) (reason string) {
	if g.cors != nil {
		if isPreflight(r) {
			g.cors.preflight(w, r)
			return ""
		}
		w.beforeWrite = func(h http.Header) { g.cors.decorate(h, r) }
	}

	if r.ContentLength > MaxBodyBytes {
		writeGatewayError(w, http.StatusRequestEntityTooLarge, nil)
		return "body over 10 MB"
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		writeGatewayError(w, http.StatusBadRequest, nil)
		return "reading the body: " + err.Error()
	}
	if len(body) > MaxBodyBytes {
		writeGatewayError(w, http.StatusRequestEntityTooLarge, nil)
		return "body over 10 MB"
	}

	ri := newRequestInfo(r, id, g.now(), body)
	rt, params, ok := g.router.lookup(r.Method, ri.rawPath)
	if !ok {
		writeGatewayError(w, http.StatusNotFound, nil)
		return "no route"
	}
	w.route = rt.key
	if b := g.buckets[rt]; b != nil && !b.allow(g.now()) {
		writeGatewayError(w, http.StatusTooManyRequests, nil)
		return "throttled by the route's settings"
	}

	// The client's cancellation does not stop an invocation, as in AWS; the timeouts do.
	ctx := context.WithoutCancel(r.Context())
	var auth *events.APIGatewayV2HTTPRequestContextAuthorizerDescription
	switch {
	case rt.Authorizer == "":
	case g.jwt[rt.Authorizer] != nil:
		claims, aerr := g.jwt[rt.Authorizer].authorize(ctx, ri, g.scopes[rt])
		if aerr != nil {
			writeGatewayError(w, aerr.status, aerr.header)
			return aerr.reason
		}
		auth = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: claims}
	case g.lambda[rt.Authorizer] != nil:
		lctx, aerr := g.lambda[rt.Authorizer].authorize(ctx, g, ri, rt, params)
		if aerr != nil {
			writeGatewayError(w, aerr.status, aerr.header)
			return aerr.reason
		}
		auth = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lctx}
	default:
		writeGatewayError(w, http.StatusInternalServerError, nil)
		return "authorizer " + rt.Authorizer + " is not supported locally"
	}

	payload, err := marshalEvent(g.integrationEvent(ri, rt, params, auth))
	if err != nil {
		writeGatewayError(w, http.StatusInternalServerError, nil)
		return "encoding the event: " + err.Error()
	}
	if len(payload) >= MaxInvokePayload {
		// Lambda answers the invocation with RequestEntityTooLargeException (HTTP 413). That
		// API Gateway passes the 413 on is an assumption not yet checked on a deployed stage.
		writeGatewayError(w, http.StatusRequestEntityTooLarge, nil)
		return fmt.Sprintf("%s: event of %d bytes, over Lambda's invocation payload limit", rt.Function, len(payload))
	}
	ictx, cancel := context.WithTimeout(ctx, g.integrationTimeout)
	defer cancel()
	inv, err := g.functions[rt.Function].Invoke(ictx, payload)
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		writeGatewayError(w, http.StatusServiceUnavailable, nil)
		return fmt.Sprintf("%s: no response within the integration timeout (%s)", rt.Function, g.integrationTimeout)
	case err != nil:
		writeGatewayError(w, http.StatusInternalServerError, nil)
		return rt.Function + ": " + err.Error()
	case inv.FunctionError != "":
		writeGatewayError(w, http.StatusInternalServerError, nil)
		return rt.Function + ": function error: " + errorSummary(inv.Payload)
	}
	resp, err := parseResponse(inv.Payload)
	if err != nil {
		writeGatewayError(w, http.StatusInternalServerError, nil)
		return rt.Function + ": " + err.Error()
	}
	resp.write(w)
	return ""
}

// statusRecorder remembers the status for the access log and lets CORS decorate the headers just
// before they are sent, whoever writes the response.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	route       string
	beforeWrite func(http.Header)
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status != 0 {
		return
	}
	s.status = code
	if s.beforeWrite != nil {
		s.beforeWrite(s.Header())
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}
