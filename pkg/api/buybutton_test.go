package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"codex/pkg/codex"
	"codex/pkg/codex/codextest"
)

const (
	rkButtonScript       = "GET /button.js"
	rkButtonPage         = "GET /b/{project_id}/{button_id}"
	rkButtonPageCheckout = "POST /b/{project_id}/{button_id}"
)

// MaxButtonScriptGzip is the buy-button script's budget over the wire (issue 11): 5 KB gzipped.
const MaxButtonScriptGzip = 5 * 1024

func scriptRequest(headers map[string]string) *Request {
	return &Request{RouteKey: rkButtonScript, Headers: headers}
}

// TestButtonScriptServed: gzip when the browser takes it (within the budget, the very script
// once inflated), identity otherwise; cacheable with an ETag per encoding, and a 304 for a
// browser that has the current one.
func TestButtonScriptServed(t *testing.T) {
	gz, err := ButtonScript{}.Serve(context.Background(), scriptRequest(map[string]string{"accept-encoding": "gzip, deflate, br"}))
	if err != nil || gz.StatusCode != http.StatusOK || !gz.IsBase64Encoded || gz.Headers["content-encoding"] != "gzip" {
		t.Fatalf("gzip: %d %v %v", gz.StatusCode, err, gz.Headers)
	}
	raw, _ := base64.StdEncoding.DecodeString(gz.Body)
	if len(raw) > MaxButtonScriptGzip {
		t.Errorf("button.js is %d bytes gzipped, over the budget of %d", len(raw), MaxButtonScriptGzip)
	}
	t.Logf("button.js: %d bytes, %d gzipped", len(buttonScript), len(raw))
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if inflated, _ := io.ReadAll(zr); !bytes.Equal(inflated, buttonScript) {
		t.Error("the gzipped body is not the script")
	}
	plain, _ := ButtonScript{}.Serve(context.Background(), scriptRequest(map[string]string{"accept-encoding": "gzip;q=0, identity"}))
	if plain.IsBase64Encoded || plain.Body != string(buttonScript) || plain.Headers["content-encoding"] != "" {
		t.Errorf("identity: %v", plain.Headers)
	}
	for _, r := range []Response{gz, plain} {
		if ct := r.Headers["content-type"]; ct != "text/javascript; charset=utf-8" {
			t.Errorf("content-type %q", ct)
		}
		if cc := r.Headers["cache-control"]; !strings.Contains(cc, "max-age=86400") || r.Headers["vary"] != "Accept-Encoding" {
			t.Errorf("cache-control %q vary %q", cc, r.Headers["vary"])
		}
	}
	if gz.Headers["etag"] == plain.Headers["etag"] || !strings.HasPrefix(gz.Headers["etag"], `"`) {
		t.Errorf("etags %q and %q: each encoding needs its own strong tag", gz.Headers["etag"], plain.Headers["etag"])
	}
	for _, inm := range []string{gz.Headers["etag"], `"old", ` + gz.Headers["etag"], "W/" + gz.Headers["etag"], "*"} {
		r, _ := ButtonScript{}.Serve(context.Background(), scriptRequest(map[string]string{"accept-encoding": "gzip", "if-none-match": inm}))
		if r.StatusCode != http.StatusNotModified || r.Body != "" || r.Headers["etag"] != gz.Headers["etag"] {
			t.Errorf("If-None-Match %s: %d %v", inm, r.StatusCode, r.Headers)
		}
	}
	r, _ := ButtonScript{}.Serve(context.Background(), scriptRequest(map[string]string{"accept-encoding": "gzip", "if-none-match": plain.Headers["etag"]}))
	if r.StatusCode != http.StatusOK {
		t.Errorf("the identity tag matched the gzipped variant: %d", r.StatusCode)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "deflate, gzip;q=0.8": true, "br": false,
		"gzip;q=0": false, "gzip; q=0.000": false, "gzip;q=0.1": true, "x-gzip": false,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v", h, got)
		}
	}
}

