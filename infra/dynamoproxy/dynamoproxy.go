// Package dynamoproxy is an HTTP proxy to put between Lambda functions and their DynamoDB endpoint
// (devstack.Options.FunctionDynamoDBEndpoint). It sees each request's operation (the X-Amz-Target
// header) and body, so a rule can fail requests the way an unreachable or unreliable DynamoDB
// does (e2e/proof), and a recording can list the calls a request to the API made (infra/bench and
// e2e/proof check them).
package dynamoproxy

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what the proxy does with one DynamoDB request.
type Fault int

const (
	Pass   Fault = iota // forward it upstream and the answer back
	Refuse              // close the connection at once (reset), as an unreachable endpoint does
	Lose                // forward it, drop the answer and reset: applied, never acknowledged
	Hang                // never answer (a black hole) until the rule changes or the caller gives up
)

func (f Fault) String() string {
	return [...]string{"pass", "refuse", "lose", "hang"}[f]
}

// Call is one DynamoDB request the proxy saw while recording: its operation and the tables its
// body names (TableName, or those of RequestItems or TransactItems), by their physical names, with
// what IAM authorises it by (e2e/proof checks each function's calls against its policy).
type Call struct {
	Operation string
	Tables    []string
	// Caller is the access key id the request is signed with (SigV4's Credential): devstack gives
	// each function its logical id as key id, standing in for its execution role.
	Caller string
	// Index is the IndexName of a Query or Scan, "" for the table itself.
	Index string
	// Items are the actions of a TransactWriteItems or TransactGetItems in the body's order,
	// which IAM authorises one by one.
	Items []Item
}

// Item is one action of a transaction: Put, Update, Delete, ConditionCheck or Get, on a table
// (physical name).
type Item struct {
	Action, Table string
}

// Describe renders calls as "GetItem KeysTable" or "TransactWriteItems AppTable+KeysTable", each
// table by its logical id in tables (logical id → physical name, as devstack's Stack.Tables); a
// table it lacks keeps its physical name.
func Describe(calls []Call, tables map[string]string) []string {
	logical := make(map[string]string, len(tables))
	for id, name := range tables {
		logical[name] = id
	}
	out := make([]string, 0, len(calls))
	for _, c := range calls {
		names := make([]string, len(c.Tables))
		for i, t := range c.Tables {
			names[i] = cmp.Or(logical[t], t)
		}
		out = append(out, strings.TrimSpace(c.Operation+" "+strings.Join(names, "+")))
	}
	return out
}

// Proxy forwards DynamoDB requests to an upstream endpoint, applying the rule it was given.
type Proxy struct {
	ln       net.Listener
	srv      *http.Server
	upstream atomic.Pointer[url.URL]
	forward  *http.Transport
	// recording is read before taking mu, so that without a recording a request costs no parse.
	recording atomic.Bool

	mu      sync.Mutex
	rule    func(op string, body []byte) Fault
	caller  string        // when set, the rule applies only to requests signed by it
	changed chan struct{} // closed when the rule changes, releasing hung requests
	counts  map[string]int
	calls   []Call
}

// Start listens on a free port of 127.0.0.1. The proxy refuses (resets) every request until
// SetUpstream gives it somewhere to forward them.
func Start() (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		ln:      ln,
		forward: &http.Transport{MaxIdleConnsPerHost: 64},
		changed: make(chan struct{}),
		counts:  map[string]int{},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is the endpoint the functions are given.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// SetUpstream points the proxy at the real endpoint (moto), which may start after the proxy.
func (p *Proxy) SetUpstream(endpoint string) {
	u, err := url.Parse(endpoint)
	if err != nil {
		panic(err)
	}
	p.upstream.Store(u)
}

// Set installs a rule (nil: pass everything) and resets the counts; requests hanging under the
// previous rule are released (reset).
func (p *Proxy) Set(rule func(op string, body []byte) Fault) { p.SetFor("", rule) }

// SetFor is Set for the requests of one caller, the access key id they are signed with (devstack
// signs each function's with its logical id): the other callers' pass, so a test can fail
// DynamoDB for one function while the rest of the stack works. "" is every caller, as Set.
func (p *Proxy) SetFor(caller string, rule func(op string, body []byte) Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rule, p.caller = rule, caller
	close(p.changed)
	p.changed = make(chan struct{})
	p.counts = map[string]int{}
}

// Counts returns "fault op" → requests since the last Set.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.counts)
}

