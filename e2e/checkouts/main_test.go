// Package checkouts is the end-to-end test of the merchant checkout API: the whole local stack
// (devstack, as `make dev` runs it: the real bootstraps under the Lambda RIE behind the
// template-driven gateway with its Lambda authorizer, moto as DynamoDB and Cognito) driven over HTTP
// as a dashboard user and a merchant's server would. Every exchange is validated against the
// published OpenAPI document.
package checkouts

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"codex/api/openapi"
	"codex/infra/devstack"
)

var (
	stack *devstack.Stack
	spec  *openapi.Validator
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	var err error
	if spec, err = openapi.NewValidator(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	state, err := os.MkdirTemp("", "codex-e2e-checkouts-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(state)
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	stack, err = devstack.Start(ctx, devstack.Options{
		Addr:     "127.0.0.1:0",
		StateDir: state,
		Log:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the local stack:", err)
		return 1
	}
	defer stack.Close()
	return m.Run()
}

// response is what a call got, its body already read.
type response struct {
	Status int
	Header http.Header
	Body   string
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// call sends one request to the HttpApi and validates the exchange against the OpenAPI document.
func call(t *testing.T, method, path string, header http.Header, body string) response {
	t.Helper()
	base := stack.APIs["HttpApi"]
	if base == "" {
		t.Fatalf("the stack serves no HttpApi: %v", stack.APIs)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
	u, _ := url.Parse(path)
	ex := openapi.Exchange{Method: method, Path: u.Path, Query: u.Query(), RequestHeader: req.Header,
		RequestBody: []byte(body), Status: out.Status, Header: out.Header, Body: b}
	if err := spec.Validate(context.Background(), ex); err != nil {
		t.Errorf("the exchange does not match api/openapi/openapi.yaml: %v", err)
	}
	return out
}

// with returns headers carrying the bearer credential and the given name/value pairs.
func with(credential string, kv ...string) http.Header {
	h := http.Header{}
	if credential != "" {
		h.Set("Authorization", "Bearer "+credential)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func want(t *testing.T, r response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("got %s, want %d", r, status)
	}
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.Body), &v); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	return v
}

// wantError checks the error envelope's status, code and param.
func wantError(t *testing.T, r response, status int, code, param string) {
	t.Helper()
	want(t, r, status)
	e := decode[struct{ Error struct{ Code, Param string } }](t, r)
	if e.Error.Code != code || e.Error.Param != param {
		t.Fatalf("got %s, want code %s param %q", r, code, param)
	}
}

// merchant is a project set up through the dashboard, with a secret key for its server.
type merchant struct{ project, key string }

func newMerchant(t *testing.T, user string) merchant {
	t.Helper()
	tok, err := stack.Token(context.Background(), stack.Cognito(), user)
	if err != nil {
		t.Fatal(err)
	}
	r := call(t, "POST", "/projects", with(tok), `{"name":"Shop of `+user+`"}`)
	want(t, r, http.StatusCreated)
	m := merchant{project: decode[map[string]any](t, r)["id"].(string)}
	r = call(t, "POST", "/projects/"+m.project+"/keys", with(tok), `{"name":"server"}`)
	want(t, r, http.StatusCreated)
	m.key = decode[map[string]any](t, r)["key"].(string)
	return m
}
