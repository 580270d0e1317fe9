package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"codex/pkg/apikey"
	"codex/pkg/codex"
	"codex/pkg/dynamo"
)

// dashboard serves the routes over one store, as the deployed functions do over one table
// pair, and records everything they log.
type dashboard struct {
	t     *testing.T
	store *dynamo.Store
	now   time.Time
	logs  *bytes.Buffer
}

func newDashboard(t *testing.T) *dashboard {
	return &dashboard{t: t, store: newTestStore(t), now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), logs: new(bytes.Buffer)}
}

// call sends one event through api.Handler to the route named by its route key.
func (d *dashboard) call(user, routeKey string, path map[string]string, body string) Response {
	d.t.Helper()
	req := fixtureRequest(d.t, "dashboard-request.json")
	req.RouteKey, req.RequestContext.RouteKey = routeKey, routeKey
	req.RequestContext.Authorizer.JWT.Claims["sub"] = user
	req.PathParameters = path
	req.Body = body
	clock := func() time.Time { d.now = d.now.Add(time.Second); return d.now }
	routes := worldRoutes(d.t, d.store, clock)
	route, ok := routes[routeKey]
	if !ok {
		d.t.Fatalf("no route %q", routeKey)
	}
	resp, err := Handler(slog.New(slog.NewJSONHandler(d.logs, nil)), route)(context.Background(), req)
	if err != nil {
		d.t.Fatalf("%s returned a Go error: %v", routeKey, err)
	}
	return resp
}

func decodeInto[T any](t *testing.T, resp Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return v
}

// wantError checks a response is the error envelope with the given status, code and param.
func wantError(t *testing.T, resp Response, status int, code codex.Code, param string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, resp.Body)
	}
	e := decodeEnvelope(t, resp)
	if e.Error.Code != string(code) || e.Error.Param != param || e.Error.Message == "" || e.Error.Type == "" || e.RequestID == "" {
		t.Fatalf("envelope %+v, want code %s param %q with a message, type and request id", e, code, param)
	}
	if resp.Headers["content-type"] != "application/json" {
		t.Fatalf("content-type %q", resp.Headers["content-type"])
	}
}

