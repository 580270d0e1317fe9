package proof

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fault is what dynamoProxy does with one DynamoDB request.
type fault int

const (
	pass   fault = iota // forward it to moto and the answer back
	refuse              // close the connection at once (reset), as an unreachable endpoint does
	lose                // forward it to moto, drop the answer and reset: applied, never acknowledged
	hang                // never answer (a black hole) until the rule changes or the caller gives up
)

func (f fault) String() string {
	return [...]string{"pass", "refuse", "lose", "hang"}[f]
}

// dynamoProxy stands between the functions and moto. It speaks HTTP, so a rule can pick the fault
// by DynamoDB operation (GetItem, TransactWriteItems, ...: the X-Amz-Target header) and request
// body (the tables it names), and counts what it did.
type dynamoProxy struct {
	ln       net.Listener
	srv      *http.Server
	upstream atomic.Pointer[url.URL]
	forward  *http.Transport

	mu      sync.Mutex
	rule    func(op string, body []byte) fault
	changed chan struct{} // closed when the rule changes, releasing hung requests
	counts  map[string]int
}

func startDynamoProxy() (*dynamoProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &dynamoProxy{
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
func (p *dynamoProxy) URL() string { return "http://" + p.ln.Addr().String() }

// SetUpstream points the proxy at moto once the stack has started it.
func (p *dynamoProxy) SetUpstream(endpoint string) {
	u, err := url.Parse(endpoint)
	if err != nil {
		panic(err)
	}
	p.upstream.Store(u)
}

// Set installs a rule (nil: pass everything) and resets the counts; requests hanging under the
// previous rule are released (reset).
func (p *dynamoProxy) Set(rule func(op string, body []byte) fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rule = rule
	close(p.changed)
	p.changed = make(chan struct{})
	p.counts = map[string]int{}
}

// Counts returns "fault op" → requests since the last Set.
func (p *dynamoProxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

func (p *dynamoProxy) Close() {
	p.Set(nil)
	_ = p.srv.Close()
	p.forward.CloseIdleConnections()
}

// always returns a rule that applies f to every operation.
func always(f fault) func(string, []byte) fault { return func(string, []byte) fault { return f } }

// writes returns a rule that applies f to the operations that write and passes the reads.
func writes(f fault) func(string, []byte) fault {
	return func(op string, _ []byte) fault {
		switch op {
		case "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem":
			return f
		}
		return pass
	}
}

// table returns a rule that applies f to every request naming the table and passes the others.
func table(name string, f fault) func(string, []byte) fault {
	quoted := []byte(`"` + name + `"`)
	return func(_ string, body []byte) fault {
		if bytes.Contains(body, quoted) {
			return f
		}
		return pass
	}
}

func (p *dynamoProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		reset(w)
		return
	}
	p.mu.Lock()
	f := pass
	if p.rule != nil {
		f = p.rule(op, body)
	}
	p.counts[f.String()+" "+op]++
	changed := p.changed
	p.mu.Unlock()

	switch f {
	case refuse:
		reset(w)
	case hang:
		select {
		case <-changed:
		case <-r.Context().Done():
		}
		reset(w)
	case lose:
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

func (p *dynamoProxy) roundTrip(r *http.Request, body []byte) (*http.Response, error) {
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
