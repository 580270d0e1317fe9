package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"codex/pkg/codex"
)

// The buy button a merchant pastes (docs/buy-button.md) is two lines:
//
//	<script async src="PUBLIC_ORIGIN/button.js"></script>
//	<a data-codex-button="btn_…" data-codex-project="prj_…" href="PUBLIC_ORIGIN/b/prj_…/btn_…">Buy NAME</a>
//
// ButtonScript serves the script, which turns the link into a button that creates a checkout
// through the public JSON routes (public.go). The link itself is the fallback without JavaScript:
// ButtonPage shows the product and a form, and ButtonPageCheckout, the form's POST, creates the
// checkout and sends the buyer to the hosted page. A GET never creates a checkout, since link
// prefetchers and crawlers follow links.

//go:embed buybutton.js
var buttonScript []byte

// buttonScriptCacheControl lets browsers and CDNs keep the script for a day: its URL has no
// version (merchants paste it once), so a day is how long a fix can take to reach every buyer.
// After that a revalidation with the ETag costs a 304 and no body.
const buttonScriptCacheControl = "public, max-age=86400"

// scriptVariant is the script as served with one content encoding.
type scriptVariant struct {
	body     string // base64 when gzipped
	base64   bool
	etag     string
	encoding string
}

// buttonScriptVariants are computed once per process: identity and gzip (API Gateway's HTTP APIs
// compress nothing themselves).
var buttonScriptVariants = func() [2]scriptVariant {
	sum := sha256.Sum256(buttonScript)
	tag := hex.EncodeToString(sum[:12])
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = w.Write(buttonScript)
	_ = w.Close()
	return [2]scriptVariant{
		{body: string(buttonScript), etag: `"` + tag + `"`},
		{body: base64.StdEncoding.EncodeToString(gz.Bytes()), base64: true, etag: `"` + tag + `-gz"`, encoding: "gzip"},
	}
}()

// ButtonScript is GET /button.js, the buy-button script.
type ButtonScript struct{}

func (ButtonScript) Serve(_ context.Context, req *Request) (Response, error) {
	v := buttonScriptVariants[0]
	if acceptsGzip(req.Headers["accept-encoding"]) {
		v = buttonScriptVariants[1]
	}
	h := map[string]string{
		"content-type":  "text/javascript; charset=utf-8",
		"cache-control": buttonScriptCacheControl,
		"etag":          v.etag,
		"vary":          "Accept-Encoding",
		// Pages that isolate themselves (Cross-Origin-Embedder-Policy) may still load it.
		"cross-origin-resource-policy": "cross-origin",
	}
	if v.encoding != "" {
		h["content-encoding"] = v.encoding
	}
	if etagMatches(req.Headers["if-none-match"], v.etag) {
		return Response{StatusCode: http.StatusNotModified, Headers: h}, nil
	}
	return Response{StatusCode: http.StatusOK, Headers: h, Body: v.body, IsBase64Encoded: v.base64}, nil
}

// acceptsGzip reads an Accept-Encoding header: gzip listed without q=0.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && !strings.HasPrefix(q, "q=0.0") && q != "q=0."
		}
	}
	return false
}

