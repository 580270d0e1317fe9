// Package proof holds the robustness claims of issue 6 that run inside `make test`, each over HTTP
// through the whole local stack (devstack, as `make dev` runs it: every function's real bootstrap
// under the Lambda RIE behind the template-driven gateway, moto as DynamoDB and Cognito):
//
//   - revocation under load: no request that starts after the DELETE of its key returned is
//     accepted (revocation_test.go);
//   - a hostile-input corpus on every route answers 4xx and changes no table (hostile_test.go);
//   - with DynamoDB unreachable, refusing writes, losing answers or hanging, the authorizer never
//     allows, functions answer 500 in the envelope, and nothing is half-written (faults_test.go);
//   - the three routes `make bench` measures make exactly the DynamoDB calls its floor makes
//     (calls_test.go);
//   - each function's IAM policy in template.yaml grants every DynamoDB call it makes and nothing
//     it does not use (iam_test.go);
//   - no full API key, JWT or JWT signature appears in any log line the stack produced while all
//     of the above ran (checked in TestMain after the tests, over every gateway access line and
//     every function's output, debug included).
//
// One stack serves the whole package; the functions reach moto through a proxy this package
// controls (infra/dynamoproxy, given as devstack.Options.FunctionDynamoDBEndpoint), so
// faults_test.go can cut DynamoDB off from the functions alone and calls_test.go and iam_test.go
// can list the calls requests made, and which function made each. The tests change shared state
// (tables, the proxy), so none is parallel.
package proof

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"codex/e2e/e2etest"
	"codex/infra/devstack"
	"codex/infra/dynamoproxy"
	"codex/infra/samtemplate"
	"codex/pkg/payment"
)

var (
	stack *devstack.Stack
	proxy *dynamoproxy.Proxy
	// github signs leaked-key reports as GitHub would, with the key the stack's function trusts.
	github *devstack.GitHubKeys
	logs   = &e2etest.LogBuffer{}
	// client reaches the stack with enough idle connections for the load workers. It validates
	// nothing: the hostile corpus and the faults are not the document's exchanges. It follows no
	// redirect: a form's 303 is the answer under test.
	client = &e2etest.Client{HTTP: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
)

func TestMain(m *testing.M) {
	flag.Parse() // before logOutput asks testing.Verbose
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if proxy, err = dynamoproxy.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "start the DynamoDB proxy:", err)
		return 1
	}
	defer proxy.Close()
	if github, err = devstack.StartGitHubKeys(); err != nil {
		fmt.Fprintln(os.Stderr, "start the stand-in for GitHub's keys:", err)
		return 1
	}
	defer github.Close()
	return e2etest.Suite{
		Name:   "proof",
		Client: client,
		Options: devstack.Options{
			FunctionDynamoDBEndpoint: proxy.URL(),
			// The sweeper runs when a test calls stack.RunSchedule, never among the calls a test
			// records for one request.
			ManualSchedules: true,
			// GitHub's secret scanning keys: a key pair of our own standing in, on loopback.
			Parameters: map[string]string{devstack.GitHubKeysParameter: github.URL},
			// Everything the stack logs, debug lines included, goes to logs; -v also shows it.
			Log: slog.New(slog.NewJSONHandler(logOutput(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		},
		Started: func(s *devstack.Stack) error {
			stack = s
			proxy.SetUpstream(s.Endpoint)
			return nil
		},
		// After the stack closed: Close flushes what the functions still had to say.
		Finish: checkLogs,
	}.Run(m)
}

// logOutput is where the stack's log goes: logs, and with -v stderr too.
func logOutput() io.Writer {
	if testing.Verbose() {
		return io.MultiWriter(logs, os.Stderr)
	}
	return logs
}

// checkLogs runs after the tests and the stack's Close and returns the exit code: no credential
// may appear in any line the stack logged.
func checkLogs(code int) int {
	// The check below is only as good as the capture: with every test run, every function of the
	// template must have said something.
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == "" {
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
	for _, line := range requestIDKeys() {
		fmt.Fprintf(os.Stderr, "FAIL: a function's log line names its request id other than request_id alone: %s\n", line)
		code = 1
	}
	if leaks := secretsInLogs(); len(leaks) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: credentials in the stack's logs:")
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "  ", l)
		}
		return 1
	}
	if code != 0 && !testing.Verbose() {
		fmt.Fprintf(os.Stderr, "stack log (last lines):\n%s\n", logs.Tail(40))
	}
	if code == 0 && testing.Verbose() {
		fmt.Fprintf(os.Stderr, "secrets in logs: none of %d credentials in %d log lines (%d bytes)\n",
			secrets.count(), logs.Lines(), logs.Len())
	}
	return code
}

