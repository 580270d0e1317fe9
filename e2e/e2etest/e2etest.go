// Package e2etest is what the end-to-end suites under e2e/ share, as net/http/httptest is for
// handler tests: a TestMain that starts the whole local stack (devstack, as `make dev` runs it) once
// for a package, a client for the stack's APIs that can validate every exchange against the
// published OpenAPI document, and the request, status and decoding helpers the suites all use.
// It is imported only by tests; what is particular to one suite stays in that suite.
package e2etest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"codex/api/openapi"
	"codex/infra/devstack"
)

// Timeout bounds a suite's TestMain: starting the stack and running every test of the package.
const Timeout = 8 * time.Minute

// Suite is one package's use of the local stack.
type Suite struct {
	// Name identifies the suite in its temporary state directory (codex-e2e-<Name>-*).
	Name string
	// Client is given the stack, and with OpenAPI the validator, before any test runs; the
	// package keeps it in a variable its tests use.
	Client *Client
	// OpenAPI makes Client.Call validate every exchange against api/openapi/openapi.yaml.
	OpenAPI bool
	// Options are passed to devstack.Start as they are (e2e/proof sets FunctionDynamoDBEndpoint
	// and its own Log), except that an empty Addr becomes 127.0.0.1:0 (a free port per API), an
	// empty StateDir a new temporary directory removed at the end, and a nil Log a text log on
	// stderr at Warn, or Info with -v.
	Options devstack.Options
	// Started, when set, runs after the stack started and before the tests; an error fails the run.
	Started func(*devstack.Stack) error
	// Finish, when set, runs after the tests and after the stack closed (so that whatever the
	// functions still had to log has been written), with the tests' exit code; it returns the
	// code to exit with.
	Finish func(code int) int
}

// Main is the whole TestMain of a suite: it runs s and exits with its code.
func (s Suite) Main(m *testing.M) {
	os.Exit(s.Run(m))
}

