// Package proof holds the robustness claims of issue 6 that run inside `make test`, each over HTTP
// through the whole local stack (devstack, as `make dev` runs it: every function's real bootstrap
// under the Lambda RIE behind the template-driven gateway, moto as DynamoDB and Cognito):
//
//   - revocation under load: no request that starts after the DELETE of its key returned is
//     accepted (revocation_test.go);
//   - a hostile-input corpus on every route answers 4xx and changes no table (hostile_test.go);
//   - with DynamoDB unreachable, refusing writes, losing answers or hanging, the authorizer never
//     allows, functions answer 500 in the envelope, and nothing is half-written (faults_test.go);
//   - no full API key, JWT or JWT signature appears in any log line the stack produced while all
//     of the above ran (checked in TestMain after the tests, over every gateway access line and
//     every function's output, debug included).
//
// One stack serves the whole package; the functions reach moto through dynamoProxy, a proxy this
// package controls (devstack.Options.FunctionDynamoDBEndpoint), so faults_test.go can cut DynamoDB
// off from the functions alone. The tests change shared state (tables, the proxy), so none is
// parallel.
package proof

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
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"codex/infra/devstack"
	"codex/infra/samtemplate"
)

var (
	stack *devstack.Stack
	proxy *dynamoProxy
	logs  = &logBuffer{}
	// client is the test's HTTP client: enough idle connections for the load workers.
	client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}, Timeout: 2 * time.Minute}
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	var err error
	if proxy, err = startDynamoProxy(); err != nil {
		fmt.Fprintln(os.Stderr, "start the DynamoDB proxy:", err)
		return 1
	}
	defer proxy.Close()
	state, err := os.MkdirTemp("", "codex-e2e-proof-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(state)
	// Everything the stack logs, debug lines included, goes to logs; -v also shows it.
	var out io.Writer = logs
	if testing.Verbose() {
		out = io.MultiWriter(logs, os.Stderr)
	}
	stack, err = devstack.Start(ctx, devstack.Options{
		Addr:                     "127.0.0.1:0",
		StateDir:                 state,
		FunctionDynamoDBEndpoint: proxy.URL(),
		Log:                      slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start the local stack:", err)
		return 1
	}
	proxy.SetUpstream(stack.Endpoint)
	code := m.Run()
	// Close first: it flushes what the functions still had to say.
	if err := stack.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close the local stack:", err)
	}
	// The check below is only as good as the capture: with every test run, every function of the
	// template must have said something.
	if code == 0 && flag.Lookup("test.run").Value.String() == "" {
		seen := functionsLogged()
		tpl, err := samtemplate.Load("../../template.yaml")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
			if !seen[id] {
				fmt.Fprintf(os.Stderr, "FAIL: no log line of %s was captured\n", id)
				code = 1
			}
		}
	}
	if leaks := secretsInLogs(); len(leaks) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: credentials in the stack's logs:")
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "  ", l)
		}
		return 1
	}
	if code != 0 && !testing.Verbose() {
		lines := strings.Split(strings.TrimRight(logs.String(), "\n"), "\n")
		fmt.Fprintf(os.Stderr, "stack log (last lines):\n%s\n", strings.Join(lines[max(0, len(lines)-40):], "\n"))
	}
	if code == 0 && testing.Verbose() {
		fmt.Fprintf(os.Stderr, "secrets in logs: none of %d credentials in %d log lines (%d bytes)\n",
			secrets.count(), logs.lines(), logs.len())
	}
	return code
}

// ---------------------------------------------------------------------------------------------
// Secrets: every credential a test obtains is registered, and none may appear in the logs.

type secretSet struct {
	mu   sync.Mutex
	list []string
}

var secrets secretSet

// add registers a credential and the parts of it that identify it on their own: the random part
// of an API key (without cmk_) and the signature of a JWT.
func (s *secretSet) add(credential string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, credential)
	if rest, ok := strings.CutPrefix(credential, "cmk_"); ok {
		s.list = append(s.list, rest)
	}
	if parts := strings.Split(credential, "."); len(parts) == 3 {
		s.list = append(s.list, parts[2])
	}
}

func (s *secretSet) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.list)
}

// secretsInLogs lists the log lines that contain a registered credential.
func secretsInLogs() []string {
	secrets.mu.Lock()
	defer secrets.mu.Unlock()
	return secretsIn(logs.String(), secrets.list)
}

// secretsIn lists the lines of text that contain one of list, with the credential shortened and
// masked so that the report does not leak it further.
func secretsIn(text string, list []string) []string {
	var found []string
	for i, line := range strings.Split(text, "\n") {
		for _, s := range list {
			if strings.Contains(line, s) {
				found = append(found, fmt.Sprintf("log line %d contains %.8s…: %.300s", i+1, s, strings.ReplaceAll(line, s, "<SECRET>")))
			}
		}
	}
	return found
}

