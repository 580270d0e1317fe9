package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"codex/e2e/browser"
)

// shopSite is a merchant's own site on another loopback origin than the dashboard's and the
// API's: a product page holding the snippet pasted as it was copied, under a strict CSP (scripts
// and requests only to the API's origin, nothing inline), and the thank-you page.
type shopSite struct {
	*httptest.Server
	mu   sync.Mutex
	page string
}

func newShopSite(t *testing.T, api string) *shopSite {
	s := &shopSite{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src "+api+"; connect-src "+api+
			"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/product":
			s.mu.Lock()
			defer s.mu.Unlock()
			fmt.Fprint(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Mugs</title></head><body><main><h1>Mugs</h1>`+"\n"+s.page+"\n</main></body></html>")
		case "/thanks":
			fmt.Fprint(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Thank you</title></head><body><main><h1>Thank you</h1></main></body></html>`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// waitAt waits until the tab's document is at a URL starting with prefix and has loaded (a
// navigation ends a Poll, so this asks again each time).
func waitAt(t *testing.T, p *browser.Page, prefix string) string {
	t.Helper()
	last := ""
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(p.Ctx, 2*time.Second)
		state, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[location.href, document.readyState]`))
		cancel()
		if err == nil && len(state) == 2 {
			if last = state[0]; strings.HasPrefix(last, prefix) && state[1] == "complete" {
				return last
			}
		}
	}
	t.Fatalf("the tab is at %q, want a URL starting with %q", last, prefix)
	return ""
}

// TestBuyButtonBoughtFromSnippet: a buy button created in the dashboard, its snippet copied from
// the dashboard and pasted into a page on another loopback origin with a strict CSP, bought there
// with 4242 4242 4242 4242 on the hosted page, then shown complete in the dashboard's Checkouts tab.
func TestBuyButtonBoughtFromSnippet(t *testing.T) {
	u := open(t)
	u.signIn(randomName("snip"))
	u.p.Do(chromedp.SendKeys(field("Project name"), "Mug shop"), chromedp.Click(button("Create project")),
		chromedp.WaitVisible(`//h2[normalize-space()="No API keys yet"]`))
	api := strings.TrimRight(client.Stack.APIs["PublicApi"], "/")
	shop := newShopSite(t, api)

	u.p.Do(chromedp.Click(`//a[normalize-space()="Buy buttons"]`), chromedp.WaitVisible(field("Product name")))
	u.p.Do(chromedp.SendKeys(field("Product name"), "Mug"), chromedp.SendKeys(field("Price"), "12"),
		chromedp.SendKeys(field("Success URL"), shop.URL+"/thanks"), chromedp.SendKeys(field("Cancel URL"), shop.URL+"/product"),
		chromedp.Click(button("Create button")), chromedp.WaitVisible(`pre.snippet`))
	u.p.Do(chromedp.Click(button("Copy")))
	u.wait(`document.querySelector("dialog[open] [role=status]").textContent === "Copied"`)
	snippet := u.eval(`navigator.clipboard.readText()`)
	if !strings.Contains(snippet, api+"/button.js") || !strings.Contains(snippet, "data-codex-button=") {
		t.Fatalf("the copied snippet %q", snippet)
	}
	shop.mu.Lock()
	shop.page = snippet
	shop.mu.Unlock()

	buyer := chrome.NewPage(t)
	buyer.Do(chromedp.Navigate(shop.URL + "/product"))
	buyer.Do(chromedp.Poll[chromedp.Void](`document.querySelector('a[data-codex-state="ready"]')`, chromedp.WithPollingTimeout(20*time.Second)))
	buyer.Do(chromedp.Click(chromedp.CSS(`a[data-codex-button]`)))
	hosted := waitAt(t, buyer, api+"/c/chk_")
	id := hosted[strings.LastIndex(hosted, "/")+1:]
	buyer.Do(
		chromedp.WaitVisible(chromedp.CSS(`input[autocomplete="cc-number"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="email"]`), "buyer@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="cc-number"]`), "4242 4242 4242 4242"),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="cc-exp"]`), "12/"+time.Now().AddDate(1, 0, 0).Format("06")),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="cc-csc"]`), "123"),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
	)
	waitAt(t, buyer, shop.URL+"/thanks")
	for _, m := range buyer.Errors() {
		t.Errorf("the buyer's tab: %s", m) // a CSP refusal on the merchant's page would show here
	}

	u.press(kb.Escape)
	u.wait(`document.querySelector("dialog[open]") === null`)
	u.p.Do(chromedp.Click(`//a[normalize-space()="Checkouts"]`), chromedp.WaitVisible(`//code[normalize-space()="`+id+`"]`))
	row := u.eval(`(r => r.querySelector(".status").textContent + " " + r.innerText)([...document.querySelectorAll("table.list tbody tr")].find(r => r.innerText.includes("` + id + `")))`)
	if !strings.HasPrefix(row, "complete ") || !strings.Contains(row, "€12.00") {
		t.Errorf("the Checkouts tab shows %q for %s, want it complete, €12.00", row, id)
	}
	u.p.Do(chromedp.Click(`//button[normalize-space()="`+id+`"]`), chromedp.WaitVisible(`dl.detail`))
	if d := u.eval(`document.querySelector("dialog[open]").innerText`); !strings.Contains(d, "ending 4242") || !strings.Contains(d, "buyer@example.com") {
		t.Errorf("the checkout's detail %q does not show the card and the buyer", d)
	}
	u.axe("paid checkout detail")
}
