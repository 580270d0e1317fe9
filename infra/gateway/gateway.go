// Package gateway is a local stand-in for an API Gateway HTTP API, driven by template.yaml: it
// serves the routes of one AWS::Serverless::HttpApi with their JWT and Lambda authorizers, CORS and
// throttling, sends payload format 2.0 events to the functions and answers with API Gateway's own
// status codes and bodies when something fails. Nothing here knows the project's routes: a route
// added to the template is served locally without touching Go code. The functions are Invokers;
// RIEPool runs a function's real bootstrap under the AWS Lambda Runtime Interface Emulator.
//
// What it does as API Gateway does, and the tests check:
//
//   - Events: payload format 2.0: routeKey, rawPath and requestContext.http.path (decoded),
//     rawQueryString, lower-cased headers with repeats joined by commas, cookies, pathParameters,
//     queryStringParameters, requestContext with the authorizer's result. Bodies whose type is not
//     JSON, XML, JavaScript or text arrive base64-encoded.
//   - Responses: a function returns a response object (statusCode, headers, cookies, body,
//     isBase64Encoded) or any other JSON, which becomes the body of a 200 application/json response.
//   - Routing: ServeMux patterns, whose precedence is API Gateway's for these paths: a literal segment
//     beats a path variable (/projects/new before /projects/{id}); the method must match exactly.
//   - The JWT authorizer checks the RSA signature (RS256/384/512) against the issuer's JWKS
//     (Config.JWKSURL), iss, aud (or client_id of an access token), exp, nbf and iat.
//   - The Lambda authorizer gets a payload 2.0 REQUEST event and answers with a simple response;
//     decisions are not cached (the template sets ReauthorizeEvery: 0).
//   - API Gateway's own answers: no route 404 {"message":"Not Found"}; a missing identity source 401
//     {"message":"Unauthorized"} without calling the authorizer; denied 403; a bad token 401 with
//     www-authenticate; an authorizer error or timeout (10 s), a function error, crash, timeout or
//     malformed response 500 {"message":"Internal Server Error"}; no answer within 30 s 503; a body
//     over 10 MB 413, and 413 for an event of 6 MiB or more, which Lambda refuses to invoke with
//     (whether API Gateway passes that 413 on or answers 500 is not checked on AWS); over the API's
//     DefaultRouteSettings throttle (a token bucket per route) 429; CORS preflights answered from
//     CorsConfiguration, only on the API that has one.
//
// One thing API Gateway does not do: a request whose Host is not the gateway's address (a page on
// evil.example whose DNS answers 127.0.0.1) is refused with 421, so that no web page a developer
// visits can drive the local stack.
//
// Template features the local stack does not emulate are refused by infra/samtemplate when the
// template is read, or by New.
package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/time/rate"

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
	// API is the logical id of the AWS::Serverless::HttpApi to serve.
	API string
	// Addr is the host:port the gateway is served on; requests naming another host are refused.
	Addr string
	// Functions maps a function's logical id to its invoker. Every function a route or a Lambda
	// authorizer of the API uses must be present.
	Functions map[string]Invoker
	// Names resolves the template's references (issuers, audiences) to local values: logical id
	// → physical id (UserPool → the local pool id, UserPoolClient → the local client id) and
	// pseudo parameters such as AWS::Region. Parameters fall back to their defaults.
	Names map[string]string
	// JWKSURL maps a JWT authorizer's issuer to the URL of its key set (the local stack maps
	// Cognito issuers to moto); an issuer it maps to "" fails New.
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
	// Now is the clock for token expiry and throttling; default time.Now.
	Now func() time.Time
	// HTTPClient fetches JWKS documents; default a client with API Gateway's 1.5 s timeout.
	HTTPClient *http.Client
}

