package webhook

import (
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// receiver is a loopback server that counts what reaches it.
type receiver struct {
	srv  *httptest.Server
	hits atomic.Int32
	port string
}

func newReceiver(t *testing.T, network, addr string) *receiver {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	r := &receiver{}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	r.srv.Listener = ln
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	_, r.port, _ = net.SplitHostPort(ln.Addr().String())
	return r
}

// fakeDNS answers every A question with ip, as a hostile or rebinding DNS server would for a
// name that looks public. It returns a resolver that asks it.
func fakeDNS(t *testing.T, ip net.IP) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			q := buf[12:n]
			end := 0
			for end < len(q) && q[end] != 0 {
				end += int(q[end]) + 1
			}
			if end+5 > len(q) {
				continue
			}
			question := q[:end+5]
			qtype := binary.BigEndian.Uint16(question[end+1:])
			resp := append([]byte{}, buf[:2]...)                    // id
			resp = append(resp, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0) // answer, one question
			resp = append(resp, question...)
			if qtype == 1 { // A
				resp[7] = 1
				resp = append(resp, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4)
				resp = append(resp, ip.To4()...)
			}
			_, _ = pc.WriteTo(resp, from)
		}
	}()
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp4", addr)
	}}
}

// TestSSRFCorpus: every target that is not the public internet is refused by the sender as
// deployed (no loopback option), and nothing reaches the receivers listening behind them. The
// loopback receivers answer 200 to anything, so a target that got through would be counted; the
// control at the end shows they do count with the option on.
func TestSSRFCorpus(t *testing.T) {
	v4 := newReceiver(t, "tcp4", "127.0.0.1:0")
	v6 := newReceiver(t, "tcp6", "[::1]:0")
	p, p6 := v4.port, v6.port
	s := NewSender(SenderOptions{Resolver: fakeDNS(t, net.IPv4(127, 0, 0, 1))})
	metadata := NewSender(SenderOptions{Resolver: fakeDNS(t, net.IPv4(169, 254, 169, 254))})

	corpus := []struct {
		url    string
		sender *Sender
	}{
		{"https://127.0.0.1:" + p + "/", s},
		{"http://127.0.0.1:" + p + "/", s},
		{"https://127.0.0.2:" + p + "/", s},
		{"https://[::1]:" + p6 + "/", s},
		{"https://[::ffff:127.0.0.1]:" + p + "/", s},
		{"https://[0:0:0:0:0:ffff:7f00:1]:" + p + "/", s},
		{"https://localhost:" + p + "/", s},
		{"https://LocalHost.:" + p + "/", s},
		{"https://api.localhost:" + p + "/", s},
		{"https://2130706433:" + p + "/", s},   // decimal
		{"https://0177.0.0.1:" + p + "/", s},   // octal
		{"https://0x7f.0.0.1:" + p + "/", s},   // hex
		{"https://0x7f000001:" + p + "/", s},   // hex, one part
		{"https://127.1:" + p + "/", s},        // short form
		{"https://017700000001:" + p + "/", s}, // octal, one part
		{"https://0.0.0.0:" + p + "/", s},
		{"https://0:" + p + "/", s},
		{"https://[::]:" + p6 + "/", s},
		{"https://169.254.169.254/latest/meta-data/", s},
		{"https://[::ffff:169.254.169.254]/latest/meta-data/", s},
		{"https://[fd00::1]/", s},
		{"https://[fd12:3456:789a::1]/", s},
		{"https://[fe80::1%25eth0]/", s},
		{"https://10.0.0.1/", s},
		{"https://10.255.255.255/", s},
		{"https://172.16.0.1/", s},
		{"https://172.31.255.254/", s},
		{"https://192.168.0.1/", s},
		{"https://100.64.0.1/", s}, // carrier-grade NAT
		{"https://[64:ff9b::7f00:1]/", s},
		{"https://[::127.0.0.1]/", s},
		// Names that look public and resolve to loopback or the metadata service: only the
		// dial-time check on the resolved address can refuse these.
		{"https://hooks.shop.example.com:" + p + "/webhooks", s},
		{"https://rebind.example.net:" + p + "/", s},
		{"https://hooks.shop.example.com/latest/meta-data/", metadata},
	}
	if len(corpus) < 20 {
		t.Fatal("the corpus must hold at least 20 targets")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range corpus {
		r := c.sender.Send(ctx, c.url, map[string]string{"content-type": "application/json"}, []byte(`{}`))
		if r.OK() || r.Status != 0 || !r.Refused || r.Err == "" {
			t.Errorf("%s: %+v, want refused before any response", c.url, r)
		}
	}
	if n := v4.hits.Load() + v6.hits.Load(); n != 0 {
		t.Fatalf("%d requests reached the loopback receivers", n)
	}

	// Control: with the local-development option, the same receiver is reached.
	dev := NewSender(SenderOptions{AllowLoopback: true})
	if r := dev.Send(ctx, "http://127.0.0.1:"+p+"/", nil, []byte(`{}`)); !r.OK() || v4.hits.Load() != 1 {
		t.Fatalf("with AllowLoopback: %+v, hits %d", r, v4.hits.Load())
	}
	// Even with it, private addresses other than loopback stay refused.
	if r := dev.Send(ctx, "https://10.0.0.1/", nil, nil); !r.Refused {
		t.Errorf("AllowLoopback let 10.0.0.1 through: %+v", r)
	}
}

// TestRedirectsAreNotFollowed: a receiver that answers with a redirect (here to a loopback
// address, as an attacker's public server would) gets a failed delivery; the redirect's target
// gets nothing. The option is on so that the first hop can be a local server at all.
func TestRedirectsAreNotFollowed(t *testing.T) {
	target := newReceiver(t, "tcp4", "127.0.0.1:0")
	for _, code := range []int{301, 302, 303, 307, 308} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:"+target.port+"/internal", code)
		}))
		r := NewSender(SenderOptions{AllowLoopback: true}).Send(context.Background(), redirector.URL, nil, []byte(`{}`))
		redirector.Close()
		if r.OK() || r.Status != code {
			t.Errorf("%d: %+v, want a failure with that status", code, r)
		}
	}
	if n := target.hits.Load(); n != 0 {
		t.Fatalf("the redirect target was reached %d times", n)
	}
}

