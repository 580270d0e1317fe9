package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"codex/infra/samtemplate"
)

// The fixture's user pool and client, as the local stack would resolve them.
const (
	testPool   = "us-east-1_fixture"
	testClient = "fixture-client"
	testIssuer = "https://cognito-idp.us-east-1.amazonaws.com/" + testPool
)

// fakeFunction records invocations and answers with respond.
type fakeFunction struct {
	calls   atomic.Int32
	mu      sync.Mutex
	last    []byte
	respond func(payload []byte) (Invocation, error)
}

func (f *fakeFunction) Invoke(ctx context.Context, payload []byte) (Invocation, error) {
	f.calls.Add(1)
	f.mu.Lock()
	f.last = payload
	f.mu.Unlock()
	return f.respond(payload)
}

// lastEvent decodes the last integration event the function received.
func (f *fakeFunction) lastEvent(t *testing.T) events.APIGatewayV2HTTPRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(f.last, &ev); err != nil {
		t.Fatalf("event: %v", err)
	}
	return ev
}

func respondJSON(v any) func([]byte) (Invocation, error) {
	return func([]byte) (Invocation, error) {
		b, err := json.Marshal(v)
		return Invocation{Payload: b}, err
	}
}

// echo answers 200 with the function's name, so routing tests see who was called.
func echo(name string) *fakeFunction {
	return &fakeFunction{respond: respondJSON(events.APIGatewayV2HTTPResponse{
		StatusCode: 200, Headers: map[string]string{"content-type": "text/plain"}, Body: name,
	})}
}

type testAPI struct {
	gw        *Gateway
	functions map[string]*fakeFunction
	keys      *testKeys
}

// testAddr is the address the test gateways serve; do sends it as the Host.
const testAddr = "127.0.0.1:4000"

// newTestAPI serves the fixture's Api with fake functions: every route function echoes its name
// and AuthFunction allows "Bearer good".
func newTestAPI(t *testing.T, mutate func(*Config)) *testAPI {
	t.Helper()
	tpl, err := samtemplate.Load("testdata/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := tpl.Validate(); err != nil {
		t.Fatal(err)
	}
	ta := &testAPI{functions: map[string]*fakeFunction{}, keys: newTestKeys(t)}
	for id := range tpl.Functions {
		ta.functions[id] = echo(id)
	}
	ta.functions["AuthFunction"].respond = func(p []byte) (Invocation, error) {
		var req events.APIGatewayV2CustomAuthorizerV2Request
		if err := json.Unmarshal(p, &req); err != nil {
			return Invocation{}, err
		}
		ok := len(req.IdentitySource) == 1 && req.IdentitySource[0] == "Bearer good"
		return respondJSON(events.APIGatewayV2CustomAuthorizerSimpleResponse{
			IsAuthorized: ok, Context: map[string]any{"project_id": "prj_1", "n": 7},
		})(p)
	}
	cfg := Config{
		Template:  tpl,
		API:       "Api",
		Addr:      testAddr,
		Functions: map[string]Invoker{},
		Names:     map[string]string{"UserPool": testPool, "UserPoolClient": testClient},
		APIID:     "fixture",
		JWKSURL:   func(string) string { return ta.keys.server.URL },
	}
	for id, f := range ta.functions {
		cfg.Functions[id] = f
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ta.gw, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ta
}

type result struct {
	status int
	header http.Header
	body   string
}

func (ta *testAPI) do(t *testing.T, method, target string, body io.Reader, headers ...string) result {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	req.Host = testAddr
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	ta.gw.ServeHTTP(rec, req)
	return result{rec.Code, rec.Header(), rec.Body.String()}
}

func (r result) expect(t *testing.T, status int, body string) {
	t.Helper()
	if r.status != status || (body != "" && r.body != body) {
		t.Errorf("got %d %s, want %d %s", r.status, r.body, status, body)
	}
}

func TestRouting(t *testing.T) {
	ta := newTestAPI(t, nil)
	cases := []struct {
		method, path string
		function     string // "" for 404
		params       map[string]string
		routeKey     string
	}{
		// A literal segment beats a path variable, whatever the order in the template.
		{"GET", "/projects/new", "NewProjectFunction", nil, "GET /projects/new"},
		{"GET", "/projects/prj_1", "GetProjectFunction", map[string]string{"id": "prj_1"}, "GET /projects/{id}"},
		// An encoded slash stays inside its segment; the value is decoded.
		{"GET", "/projects/a%2Fb", "GetProjectFunction", map[string]string{"id": "a/b"}, "GET /projects/{id}"},
		// The method picks among the routes of one path, and must match exactly.
		{"DELETE", "/projects/p/keys/k", "DeleteKeyFunction", map[string]string{"id": "p", "key_id": "k"}, "DELETE /projects/{id}/keys/{key_id}"},
		{"GET", "/projects/p/keys/k", "GetProjectFunction", map[string]string{"id": "p", "key_id": "k"}, "GET /projects/{id}/keys/{key_id}"},
		{"POST", "/echo", "EchoFunction", nil, "POST /echo"},
		// No match: 404 without invoking anything (ServeMux alone would answer 405, redirect or
		// let GET answer HEAD).
		{"PATCH", "/projects/p/keys/k", "", nil, ""},
		{"HEAD", "/projects/new", "", nil, ""},
		{"GET", "/projects/new/../p", "", nil, ""},
		{"GET", "/limited", "", nil, ""},
		{"POST", "/projects/new", "", nil, ""},
		{"GET", "/projects/", "", nil, ""},
		{"GET", "/projects//keys/k", "", nil, ""},
		{"GET", "/projects/new/", "", nil, ""},
		{"GET", "/nope", "", nil, ""},
		{"GET", "/", "", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := ta.do(t, c.method, c.path, nil)
			if c.function == "" {
				r.expect(t, 404, `{"message":"Not Found"}`)
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("content-type %q", ct)
				}
				return
			}
			r.expect(t, 200, c.function)
			ev := ta.functions[c.function].lastEvent(t)
			if ev.RouteKey != c.routeKey || ev.RequestContext.RouteKey != c.routeKey {
				t.Errorf("routeKey %q / %q, want %q", ev.RouteKey, ev.RequestContext.RouteKey, c.routeKey)
			}
			if fmt.Sprint(ev.PathParameters) != fmt.Sprint(c.params) {
				t.Errorf("pathParameters %v, want %v", ev.PathParameters, c.params)
			}
		})
	}
}