// Gateway is an http.Handler serving one HTTP API.
type Gateway struct {
	mux       *http.ServeMux
	routes    map[string]*route // by ServeMux pattern, which is the route key
	functions map[string]Invoker
	jwt       map[string]*jwtAuthorizer
	lambda    map[string]*lambdaAuthorizer
	cors      *samtemplate.CORS

	addr                     string
	region, accountID, apiID string
	integrationTimeout       time.Duration
	log                      *slog.Logger
	now                      func() time.Time
}

// route is one template route; its key ("GET /projects/{id}") is both API Gateway's routeKey and
// the ServeMux pattern that matches it.
type route struct {
	samtemplate.Route
	key     string
	limiter *rate.Limiter // nil when the API sets no throttle
}

// New checks that everything the API needs is there (an invoker for every function, a resolvable
// issuer and audience for every JWT authorizer, nothing the gateway does not emulate) and returns
// the handler. Call Template.Validate first: New reports only what stops it from serving.
func New(cfg Config) (*Gateway, error) {
	tpl := cfg.Template
	api := tpl.HTTPAPIs[cfg.API]
	if api == nil {
		return nil, fmt.Errorf("no AWS::Serverless::HttpApi %q in the template", cfg.API)
	}
	if cfg.Addr == "" {
		return nil, errors.New("Config.Addr is required: the gateway refuses requests for any other host")
	}
	g := &Gateway{
		mux:                http.NewServeMux(),
		routes:             map[string]*route{},
		functions:          cfg.Functions,
		jwt:                map[string]*jwtAuthorizer{},
		lambda:             map[string]*lambdaAuthorizer{},
		cors:               api.CORS,
		addr:               cfg.Addr,
		region:             cmp.Or(cfg.Region, "us-east-1"),
		accountID:          cmp.Or(cfg.AccountID, "123456789012"),
		apiID:              cmp.Or(cfg.APIID, "local"),
		integrationTimeout: cmp.Or(cfg.IntegrationTimeout, DefaultIntegrationTimeout),
		log:                cmp.Or(cfg.Log, slog.New(slog.DiscardHandler)),
		now:                cfg.Now,
	}
	if g.now == nil {
		g.now = time.Now
	}
	var problems []error
	if c := g.cors; c != nil && (c.AllowCredentials || slices.Contains(c.AllowMethods, "*") || slices.Contains(c.AllowHeaders, "*")) {
		problems = append(problems, errors.New("CorsConfiguration: AllowCredentials and * in AllowMethods or AllowHeaders are not emulated"))
	}
	rs := api.DefaultRouteSettings
	if rs != nil && (rs.ThrottlingRateLimit == nil) != (rs.ThrottlingBurstLimit == nil) {
		problems = append(problems, errors.New("DefaultRouteSettings: set both ThrottlingRateLimit and ThrottlingBurstLimit"))
	}
	for _, r := range tpl.Routes() {
		if r.API != cfg.API {
			continue
		}
		rt := &route{Route: r, key: r.Method + " " + r.Path}
		if err := g.handle(rt); err != nil {
			problems = append(problems, err)
			continue
		}
		if cfg.Functions[r.Function] == nil {
			problems = append(problems, fmt.Errorf("route %s: function %s is not available", rt.key, r.Function))
		}
		if r.Authorizer != "" && api.Authorizers[r.Authorizer] == nil {
			problems = append(problems, fmt.Errorf("route %s: authorizer %s is not defined on %s", rt.key, r.Authorizer, cfg.API))
		}
		if rs != nil && rs.ThrottlingRateLimit != nil && rs.ThrottlingBurstLimit != nil {
			// A limit of 0 blocks the route, as in API Gateway.
			rt.limiter = rate.NewLimiter(rate.Limit(*rs.ThrottlingRateLimit), *rs.ThrottlingBurstLimit)
		}
	}
	names := maps.Clone(cfg.Names)
	if names == nil {
		names = map[string]string{}
	}
	names["AWS::Region"] = cmp.Or(names["AWS::Region"], g.region)
	names["AWS::AccountId"] = cmp.Or(names["AWS::AccountId"], g.accountID)
	client := cmp.Or(cfg.HTTPClient, &http.Client{Timeout: jwksTimeout})
	for _, name := range slices.Sorted(maps.Keys(api.Authorizers)) {
		if err := g.addAuthorizer(tpl, api.Authorizers[name], names, cfg, client); err != nil {
			problems = append(problems, fmt.Errorf("authorizer %s: %w", name, err))
		}
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	return g, nil
}

// handle registers a route's pattern. ServeMux refuses (panics on) paths it cannot match and two
// patterns neither of which is more specific; API Gateway's greedy {proxy+} is not emulated.
func (g *Gateway) handle(rt *route) (err error) {
	if !strings.HasPrefix(rt.Path, "/") || strings.Contains(rt.Path, "+}") || strings.Contains(rt.Path, "...}") {
		return fmt.Errorf("route %s: the local gateway serves paths of literal and {name} segments only", rt.key)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("route %s: %v", rt.key, p)
		}
	}()
	g.mux.Handle(rt.key, http.NotFoundHandler()) // only the pattern is used; see match
	g.routes[rt.key] = rt
	return nil
}

