package buyer

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"codex/e2e/browser"
	"codex/e2e/e2etest"
)

// The hosted checkout page's form, by the autocomplete purposes the issue asks of its fields.
const (
	emailField  = `input[autocomplete="email"]`
	numberField = `input[autocomplete="cc-number"]`
	expiryField = `input[autocomplete="cc-exp"]`
	cvcField    = `input[autocomplete="cc-csc"]`
	payButton   = `form button[type="submit"]`
)

// card is what a buyer types in the card fields.
type card struct{ number, expiry, cvc string }

var goodCard = card{"4242 4242 4242 4242", "12/" + futureYear(), "123"}

// futureYear is next year's two digits, so the expiry is a future month whatever today is.
func futureYear() string { return time.Now().AddDate(1, 0, 0).Format("06") }

// fill types the buyer's email and card in the hosted page's form. The page is fresh from the
// server each time (it has no script), so clearing a field's value attribute clears what it shows;
// Clear works through the DOM, with JavaScript off too.
func fill(p *browser.Page, email string, c card) {
	p.Do(
		chromedp.WaitVisible(chromedp.CSS(numberField)),
		chromedp.Clear(chromedp.CSS(emailField)),
		chromedp.SendKeys(chromedp.CSS(emailField), email),
		chromedp.Clear(chromedp.CSS(numberField)),
		chromedp.SendKeys(chromedp.CSS(numberField), c.number),
		chromedp.Clear(chromedp.CSS(expiryField)),
		chromedp.SendKeys(chromedp.CSS(expiryField), c.expiry),
		chromedp.Clear(chromedp.CSS(cvcField)),
		chromedp.SendKeys(chromedp.CSS(cvcField), c.cvc),
	)
}