// TestButtonPageFlow: the fallback page shows the product and creates nothing; its form's POST
// creates one checkout priced by the button and 303s to its hosted page; an archived, unknown or
// another project's button is the same 404 page, and its POST creates nothing.
func TestButtonPageFlow(t *testing.T) {
	w := newWorld(t)
	project := w.project("alice", "Shop")
	b := w.button("alice", project, `{"name":"<Poster> & co","unit_amount":12345,"currency":"KWD","success_url":"https://shop.example/ok","cancel_url":"https://shop.example/no"}`)
	pp := map[string]string{"project_id": project, "button_id": b.ID}
	before := itemCount(t, w.tables)

	page := w.public(rkButtonPage, pp, "")
	wantStatus(t, page, http.StatusOK)
	for _, want := range []string{"&lt;Poster&gt; &amp; co", "12.345 KWD", `<form method="post">`, `<html lang="en">`, "Test mode"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("the page lacks %q:\n%s", want, page.Body)
		}
	}
	if strings.Contains(page.Body, "<Poster>") {
		t.Error("the button's name is not escaped")
	}
	checkPageHeaders(t, page)
	if itemCount(t, w.tables) != before {
		t.Error("GET created something")
	}

	post := w.public(rkButtonPageCheckout, pp, "")
	wantStatus(t, post, http.StatusSeeOther)
	loc := post.Headers["location"]
	id := strings.TrimPrefix(loc, testPageURL+"/")
	if !codex.ValidID(codex.CheckoutIDPrefix, id) || post.Headers["cache-control"] != "no-store" {
		t.Fatalf("303 to %q, headers %v", loc, post.Headers)
	}
	c, err := w.store.FindCheckout(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.ProjectID != project || c.ButtonID != b.ID || c.AmountTotal != 12345 || c.Currency != "kwd" || len(c.LineItems) != 1 ||
		c.LineItems[0].Quantity != 1 || c.LineItems[0].Name != "<Poster> & co" || c.SuccessURL != "https://shop.example/ok" {
		t.Errorf("checkout %+v", c)
	}

	other := w.project("bob", "Other")
	wantStatus(t, w.dashboard("alice", "DELETE /projects/{project_id}/buttons/{button_id}", pp, ""), http.StatusNoContent)
	after := itemCount(t, w.tables)
	for _, params := range []map[string]string{
		pp, // archived
		{"project_id": other, "button_id": b.ID},
		{"project_id": project, "button_id": "btn_unknown"},
		{"project_id": "x", "button_id": "y"},
	} {
		for _, rk := range []string{rkButtonPage, rkButtonPageCheckout} {
			r := w.public(rk, params, "")
			wantStatus(t, r, http.StatusNotFound)
			if !strings.Contains(r.Body, "This item is not available") || r.Headers["content-type"] != "text/html; charset=utf-8" {
				t.Errorf("%s %v: %v %s", rk, params, r.Headers, r.Body)
			}
			checkPageHeaders(t, r)
		}
	}
	if itemCount(t, w.tables) != after {
		t.Error("a refused POST created something")
	}
}

var styleHash = regexp.MustCompile(`style-src 'sha256-([^']+)'`)

// checkPageHeaders: the page's CSP allows exactly its one style element, and the form's redirect
// to the hosted page.
func checkPageHeaders(t *testing.T, r Response) {
	t.Helper()
	csp := r.Headers["content-security-policy"]
	m := styleHash.FindStringSubmatch(csp)
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(r.Body)
	if m == nil || style == nil {
		t.Fatalf("CSP %q, style element %v", csp, style)
	}
	sum := sha256.Sum256([]byte(style[1]))
	if base64.StdEncoding.EncodeToString(sum[:]) != m[1] {
		t.Error("the CSP's style hash does not match the page's style element")
	}
	for _, want := range []string{"default-src 'none'", "form-action 'self' https://pay.example;", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if r.Headers["referrer-policy"] != "no-referrer" || r.Headers["x-content-type-options"] != "nosniff" {
		t.Errorf("headers %v", r.Headers)
	}
}

// TestButtonPageErrors: what the routes cannot answer is a page too, with the request id, never
// the JSON envelope; with no hosted page configured, the 303 goes to this API's own /c page.
func TestButtonPageErrors(t *testing.T) {
	failing := &codextest.ButtonStore{GetButtonFn: func(context.Context, string, string) (codex.Button, error) {
		return codex.Button{}, errors.New("dynamodb: connection refused")
	}}
	req := Request{RouteKey: rkButtonPage, PathParameters: map[string]string{"project_id": "prj_" + strings.Repeat("A", 26), "button_id": "btn_" + strings.Repeat("A", 26)}}
	req.RequestContext.RequestID = "req-1"
	for _, route := range []Route{ButtonPage{Buttons: failing}, ButtonPageCheckout{Buttons: failing}} {
		resp, _ := Handler(slog.New(slog.DiscardHandler), route)(context.Background(), req)
		if resp.StatusCode != http.StatusInternalServerError || !strings.HasPrefix(resp.Headers["content-type"], "text/html") ||
			!strings.Contains(resp.Body, "Reference: req-1") || strings.Contains(resp.Body, "dynamodb") {
			t.Errorf("%T: %d %v %s", route, resp.StatusCode, resp.Headers, resp.Body)
		}
	}

	button := codex.Button{ID: "btn_" + strings.Repeat("A", 26), ProjectID: "prj_" + strings.Repeat("A", 26), Name: "Tea", UnitAmount: 450,
		Currency: "usd", SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/no", Active: true}
	buttons := &codextest.ButtonStore{GetButtonFn: func(context.Context, string, string) (codex.Button, error) { return button, nil }}
	checkouts := &codextest.CheckoutStore{CreateCheckoutFn: func(context.Context, codex.Checkout, codex.Event, *codex.IdempotencyRecord) (*codex.IdempotencyRecord, error) {
		return nil, nil
	}}
	req.RequestContext.DomainName = "abc123.execute-api.eu-west-1.amazonaws.com"
	resp, _ := Handler(slog.New(slog.DiscardHandler), ButtonPageCheckout{Buttons: buttons, Checkouts: checkouts, Now: time.Now})(context.Background(), req)
	if loc := resp.Headers["location"]; resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "https://abc123.execute-api.eu-west-1.amazonaws.com/c/chk_") {
		t.Errorf("without PageURL: %d to %q", resp.StatusCode, loc)
	}
	page, _ := Handler(slog.New(slog.DiscardHandler), ButtonPage{Buttons: buttons})(context.Background(), req)
	if csp := page.Headers["content-security-policy"]; !strings.Contains(csp, "form-action 'self';") {
		t.Errorf("without PageURL the form may only go to this origin: %q", csp)
	}
}