// Run starts the stack, runs the package's tests against it, closes it and returns the exit code.
func (s Suite) Run(m *testing.M) int {
	flag.Parse() // testing.Verbose needs the flags before m.Run parses them
	if flag.Lookup("test.list").Value.String() != "" {
		return m.Run() // go test -list runs no test, so it needs no stack (nor a Finish check)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if s.OpenAPI {
		spec, err := openapi.NewValidator(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		s.Client.Spec = spec
	}
	opts := s.Options
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.StateDir == "" {
		state, err := os.MkdirTemp("", "codex-e2e-"+s.Name+"-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(state)
		opts.StateDir = state
	}
	if opts.Parameters[devstack.GitHubKeysParameter] == "" {
		// GitHub's secret scanning keys from a stand-in on loopback: no test needs the internet.
		github, err := devstack.StartGitHubKeys()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer github.Close()
		opts.Parameters = maps.Clone(opts.Parameters)
		if opts.Parameters == nil {
			opts.Parameters = map[string]string{}
		}
		opts.Parameters[devstack.GitHubKeysParameter] = github.URL
		s.Client.GitHub = github
	}
	if opts.Log == nil {
		level := slog.LevelWarn
		if testing.Verbose() {
			level = slog.LevelInfo
		}
		opts.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}
	stack, err := devstack.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the local stack:", err)
		return 1
	}
	defer stack.Close() // a second Close, after the one below, does nothing
	s.Client.Stack = stack
	if s.Started != nil {
		if err := s.Started(stack); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	code := m.Run()
	if err := stack.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close the local stack:", err)
	}
	if s.Finish != nil {
		code = s.Finish(code)
	}
	return code
}

// Client sends requests to the APIs of a running stack.
type Client struct {
	Stack *devstack.Stack
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// Spec, when set, is the OpenAPI validator Call checks each exchange with (Suite.OpenAPI sets it).
	Spec *openapi.Validator
	// GitHub signs secret scanning reports with the key the stack trusts in place of GitHub's,
	// when Suite started that stand-in (its Options named no GitHubSecretScanningKeysUrl).
	GitHub *devstack.GitHubKeys
}

// Response is what a request got, its body already read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// maxShownBody bounds the body in Response.String: longer than any object the API answers with,
// short enough that an echoed hostile request cannot flood a failure message.
const maxShownBody = 4096

func (r Response) String() string {
	if len(r.Body) > maxShownBody {
		return fmt.Sprintf("%d %s… (%d bytes)", r.Status, r.Body[:maxShownBody], len(r.Body))
	}
	return fmt.Sprintf("%d %s", r.Status, r.Body)
}

// Request is one HTTP request to an API of the stack.
type Request struct {
	API           string // logical id of the API; "" is HttpApi
	Method        string
	Path          string // with the query string
	Header        http.Header
	Body          io.Reader
	NoContentType bool // send no Content-Type even with a body (otherwise application/json)
}

// Send performs r and reads the answer; a transport error is returned as such. It validates
// nothing: it is for requests the document need not describe (hostile ones, unknown routes) and
// for goroutines, which must not stop the test.
func (c *Client) Send(ctx context.Context, r Request) (Response, error) {
	resp, _, err := c.send(ctx, r)
	return resp, err
}

// send is Send, also returning the headers the request was sent with.
func (c *Client) send(ctx context.Context, r Request) (Response, http.Header, error) {
	api := r.API
	if api == "" {
		api = "HttpApi"
	}
	base := c.Stack.APIs[api]
	if base == "" {
		return Response{}, nil, fmt.Errorf("the stack serves no API %s: %v", api, c.Stack.APIs)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, base+r.Path, r.Body)
	if err != nil {
		return Response{}, nil, err
	}
	if r.Header != nil {
		req.Header = r.Header.Clone()
	}
	if r.Body != nil && !r.NoContentType && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := http.Client{}
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	// A test sees the API's own answer: a 303 of the hosted page is checked, not followed.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return Response{}, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, nil, err
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, req.Header, nil
}

// Call sends one request to the API with logical id api ("" is HttpApi) and fails the test on a
// transport error. With Spec set it validates the exchange against the OpenAPI document, unless it
// is a CORS preflight, which API Gateway answers itself.
func (c *Client) Call(t testing.TB, api, method, path string, header http.Header, body string) Response {
	t.Helper()
	r := Request{API: api, Method: method, Path: path, Header: header}
	if body != "" {
		r.Body = strings.NewReader(body)
	}
	resp, sent, err := c.send(context.Background(), r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if c.Spec != nil && method != http.MethodOptions {
		u, _ := url.Parse(path)
		ex := openapi.Exchange{Method: method, Path: u.Path, Query: u.Query(), RequestHeader: sent,
			RequestBody: []byte(body), Status: resp.Status, Header: resp.Header, Body: resp.Body}
		if err := c.Spec.Validate(context.Background(), ex); err != nil {
			t.Errorf("the exchange does not match api/openapi/openapi.yaml: %v", err)
		}
	}
	return resp
}

// Token returns a dashboard (Cognito) ID token for user, created in the stack's user pool on first
// use.
func (c *Client) Token(t testing.TB, user string) string {
	t.Helper()
	tok, err := c.Stack.Token(context.Background(), c.Stack.Cognito(), user)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Bearer returns headers carrying the credential as a bearer token and the given name/value pairs.
func Bearer(credential string, kv ...string) http.Header {
	h := http.Header{"Authorization": {"Bearer " + credential}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// Want fails the test unless r has the status.
func Want(t testing.TB, r Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("got %s, want %d", r, status)
	}
}

// Decode unmarshals r's JSON body, failing the test if it is not a T.
func Decode[T any](t testing.TB, r Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	return v
}

// WantError checks the error envelope's status, code and param.
func WantError(t testing.TB, r Response, status int, code, param string) {
	t.Helper()
	Want(t, r, status)
	var e struct {
		Error struct{ Code, Param string }
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code != code || e.Error.Param != param {
		t.Fatalf("got %s, want code %s param %q", r, code, param)
	}
}

// LogBuffer collects a stack's log for a test to search: safe for the concurrent writes of the
// gateway and every function.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Len is the number of bytes written.
func (b *LogBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// Lines is the number of complete lines written.
func (b *LogBuffer) Lines() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Count(b.buf.Bytes(), []byte("\n"))
}

// Tail returns the last n lines, for a failure report.
func (b *LogBuffer) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