// match finds the request's route and its path parameters, or nil. ServeMux would redirect a path
// that is not clean (/a//b, /a/) and let a GET route answer HEAD; API Gateway does neither.
func (g *Gateway) match(r *http.Request) (*route, map[string]string) {
	p := r.URL.EscapedPath()
	if path.Clean(p) != p {
		return nil, nil
	}
	_, pattern := g.mux.Handler(r)
	rt := g.routes[pattern]
	if rt == nil || rt.Method != r.Method {
		return nil, nil
	}
	// The pattern has as many segments as the path; an encoded slash stays inside its segment.
	var params map[string]string
	segs := strings.Split(p, "/")
	for i, s := range strings.Split(rt.Path, "/") {
		if name, ok := strings.CutPrefix(s, "{"); ok {
			v, _ := url.PathUnescape(segs[i]) // ServeMux matched it, so it unescapes
			if params == nil {
				params = map[string]string{}
			}
			params[strings.TrimSuffix(name, "}")] = v
		}
	}
	return rt, params
}

func (g *Gateway) addAuthorizer(tpl *samtemplate.Template, a *samtemplate.Authorizer, names map[string]string, cfg Config, client *http.Client) error {
	switch {
	case a.JWT != nil:
		header, ok := strings.CutPrefix(cmp.Or(a.JWT.IdentitySource, "$request.header.Authorization"), "$request.header.")
		if !ok {
			return fmt.Errorf("identity source %q is not emulated (only $request.header.*)", a.JWT.IdentitySource)
		}
		issuer, err := tpl.Resolve(a.JWT.Issuer, names)
		if err != nil {
			return fmt.Errorf("issuer: %w", err)
		}
		var url string
		if cfg.JWKSURL != nil {
			url = cfg.JWKSURL(issuer)
		}
		if url == "" {
			return fmt.Errorf("no key set for issuer %s (Config.JWKSURL)", issuer)
		}
		ja := &jwtAuthorizer{header: header, issuer: issuer, now: g.now, keys: &jwksCache{url: url, client: client}}
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
		if l.PayloadFormatVersion != "2.0" || !l.EnableSimpleResponses || l.ReauthorizeEvery == nil || *l.ReauthorizeEvery != 0 {
			return errors.New("only payload 2.0 with simple responses and ReauthorizeEvery: 0 is emulated")
		}
		inv := cfg.Functions[l.Function]
		if inv == nil {
			return fmt.Errorf("function %s is not available", l.Function)
		}
		la := &lambdaAuthorizer{name: a.Name, invoker: inv, headers: l.IdentityHeaders,
			timeout: cmp.Or(cfg.AuthorizerTimeout, DefaultAuthorizerTimeout)}
		if len(la.headers) == 0 {
			la.headers = []string{"Authorization"}
		}
		g.lambda[a.Name] = la
	}
	return nil
}

