package api

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"codex/api/openapi"
	"codex/pkg/codex"
	"codex/pkg/dynamo"
	"codex/pkg/secretscan"
)

// world serves every route of template.yaml over one store, as the deployed functions do over one
// table pair, with a clock the test moves. Every exchange is validated against the published
// OpenAPI document (api/openapi/openapi.yaml): a response the document does not allow fails the test
// where it happens.
type world struct {
	t      *testing.T
	store  *dynamo.Store
	tables dynamo.Tables
	clock  *clock
	spec   *openapi.Validator
	routes map[string]Route
	logs   *bytes.Buffer
}

func newWorld(t *testing.T) *world {
	t.Helper()
	spec, err := openapi.NewValidator(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	store, tables := newTestTables(t)
	w := &world{t: t, store: store, tables: tables, clock: &clock{now: time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)}, spec: spec, logs: new(bytes.Buffer)}
	w.routes = worldRoutes(t, w.store, w.tick)
	return w
}

// RegistryRoutes is every route of pkg/registry over s, now and pageURL, by route key: the wiring
// the deployed functions run. registry_test.go, in package api_test, sets it: package api's own
// tests cannot import pkg/registry, which imports package api.
var RegistryRoutes func(s *dynamo.Store, now codex.Clock, pageURL string, github SignatureVerifier) map[string]Route

// worldRoutes is every route of template.yaml over s, as pkg/registry wires it.
func worldRoutes(t testing.TB, s *dynamo.Store, now codex.Clock) map[string]Route {
	t.Helper()
	if RegistryRoutes == nil {
		t.Fatal("RegistryRoutes is not set (registry_test.go sets it)")
	}
	return RegistryRoutes(s, now, testPageURL, TestGitHubVerifier)
}

// tick is the handlers' clock: every reading is a millisecond later, so creation times differ.
func (w *world) tick() time.Time {
	w.clock.Add(time.Millisecond)
	return w.clock.Now()
}

// call is one request: req must carry its route key and path parameters.
func (w *world) call(req Request) Response {
	w.t.Helper()
	route, ok := w.routes[req.RouteKey]
	if !ok {
		w.t.Fatalf("no route %q", req.RouteKey)
	}
	req.RequestContext.RouteKey = req.RouteKey
	resp, err := Handler(slog.New(slog.NewJSONHandler(w.logs, nil)), route)(context.Background(), req)
	if err != nil {
		w.t.Fatalf("%s returned a Go error: %v", req.RouteKey, err)
	}
	method, tmpl, _ := strings.Cut(req.RouteKey, " ")
	path := tmpl
	for k, v := range req.PathParameters {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
	}
	ex := openapi.Exchange{
		Method: method, Path: path, RequestHeader: http.Header{}, RequestBody: []byte(req.Body),
		Status: resp.StatusCode, Header: http.Header{}, Body: []byte(resp.Body),
	}
	if len(req.QueryStringParameters) > 0 {
		ex.Query = url.Values{}
		for k, v := range req.QueryStringParameters {
			ex.Query.Set(k, v)
		}
	}
	for k, v := range req.Headers {
		ex.RequestHeader.Set(k, v)
	}
	for k, v := range resp.Headers {
		ex.Header.Set(k, v)
	}
	if err := w.spec.Validate(context.Background(), ex); err != nil {
		w.t.Errorf("the response does not match api/openapi/openapi.yaml: %v", err)
	}
	return resp
}

// dashboard calls a dashboard route as user.
func (w *world) dashboard(user, routeKey string, params map[string]string, body string, query ...string) Response {
	w.t.Helper()
	req := fixtureRequest(w.t, "dashboard-request.json")
	req.RouteKey, req.PathParameters, req.Body = routeKey, params, body
	for i := 0; i+1 < len(query); i += 2 {
		if req.QueryStringParameters == nil {
			req.QueryStringParameters = map[string]string{}
		}
		req.QueryStringParameters[query[i]] = query[i+1]
	}
	req.RequestContext.Authorizer.JWT.Claims["sub"] = user
	return w.call(req)
}

