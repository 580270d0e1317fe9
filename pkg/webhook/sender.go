package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// Timeout is how long a receiver has to answer, headers and the part of the body kept included.
const Timeout = 15 * time.Second

// MaxResponseBody is how much of a receiver's answer is kept for the deliveries list.
const MaxResponseBody = 1024

// SenderOptions configure a Sender. The zero value is the deployed one.
type SenderOptions struct {
	// AllowLoopback lets the sender reach loopback addresses, over http too: for `make dev`
	// and tests with a local receiver only. The stack's WebhookAllowLoopback parameter sets it,
	// and its deployed default leaves it off.
	AllowLoopback bool
	// Timeout replaces the 15 s limit (tests of a slow receiver).
	Timeout time.Duration
	// RootCAs replaces the system's roots (tests with a local TLS receiver).
	RootCAs *x509.CertPool
	// Resolver replaces the system's DNS (tests of names that resolve to private addresses).
	Resolver *net.Resolver
}

// Sender posts deliveries. Every connection it opens is checked at dial time, on the address
// actually dialled (after DNS), by code.dny.dev/ssrf: so a name that resolves to a private
// address, a DNS answer that changes between the check and the connection, and a redirect cannot
// reach the stack's network. It uses no proxy and follows no redirect.
type Sender struct {
	client        *http.Client
	allowLoopback bool
}

// NewSender returns a Sender; build one per process, it keeps connections alive.
func NewSender(o SenderOptions) *Sender {
	g := guardian
	if o.AllowLoopback {
		g = ssrf.New(ssrf.WithAnyPort(),
			ssrf.WithAllowedV4Prefixes(netip.MustParsePrefix("127.0.0.0/8")),
			ssrf.WithAllowedV6Prefixes(netip.MustParsePrefix("::1/128")))
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = Timeout
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: g.Safe, Resolver: o.Resolver}
	transport := &http.Transport{
		Proxy:                 nil, // never through a proxy: it would dial for us, unchecked
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.RootCAs},
		TLSHandshakeTimeout:   10 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       60 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &Sender{
		allowLoopback: o.AllowLoopback,
		client: &http.Client{
			Transport: transport,
			Timeout:   timeout,
			// A redirect is an answer like any other non-2xx: a failure, never followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Result is what one attempt got.
type Result struct {
	Status     int           // the response's status; 0 when there was none
	Latency    time.Duration // from sending to the end of what was read
	Body       string        // the first MaxResponseBody bytes of the answer, as valid UTF-8
	RetryAfter string        // the Retry-After header, if any
	Err        string        // why there was no response, in words fit for the merchant
	Refused    bool          // the URL or the address it resolved to is not public
}

// OK reports a success: any 2xx.
func (r Result) OK() bool { return r.Err == "" && r.Status >= 200 && r.Status < 300 }

// Send posts body to rawURL with headers, once.
func (s *Sender) Send(ctx context.Context, rawURL string, headers map[string]string, body []byte) Result {
	if err := CheckURL(rawURL, s.allowLoopback); err != nil {
		return Result{Err: "not sent: " + err.Error(), Refused: errors.Is(err, ErrPrivateAddress)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return Result{Err: "not sent: invalid url"}
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("user-agent", "Codex-Webhooks/1")
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return Result{Latency: time.Since(start), Err: describe(err), Refused: errors.Is(err, ssrf.ErrProhibitedIP)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	return Result{
		Status:     resp.StatusCode,
		Latency:    time.Since(start),
		Body:       strings.ToValidUTF8(string(b), "\uFFFD"),
		RetryAfter: resp.Header.Get("Retry-After"),
	}
}

// describe says why a request got no response, without the Go error's internals.
func describe(err error) string {
	var dns *net.DNSError
	switch {
	case errors.Is(err, ssrf.ErrProhibitedIP), errors.Is(err, ssrf.ErrProhibitedNetwork), errors.Is(err, ssrf.ErrProhibitedPort):
		return "refused: the host resolves to an address that is not on the public internet"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return "timeout: no answer within the time limit"
	case errors.As(err, &dns):
		return "the host name could not be resolved"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case isTLS(err):
		return "TLS handshake failed"
	}
	return fmt.Sprintf("connection failed (%s)", errKind(err))
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func isTLS(err error) bool {
	var rec tls.RecordHeaderError
	var cert *tls.CertificateVerificationError
	var unk x509.UnknownAuthorityError
	var host x509.HostnameError
	return errors.As(err, &rec) || errors.As(err, &cert) || errors.As(err, &unk) || errors.As(err, &host)
}

func errKind(err error) string {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Op
	}
	return "error"
}