// functionsLogged returns the functions that have lines in the log.
func functionsLogged() map[string]bool {
	seen := map[string]bool{}
	for line := range strings.SplitSeq(logs.String(), "\n") {
		var rec struct{ Function string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Function != "" {
			seen[rec.Function] = true
		}
	}
	return seen
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *logBuffer) lines() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Count(b.buf.Bytes(), []byte("\n"))
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers.

// response is what a call got, its body already read.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %.500s", r.Status, r.Body) }

// request is one HTTP request to an API of the stack.
type request struct {
	API     string // HttpApi (default) or PublicApi
	Method  string
	Path    string // with the query string
	Header  http.Header
	Body    io.Reader
	NoCType bool // send no Content-Type even with a body
}

// send performs r and reads the answer; a transport error is returned as such.
func send(ctx context.Context, r request) (response, error) {
	api := r.API
	if api == "" {
		api = "HttpApi"
	}
	base := stack.APIs[api]
	if base == "" {
		return response{}, fmt.Errorf("the stack serves no API %s: %v", api, stack.APIs)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, base+r.Path, r.Body)
	if err != nil {
		return response{}, err
	}
	if r.Header != nil {
		req.Header = r.Header.Clone()
	}
	if r.Body != nil && !r.NoCType && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// call sends a request and fails the test on a transport error.
func call(t *testing.T, api, method, path string, header http.Header, body string) response {
	t.Helper()
	r := request{API: api, Method: method, Path: path, Header: header}
	if body != "" {
		r.Body = strings.NewReader(body)
	}
	resp, err := send(context.Background(), r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

func bearer(credential string, kv ...string) http.Header {
	h := http.Header{"Authorization": {"Bearer " + credential}}
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
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	return v
}

// envelope is the project's error body.
type envelope struct {
	Error *struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Param   string `json:"param"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// errorBody classifies an error body: the project's envelope (every field it must have), API
// Gateway's own {"message": ...}, or neither ("").
func errorBody(b []byte) (kind string, env envelope, gatewayMessage string) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err == nil && env.Error != nil && env.Error.Type != "" && env.Error.Code != "" &&
		env.Error.Message != "" && env.RequestID != "" && !dec.More() {
		return "envelope", env, ""
	}
	var gw map[string]string
	if err := json.Unmarshal(b, &gw); err == nil && len(gw) == 1 && gw["message"] != "" {
		return "gateway", envelope{}, gw["message"]
	}
	return "", envelope{}, ""
}

// wantInternalEnvelope checks a function's answer to a failure it could not help: 500 and the
// envelope with "internal error" and nothing else (errorBody refuses unknown fields), so no table
// name, endpoint or SDK message reaches the client; and the detail is in the function's log under
// the same request id, as the README promises.
func wantInternalEnvelope(t *testing.T, what string, r response) {
	t.Helper()
	kind, env, _ := errorBody(r.Body)
	if r.Status != http.StatusInternalServerError || kind != "envelope" || env.Error.Type != "api_error" ||
		env.Error.Code != "internal_error" || env.Error.Message != "internal error" || env.Error.Param != "" {
		t.Errorf("%s: got %s, want 500 with the internal error envelope", what, r)
		return
	}
	if !logged(env.RequestID, `"message":"internal error"`) {
		t.Errorf("%s: no internal error logged under request id %s", what, env.RequestID)
	}
}

// logged reports whether a function logged a line with the request id and the given text, waiting
// a little: a function's output reaches the log shortly after its answer.
func logged(requestID, text string) bool {
	id := `"request_id":"` + requestID + `"`
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		for line := range strings.SplitSeq(logs.String(), "\n") {
			if strings.Contains(line, id) && strings.Contains(line, text) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Actors.

// token returns a dashboard ID token for user and registers it as a secret.
func token(t *testing.T, user string) string {
	t.Helper()
	tok, err := stack.Token(context.Background(), stack.Cognito(), user)
	if err != nil {
		t.Fatal(err)
	}
	secrets.add(tok)
	return tok
}

// merchant is a dashboard user's project with a secret key for its server.
type merchant struct {
	token, project, key, keyID string
}

func newMerchant(t *testing.T, user string) merchant {
	t.Helper()
	m := merchant{token: token(t, user)}
	r := call(t, "", "POST", "/projects", bearer(m.token), `{"name":"Shop of `+user+`"}`)
	want(t, r, http.StatusCreated)
	m.project = decode[struct{ ID string }](t, r).ID
	m.key, m.keyID = newKey(t, m, "server")
	return m
}

// newKey creates a key in m's project and registers it as a secret.
func newKey(t *testing.T, m merchant, name string) (key, id string) {
	t.Helper()
	r := call(t, "", "POST", "/projects/"+m.project+"/keys", bearer(m.token), `{"name":"`+name+`"}`)
	want(t, r, http.StatusCreated)
	k := decode[struct{ ID, Key string }](t, r)
	secrets.add(k.Key)
	return k.Key, k.ID
}

const checkoutBody = `{"line_items":[{"name":"T-shirt","unit_amount":2000,"quantity":2}],"currency":"eur",` +
	`"success_url":"https://shop.example/thanks","cancel_url":"https://shop.example/cart"}`

const buttonBody = `{"name":"Poster A2","unit_amount":2500,"currency":"eur",` +
	`"success_url":"https://shop.example/ok","cancel_url":"https://shop.example/back"}`

// TestSecretScan checks the scan itself: a key, its random part and a JWT's signature are each
// found, and the report masks them.
func TestSecretScan(t *testing.T) {
	var list secretSet
	list.add("cmk_" + strings.Repeat("k", 49))
	list.add("aaa.bbb.ccc")
	text := `{"msg":"x"}` + "\n" +
		`{"line":"key ` + strings.Repeat("k", 49) + `"}` + "\n" +
		`{"line":"sig ccc"}` + "\n"
	found := secretsIn(text, list.list)
	if len(found) != 2 || !strings.Contains(found[0], "line 2") || !strings.Contains(found[1], "line 3") {
		t.Fatalf("found %q", found)
	}
	for _, f := range found {
		if strings.Contains(f, strings.Repeat("k", 49)) || strings.Contains(f, `"sig ccc"`) {
			t.Errorf("the report repeats the secret: %s", f)
		}
	}
}