// writeGatewayError answers as API Gateway does for the errors it produces itself, whose messages
// are the status texts.
func writeGatewayError(w http.ResponseWriter, status int, extra http.Header) {
	writeMessage(w, status, http.StatusText(status), extra)
}

func writeMessage(w http.ResponseWriter, status int, msg string, extra http.Header) {
	maps.Copy(w.Header(), extra)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": msg})
	_, _ = w.Write(b)
}

// ServeHTTP handles one request the way API Gateway would.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	id := newRequestID()
	rec.Header().Set("Apigw-Requestid", id)
	reason := g.serve(rec, r, id)
	attrs := []any{"method", r.Method, "path", r.URL.EscapedPath(), "status", cmp.Or(rec.status, http.StatusOK),
		"latency_ms", float64(time.Since(start).Microseconds()) / 1000, "request_id", id}
	if rec.route != "" {
		attrs = append(attrs, "route", rec.route)
	}
	if reason != "" {
		// Why the gateway refused or failed the request; never a credential.
		attrs = append(attrs, "reason", reason)
	}
	g.log.Info("request", attrs...)
}

// HostAllowed reports whether a request's Host names this gateway: its address, or its port on
// localhost or an IP address. Only a DNS name can be made to resolve to 127.0.0.1 by a stranger
// (DNS rebinding), and a browser sends the name it resolved as the Host. The local stack applies
// it to the dashboard it serves beside the gateway on the same port too.
func (g *Gateway) HostAllowed(host string) bool {
	if strings.EqualFold(host, g.addr) {
		return true
	}
	name, port, err := net.SplitHostPort(host)
	_, served, _ := net.SplitHostPort(g.addr)
	return err == nil && port == served && (strings.EqualFold(name, "localhost") || net.ParseIP(name) != nil)
}

func (g *Gateway) serve(w *statusRecorder, r *http.Request, id string) (reason string) {
	if !g.HostAllowed(r.Host) {
		writeMessage(w, http.StatusMisdirectedRequest, fmt.Sprintf(
			"Misdirected Request: this local gateway serves http://%s, not host %q (refused against DNS rebinding)", g.addr, r.Host), nil)
		return "host " + r.Host + " is not the gateway's address"
	}
	if g.cors != nil {
		if isPreflight(r) {
			preflight(g.cors, w, r)
			return ""
		}
		w.beforeWrite = func(h http.Header) { decorate(g.cors, h, r) }
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

	rt, params := g.match(r)
	if rt == nil {
		writeGatewayError(w, http.StatusNotFound, nil)
		return "no route"
	}
	w.route = rt.key
	if rt.limiter != nil && !rt.limiter.AllowN(g.now(), 1) {
		writeGatewayError(w, http.StatusTooManyRequests, nil)
		return "throttled by the API's DefaultRouteSettings"
	}
	ri := newRequestInfo(r, id, g.now(), body)

	// The client's cancellation does not stop an invocation, as in AWS; the timeouts do.
	ctx := context.WithoutCancel(r.Context())
	var auth *events.APIGatewayV2HTTPRequestContextAuthorizerDescription
	switch {
	case rt.Authorizer == "":
	case g.jwt[rt.Authorizer] != nil:
		claims, aerr := g.jwt[rt.Authorizer].authorize(ctx, ri)
		if aerr != nil {
			writeGatewayError(w, aerr.status, aerr.header)
			return aerr.reason
		}
		auth = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: claims}
	default:
		lctx, aerr := g.lambda[rt.Authorizer].authorize(ctx, g, ri, rt, params)
		if aerr != nil {
			writeGatewayError(w, aerr.status, aerr.header)
			return aerr.reason
		}
		auth = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lctx}
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