// ---------------------------------------------------------------------------------------------
// Secrets: every credential a test obtains is registered, and none may appear in the logs.

type secretSet struct {
	mu          sync.Mutex
	list        []string // the credentials and their parts
	credentials int
}

var secrets secretSet

// add registers a credential and the parts of it that give it away on their own: any run of
// secretRun or more characters of an API key after cmk_ (the random part, with or without its
// checksum; the display prefix, cmk_ and 4 characters, is shorter) or of a JWT's signature.
func (s *secretSet) add(credential string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.credentials++
	s.list = append(s.list, credential)
	if rest, ok := strings.CutPrefix(credential, "cmk_"); ok {
		s.list = append(s.list, windows(rest)...)
	}
	if rest, ok := strings.CutPrefix(credential, "whsec_"); ok { // a webhook signing secret
		s.list = append(s.list, windows(rest)...)
	}
	if parts := strings.Split(credential, "."); len(parts) == 3 {
		s.list = append(s.list, windows(parts[2])...)
	}
}

// secretRun is the shortest run of a secret's characters the scan is sure to find. Windows of
// half that length every half length: any run of secretRun characters holds one of them.
const secretRun = 24

func windows(secret string) []string {
	const w = secretRun / 2
	var out []string
	for i := 0; i+w <= len(secret); i += w {
		out = append(out, secret[i:i+w])
	}
	return out
}

func (s *secretSet) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.credentials
}

// secretsInLogs lists the log lines that contain a registered credential or a card number.
func secretsInLogs() []string {
	secrets.mu.Lock()
	defer secrets.mu.Unlock()
	text := logs.String()
	return append(secretsIn(text, secrets.list), cardNumbersIn(text)...)
}

// digitRun is a run of digits, single spaces, dashes or pluses (a space in a form body) between
// them allowed, as card numbers are typed (4242 4242 4242 4242, 4242-4242-...).
var digitRun = regexp.MustCompile(`[0-9](?:[ +-]?[0-9])*`)

// cardNumbersIn lists the lines of text that hold a card number: a run of 13 to 19 digits that
// passes the Luhn check and starts like a card of a known network (payment.Brand), standing on its
// own (not part of an id or a number with a dot or dash: a UUID's hex groups, a timestamp). Not
// only the card numbers the tests send: any card a buyer types must stay out of the logs. The
// network's prefix keeps epoch milliseconds and other long numbers from being taken for cards one
// time in ten.
func cardNumbersIn(text string) []string {
	var found []string
	for i, line := range strings.Split(text, "\n") {
		for _, loc := range digitRun.FindAllStringIndex(line, -1) {
			if joined(line, loc[0]-1) || joined(line, loc[1]) {
				continue
			}
			run := line[loc[0]:loc[1]]
			if hasCardNumber(strings.NewReplacer(" ", "", "-", "", "+", "").Replace(run)) {
				found = append(found, fmt.Sprintf("log line %d contains a card number: %.300s", i+1, strings.ReplaceAll(line, run, "<CARD>")))
				break
			}
		}
	}
	return found
}

// joined reports whether line[i] ties a digit run to what is around it: a letter, a dot or a dash.
func joined(line string, i int) bool {
	if i < 0 || i >= len(line) {
		return false
	}
	c := line[i]
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '_'
}

// hasCardNumber reports whether digits, a run of 13 to 19 digits, is a card number, or a longer
// run holds one (two numbers logged back to back, say). A run of 13 to 19 is taken whole: its
// shorter windows would pass the Luhn check by chance too often.
func hasCardNumber(digits string) bool {
	if len(digits) <= 19 {
		return len(digits) >= 13 && payment.Luhn(digits) && payment.Brand(digits) != "unknown"
	}
	for i := 0; i+13 <= len(digits); i++ {
		for n := 13; n <= 19 && i+n <= len(digits); n++ {
			if d := digits[i : i+n]; payment.Luhn(d) && payment.Brand(d) != "unknown" {
				return true
			}
		}
	}
	return false
}