// TestNewRejectsRoutes: a path the gateway cannot serve as API Gateway would fails New.
func TestNewRejectsRoutes(t *testing.T) {
	// Routes are registered in path order, so the second path of a pair is the one refused.
	for _, paths := range [][]string{{"/files/{proxy+}"}, {"/a/{x}/c", "/a/b/{y}"}} {
		src := "Resources:\n  Api: {Type: AWS::Serverless::HttpApi}\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n"
		for i, p := range paths {
			src += fmt.Sprintf("        E%d: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: %q, Method: GET}}\n", i, p)
		}
		tpl, err := samtemplate.Parse([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		_, err = New(Config{Template: tpl, API: "Api", Addr: testAddr, Functions: map[string]Invoker{"Fn": echo("Fn")}})
		if err == nil || !strings.Contains(err.Error(), "route GET "+paths[0]) {
			t.Errorf("%v: New = %v", paths, err)
		}
	}
}

// TestEventPathIsDecoded: an HTTP API hands the function the path decoded (rawPath and
// requestContext.http.path), while a path parameter keeps an encoded slash inside its segment.
func TestEventPathIsDecoded(t *testing.T) {
	ta := newTestAPI(t, nil)
	ta.do(t, "GET", "/projects/caf%C3%A9%2Fx", nil).expect(t, 200, "GetProjectFunction")
	ev := ta.functions["GetProjectFunction"].lastEvent(t)
	if ev.RawPath != "/projects/café/x" || ev.RequestContext.HTTP.Path != "/projects/café/x" || ev.PathParameters["id"] != "café/x" {
		t.Errorf("rawPath %q, http.path %q, id %q", ev.RawPath, ev.RequestContext.HTTP.Path, ev.PathParameters["id"])
	}
}

func TestIntegrationEvent(t *testing.T) {
	ta := newTestAPI(t, nil)
	body := `{"name":"x"}`
	r := ta.do(t, "POST", "/echo?b=2&a=1&a=3&empty=", strings.NewReader(body),
		"Content-Type", "application/json", "X-Multi", "one", "X-Multi", "two",
		"Cookie", "a=1; b=2", "User-Agent", "test-agent")
	r.expect(t, 200, "EchoFunction")
	if id := r.header.Get("Apigw-Requestid"); id == "" {
		t.Error("no apigw-requestid header")
	}
	ev := ta.functions["EchoFunction"].lastEvent(t)
	checks := map[string][2]any{
		"version":        {ev.Version, "2.0"},
		"rawPath":        {ev.RawPath, "/echo"},
		"rawQueryString": {ev.RawQueryString, "b=2&a=1&a=3&empty="},
		"query":          {fmt.Sprint(ev.QueryStringParameters), "map[a:1,3 b:2 empty:]"},
		"cookies":        {fmt.Sprint(ev.Cookies), "[a=1 b=2]"},
		"x-multi":        {ev.Headers["x-multi"], "one,two"},
		"content-type":   {ev.Headers["content-type"], "application/json"},
		"no cookie hdr":  {ev.Headers["cookie"], ""},
		"body":           {ev.Body, body},
		"base64":         {ev.IsBase64Encoded, false},
		"method":         {ev.RequestContext.HTTP.Method, "POST"},
		"path":           {ev.RequestContext.HTTP.Path, "/echo"},
		"userAgent":      {ev.RequestContext.HTTP.UserAgent, "test-agent"},
		"sourceIp":       {ev.RequestContext.HTTP.SourceIP, "192.0.2.1"},
		"stage":          {ev.RequestContext.Stage, "$default"},
		"apiId":          {ev.RequestContext.APIID, "fixture"},
		"requestId":      {ev.RequestContext.RequestID, r.header.Get("Apigw-Requestid")},
		"authorizer":     {ev.RequestContext.Authorizer == nil, true},
	}
	for name, c := range checks {
		if fmt.Sprint(c[0]) != fmt.Sprint(c[1]) {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}
	if ev.RequestContext.TimeEpoch == 0 || ev.RequestContext.Time == "" || ev.Headers["x-amzn-trace-id"] == "" {
		t.Errorf("time/trace missing: %+v", ev.RequestContext)
	}

	// API Gateway base64-encodes every body that is not text: form posts and bodies without a
	// content type included.
	for _, ct := range []string{"application/x-www-form-urlencoded", "", "application/octet-stream"} {
		hs := []string{}
		if ct != "" {
			hs = []string{"Content-Type", ct}
		}
		ta.do(t, "POST", "/echo", strings.NewReader("a=1"), hs...).expect(t, 200, "")
		ev := ta.functions["EchoFunction"].lastEvent(t)
		if !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString([]byte("a=1")) {
			t.Errorf("content-type %q: body %q base64 %v", ct, ev.Body, ev.IsBase64Encoded)
		}
	}
	ta.do(t, "GET", "/echo", nil).expect(t, 200, "")
	if ev := ta.functions["EchoFunction"].lastEvent(t); ev.Body != "" || ev.IsBase64Encoded || ev.QueryStringParameters != nil {
		t.Errorf("empty request: %+v", ev)
	}
}

func TestResponseFormat(t *testing.T) {
	cases := []struct {
		name    string
		payload string
		status  int
		headers map[string]string
		body    string
	}{
		{"response object", `{"statusCode":201,"headers":{"content-type":"application/json","x-n":5},"body":"{\"id\":1}"}`,
			201, map[string]string{"Content-Type": "application/json", "X-N": "5"}, `{"id":1}`},
		{"base64 body", `{"statusCode":200,"headers":{"content-type":"image/png"},"body":"AAEC","isBase64Encoded":true}`,
			200, map[string]string{"Content-Type": "image/png"}, "\x00\x01\x02"},
		{"no content type", `{"statusCode":200,"body":"x"}`, 200, map[string]string{"Content-Type": "application/json"}, "x"},
		{"204", `{"statusCode":204}`, 204, map[string]string{"Content-Type": ""}, ""},
		// Anything that is not a response object is the body of a 200 JSON response.
		{"inferred object", `{"message":"hi"}`, 200, map[string]string{"Content-Type": "application/json"}, `{"message":"hi"}`},
		{"inferred string", `"Hello from Lambda!"`, 200, map[string]string{"Content-Type": "application/json"}, "Hello from Lambda!"},
		{"inferred number", `42`, 200, nil, "42"},
		{"inferred null", `null`, 200, nil, "null"},
		{"inferred array", `[1,2]`, 200, nil, "[1,2]"},
		// Malformed: API Gateway's 500.
		{"not JSON", `Task timed out`, 500, nil, `{"message":"Internal Server Error"}`},
		{"bad status", `{"statusCode":"200","body":"x"}`, 500, nil, `{"message":"Internal Server Error"}`},
		{"status out of range", `{"statusCode":42}`, 500, nil, `{"message":"Internal Server Error"}`},
		{"body not a string", `{"statusCode":200,"body":{"a":1}}`, 500, nil, `{"message":"Internal Server Error"}`},
		{"bad base64", `{"statusCode":200,"body":"!!","isBase64Encoded":true}`, 500, nil, `{"message":"Internal Server Error"}`},
		{"header object", `{"statusCode":200,"headers":{"x":{"a":1}}}`, 500, nil, `{"message":"Internal Server Error"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ta := newTestAPI(t, nil)
			ta.functions["EchoFunction"].respond = func([]byte) (Invocation, error) { return Invocation{Payload: []byte(c.payload)}, nil }
			r := ta.do(t, "GET", "/echo", nil)
			r.expect(t, c.status, c.body)
			for k, v := range c.headers {
				if got := r.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}

	t.Run("cookies", func(t *testing.T) {
		ta := newTestAPI(t, nil)
		ta.functions["EchoFunction"].respond = respondJSON(map[string]any{"statusCode": 200, "cookies": []string{"a=1; Path=/", "b=2"}})
		r := ta.do(t, "GET", "/echo", nil)
		if got := r.header.Values("Set-Cookie"); fmt.Sprint(got) != "[a=1; Path=/ b=2]" {
			t.Errorf("set-cookie %v", got)
		}
	})
}

// TestStatusMappings covers each of API Gateway's own answers.
func TestStatusMappings(t *testing.T) {
	const (
		internal    = `{"message":"Internal Server Error"}`
		unavailable = `{"message":"Service Unavailable"}`
	)
	t.Run("function error", func(t *testing.T) {
		ta := newTestAPI(t, nil)
		ta.functions["FailFunction"].respond = func([]byte) (Invocation, error) {
			return Invocation{Payload: []byte(`{"errorMessage":"boom","errorType":"errorString"}`), FunctionError: "Unhandled"}, nil
		}
		ta.do(t, "GET", "/fail", nil).expect(t, 500, internal)
	})
	t.Run("environment died", func(t *testing.T) {
		ta := newTestAPI(t, nil)
		ta.functions["FailFunction"].respond = func([]byte) (Invocation, error) { return Invocation{}, errors.New("emulator exited") }
		ta.do(t, "GET", "/fail", nil).expect(t, 500, internal)
	})
	t.Run("integration timeout", func(t *testing.T) {
		ta := newTestAPI(t, func(c *Config) { c.IntegrationTimeout = 50 * time.Millisecond })
		ta.functions["FailFunction"].respond = func([]byte) (Invocation, error) {
			time.Sleep(100 * time.Millisecond)
			return Invocation{}, context.DeadlineExceeded
		}
		ta.do(t, "GET", "/fail", nil).expect(t, 503, unavailable)
	})
	t.Run("body over the API's or Lambda's limit", func(t *testing.T) {
		ta := newTestAPI(t, nil)
		big := bytes.Repeat([]byte("a"), MaxBodyBytes+1)
		ta.do(t, "POST", "/echo", bytes.NewReader(big)).expect(t, 413, `{"message":"Request Entity Too Large"}`)
		req := httptest.NewRequest("POST", "/echo", io.MultiReader(bytes.NewReader(big)))
		req.Host = testAddr
		req.ContentLength = -1 // chunked: the limit applies while reading
		rec := httptest.NewRecorder()
		ta.gw.ServeHTTP(rec, req)
		if rec.Code != 413 || ta.functions["EchoFunction"].calls.Load() != 0 {
			t.Errorf("chunked: %d, %d calls", rec.Code, ta.functions["EchoFunction"].calls.Load())
		}
		// Within the API's limit but not Lambda's: the event would be over 6 MiB.
		ta.do(t, "POST", "/echo", bytes.NewReader(big[:MaxBodyBytes]), "Content-Type", "text/plain").expect(t, 413, `{"message":"Request Entity Too Large"}`)
		ta.do(t, "POST", "/echo", bytes.NewReader(big[:MaxInvokePayload-2048]), "Content-Type", "application/octet-stream").expect(t, 413, `{"message":"Request Entity Too Large"}`) // base64 in the event
		if n := ta.functions["EchoFunction"].calls.Load(); n != 0 {
			t.Errorf("%d invocations with events over Lambda's limit", n)
		}
		ta.do(t, "POST", "/echo", bytes.NewReader(big[:MaxInvokePayload-2048]), "Content-Type", "application/json").expect(t, 200, "EchoFunction")
		// Measured as the event is sent, without HTML escapes: 2 MB of < is not a 12 MB event.
		ta.do(t, "POST", "/echo", bytes.NewReader(bytes.Repeat([]byte("<"), 2<<20)), "Content-Type", "application/json").expect(t, 200, "EchoFunction")
	})
	t.Run("throttling", func(t *testing.T) {
		now := time.Unix(1_800_000_000, 0)
		ta := newTestAPI(t, func(c *Config) { c.API, c.Now = "LimitedApi", func() time.Time { return now } })
		ta.do(t, "GET", "/limited", nil).expect(t, 200, "")
		ta.do(t, "GET", "/limited", nil).expect(t, 200, "")
		ta.do(t, "GET", "/limited", nil).expect(t, 429, `{"message":"Too Many Requests"}`)
		now = now.Add(time.Second)
		ta.do(t, "GET", "/limited", nil).expect(t, 200, "")
		ta.do(t, "GET", "/limited", nil).expect(t, 429, `{"message":"Too Many Requests"}`)
		ta.do(t, "GET", "/other", nil).expect(t, 200, "") // each route has its own bucket
		if n := ta.functions["EchoFunction"].calls.Load(); n != 4 {
			t.Errorf("%d invocations, want 4 (none for a throttled request)", n)
		}
	})
}

func TestLambdaAuthorizer(t *testing.T) {
	t.Run("missing identity is 401 without a call", func(t *testing.T) {
		ta := newTestAPI(t, nil)
		ta.do(t, "GET", "/key", nil).expect(t, 401, `{"message":"Unauthorized"}`)
		ta.do(t, "GET", "/key", nil, "Authorization", "").expect(t, 401, `{"message":"Unauthorized"}`)
		if n := ta.functions["AuthFunction"].calls.Load(); n != 0 {
			t.Errorf("authorizer called %d times", n)
		}
	})
	t.Run("denied is 403", func(t *testing.T) {
		ta := newTestAPI(t, nil)
		ta.do(t, "GET", "/key", nil, "Authorization", "Bearer bad").expect(t, 403, `{"message":"Forbidden"}`)
		if ta.functions["EchoFunction"].calls.Load() != 0 {
			t.Error("integration called after a deny")
		}
	})
	t.Run("allowed passes the context", func(t *testing.T) {
		ta := newTestAPI(t, nil)
		ta.do(t, "GET", "/key?x=1", nil, "Authorization", "Bearer good").expect(t, 200, "EchoFunction")
		ev := ta.functions["EchoFunction"].lastEvent(t)
		if a := ev.RequestContext.Authorizer; a == nil || a.Lambda["project_id"] != "prj_1" || a.Lambda["n"] != float64(7) {
			t.Errorf("authorizer context %+v", ev.RequestContext.Authorizer)
		}
		var req events.APIGatewayV2CustomAuthorizerV2Request
		_ = json.Unmarshal(ta.functions["AuthFunction"].last, &req)
		if req.Version != "2.0" || req.Type != "REQUEST" || req.RouteKey != "GET /key" || req.RawQueryString != "x=1" ||
			req.RouteArn != "arn:aws:execute-api:us-east-1:123456789012:fixture/$default/GET/key" || req.Headers["authorization"] != "Bearer good" {
			t.Errorf("authorizer request %+v", req)
		}
	})
	t.Run("no caching when ReauthorizeEvery is 0", func(t *testing.T) {
		ta := newTestAPI(t, nil)
		for range 3 {
			ta.do(t, "GET", "/key", nil, "Authorization", "Bearer good").expect(t, 200, "")
		}
		if n := ta.functions["AuthFunction"].calls.Load(); n != 3 {
			t.Errorf("authorizer called %d times, want 3", n)
		}
	})
	failures := map[string]func([]byte) (Invocation, error){
		"error": func([]byte) (Invocation, error) {
			return Invocation{Payload: []byte(`{"errorMessage":"key lookup failed","errorType":"errorString"}`), FunctionError: "Unhandled"}, nil
		},
		"timeout": func([]byte) (Invocation, error) {
			time.Sleep(60 * time.Millisecond)
			return Invocation{}, context.DeadlineExceeded
		},
		"crash": func([]byte) (Invocation, error) { return Invocation{}, errors.New("emulator exited") },
		"not a simple response": func([]byte) (Invocation, error) {
			return Invocation{Payload: []byte(`{"allowed":true}`)}, nil
		},
	}
	for name, respond := range failures {
		t.Run(name+" is 500", func(t *testing.T) {
			ta := newTestAPI(t, func(c *Config) { c.AuthorizerTimeout = 30 * time.Millisecond })
			ta.functions["AuthFunction"].respond = respond
			ta.do(t, "GET", "/key", nil, "Authorization", "Bearer good").expect(t, 500, `{"message":"Internal Server Error"}`)
			if ta.functions["EchoFunction"].calls.Load() != 0 {
				t.Error("integration called after an authorizer failure")
			}
		})
	}
}

func TestCORS(t *testing.T) {
	ta := newTestAPI(t, nil)
	// Preflight is answered by the gateway for any path, without a call.
	r := ta.do(t, "OPTIONS", "/anything", nil, "Origin", "https://shop.example",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "Content-Type")
	r.expect(t, 204, "")
	want := map[string]string{
		"Access-Control-Allow-Origin":  "https://shop.example",
		"Access-Control-Allow-Methods": "GET,POST",
		"Access-Control-Allow-Headers": "content-type,authorization",
		"Access-Control-Max-Age":       "600",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// Refused origins, methods and headers get no CORS headers.
	for _, h := range [][]string{
		{"Origin", "https://evil.example", "Access-Control-Request-Method", "GET"},
		{"Origin", "https://shop.example", "Access-Control-Request-Method", "DELETE"},
		{"Origin", "https://shop.example", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "x-secret"},
	} {
		r := ta.do(t, "OPTIONS", "/echo", nil, h...)
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%v: %d %v", h, r.status, r.header)
		}
	}
	// Actual requests: the configured headers replace the function's.
	ta.functions["EchoFunction"].respond = respondJSON(map[string]any{"statusCode": 200, "headers": map[string]string{"access-control-allow-origin": "*"}})
	r = ta.do(t, "GET", "/echo", nil, "Origin", "https://shop.example")
	if r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("actual request headers %v", r.header)
	}
	r = ta.do(t, "GET", "/echo", nil, "Origin", "https://evil.example")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("refused origin got %v", r.header)
	}
	// Gateway errors carry them too, so a browser can read the 404.
	if r := ta.do(t, "GET", "/nope", nil, "Origin", "https://shop.example"); r.header.Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("404 without CORS headers")
	}
	if ta.functions["EchoFunction"].calls.Load() != 2 {
		t.Errorf("preflights reached the function")
	}
}

func TestNewReportsMissingFunctions(t *testing.T) {
	tpl, err := samtemplate.Load("testdata/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{Template: tpl, API: "Api", Addr: testAddr, Functions: map[string]Invoker{}, Names: map[string]string{"UserPool": "p", "UserPoolClient": "c"}})
	if err == nil || !strings.Contains(err.Error(), "route GET /projects/new: function NewProjectFunction is not available") ||
		!strings.Contains(err.Error(), "authorizer Key: function AuthFunction is not available") {
		t.Errorf("New: %v", err)
	}
	_, err = New(Config{Template: tpl, API: "Api", Addr: testAddr, Functions: map[string]Invoker{}})
	if err == nil || !strings.Contains(err.Error(), "authorizer Jwt: issuer: cannot resolve ${UserPool}") {
		t.Errorf("New without names: %v", err)
	}
}

// testKeys is an issuer's key pair served as a JWKS, plus a stranger's key with the same kid.
type testKeys struct {
	server   *httptest.Server
	key      *rsa.PrivateKey
	stranger *rsa.PrivateKey
}

var (
	keysOnce           sync.Once
	issuerKey, strange *rsa.PrivateKey
)

func newTestKeys(t *testing.T) *testKeys {
	keysOnce.Do(func() {
		issuerKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		strange, _ = rsa.GenerateKey(rand.Reader, 2048)
	})
	k := &testKeys{key: issuerKey, stranger: strange}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &issuerKey.PublicKey, KeyID: "kid-1", Algorithm: "RS256", Use: "sig"}}}
	k.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(k.server.Close)
	return k
}

func (k *testKeys) sign(t *testing.T, key *rsa.PrivateKey, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	var signingKey any = key
	if alg == jose.HS256 {
		signingKey = []byte("0123456789abcdef0123456789abcdef")
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: signingKey}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// idClaims are the claims of a Cognito ID token of the fixture's pool.
func idClaims(now time.Time) map[string]any {
	return map[string]any{
		"sub": "user-1", "iss": testIssuer, "aud": testClient, "token_use": "id",
		"email": "alice@example.com", "email_verified": true, "cognito:groups": []string{"admin", "ops"},
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func TestJWTAuthorizer(t *testing.T) {
	ta := newTestAPI(t, nil)
	now := time.Now()
	k := ta.keys
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

	t.Run("valid ID token", func(t *testing.T) {
		ta.do(t, "GET", "/jwt", nil, bearer(k.sign(t, k.key, jose.RS256, idClaims(now)))...).expect(t, 200, "EchoFunction")
		a := ta.functions["EchoFunction"].lastEvent(t).RequestContext.Authorizer
		if a == nil || a.JWT == nil {
			t.Fatal("no jwt authorizer context")
		}
		want := map[string]string{"sub": "user-1", "email_verified": "true", "cognito:groups": "[admin ops]",
			"exp": fmt.Sprint(now.Add(time.Hour).Unix()), "aud": testClient}
		for c, v := range want {
			if a.JWT.Claims[c] != v {
				t.Errorf("claim %s = %q, want %q", c, a.JWT.Claims[c], v)
			}
		}
	})
	t.Run("valid access token without the Bearer prefix", func(t *testing.T) {
		c := idClaims(now)
		delete(c, "aud")
		c["client_id"], c["token_use"], c["scope"] = testClient, "access", "orders/read aws.cognito.signin.user.admin"
		ta.do(t, "GET", "/jwt", nil, "Authorization", k.sign(t, k.key, jose.RS256, c)).expect(t, 200, "EchoFunction")
		if a := ta.functions["EchoFunction"].lastEvent(t).RequestContext.Authorizer; fmt.Sprint(a.JWT.Scopes) != "[orders/read aws.cognito.signin.user.admin]" {
			t.Errorf("scopes %v", a.JWT.Scopes)
		}
	})

	rejected := map[string]string{
		"bad signature":    k.sign(t, k.stranger, jose.RS256, idClaims(now)),
		"wrong issuer":     k.sign(t, k.key, jose.RS256, with(idClaims(now), "iss", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other")),
		"wrong audience":   k.sign(t, k.key, jose.RS256, with(idClaims(now), "aud", "another-client")),
		"expired":          k.sign(t, k.key, jose.RS256, with(idClaims(now), "exp", now.Add(-time.Second).Unix())),
		"no expiry":        k.sign(t, k.key, jose.RS256, with(idClaims(now), "exp", nil)),
		"not yet valid":    k.sign(t, k.key, jose.RS256, with(idClaims(now), "nbf", now.Add(time.Hour).Unix())),
		"issued in future": k.sign(t, k.key, jose.RS256, with(idClaims(now), "iat", now.Add(time.Hour).Unix())),
		"HMAC":             k.sign(t, nil, jose.HS256, idClaims(now)),
		"not a JWT":        "cmk_notatoken",
		"tampered claims":  tamper(k.sign(t, k.key, jose.RS256, idClaims(now))),
	}
	for name, tok := range rejected {
		t.Run("rejects "+name, func(t *testing.T) {
			r := ta.do(t, "GET", "/jwt", nil, bearer(tok)...)
			r.expect(t, 401, `{"message":"Unauthorized"}`)
			if !strings.Contains(r.header.Get("Www-Authenticate"), `error="invalid_token"`) {
				t.Errorf("www-authenticate %q", r.header.Get("Www-Authenticate"))
			}
			if strings.Contains(r.header.Get("Www-Authenticate"), tok) {
				t.Error("the token is echoed")
			}
		})
	}
	t.Run("missing token", func(t *testing.T) {
		ta.do(t, "GET", "/jwt", nil).expect(t, 401, `{"message":"Unauthorized"}`)
	})
	if n := ta.functions["EchoFunction"].calls.Load(); n != 2 {
		t.Errorf("integration called %d times, want 2 (the accepted tokens)", n)
	}
}

func with(claims map[string]any, k string, v any) map[string]any {
	if v == nil {
		delete(claims, k)
	} else {
		claims[k] = v
	}
	return claims
}

// tamper swaps the payload of a signed token for another one, keeping the signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = bytes.Replace(payload, []byte("user-1"), []byte("user-2"), 1)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestAccessLogNeverHasCredentials(t *testing.T) {
	var buf syncBuffer
	ta := newTestAPI(t, func(c *Config) { c.Log = slogJSON(&buf) })
	tok := ta.keys.sign(t, ta.keys.key, jose.RS256, with(idClaims(time.Now()), "exp", time.Now().Add(-time.Hour).Unix()))
	ta.do(t, "GET", "/jwt?token=secret-in-query", nil, "Authorization", "Bearer "+tok).expect(t, 401, "")
	ta.do(t, "GET", "/key", nil, "Authorization", "Bearer cmk_secretsecret").expect(t, 403, "")
	log := buf.String()
	for _, secret := range []string{tok, tok[:40], "cmk_secretsecret", "secret-in-query"} {
		if strings.Contains(log, secret) {
			t.Errorf("log contains a credential: %s", log)
		}
	}
	for _, field := range []string{`"method":"GET"`, `"path":"/jwt"`, `"status":401`, `"latency_ms"`, `"request_id"`, `"reason":"jwt: the token has expired"`} {
		if !strings.Contains(log, field) {
			t.Errorf("access log lacks %s: %s", field, log)
		}
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func slogJSON(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestJWKSDiscovery: an issuer the configuration does not map to a key set is asked for its
// OpenID configuration, whose jwks_uri gives the keys; an issuer without one gives no key.
func TestJWKSDiscovery(t *testing.T) {
	keys := newTestKeys(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /good/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": "x", "jwks_uri": keys.server.URL})
	})
	mux.HandleFunc("GET /bad/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"x"}`))
	})
	issuer := httptest.NewServer(mux)
	t.Cleanup(issuer.Close)

	good := &jwksCache{issuer: issuer.URL + "/good/", client: issuer.Client()}
	k, err := good.key(context.Background(), "kid-1")
	if err != nil || good.url != keys.server.URL {
		t.Fatalf("discovered %q: %v", good.url, err)
	}
	if pub, ok := k.Key.(*rsa.PublicKey); !ok || !pub.Equal(&keys.key.PublicKey) {
		t.Errorf("key %T is not the issuer's", k.Key)
	}
	bad := &jwksCache{issuer: issuer.URL + "/bad", client: issuer.Client()}
	if _, err := bad.key(context.Background(), "kid-1"); err == nil || !strings.Contains(err.Error(), "jwks_uri") {
		t.Errorf("an issuer without jwks_uri: %v", err)
	}
}

// TestHostCheck: a request naming a host other than the gateway's address (a page on evil.example
// whose DNS answers 127.0.0.1) is refused before anything runs, preflights included; the address
// itself, localhost and IP literals on its port are served.
func TestHostCheck(t *testing.T) {
	var buf syncBuffer
	ta := newTestAPI(t, func(c *Config) { c.Log = slogJSON(&buf) })
	for _, host := range []string{"evil.example:4000", "evil.example", "127.0.0.1:4001", "localhost.evil.example:4000", ""} {
		r := ta.do(t, "GET", "/echo", nil, "Host", host)
		if r.status != http.StatusMisdirectedRequest || !strings.Contains(r.body, "serves http://127.0.0.1:4000") || !strings.Contains(r.body, "DNS rebinding") {
			t.Errorf("Host %q: %d %s", host, r.status, r.body)
		}
		r = ta.do(t, "OPTIONS", "/echo", nil, "Host", host, "Origin", "https://shop.example", "Access-Control-Request-Method", "GET")
		if r.status != http.StatusMisdirectedRequest || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight with Host %q: %d %v", host, r.status, r.header)
		}
	}
	if n := ta.functions["EchoFunction"].calls.Load(); n != 0 {
		t.Errorf("%d invocations for refused hosts", n)
	}
	if !strings.Contains(buf.String(), `"reason":"host evil.example:4000 is not the gateway's address"`) {
		t.Errorf("access log: %s", buf.String())
	}
	for _, host := range []string{testAddr, "LOCALHOST:4000", "[::1]:4000"} {
		ta.do(t, "GET", "/echo", nil, "Host", host).expect(t, 200, "EchoFunction")
	}
}
