// Package buybutton is the end-to-end test of the buy button: the whole local stack (devstack, as
// `make dev` runs it: every function's real bootstrap under the Lambda RIE behind the
// template-driven gateway, moto as DynamoDB and Cognito) driven over HTTP like a dashboard, a
// merchant's server and a buyer's browser would. Every response, including those the gateway itself
// produces, is validated against the published OpenAPI document.
package buybutton

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
	state, err := os.MkdirTemp("", "codex-e2e-buybutton-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(state)
	logLevel := slog.LevelWarn
	if testing.Verbose() {
		logLevel = slog.LevelInfo
	}
	stack, err = devstack.Start(ctx, devstack.Options{
		Addr:     "127.0.0.1:0", // a free port per API
		StateDir: state,
		Log:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel})),
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
	Body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// call sends one request to the API with logical id api and validates the exchange against the
// OpenAPI document (unless it is a CORS preflight, which API Gateway answers itself).
func call(t *testing.T, api, method, path string, header http.Header, body string) response {
	t.Helper()
	base := stack.APIs[api]
	if base == "" {
		t.Fatalf("the stack serves no API %s: %v", api, stack.APIs)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if header != nil {
		req.Header = header.Clone()
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
	out := response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if method != http.MethodOptions {
		u, _ := url.Parse(path)
		ex := openapi.Exchange{Method: method, Path: u.Path, Query: u.Query(), RequestHeader: req.Header,
			RequestBody: []byte(body), Status: out.Status, Header: out.Header, Body: out.Body}
		if err := spec.Validate(context.Background(), ex); err != nil {
			t.Errorf("the response does not match api/openapi/openapi.yaml: %v", err)
		}
	}
	return out
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// fromPage is what a browser on the merchant's page sends with a cross-origin request.
func fromPage() http.Header {
	return http.Header{"Origin": {"https://shop.example"}}
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
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	return v
}

// wantError checks the error envelope's status, code and param.
func wantError(t *testing.T, r response, status int, code, param string) {
	t.Helper()
	want(t, r, status)
	var e struct {
		Error struct{ Code, Param string }
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code != code || e.Error.Param != param {
		t.Fatalf("got %s, want code %s param %q", r, code, param)
	}
}

func token(t *testing.T, user string) string {
	t.Helper()
	tok, err := stack.Token(context.Background(), stack.Cognito(), user)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