// secretsIn lists the lines of text that contain one of list, each once, with every part of a
// credential in it masked so that the report does not leak it further.
func secretsIn(text string, list []string) []string {
	var found []string
	for i, line := range strings.Split(text, "\n") {
		if !slices.ContainsFunc(list, func(s string) bool { return strings.Contains(line, s) }) {
			continue
		}
		for _, s := range list {
			line = strings.ReplaceAll(line, s, "<SECRET>")
		}
		found = append(found, fmt.Sprintf("log line %d contains a credential: %.300s", i+1, line))
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

// requestIDKeys returns the functions' log lines that carry a request id under another key than
// request_id (Lambda's requestId, say): one key finds every line of a request.
func requestIDKeys() []string {
	var bad []string
	for line := range strings.SplitSeq(logs.String(), "\n") {
		var rec struct {
			Function string
			Log      map[string]any
		}
		if json.Unmarshal([]byte(line), &rec) != nil || rec.Function == "" || rec.Log == nil {
			continue
		}
		for k := range rec.Log {
			if k != "request_id" && strings.Contains(strings.ToLower(strings.ReplaceAll(k, "_", "")), "requestid") {
				bad = append(bad, line)
				break
			}
		}
	}
	return bad
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers.

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
	// The hosted checkout page answers every error with a page of its own.
	if bytes.HasPrefix(b, []byte("<!doctype html>")) && bytes.Contains(b, []byte("<main>")) {
		return "page", envelope{}, ""
	}
	return "", envelope{}, ""
}

// wantInternalEnvelope checks a function's answer to a failure it could not help: 500 and the
// envelope with "internal error" and nothing else (errorBody refuses unknown fields), so no table
// name, endpoint or SDK message reaches the client; and the detail is in the function's log under
// the same request id, as docs/api.md promises.
func wantInternalEnvelope(t *testing.T, what string, r e2etest.Response) {
	t.Helper()
	kind, env, _ := errorBody(r.Body)
	if r.Status != http.StatusInternalServerError || kind != "envelope" || env.Error.Type != "api_error" ||
		env.Error.Code != "internal_error" || env.Error.Message != "internal error" || env.Error.Param != "" {
		t.Errorf("%s: got %s, want 500 with the internal error envelope%s", what, r, requestLog(r))
		return
	}
	if !logged(env.RequestID, `"message":"internal error"`) {
		t.Errorf("%s: no internal error logged under request id %s", what, env.RequestID)
	}
}

// requestLog is what the stack logged under a response's request id (the gateway's reason for an
// answer of its own among it), for a failure message.
func requestLog(r e2etest.Response) string {
	id := r.Header.Get("Apigw-Requestid")
	if id == "" {
		return ""
	}
	var b strings.Builder
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, `"`+id+`"`) {
			b.WriteString("\n    " + line)
		}
	}
	return "; logged under its request id " + id + ":" + b.String()
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
	tok := client.Token(t, user)
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
	r := client.Call(t, "", "POST", "/projects", e2etest.Bearer(m.token), `{"name":"Shop of `+user+`"}`)
	e2etest.Want(t, r, http.StatusCreated)
	m.project = e2etest.Decode[struct{ ID string }](t, r).ID
	m.key, m.keyID = newKey(t, m, "server")
	return m
}

// newKey creates a key in m's project and registers it as a secret.
func newKey(t *testing.T, m merchant, name string) (key, id string) {
	t.Helper()
	r := client.Call(t, "", "POST", "/projects/"+m.project+"/keys", e2etest.Bearer(m.token), `{"name":"`+name+`"}`)
	e2etest.Want(t, r, http.StatusCreated)
	k := e2etest.Decode[struct{ ID, Key string }](t, r)
	secrets.add(k.Key)
	return k.Key, k.ID
}

// newKeyFrom creates a key in m's project from a create body and registers it as a secret.
func newKeyFrom(t *testing.T, m merchant, body string) (k struct{ id, key string }) {
	t.Helper()
	r := client.Call(t, "", "POST", "/projects/"+m.project+"/keys", e2etest.Bearer(m.token), body)
	e2etest.Want(t, r, http.StatusCreated)
	created := e2etest.Decode[struct{ ID, Key string }](t, r)
	secrets.add(created.Key)
	k.id, k.key = created.ID, created.Key
	return k
}

