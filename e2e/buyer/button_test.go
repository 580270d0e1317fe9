package buyer

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"codex/e2e/browser"
	"codex/e2e/e2etest"
)

// maxScriptGzip is the script's budget over the wire: 5 KB gzipped (issue 11).
const maxScriptGzip = 5 * 1024

// TestScriptOverHTTP: the stack serves the script gzipped within its budget, cacheable, and
// answers a revalidation with its ETag by a 304 without a body.
func TestScriptOverHTTP(t *testing.T) {
	gz := http.Header{"Accept-Encoding": {"gzip"}}
	r := client.Call(t, publicAPI, "GET", "/button.js", gz, "")
	e2etest.Want(t, r, http.StatusOK)
	if r.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("headers %v", r.Header)
	}
	if len(r.Body) > maxScriptGzip {
		t.Errorf("button.js is %d bytes over the wire, over the budget of %d", len(r.Body), maxScriptGzip)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	script, err := io.ReadAll(zr)
	if err != nil || !bytes.Contains(script, []byte("data-codex-button")) {
		t.Fatalf("the gzipped body is not the script (%v)", err)
	}
	t.Logf("button.js: %d bytes, %d gzipped over HTTP", len(script), len(r.Body))
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
		t.Errorf("Cache-Control %q", cc)
	}
	gz.Set("If-None-Match", r.Header.Get("ETag"))
	again := client.Call(t, publicAPI, "GET", "/button.js", gz, "")
	e2etest.Want(t, again, http.StatusNotModified)
	if len(again.Body) != 0 {
		t.Errorf("a 304 with a body of %d bytes", len(again.Body))
	}
}

// TestButtonRenders: on a merchant page whose CSP names only the API's origin, the script renders
// each button's name and price in its currency's minor unit (no decimals for JPY, three for KWD),
// with no CSP refusal or error in the console, and the page passes axe.
func TestButtonRenders(t *testing.T) {
	m := newMerchant(t, "render")
	eur := m.button(t, "Poster A2", 2500, "eur")
	jpy := m.button(t, "Poster B1", 2000, "jpy")
	kwd := m.button(t, "Poster A0", 12345, "kwd")
	p := chrome.NewPage(t)
	p.Do(chromedp.Navigate(shop.page(
		shop.snippet(m.project, eur, "Poster A2"),
		shop.snippet(m.project, jpy, "Poster B1"),
		shop.snippet(m.project, kwd, "Poster A0"))))
	waitJS(p, `document.querySelectorAll('a[data-codex-state="ready"]').length === 3`)
	for sel, want := range map[string]string{
		`a[data-codex-button="` + eur + `"]`: "Buy Poster A2 – €25.00",
		`a[data-codex-button="` + jpy + `"]`: "Buy Poster B1 – ¥2,000",
		`a[data-codex-button="` + kwd + `"]`: "Buy Poster A0 – KWD 12.345",
	} {
		if got := strings.ReplaceAll(text(p, sel), "\u00a0", " "); got != want {
			t.Errorf("%s reads %q, want %q", sel, got, want)
		}
	}
	p.Screenshot("merchant-page")
	p.CheckAxe("merchant page", false)
	noErrors(t, p)
}

// TestButtonAddedLater: a single-page app adds a button after the script ran; the script finds and
// renders it.
func TestButtonAddedLater(t *testing.T) {
	m := newMerchant(t, "spa")
	b := m.button(t, "Poster A3", 1500, "usd")
	p := chrome.NewPage(t)
	p.Do(chromedp.Navigate(shop.page()))
	waitJS(p, `window.__codexButton === 1`)
	// The app's own code, run through the DevTools protocol: the page's CSP allows no script of
	// the merchant's origin, and this is not what is under test.
	p.Do(chromedp.Evaluate[chromedp.Void](`(() => {
		const d = document.createElement("div");
		d.innerHTML = ` + "`" + shop.snippet(m.project, b, "Poster A3") + "`" + `;
		document.querySelector("main").appendChild(d);
	})()`))
	waitJS(p, `document.querySelector('a[data-codex-state="ready"]')`)
	if got := text(p, "a[data-codex-button]"); got != "Buy Poster A3 – $15.00" {
		t.Errorf("the added button reads %q", got)
	}
	noErrors(t, p)
}

