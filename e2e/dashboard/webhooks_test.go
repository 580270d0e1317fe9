package dashboard

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"codex/e2e/browser"
	"codex/e2e/e2etest"
	"codex/pkg/webhook"
)

// receiver is a merchant's webhook endpoint on loopback (the test stack, like make dev, sets
// WebhookAllowLoopback): it records each delivery and answers 200.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []delivery
	wake chan struct{}
}

type delivery struct {
	id, timestamp, signature string
	body                     []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{wake: make(chan struct{}, 16)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, delivery{req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature"), body})
		r.mu.Unlock()
		r.wake <- struct{}{}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

// next waits for the n-th delivery (1-based).
func (r *receiver) next(t *testing.T, n int) delivery {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		if len(r.got) >= n {
			d := r.got[n-1]
			r.mu.Unlock()
			return d
		}
		r.mu.Unlock()
		select {
		case <-r.wake:
		case <-deadline:
			t.Fatalf("the receiver got %d deliveries in 30 s, want %d", len(r.got), n)
		}
	}
}

// refreshUntil clicks Refresh until the table matching css holds want.
func (u *ui) refreshUntil(css, want string) {
	u.t.Helper()
	for range 30 {
		if strings.Contains(u.eval(fmt.Sprintf(`document.querySelector(%q)?.innerText ?? ""`, css)), want) {
			return
		}
		u.p.Do(chromedp.Click(button("Refresh")))
		time.Sleep(time.Second)
	}
	u.t.Fatalf("%s never showed %q", css, want)
}

// inDialog is the XPath of the open dialog's button with text.
func inDialog(text string) string {
	return fmt.Sprintf(`//dialog[@open]//button[normalize-space()=%q]`, text)
}

// TestWebhooksAndEvents: an endpoint added in the Webhooks tab (a 400 shown next to its field
// first), its whsec_ secret shown once and then nowhere in the page or its storage; a test event
// reaches the receiver signed with that secret and shows in the deliveries, and Redeliver sends it
// again; disable and enable; rotate (the new secret shown once, the old one still signing); delete
// after a confirmation. The Events tab lists the project's checkout.created event, shows its JSON
// and filters by type. axe on each new page and dialog; the keyboard reaches every new control.
func TestWebhooksAndEvents(t *testing.T) {
	u := open(t)
	u.signIn(randomName("hooks"))
	u.p.Do(chromedp.SendKeys(field("Project name"), "Hook shop"), chromedp.Click(button("Create project")),
		chromedp.WaitVisible(`//h2[normalize-space()="No API keys yet"]`))
	project := strings.Split(u.eval(`location.hash`), "/")[2] // #/p/<project>/keys
	recv := newReceiver(t)

	u.p.Do(chromedp.Click(`//a[normalize-space()="Webhooks"]`), chromedp.WaitVisible(`//h2[normalize-space()="No webhook endpoints yet"]`))
	u.axe("webhooks, empty")
	u.p.Screenshot("webhooks-empty")

	// Add endpoint, by keyboard: the dialog takes the focus; a URL the API refuses is answered next
	// to its field.
	u.tabTo("button:Add endpoint")
	u.press(kb.Enter)
	u.p.Do(chromedp.WaitVisible(`dialog[open]`))
	if f := u.focused(); f != "input:URL" {
		t.Errorf("Add endpoint opened with the focus on %q, want its URL field", f)
	}
	u.axe("add endpoint dialog")
	u.p.Do(chromedp.SendKeys(field("URL"), "http://shop.example/hooks"))
	u.tabTo("input:All events, including types added later")
	u.press(" ") // unchecked: the types appear
	for _, typ := range []string{"checkout.created", "checkout.completed", "checkout.payment_failed", "checkout.expired"} {
		u.tabTo("input:" + typ)
	}
	u.press(" ") // checkout.expired
	u.tabTo("input:Description")
	u.p.Do(chromedp.SendKeys(field("Description"), "Order fulfilment"))
	u.p.Do(chromedp.Click(inDialog("Add endpoint")))
	u.wait(`document.querySelector("dialog[open] .field.invalid .error") !== null`)
	if e := u.fieldError("URL"); !strings.HasPrefix(e, "URL ") {
		t.Errorf("the 400 for url is not shown next to its field: %q", e)
	}
	u.axe("add endpoint dialog, error")
	u.p.Screenshot("webhook-400")
	u.clearAndType("URL", recv.URL+"/hooks")
	u.p.Do(chromedp.Click(`//input[@id="events-checkout.created"]`), chromedp.Click(inDialog("Add endpoint")))

	// The secret, shown once.
	u.p.Do(chromedp.WaitVisible(`#new-secret`))
	secret := browser.Run(u.p, chromedp.Value(`#new-secret`))
	secrets.add(secret)
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatalf("the dialog shows %q..., not a signing secret: %v", secret[:min(len(secret), 8)], err)
	}
	if f := u.focused(); f != "button:Copy" {
		t.Errorf("the secret dialog has the focus on %q, want Copy", f)
	}
	if w := u.eval(`document.querySelector("dialog[open] .warning").textContent`); !strings.Contains(w, "only time") {
		t.Errorf("warning %q", w)
	}
	u.axe("signing secret dialog")
	u.p.Do(chromedp.Click(button("Done")), chromedp.WaitVisible(button("Close without copying")))
	u.axe("close without copying the secret?")
	u.p.Do(chromedp.Click(button("Back to the signing secret")), chromedp.WaitVisible(`#new-secret`))
	u.p.Do(chromedp.Click(button("Copy")))
	u.wait(`document.querySelector("dialog[open] [role=status]").textContent === "Copied"`)
	if clip := u.eval(`navigator.clipboard.readText()`); clip != secret {
		t.Fatalf("the clipboard holds %d characters, not the secret", len(clip))
	}
	u.p.Do(chromedp.Click(button("Done")))
	u.wait(`document.querySelector("dialog[open]") === null`)
	if f := u.focused(); f != "button:Add endpoint" {
		t.Errorf("after the dialog the focus is on %q, want Add endpoint", f)
	}
	row := u.eval(`document.querySelector("table.list tbody tr").innerText`)
	for _, want := range []string{recv.URL + "/hooks", "Order fulfilment", "checkout.created, checkout.expired", "Enabled"} {
		if !strings.Contains(row, want) {
			t.Errorf("endpoint row %q lacks %q", row, want)
		}
	}
	u.noKeyAnywhere(secret)
	u.axe("webhooks list and endpoint")
	u.p.Screenshot("webhooks-endpoint")

	// Send test event, by keyboard; the receiver gets a ping signed with the secret, and the
	// delivery shows.
	u.tabTo("button:" + recv.URL + "/hooks")
	u.tabTo("button:Send test event")
	u.press(kb.Enter)
	ping := recv.next(t, 1)
	if err := webhook.Verify(key, ping.id, ping.timestamp, ping.signature, ping.body, time.Now()); err != nil {
		t.Errorf("the test event does not verify with the secret shown: %v", err)
	}
	if !strings.Contains(string(ping.body), `"type":"ping"`) {
		t.Errorf("test event body %s", ping.body)
	}
	u.refreshUntil("table.deliveries", ping.id)
	delivered := u.eval(`document.querySelector("table.deliveries tbody tr").innerText`)
	for _, want := range []string{ping.id, "ping", "200", "succeeded", "ms", "None"} {
		if !strings.Contains(delivered, want) {
			t.Errorf("delivery row %q lacks %q", delivered, want)
		}
	}
	u.axe("deliveries")
	for _, c := range []string{"button:Rotate secret", "button:Disable", "button:Delete endpoint", "button:Refresh", "button:Redeliver " + ping.id} {
		u.tabTo(c)
	}
	u.press(kb.Enter) // Redeliver: the same event again
	if again := recv.next(t, 2); again.id != ping.id || string(again.body) != string(ping.body) {
		t.Errorf("redelivered %s %s, want %s with the same bytes", again.id, again.body, ping.id)
	}

	// Disable, then enable.
	u.p.Do(chromedp.Click(button("Disable")))
	u.wait(`document.body.innerText.includes("Disabled: disabled in the dashboard")`)
	if d := u.eval(`String(document.evaluate('//button[normalize-space()="Send test event"]', document, null, 9, null).singleNodeValue.disabled)`); d != "true" {
		t.Errorf("Send test event is enabled on a disabled endpoint")
	}
	u.p.Do(chromedp.Click(button("Enable")))
	u.wait(`document.querySelector("table.list tbody tr").innerText.includes("Enabled")`)

	// Rotate: a confirmation that says the old secret keeps signing for 24 hours, then the new one
	// shown once.
	u.p.Do(chromedp.Click(button("Rotate secret")), chromedp.WaitVisible(inDialog("Rotate secret")))
	if txt := u.eval(`document.querySelector("dialog[open]").innerText`); !strings.Contains(txt, "24 hours") {
		t.Errorf("the rotate dialog %q does not say the old secret signs for 24 hours", txt)
	}
	u.axe("rotate dialog")
	u.p.Do(chromedp.Click(inDialog("Rotate secret")), chromedp.WaitVisible(`#new-secret`))
	rotated := browser.Run(u.p, chromedp.Value(`#new-secret`))
	secrets.add(rotated)
	if _, err := webhook.ParseSecret(rotated); err != nil || rotated == secret {
		t.Fatalf("the rotated secret is not a new signing secret (%v)", err)
	}
	u.axe("new signing secret dialog")
	u.p.Do(chromedp.Click(button("Copy")))
	u.wait(`document.querySelector("dialog[open] [role=status]").textContent === "Copied"`)
	u.p.Do(chromedp.Click(button("Done")))
	u.wait(`document.querySelector("dialog[open]") === null`)
	u.wait(`document.body.innerText.includes("also signs until")`)
	u.noKeyAnywhere(secret)
	u.noKeyAnywhere(rotated)

	// Delete, after a confirmation that names the endpoint.
	u.p.Do(chromedp.Click(button("Delete endpoint")), chromedp.WaitVisible(inDialog("Delete endpoint")))
	if f := u.focused(); f != "button:Cancel" {
		t.Errorf("the delete dialog opened with the focus on %q, want Cancel", f)
	}
	if txt := u.eval(`document.querySelector("dialog[open]").innerText`); !strings.Contains(txt, recv.URL+"/hooks") {
		t.Errorf("the confirmation %q does not name the endpoint", txt)
	}
	u.axe("delete endpoint dialog")
	u.p.Do(chromedp.Click(inDialog("Delete endpoint")))
	u.p.Do(chromedp.WaitVisible(`//h2[normalize-space()="No webhook endpoints yet"]`))
	u.wait(`document.getElementById("announcer").textContent.startsWith("Endpoint ")`)

	// The Events tab: a checkout from a buy button made its checkout.created event.
	tok := u.eval(`JSON.parse(sessionStorage.getItem("codex.session")).idToken`)
	b := client.Call(t, "", "POST", "/projects/"+project+"/buttons", e2etest.Bearer(tok),
		`{"name":"Mug","unit_amount":1200,"currency":"eur","success_url":"https://shop.example/ok","cancel_url":"https://shop.example/mug"}`)
	e2etest.Want(t, b, http.StatusCreated)
	btn := e2etest.Decode[struct{ ID string }](t, b).ID
	r, err := client.Send(context.Background(), e2etest.Request{API: "PublicApi", Method: "POST",
		Path: "/public/projects/" + project + "/buttons/" + btn + "/checkouts", Body: strings.NewReader(`{"quantity":1}`)})
	if err != nil || r.Status != http.StatusCreated {
		t.Fatalf("a checkout from the button: %v %v", r, err)
	}
	checkout := e2etest.Decode[struct{ ID string }](t, r).ID

	u.p.Do(chromedp.Click(`//a[normalize-space()="Events"]`), chromedp.WaitVisible(`//h1[normalize-space()="Events"]`))
	u.refreshUntil("table.list", checkout)
	ev := u.eval(`document.querySelector("table.list tbody tr").innerText`)
	if !strings.Contains(ev, "checkout.created") || !strings.Contains(ev, checkout) {
		t.Fatalf("events row %q, want the checkout.created of %s", ev, checkout)
	}
	u.axe("events")
	u.p.Screenshot("events")
	u.tabTo("select:Type")
	u.tabTo("button:Refresh")
	id := u.eval(`document.querySelector("table.list tbody button").textContent`)
	u.tabTo("button:" + id)
	u.press(kb.Enter)
	u.p.Do(chromedp.WaitVisible(`dialog[open] pre.json`))
	body := u.eval(`document.querySelector("dialog[open] pre.json").textContent`)
	if !strings.Contains(body, `"type": "checkout.created"`) || !strings.Contains(body, `"id": "`+checkout+`"`) {
		t.Errorf("event body %s", body)
	}
	u.axe("event dialog")
	u.press(kb.Escape)
	u.wait(`document.querySelector("dialog[open]") === null`)
	if f := u.focused(); f != "button:"+id {
		t.Errorf("after the event dialog the focus is on %q, want its row's button", f)
	}
	u.p.Do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("event-type-filter"); s.value = "checkout.expired";
		s.dispatchEvent(new Event("change", {bubbles: true})); })()`))
	u.wait(`document.body.innerText.includes("No checkout.expired events in the last 30 days.")`)
	u.axe("events, filtered")
}