// githubHeader signs body as GitHub does, with the stand-in key the stack trusts.
func githubHeader(t *testing.T, body string) http.Header {
	t.Helper()
	sig, err := github.Sign([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{"Github-Public-Key-Identifier": {devstack.GitHubKeyID}, "Github-Public-Key-Signature": {sig}}
}

const checkoutBody = `{"line_items":[{"name":"T-shirt","unit_amount":2000,"quantity":2}],"currency":"eur",` +
	`"success_url":"https://shop.example/thanks","cancel_url":"https://shop.example/cart"}`

// payForm is the hosted page's form filled in with card number (a test card or not).
func payForm(number string) string {
	return url.Values{"email": {"buyer@example.com"}, "card_number": {number}, "card_expiry": {"12/40"}, "card_cvc": {"123"}}.Encode()
}

const buttonBody = `{"name":"Poster A2","unit_amount":2500,"currency":"eur",` +
	`"success_url":"https://shop.example/ok","cancel_url":"https://shop.example/back"}`

// TestSecretScan checks the scan itself: a key, any long enough run of its random part (with or
// without the checksum) and of a JWT's signature are each found, the display prefix is not, and
// the report masks what it found.
func TestSecretScan(t *testing.T) {
	const (
		random   = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg" // 43 characters
		checksum = "XyZ123"
		sig      = "s1gnatureS1GNATUREs1gnatureS1GNATURE"
	)
	var list secretSet
	list.add("cmk_" + random + checksum)
	list.add("aaa.bbb." + sig)
	for _, tc := range []struct {
		line  string
		found bool
	}{
		{`{"msg":"x"}`, false},
		{`{"key":"cmk_` + random + checksum + `"}`, true},
		{`{"key":"` + random + `"}`, true},                   // without cmk_ or the checksum
		{`{"part":"` + random[17:17+secretRun] + `"}`, true}, // any run of secretRun characters
		{`{"part":"` + random[17:17+secretRun-12] + `"}`, false},
		{`{"prefix":"cmk_` + random[:4] + `••••"}`, false}, // the display prefix is no secret
		{`{"sig":"` + sig[5:5+secretRun] + `"}`, true},
	} {
		found := secretsIn(tc.line, list.list)
		if (len(found) > 0) != tc.found {
			t.Errorf("%s: found %q, want found %v", tc.line, found, tc.found)
		}
		if cards := cardNumbersIn(tc.line); len(cards) > 0 {
			t.Errorf("%s: card numbers found: %q", tc.line, cards)
		}
		for _, f := range found {
			if strings.Contains(f, random[:secretRun/2]) || strings.Contains(f, sig[5:5+secretRun]) {
				t.Errorf("the report repeats the secret: %s", f)
			}
		}
	}
}

// TestCardNumberScan checks the scan for card numbers in the logs: with or without spaces or
// dashes, inside longer digit runs, and not timestamps, epoch milliseconds or Luhn failures.
func TestCardNumberScan(t *testing.T) {
	for _, tc := range []struct {
		line  string
		found bool
	}{
		{`{"card":"4242424242424242"}`, true},
		{`{"card":"4242 4242 4242 4242"}`, true},
		{`{"card":"5555-5555-5555-4444"}`, true},
		{`{"card":"378282246310005"}`, true},                              // Amex, 15 digits
		{`{"body":"card_number=4000+0000+0000+0002&card_cvc=123"}`, true}, // a form body
		{`{"x":"0004242424242424242000"}`, true},                          // inside a longer run
		{`{"card":"4242424242424241"}`, false},                            // fails the Luhn check
		{`{"time":"2026-12-07T15:54:16.909698866Z","duration_ms":12.345}`, false},
		{`{"timeEpoch":1767225600000}`, false},
		{`{"line":"RequestId: a2d1cd0c-792c-4242-4242424242424242"}`, false}, // a UUID's groups
		{`{"card":"visa •••• 4242"}`, false},
		{`{"card":"4242 4242"}`, false},
	} {
		cards := cardNumbersIn(tc.line)
		if (len(cards) > 0) != tc.found {
			t.Errorf("%s: found %q, want found %v", tc.line, cards, tc.found)
		}
		for _, c := range cards {
			if strings.Contains(c, "4242") && strings.Contains(tc.line, "4242 4242 4242") {
				t.Errorf("the report repeats the card number: %s", c)
			}
		}
	}
}