// TestArchivedButton: a button archived in the dashboard says so on the merchant's page, and no
// longer links anywhere; its page without JavaScript is a 404 that says so.
func TestArchivedButton(t *testing.T) {
	m := newMerchant(t, "archived")
	b := m.button(t, "Poster A4", 900, "eur")
	m.archive(t, b)
	p := chrome.NewPage(t)
	p.Do(chromedp.Navigate(shop.page(shop.snippet(m.project, b, "Poster A4"))))
	waitJS(p, `document.querySelector('a[data-codex-state="unavailable"]')`)
	if got := text(p, ".codex-button-message"); got != "This item is no longer available." {
		t.Errorf("message %q", got)
	}
	if href := browser.Run(p, chromedp.Evaluate[bool](`document.querySelector("a[data-codex-button]").hasAttribute("href")`)); href {
		t.Error("the archived button still links to its page")
	}
	p.Screenshot("archived")
	p.CheckAxe("archived button", false)

	resp := client.Call(t, publicAPI, "GET", "/b/"+m.project+"/"+b, nil, "")
	e2etest.Want(t, resp, http.StatusNotFound)
	p.Do(chromedp.Navigate(shop.api + "/b/" + m.project + "/" + b))
	if got := text(p, "h1"); got != "This item is not available" {
		t.Errorf("the button's page reads %q", got)
	}
	p.Screenshot("archived-page")
	p.CheckAxe("archived button's page", false)
}

// TestAPIDown: with the API unreachable after the page loaded, a click shows a clear message on
// the button, leaves the buyer on the page and keeps the button usable; once the API is back, the
// next click (a double one) creates one checkout and opens its page. A page opened while the API
// is down says so too.
func TestAPIDown(t *testing.T) {
	m := newMerchant(t, "down")
	b := m.button(t, "Poster A5", 3000, "eur")
	page := shop.page(shop.snippet(m.project, b, "Poster A5"))
	p := chrome.NewPage(t)
	p.Do(chromedp.Navigate(page))
	waitJS(p, `document.querySelector('a[data-codex-state="ready"]')`)

	blockAPI(p, true)
	p.Do(chromedp.Click(chromedp.CSS("a[data-codex-button]")))
	waitJS(p, `document.querySelector('a[data-codex-state="error"]')`)
	if got := text(p, ".codex-button-message"); !strings.Contains(got, "Could not reach the payment service") {
		t.Errorf("message %q", got)
	}
	if loc := browser.Run(p, chromedp.Location()); loc != page {
		t.Errorf("the buyer left the page for %s", loc)
	}
	p.Screenshot("api-down")
	p.CheckAxe("button with the API down", false)

	blockAPI(p, false)
	// The buyer, impatient now, clicks twice in a row: both clicks reach the script before the
	// first checkout is created, and the second makes none.
	p.Do(chromedp.Evaluate[chromedp.Void](`(a => { a.click(); a.click(); })(document.querySelector("a[data-codex-button]"))`))
	waitURL(t, p, shop.api+"/c/chk_")
	for range 5 { // and it stays one: the second request would have had all this time to land
		r := client.Call(t, dashboardAPI, "GET", "/v1/checkouts", e2etest.Bearer(m.key), "")
		if n := len(e2etest.Decode[struct{ Data []any }](t, r).Data); n != 1 {
			t.Fatalf("after the API came back, two clicks made %d checkouts", n)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Opened while the API is down: the button cannot render its price, and says why.
	q := chrome.NewPage(t)
	blockAPI(q, true)
	q.Do(chromedp.Navigate(page))
	waitJS(q, `document.querySelector('a[data-codex-state="error"]')`)
	if got := text(q, ".codex-button-message"); !strings.Contains(got, "Could not reach the payment service") {
		t.Errorf("message on load %q", got)
	}
}

// blockAPI makes the browser fail every request to the API's JSON routes, as when the API is
// unreachable (the script itself is already loaded).
func blockAPI(p *browser.Page, on bool) {
	var patterns []*network.BlockPattern
	if on {
		patterns = []*network.BlockPattern{{URLPattern: shop.api + "/public/*", Block: true}}
	}
	p.Do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: patterns})
		return err
	}))
}