func TestProjectRoutes(t *testing.T) {
	t.Parallel()
	d := newDashboard(t)

	resp := d.call("alice", "POST /projects", nil, `{"name":"  My shop  "}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Body)
	}
	first := decodeInto[projectView](t, resp)
	if !codex.ValidID(codex.ProjectIDPrefix, first.ID) || first.Name != "My shop" || first.CreatedAt != "2026-11-25T12:00:01.000Z" {
		t.Fatalf("created %+v", first)
	}
	second := decodeInto[projectView](t, d.call("alice", "POST /projects", nil, `{"name":"Second"}`))
	d.call("bob", "POST /projects", nil, `{"name":"Bob's"}`)

	list := decodeInto[List[projectView]](t, d.call("alice", "GET /projects", nil, ""))
	if len(list.Data) != 2 || list.Data[0] != second || list.Data[1] != first {
		t.Fatalf("alice's projects %+v, want [%+v %+v]", list.Data, second, first)
	}
	if empty := d.call("carol", "GET /projects", nil, ""); empty.Body != `{"data":[]}` {
		t.Fatalf("no projects: %s, want an empty list", empty.Body)
	}

	for name, tc := range map[string]struct {
		body   string
		status int
		code   codex.Code
		param  string
	}{
		"missing name":  {`{}`, 400, codex.CodeParameterMissing, "name"},
		"blank name":    {`{"name":"   "}`, 400, codex.CodeParameterMissing, "name"},
		"long name":     {`{"name":"` + strings.Repeat("x", 101) + `"}`, 400, codex.CodeParameterInvalid, "name"},
		"number name":   {`{"name":7}`, 400, codex.CodeParameterInvalid, "name"},
		"unknown field": {`{"name":"a","owner":"bob"}`, 400, codex.CodeParameterUnknown, "owner"},
		"malformed":     {`{"name":`, 400, codex.CodeBodyInvalid, ""},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, d.call("alice", "POST /projects", nil, tc.body), tc.status, tc.code, tc.param)
		})
	}
	if n := len(decodeInto[List[projectView]](t, d.call("alice", "GET /projects", nil, "")).Data); n != 2 {
		t.Fatalf("bad requests changed the projects: %d, want 2", n)
	}
}

var keyPattern = regexp.MustCompile(apikey.Pattern)

func TestKeyRoutes(t *testing.T) {
	t.Parallel()
	d := newDashboard(t)
	project := decodeInto[projectView](t, d.call("alice", "POST /projects", nil, `{"name":"Shop"}`)).ID
	pp := map[string]string{"project_id": project}

	resp := d.call("alice", "POST /projects/{project_id}/keys", pp, `{"name":"Production server"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create key: %d %s", resp.StatusCode, resp.Body)
	}
	created := decodeInto[keyView](t, resp)
	if !keyPattern.MatchString(created.Secret) || created.Prefix != created.Secret[:8] || created.Name != "Production server" ||
		!codex.ValidID(codex.KeyIDPrefix, created.ID) || created.CreatedAt == "" {
		t.Fatalf("created key %+v", created)
	}
	second := decodeInto[keyView](t, d.call("alice", "POST /projects/{project_id}/keys", pp, `{"name":"Production server"}`))

	listResp := d.call("alice", "GET /projects/{project_id}/keys", pp, "")
	list := decodeInto[List[map[string]*string]](t, listResp)
	if len(list.Data) != 2 || *list.Data[0]["id"] != second.ID || *list.Data[1]["id"] != created.ID {
		t.Fatalf("list %s, want newest first", listResp.Body)
	}
	for _, k := range list.Data {
		if len(k) != 9 || *k["name"] == "" || *k["created_at"] == "" || !strings.HasSuffix(*k["prefix"], "••••") ||
			*k["status"] != "active" || k["expires_at"] != nil || k["last_used_at"] != nil {
			t.Fatalf("listed key %v: want exactly id, name, masked prefix, created_at, status and the null expiry and last use", k)
		}
	}
	if strings.Contains(listResp.Body, created.Secret) || strings.Contains(listResp.Body, created.Secret[8:]) {
		t.Fatal("the list holds a secret")
	}
	if want := created.Prefix + "••••"; *list.Data[1]["prefix"] != want {
		t.Fatalf("masked prefix %q, want %q", *list.Data[1]["prefix"], want)
	}

	// Bob is not a member: every key route answers 404, as for a project that does not exist.
	for _, rk := range []string{"POST /projects/{project_id}/keys", "GET /projects/{project_id}/keys"} {
		wantError(t, d.call("bob", rk, pp, `{"name":"intruder"}`), 404, codex.CodeNotFound, "")
		wantError(t, d.call("alice", rk, map[string]string{"project_id": codex.NewID(codex.ProjectIDPrefix)}, `{"name":"x"}`), 404, codex.CodeNotFound, "")
		wantError(t, d.call("alice", rk, map[string]string{"project_id": "../etc"}, `{"name":"x"}`), 404, codex.CodeNotFound, "")
	}
	del := "DELETE /projects/{project_id}/keys/{key_id}"
	wantError(t, d.call("bob", del, map[string]string{"project_id": project, "key_id": created.ID}, ""), 404, codex.CodeNotFound, "")
	wantError(t, d.call("alice", "POST /projects/{project_id}/keys", pp, `{"name":""}`), 400, codex.CodeParameterMissing, "name")

	// A key of Bob's project cannot be deleted through Alice's project.
	bobProject := decodeInto[projectView](t, d.call("bob", "POST /projects", nil, `{"name":"Bob"}`)).ID
	bobKey := decodeInto[keyView](t, d.call("bob", "POST /projects/{project_id}/keys", map[string]string{"project_id": bobProject}, `{"name":"b"}`))
	wantError(t, d.call("alice", del, map[string]string{"project_id": project, "key_id": bobKey.ID}, ""), 404, codex.CodeNotFound, "")
	wantError(t, d.call("alice", del, map[string]string{"project_id": project, "key_id": "key_nope"}, ""), 404, codex.CodeNotFound, "")

	if resp := d.call("alice", del, map[string]string{"project_id": project, "key_id": created.ID}, ""); resp.StatusCode != http.StatusNoContent || resp.Body != "" {
		t.Fatalf("delete: %d %q", resp.StatusCode, resp.Body)
	}
	wantError(t, d.call("alice", del, map[string]string{"project_id": project, "key_id": created.ID}, ""), 404, codex.CodeNotFound, "")
	if _, err := d.store.LookupKey(context.Background(), mustParse(t, created.Secret).Hash()); !codex.IsNotFound(err) {
		t.Fatalf("deleted key still resolves: %v", err)
	}
	if _, err := d.store.LookupKey(context.Background(), mustParse(t, bobKey.Secret).Hash()); err != nil {
		t.Fatalf("bob's key was touched: %v", err)
	}

	for _, secret := range []string{created.Secret, second.Secret, bobKey.Secret} {
		if strings.Contains(d.logs.String(), secret) {
			t.Fatal("a key was logged")
		}
	}
}

func mustParse(t *testing.T, s string) apikey.Key {
	t.Helper()
	k, err := apikey.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestInternalErrorsSayNothing: when DynamoDB fails, the client sees only "internal error" and the
// request id; the detail is in the log.
func TestInternalErrorsSayNothing(t *testing.T) {
	t.Parallel()
	broken := dynamodb.New(localAWS(t).DynamoDB.Options(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1")
		o.RetryMaxAttempts = 1
	})
	logs := new(bytes.Buffer)
	store := dynamo.New(broken, dynamo.Tables{Keys: "secret-keys-table-name", App: "secret-app-table-name"})
	req := fixtureRequest(t, "dashboard-request.json")
	resp, err := Handler(slog.New(slog.NewJSONHandler(logs, nil)), CreateProject{Projects: store, Now: time.Now})(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, resp, 500, codex.CodeInternal, "")
	if e := decodeEnvelope(t, resp); e.Error.Message != "internal error" || e.Error.Type != "api_error" || e.RequestID != req.RequestContext.RequestID {
		t.Fatalf("envelope %+v", e)
	}
	if strings.Contains(resp.Body, "secret-app-table-name") || strings.Contains(resp.Body, "127.0.0.1") {
		t.Fatalf("the response leaks detail: %s", resp.Body)
	}
	if !strings.Contains(logs.String(), "127.0.0.1:1") || !strings.Contains(logs.String(), req.RequestContext.RequestID) {
		t.Fatalf("the log lacks the detail or the request id: %s", logs.String())
	}
}

type panicking struct{}

func (panicking) Serve(context.Context, *Request) (Response, error) { panic("boom") }

func TestHandlerTurnsPanicIntoEnvelope(t *testing.T) {
	logs := new(bytes.Buffer)
	resp, err := Handler(slog.New(slog.NewJSONHandler(logs, nil)), panicking{})(context.Background(), fixtureRequest(t, "dashboard-request.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, resp, 500, codex.CodeInternal, "")
	if strings.Contains(resp.Body, "boom") || !strings.Contains(logs.String(), "boom") {
		t.Fatalf("panic detail: body %s, log %s", resp.Body, logs.String())
	}
}

func TestDashboardRoutesNeedAUser(t *testing.T) {
	req := fixtureRequest(t, "dashboard-request.json")
	req.RequestContext.Authorizer = nil
	resp, _ := Handler(slog.New(slog.DiscardHandler), ListProjects{})(context.Background(), req)
	wantError(t, resp, 401, codex.CodeUnauthenticated, "")
}

func TestWhoami(t *testing.T) {
	req := fixtureRequest(t, "merchant-request.json")
	resp, _ := Handler(slog.New(slog.DiscardHandler), Whoami{})(context.Background(), req)
	if resp.StatusCode != 200 || resp.Body != `{"project_id":"prj_REPLACEDBYTHETEST2222222","key_id":"key_REPLACEDBYTHETEST2222222"}` {
		t.Fatalf("whoami: %d %s", resp.StatusCode, resp.Body)
	}
	req.RequestContext.Authorizer.Lambda = map[string]any{"project_id": "prj_X"}
	resp, _ = Handler(slog.New(slog.DiscardHandler), Whoami{})(context.Background(), req)
	wantError(t, resp, 401, codex.CodeUnauthenticated, "")
}
