package buyer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"codex/e2e/browser"
	"codex/e2e/e2etest"
)

const (
	dashboardAPI = "HttpApi"
	publicAPI    = "PublicApi"
	waitTimeout  = 20 * time.Second
)

// merchant is a project set up through the dashboard, with a secret key to read its checkouts.
type merchant struct {
	token, project, key string
}

func newMerchant(t *testing.T, user string) merchant {
	t.Helper()
	m := merchant{token: client.Token(t, user)}
	r := client.Call(t, dashboardAPI, "POST", "/projects", e2etest.Bearer(m.token), `{"name":"Poster shop"}`)
	e2etest.Want(t, r, http.StatusCreated)
	m.project = e2etest.Decode[struct{ ID string }](t, r).ID
	r = client.Call(t, dashboardAPI, "POST", "/projects/"+m.project+"/keys", e2etest.Bearer(m.token), `{"name":"server"}`)
	e2etest.Want(t, r, http.StatusCreated)
	m.key = e2etest.Decode[struct{ Key string }](t, r).Key
	return m
}

// button creates a buy button whose success_url is the merchant site's thank-you page, with the
// checkout's id in its query, and returns its id.
func (m merchant) button(t *testing.T, name string, amount int, currency string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"name": name, "unit_amount": amount, "currency": currency,
		"success_url": shop.srv.URL + "/thanks?session={CHECKOUT_ID}",
		"cancel_url":  shop.srv.URL + "/cart",
	})
	r := client.Call(t, dashboardAPI, "POST", "/projects/"+m.project+"/buttons", e2etest.Bearer(m.token), string(body))
	e2etest.Want(t, r, http.StatusCreated)
	return e2etest.Decode[struct{ ID string }](t, r).ID
}

func (m merchant) archive(t *testing.T, button string) {
	t.Helper()
	r := client.Call(t, dashboardAPI, "DELETE", "/projects/"+m.project+"/buttons/"+button, e2etest.Bearer(m.token), "")
	e2etest.Want(t, r, http.StatusNoContent)
}

// checkout creates a checkout of the button as the script does, and returns its id and url.
func (m merchant) checkout(t *testing.T, button string) (id, url string) {
	t.Helper()
	r := client.Call(t, publicAPI, "POST", "/public/projects/"+m.project+"/buttons/"+button+"/checkouts", nil, `{}`)
	e2etest.Want(t, r, http.StatusCreated)
	c := e2etest.Decode[struct{ ID, URL string }](t, r)
	return c.ID, c.URL
}

// get reads a checkout with the merchant's key.
func (m merchant) get(t *testing.T, id string) map[string]any {
	t.Helper()
	r := client.Call(t, dashboardAPI, "GET", "/v1/checkouts/"+id, e2etest.Bearer(m.key), "")
	e2etest.Want(t, r, http.StatusOK)
	return e2etest.Decode[map[string]any](t, r)
}

// waitJS waits until the expression is truthy in the page.
func waitJS(p *browser.Page, expr string) {
	p.Do(chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(waitTimeout), chromedp.WithPollingInterval(50*time.Millisecond)))
}

// waitURL waits until the tab's document is at a URL starting with prefix (across navigations,
// which end a Poll) and has loaded, and returns the URL.
func waitURL(t *testing.T, p *browser.Page, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	last := ""
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(p.Ctx, 2*time.Second)
		state, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[location.href, document.readyState]`))
		cancel()
		if err == nil && len(state) == 2 {
			last = state[0]
			if strings.HasPrefix(last, prefix) && state[1] == "complete" {
				return last
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the tab is at %q, want a URL starting with %q", last, prefix)
	return ""
}

// submit runs the action (a click, a key) that submits the page's form and waits until the page
// it leads to has loaded, also when its URL is the same as before (a declined payment).
func submit(t *testing.T, p *browser.Page, action chromedp.Action[chromedp.Void]) {
	t.Helper()
	p.Do(chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.submitted = "1"`), action)
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(p.Ctx, 2*time.Second)
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.documentElement.dataset.submitted && document.readyState === "complete"`))
		cancel()
		if err == nil && done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the form's answer never loaded")
}

// text is the visible text of the first element matching the selector.
func text(p *browser.Page, sel string) string {
	return browser.Run(p, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, sel)))
}

// noErrors fails the test on any console error or uncaught exception the tab recorded: a CSP
// refusal, a failed request or a script error.
func noErrors(t *testing.T, p *browser.Page) {
	t.Helper()
	for _, m := range p.Errors() {
		t.Errorf("console: %s", m)
	}
}

// focused describes the focused element, for keyboard-only tests.
func focused(p *browser.Page) string {
	return browser.Run(p, chromedp.Evaluate[string](`(e => e ? e.tagName.toLowerCase() + " " +
		(e.getAttribute("autocomplete") || e.getAttribute("type") || "") + " " + (e.innerText || e.value || "").trim() : "")(document.activeElement)`))
}