// etagMatches reads an If-None-Match header (a list of tags, or *), comparing weakly as RFC 9110
// says for If-None-Match.
func etagMatches(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		t := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// ButtonPage is GET /b/{project_id}/{button_id}: the product and a form that creates its checkout,
// for a buyer without JavaScript. It changes nothing.
type ButtonPage struct {
	Buttons codex.ButtonStore
	// PageURL is the hosted checkout page's base URL ("" for this API's own /c page); the page's CSP
	// lets its form be redirected there.
	PageURL string
}

func (h ButtonPage) Serve(ctx context.Context, req *Request) (Response, error) {
	b, err := activeButton(ctx, h.Buttons, req)
	if err != nil {
		return Response{}, err // a page: ErrorPage
	}
	resp := htmlPage(http.StatusOK, h.PageURL, buttonPageData{
		Title: "Buy " + b.Name,
		Name:  b.Name,
		Price: codex.FormatAmount(b.UnitAmount, b.Currency),
	})
	resp.Headers["cache-control"] = buttonCacheControl
	return resp, nil
}

// ButtonPageCheckout is POST /b/{project_id}/{button_id}, ButtonPage's form: a checkout of one of
// the button's product, then a 303 to its hosted page. The form has no fields, so the body is not
// read; everything the checkout charges comes from the stored button.
type ButtonPageCheckout struct {
	Buttons   codex.ButtonStore
	Checkouts codex.CheckoutStore
	Now       codex.Clock
	PageURL   string // as for ButtonPage
}

func (h ButtonPageCheckout) Serve(ctx context.Context, req *Request) (Response, error) {
	b, err := activeButton(ctx, h.Buttons, req)
	if err != nil {
		return Response{}, err // a page: ErrorPage
	}
	one := int64(1)
	params, err := b.CheckoutParams(codex.ButtonCheckoutParams{Quantity: &one})
	if err != nil {
		return Response{}, err
	}
	now := h.Now().UTC().Truncate(time.Millisecond)
	c := codex.NewCheckout(b.ProjectID, params, now)
	c.ButtonID = b.ID
	ev, err := Checkouts{PageURL: pageBase(h.PageURL, req)}.Event(codex.EventCheckoutCreated, c, now)
	if err != nil {
		return Response{}, err
	}
	if _, err := h.Checkouts.CreateCheckout(ctx, c, ev, nil); err != nil {
		return Response{}, err
	}
	return Response{StatusCode: http.StatusSeeOther, Headers: map[string]string{
		"location":      pageBase(h.PageURL, req) + "/" + c.ID,
		"cache-control": "no-store",
	}}, nil
}

// buttonPageGone is the answer for a button that does not exist, is another project's or was
// archived: the same 404 for all, as the JSON routes answer.
func buttonPageGone(pageURL string) Response {
	resp := htmlPage(http.StatusNotFound, pageURL, buttonPageData{Title: "Not available",
		Notice: "This item is not available",
		Detail: "The link may be out of date, or the seller no longer offers this item. Nothing was charged."})
	resp.Headers["cache-control"] = "no-store"
	return resp
}

// buttonPageError is a page for what Serve could not answer (the store failing, a panic): the
// HTML routes' counterpart of the JSON envelope, with the request id to quote.
func buttonPageError(pageURL string, err error, requestID string) Response {
	if codex.ErrorCode(err) == codex.CodeNotFound {
		return buttonPageGone(pageURL)
	}
	resp := htmlPage(http.StatusInternalServerError, pageURL, buttonPageData{Title: "Something went wrong",
		Notice: "Something went wrong",
		Detail: "Nothing was charged. Try again in a moment. Reference: " + requestID})
	resp.Headers["cache-control"] = "no-store"
	return resp
}

// ErrorPage implements htmlRoute.
func (h ButtonPage) ErrorPage(err error, requestID string) Response {
	return buttonPageError(h.PageURL, err, requestID)
}

// ErrorPage implements htmlRoute.
func (h ButtonPageCheckout) ErrorPage(err error, requestID string) Response {
	return buttonPageError(h.PageURL, err, requestID)
}

type buttonPageData struct {
	Title, Name, Price string
	// Notice and Detail replace the product and its form: a missing button, an error.
	Notice, Detail string
	CSS            template.CSS
}

const buttonPageCSS = `body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#f6f6f4}
main{max-width:28rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.5rem;margin:0 0 .5rem}.price{font-size:1.25rem;margin:0 0 1.5rem}
.test{display:inline-block;background:#fff3c4;color:#5c4400;padding:.1rem .5rem;border-radius:4px;font-size:.875rem}
button{font:inherit;font-weight:600;padding:.75rem 1.5rem;border:0;border-radius:6px;background:#1f4fd1;color:#fff;cursor:pointer}
button:focus-visible{outline:3px solid #1a1a1a;outline-offset:2px}`

var buttonPageTemplate = template.Must(template.New("button").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<main>
{{- if .Notice}}
<h1>{{.Notice}}</h1>
<p>{{.Detail}}</p>
{{- else}}
<p class="test">Test mode: no real payment is taken</p>
<h1>{{.Name}}</h1>
<p class="price">{{.Price}}</p>
<form method="post">
<button type="submit">Continue to payment</button>
</form>
{{- end}}
</main>
</body>
</html>
`))

// buttonPageCSP allows the page's one style element (by its hash) and nothing else to load or
// run; its form may post to the page itself and follow the 303 to the hosted checkout page, which
// Chromium checks against form-action too (with no PageURL, the page is on this origin: 'self').
func buttonPageCSP(pageURL string) string {
	sum := sha256.Sum256([]byte(buttonPageCSS))
	formAction := "'self'"
	if u, err := url.Parse(pageURL); err == nil && u.Host != "" {
		formAction += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'"
}

func htmlPage(status int, pageURL string, d buttonPageData) Response {
	d.CSS = template.CSS(buttonPageCSS)
	var b strings.Builder
	if err := buttonPageTemplate.Execute(&b, d); err != nil {
		// Only a programming error in the template gets here.
		return Response{StatusCode: http.StatusInternalServerError, Headers: map[string]string{"content-type": "text/plain; charset=utf-8"}, Body: "internal error"}
	}
	return Response{StatusCode: status, Body: b.String(), Headers: map[string]string{
		"content-type":            "text/html; charset=utf-8",
		"content-security-policy": buttonPageCSP(pageURL),
		"referrer-policy":         "no-referrer",
	}}
}