// checkoutID is the id at the end of a hosted page's URL.
func checkoutID(t *testing.T, pageURL string) string {
	t.Helper()
	u, err := url.Parse(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	id := u.Path[strings.LastIndex(u.Path, "/")+1:]
	if !strings.HasPrefix(id, "chk_") {
		t.Fatalf("no checkout id in %s", pageURL)
	}
	return id
}

// wantPaid checks, with the merchant's key, that the checkout is complete and paid by the card.
func wantPaid(t *testing.T, m merchant, id, button, last4 string) {
	t.Helper()
	c := m.get(t, id)
	pm, _ := c["payment_method"].(map[string]any)
	if c["status"] != "complete" || c["payment_status"] != "paid" || pm["last4"] != last4 || c["completed_at"] == nil {
		t.Errorf("checkout %s: status %v, payment_status %v, payment_method %v, completed_at %v",
			id, c["status"], c["payment_status"], c["payment_method"], c["completed_at"])
	}
	if button != "" && c["button_id"] != button {
		t.Errorf("checkout %s: button_id %v, want %s", id, c["button_id"], button)
	}
}

// TestJourney is the whole journey with a mouse: the merchant's page with a strict CSP, the
// button, the hosted page on the API's origin, 4242…, the merchant's success_url with the
// checkout's id; then the merchant's key reads the checkout complete and paid. No page logs an
// error (a CSP refusal would) and axe finds nothing serious on any of them.
func TestJourney(t *testing.T) {
	m := newMerchant(t, "journey")
	b := m.button(t, "Poster A2", 2500, "eur")
	p := chrome.NewPage(t)
	p.Do(chromedp.Navigate(shop.page(shop.snippet(m.project, b, "Poster A2"))))
	waitJS(p, `document.querySelector('a[data-codex-state="ready"]')`)
	p.Screenshot("merchant-page")
	p.CheckAxe("merchant page", false)

	p.Do(chromedp.Click(chromedp.CSS("a[data-codex-button]")))
	page := waitURL(t, p, shop.api+"/c/chk_")
	id := checkoutID(t, page)
	body := text(p, "body")
	for _, want := range []string{"Test mode", "Poster A2", "€25.00"} {
		if !strings.Contains(body, want) {
			t.Errorf("the hosted page lacks %q:\n%s", want, body)
		}
	}
	p.Screenshot("hosted-page")
	p.CheckAxe("hosted page", false)

	fill(p, "buyer@example.com", goodCard)
	p.Screenshot("hosted-page-filled")
	p.ScreenshotOf("hosted-page-form", "main") // docs/img/hosted-page.png
	p.Do(chromedp.Click(chromedp.CSS(payButton)))
	done := waitURL(t, p, shop.srv.URL+"/thanks?session=")
	if got := strings.TrimPrefix(done, shop.srv.URL+"/thanks?session="); got != id {
		t.Errorf("landed on %s, want the checkout id %s in it", done, id)
	}
	p.Screenshot("success")
	p.CheckAxe("merchant's success page", false)
	wantPaid(t, m, id, b, "4242")
	noErrors(t, p)
}

// TestDeclineCards: each of Stripe's decline test cards leaves the checkout open and unpaid with
// last_payment_error naming the decline, the page says so and lets the buyer try again; the next
// attempt with a good card pays.
func TestDeclineCards(t *testing.T) {
	m := newMerchant(t, "declines")
	b := m.button(t, "Poster A3", 1999, "usd")
	id, pageURL := m.checkout(t, b)
	p := chrome.NewPage(t)
	p.Do(chromedp.Navigate(pageURL))
	waitURL(t, p, pageURL)
	for i, tc := range []struct{ number, code string }{
		{"4000 0000 0000 0002", "card_declined"},
		{"4000 0000 0000 9995", "insufficient_funds"},
		{"4000 0000 0000 0069", "expired_card"},
		{"4000 0000 0000 0127", "incorrect_cvc"},
	} {
		fill(p, "buyer@example.com", card{tc.number, goodCard.expiry, goodCard.cvc})
		submit(t, p, chromedp.Click(chromedp.CSS(payButton)))
		waitURL(t, p, shop.api+"/c/"+id)
		if browser.Run(p, chromedp.Evaluate[int](`document.querySelectorAll('[role="alert"]').length`)) == 0 {
			t.Errorf("%s: no alert on the page:\n%s", tc.number, text(p, "main"))
		}
		c := m.get(t, id)
		e, _ := c["last_payment_error"].(map[string]any)
		if c["status"] != "open" || c["payment_status"] != "unpaid" || e["code"] != tc.code {
			t.Errorf("%s: status %v, payment_status %v, last_payment_error %v; want open, unpaid, %s",
				tc.number, c["status"], c["payment_status"], c["last_payment_error"], tc.code)
		}
		if msg, _ := e["message"].(string); msg == "" || !strings.Contains(text(p, "main"), msg) {
			t.Errorf("%s: the page does not show the decline %q:\n%s", tc.number, msg, text(p, "main"))
		}
		if strings.Contains(text(p, "body"), strings.ReplaceAll(tc.number, " ", "")) || browser.Run(p, chromedp.Value(chromedp.CSS(numberField))) != "" {
			t.Errorf("%s: the page echoes the card number", tc.number)
		}
		if i == 0 {
			p.Screenshot("declined")
			p.ScreenshotOf("declined-form", "main") // docs/img/declined.png
			p.CheckAxe("declined", false)
		}
	}
	fill(p, "buyer@example.com", goodCard)
	p.Do(chromedp.Click(chromedp.CSS(payButton)))
	waitURL(t, p, shop.srv.URL+"/thanks?session="+id)
	wantPaid(t, m, id, b, "4242")
}

// TestExpiredCheckout: a checkout the merchant expired (POST /v1/checkouts/{id}/expire) shows a
// page that says so (410), with no form.
func TestExpiredCheckout(t *testing.T) {
	m := newMerchant(t, "expired")
	b := m.button(t, "Poster A4", 700, "gbp")
	id, pageURL := m.checkout(t, b)
	r := client.Call(t, dashboardAPI, "POST", "/v1/checkouts/"+id+"/expire", e2etest.Bearer(m.key), "")
	e2etest.Want(t, r, http.StatusOK)
	page, err := client.HTTP.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != http.StatusGone {
		t.Errorf("GET %s: %d, want 410", pageURL, page.StatusCode)
	}
	p := chrome.NewPage(t)
	p.Do(chromedp.Navigate(pageURL))
	waitURL(t, p, pageURL)
	if body := strings.ToLower(text(p, "main")); !strings.Contains(body, "expired") {
		t.Errorf("the page does not say the checkout expired:\n%s", body)
	}
	if n := browser.Run(p, chromedp.Evaluate[int](`document.querySelectorAll('input[autocomplete="cc-number"]').length`)); n != 0 {
		t.Error("an expired checkout still shows the card form")
	}
	p.Screenshot("expired")
	p.CheckAxe("expired checkout", false)
	if c := m.get(t, id); c["status"] != "expired" || c["payment_status"] != "unpaid" {
		t.Errorf("checkout %s: status %v, payment_status %v", id, c["status"], c["payment_status"])
	}
}

// TestNoJavaScript: with JavaScript off the snippet is a plain link to the button's page, whose
// form creates the checkout and opens the hosted page, which takes the payment without a script.
func TestNoJavaScript(t *testing.T) {
	m := newMerchant(t, "nojs")
	b := m.button(t, "Poster A5", 2000, "jpy")
	p := chrome.NewPage(t, browser.NoJavaScript())
	p.Do(chromedp.Navigate(shop.page(shop.snippet(m.project, b, "Poster A5"))))
	if got := text(p, "a[data-codex-button]"); got != "Buy Poster A5" {
		t.Errorf("without JavaScript the link reads %q", got)
	}
	p.Screenshot("merchant-page")
	p.CheckAxe("merchant page without JavaScript", false)
	p.Do(chromedp.Click(chromedp.CSS("a[data-codex-button]")))
	waitURL(t, p, shop.api+"/b/"+m.project+"/"+b)
	main := text(p, "main")
	for _, want := range []string{"Poster A5", "¥2,000"} {
		if !strings.Contains(main, want) {
			t.Errorf("the button's page lacks %q:\n%s", want, main)
		}
	}
	if r := client.Call(t, dashboardAPI, "GET", "/v1/checkouts", e2etest.Bearer(m.key), ""); !strings.Contains(string(r.Body), `"data":[]`) {
		t.Errorf("the button's page created a checkout: %s", r.Body)
	}
	p.Screenshot("button-page")
	p.CheckAxe("button page", false)

	p.Do(chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
	page := waitURL(t, p, shop.api+"/c/chk_")
	id := checkoutID(t, page)
	p.Screenshot("hosted-page")
	p.CheckAxe("hosted page without JavaScript", false)
	fill(p, "buyer@example.com", card{"5555 5555 5555 4444", goodCard.expiry, "321"})
	p.Do(chromedp.Click(chromedp.CSS(payButton)))
	waitURL(t, p, shop.srv.URL+"/thanks?session="+id)
	wantPaid(t, m, id, b, "4444")
}

// TestKeyboardOnly: Tab and Enter alone, no mouse: to the button on the merchant's page, then
// through the hosted page's fields in order, and Enter pays.
func TestKeyboardOnly(t *testing.T) {
	m := newMerchant(t, "keyboard")
	b := m.button(t, "Poster A6", 12345, "kwd")
	p := chrome.NewPage(t)
	p.Do(chromedp.Navigate(shop.page(shop.snippet(m.project, b, "Poster A6"))))
	waitJS(p, `document.querySelector('a[data-codex-state="ready"]')`)
	tabTo(t, p, "a ", "Buy Poster A6")
	p.Screenshot("button-focused")
	p.Do(chromedp.KeyEvent(kb.Enter))
	page := waitURL(t, p, shop.api+"/c/chk_")
	id := checkoutID(t, page)

	for _, f := range []struct{ field, keys string }{
		{"email", "buyer@example.com"},
		{"cc-number", goodCard.number},
		{"cc-exp", goodCard.expiry},
		{"cc-csc", goodCard.cvc},
	} {
		tabTo(t, p, "input "+f.field, "")
		p.Do(chromedp.KeyEvent(f.keys))
	}
	p.Screenshot("filled-by-keyboard")
	p.CheckAxe("hosted page, filled", false)
	p.Do(chromedp.KeyEvent(kb.Enter)) // submits the form from its last field
	waitURL(t, p, shop.srv.URL+"/thanks?session="+id)
	wantPaid(t, m, id, b, "4242")
}

// tabTo presses Tab until the focused element's description (focused) starts with prefix and
// contains text, failing after 30 presses.
func tabTo(t *testing.T, p *browser.Page, prefix, text string) {
	t.Helper()
	var seen []string
	for range 30 {
		p.Do(chromedp.KeyEvent(kb.Tab))
		f := focused(p)
		if strings.HasPrefix(f, prefix) && strings.Contains(f, text) {
			return
		}
		seen = append(seen, f)
	}
	t.Fatalf("Tab never reached %q %q; focus went through %q", prefix, text, seen)
}