func TestSenderLimits(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	r := NewSender(SenderOptions{AllowLoopback: true, Timeout: 200 * time.Millisecond}).Send(context.Background(), slow.URL, nil, nil)
	if r.OK() || !strings.HasPrefix(r.Err, "timeout") {
		t.Errorf("slow receiver: %+v, want a timeout", r)
	}

	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(strings.Repeat("é", 4096)))
	}))
	defer big.Close()
	r = NewSender(SenderOptions{AllowLoopback: true}).Send(context.Background(), big.URL, nil, nil)
	if r.Status != 503 || len(r.Body) > MaxResponseBody+2 || len(r.Body) < MaxResponseBody-2 || r.RetryAfter != "30" || r.OK() {
		t.Errorf("big 503: status %d, %d bytes kept, Retry-After %q", r.Status, len(r.Body), r.RetryAfter)
	}

	// http to a public host, and https with the option off, are refused before sending.
	for _, u := range []string{"http://example.com/hook", "ftp://example.com/", "https://user:pw@example.com/", "/relative"} {
		if err := CheckURL(u, false); err == nil {
			t.Errorf("CheckURL(%q) accepted", u)
		}
	}
	if err := CheckURL("http://example.com/hook", true); err == nil {
		t.Error("the loopback option let http reach a public host")
	}
	for _, u := range []string{"https://example.com/hook", "https://hooks.example.com:8443/a?b=c", "https://93.184.216.34/x"} {
		if err := CheckURL(u, false); err != nil {
			t.Errorf("CheckURL(%q): %v", u, err)
		}
	}
}