// dashboardQuery calls a dashboard route with a query string as user.
func (w *world) dashboardQuery(user, routeKey string, params, query map[string]string) Response {
	w.t.Helper()
	req := fixtureRequest(w.t, "dashboard-request.json")
	req.RouteKey, req.PathParameters, req.QueryStringParameters = routeKey, params, query
	req.RequestContext.Authorizer.JWT.Claims["sub"] = user
	return w.call(req)
}

// merchant calls a /v1 route with the key of project.
func (w *world) merchant(project, routeKey string, params, query map[string]string, body string) Response {
	w.t.Helper()
	req := fixtureRequest(w.t, "merchant-request.json")
	req.RouteKey, req.PathParameters, req.QueryStringParameters, req.Body = routeKey, params, query, body
	if body != "" {
		req.Headers["content-type"] = "application/json"
	}
	req.RequestContext.Authorizer.Lambda = map[string]any{"project_id": project, "key_id": "key_" + strings.TrimPrefix(project, "prj_")}
	return w.call(req)
}

// public calls a public route, as a browser on a merchant's page would: no credentials.
func (w *world) public(routeKey string, params map[string]string, body string) Response {
	w.t.Helper()
	req := fixtureRequest(w.t, "public-request.json")
	req.RouteKey, req.PathParameters, req.Body = routeKey, params, body
	if req.RequestContext.Authorizer != nil {
		w.t.Fatal("the public fixture carries an authorizer context")
	}
	return w.call(req)
}

// page calls a route of the hosted checkout page; form, if not nil, is the body, as a browser
// sends it.
func (w *world) page(routeKey string, params map[string]string, form url.Values) Response {
	w.t.Helper()
	req := fixtureRequest(w.t, "public-request.json")
	req.RouteKey, req.PathParameters = routeKey, params
	if form != nil {
		req.Body = form.Encode()
		req.Headers["content-type"] = "application/x-www-form-urlencoded"
	}
	return w.call(req)
}

// project creates a project owned by user and returns its id.
func (w *world) project(user, name string) string {
	w.t.Helper()
	resp := w.dashboard(user, "POST /projects", nil, `{"name":"`+name+`"}`)
	wantStatus(w.t, resp, http.StatusCreated)
	return decodeInto[projectView](w.t, resp).ID
}

// button creates a button in project as user and returns it.
func (w *world) button(user, project, body string) buttonView {
	w.t.Helper()
	resp := w.dashboard(user, "POST /projects/{project_id}/buttons", map[string]string{"project_id": project}, body)
	wantStatus(w.t, resp, http.StatusCreated)
	return decodeInto[buttonView](w.t, resp)
}

// TestGitHubKey stands in for GitHub's secret scanning signing key in these tests;
// TestGitHubVerifier verifies with its public half under the id "test-key".
var (
	TestGitHubKey, _   = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	TestGitHubVerifier = staticVerifier{"test-key": &TestGitHubKey.PublicKey}
)

type staticVerifier map[string]*ecdsa.PublicKey

func (v staticVerifier) Verify(_ context.Context, keyID, signature string, body []byte) error {
	sig, err := base64.StdEncoding.DecodeString(signature)
	sum := sha256.Sum256(body)
	if k, ok := v[keyID]; !ok || err != nil || !ecdsa.VerifyASN1(k, sum[:], sig) {
		return secretscan.ErrBadSignature
	}
	return nil
}

// githubSign signs body as GitHub would, with TestGitHubKey.
func githubSign(t testing.TB, body string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	sig, err := ecdsa.SignASN1(rand.Reader, TestGitHubKey, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// github posts a leak report signed with signature.
func (w *world) github(body, signature string) Response {
	w.t.Helper()
	req := fixtureRequest(w.t, "public-request.json")
	req.RouteKey, req.Body = "POST /public/secret-scanning/github", body
	req.Headers["content-type"] = "application/json"
	req.Headers["github-public-key-identifier"] = "test-key"
	req.Headers["github-public-key-signature"] = signature
	return w.call(req)
}