// StartRecording starts a new recording of the calls the proxy sees, whatever their fault.
func (p *Proxy) StartRecording() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = nil
	p.recording.Store(true)
}

// StopRecording ends the recording and returns its calls in the order they arrived.
func (p *Proxy) StopRecording() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recording.Store(false)
	calls := p.calls
	p.calls = nil
	return calls
}

func (p *Proxy) Close() {
	p.Set(nil)
	_ = p.srv.Close()
	p.forward.CloseIdleConnections()
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		reset(w)
		return
	}
	who := signer(r.Header.Get("Authorization"))
	var call *Call
	if p.recording.Load() {
		call = parseCall(op, body)
		call.Caller = who
	}
	p.mu.Lock()
	f := Pass
	if p.rule != nil && (p.caller == "" || p.caller == who) {
		f = p.rule(op, body)
	}
	p.counts[f.String()+" "+op]++
	if call != nil && p.recording.Load() { // still: StopRecording may have run meanwhile
		p.calls = append(p.calls, *call)
	}
	changed := p.changed
	p.mu.Unlock()

	switch f {
	case Refuse:
		reset(w)
	case Hang:
		select {
		case <-changed:
		case <-r.Context().Done():
		}
		reset(w)
	case Lose:
		if resp, err := p.roundTrip(r, body); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		reset(w)
	default:
		resp, err := p.roundTrip(r, body)
		if err != nil {
			reset(w)
			return
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}
}

// parseCall reads what a recording keeps of a DynamoDB request body: the tables it names, each
// once, in the order of the body (the keys of RequestItems sorted, as a JSON object has no order),
// its IndexName and its transaction items. A body that is not JSON names nothing.
func parseCall(op string, body []byte) *Call {
	c := &Call{Operation: op}
	var req struct {
		TableName     string
		IndexName     string
		RequestItems  map[string]json.RawMessage
		TransactItems []map[string]struct{ TableName string } // {"Put": {"TableName": ...}}, ...
	}
	if json.Unmarshal(body, &req) != nil {
		return c
	}
	add := func(name string) {
		if name != "" && !slices.Contains(c.Tables, name) {
			c.Tables = append(c.Tables, name)
		}
	}
	add(req.TableName)
	c.Index = req.IndexName
	for _, name := range slices.Sorted(maps.Keys(req.RequestItems)) {
		add(name)
	}
	for _, item := range req.TransactItems {
		for action, target := range item { // one action per item
			add(target.TableName)
			c.Items = append(c.Items, Item{Action: action, Table: target.TableName})
		}
	}
	return c
}

// signer returns the access key id of a SigV4 Authorization header
// ("AWS4-HMAC-SHA256 Credential=KEYID/date/region/service/aws4_request, ..."), "" if it has none.
func signer(authorization string) string {
	_, cred, ok := strings.Cut(authorization, "Credential=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(cred, "/")
	return id
}

func (p *Proxy) roundTrip(r *http.Request, body []byte) (*http.Response, error) {
	up := p.upstream.Load()
	if up == nil {
		return nil, errors.New("no upstream yet")
	}
	out, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, up.Scheme+"://"+up.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	out.Header = r.Header.Clone()
	out.Host = r.Host // signed by SigV4
	return p.forward.RoundTrip(out)
}

// reset closes the caller's connection without an answer, with a TCP reset where possible.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}
