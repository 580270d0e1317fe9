package dashboard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"codex/e2e/browser"
	"codex/e2e/e2etest"
	"codex/pkg/apikey"
)

var (
	keyPattern = regexp.MustCompile(apikey.Pattern)
	// keyInText finds a key anywhere in a text.
	keyInText = regexp.MustCompile(strings.Trim(apikey.Pattern, "^$"))
)

// ui is one signed-out tab of the dashboard.
type ui struct {
	t *testing.T
	p *browser.Page
}

func open(t *testing.T) *ui {
	t.Helper()
	u := &ui{t: t, p: chrome.NewPage(t)}
	origin := strings.TrimSuffix(client.Stack.Dashboard, "/")
	// The page may read the clipboard the test reads back: Copy is checked, not assumed.
	u.p.Do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted, Origin: origin,
			}); err != nil {
				return err
			}
		}
		return nil
	}), chromedp.Navigate(client.Stack.Dashboard))
	t.Cleanup(u.checkConsole)
	return u
}

// checkConsole fails on any error in the console and on any credential there. The browser logs
// each 4xx answer of a fetch as a failed load; the 400s the tests provoke on purpose are expected.
func (u *ui) checkConsole() {
	for _, m := range u.p.Console() {
		if leaks := secrets.in(m.String()); len(leaks) > 0 || keyInText.MatchString(m.Text) {
			u.t.Errorf("a credential in the browser console: %v", leaks)
		}
		if m.Source == "network" && strings.Contains(m.Text, "status of 400") {
			continue
		}
		if m.IsException() || m.Type == chromedp.ConsoleError {
			u.t.Errorf("browser console: %s", m)
		}
	}
}

func (u *ui) eval(js string) string {
	u.t.Helper()
	return browser.Run(u.p, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
}

// wait polls a JavaScript predicate.
func (u *ui) wait(js string) {
	u.t.Helper()
	u.p.Do(chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(20*time.Second)))
}

// button is the XPath of a button by its visible (and screen-reader) text.
func button(text string) string { return fmt.Sprintf(`//button[normalize-space()=%q]`, text) }

// field is the XPath of the input labelled text.
func field(label string) string {
	return fmt.Sprintf(`//*[@id=//label[normalize-space()=%q]/@for]`, label)
}

// focused returns a description of the focused element: its tag, and its text or label.
func (u *ui) focused() string {
	return u.eval(`(() => { const e = document.activeElement; if (!e) return "";
		const label = e.id && document.querySelector('label[for="' + e.id + '"]');
		return e.tagName.toLowerCase() + ":" + (label ? label.textContent : e.textContent).trim(); })()`)
}

// tabTo presses Tab until the focused element is want (as focused describes it).
func (u *ui) tabTo(want string) {
	u.t.Helper()
	var seen []string
	for range 60 {
		if f := u.focused(); f == want {
			return
		} else {
			seen = append(seen, f)
		}
		u.p.Do(chromedp.KeyEvent(kb.Tab))
	}
	u.t.Fatalf("Tab never reached %q; went through %q", want, seen)
}

func (u *ui) press(keys string) { u.t.Helper(); u.p.Do(chromedp.KeyEvent(keys)) }

// axe fails the test on a serious or critical finding on the current page or open dialog.
func (u *ui) axe(name string) {
	u.t.Helper()
	u.p.CheckAxe(name, false)
}

func randomName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

const password = "Correct-Horse-42"

// signUpWithMouse creates an account through the page (sign up, confirm, then signed in).
func (u *ui) signUpWithMouse(user string) {
	u.t.Helper()
	u.p.Do(chromedp.WaitVisible(field("Username")))
	u.axe("sign-in")
	u.p.Screenshot("sign-in")
	u.p.Do(chromedp.Click(button("Create an account")), chromedp.WaitVisible(field("Email")))
	u.axe("sign-up")
	u.p.Do(
		chromedp.SendKeys(field("Username"), user),
		chromedp.SendKeys(field("Email"), user+"@example.com"),
		chromedp.SendKeys(field("Password"), password),
		chromedp.Click(button("Create account")),
		chromedp.WaitVisible(field("Confirmation code")),
	)
	u.axe("confirm")
	u.p.Do(chromedp.SendKeys(field("Confirmation code"), "123456"), chromedp.Click(button("Confirm")))
	u.wait(`document.querySelector("header.top") !== null`)
	u.registerTokens()
}

// registerTokens adds the session's tokens to the secrets the logs are scanned for.
func (u *ui) registerTokens() {
	s := u.eval(`sessionStorage.getItem("codex.session") || ""`)
	for _, m := range regexp.MustCompile(`"(idToken|refreshToken)":"([^"]+)"`).FindAllStringSubmatch(s, -1) {
		secrets.add(m[2])
	}
}

func whoami(t *testing.T, key string) int {
	t.Helper()
	r, err := client.Send(context.Background(), e2etest.Request{Method: "GET", Path: "/v1/whoami", Header: e2etest.Bearer(key)})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status
}

// noKeyAnywhere checks that the full key is nowhere in the page: not in the DOM (markup, text or
// a control's value) nor in session or local storage.
func (u *ui) noKeyAnywhere(key string) {
	u.t.Helper()
	where := u.eval(fmt.Sprintf(`(() => { const k = %q; const found = [];
		if (document.documentElement.outerHTML.includes(k)) found.push("markup");
		if (document.body.innerText.includes(k)) found.push("text");
		for (const e of document.querySelectorAll("input, textarea")) if (e.value.includes(k)) found.push("a control's value");
		for (const s of [sessionStorage, localStorage]) for (let i = 0; i < s.length; i++)
			if (s.getItem(s.key(i)).includes(k)) found.push(s === sessionStorage ? "sessionStorage" : "localStorage");
		return found.join(", "); })()`, key))
	if where != "" {
		u.t.Fatalf("the full key is still in the page: %s", where)
	}
}

// TestAPIKeysFlow is the product page's flow with the mouse: sign up and in, create a project,
// the empty API Keys tab, Create key "Production server", copy it, close, the list, the key
// working, then deleted and refused at once; with a 400 shown next to its field.
func TestAPIKeysFlow(t *testing.T) {
	u := open(t)
	u.signUpWithMouse(randomName("mouse"))

	u.p.Do(chromedp.WaitVisible(field("Project name")))
	u.axe("first project")
	u.p.Do(chromedp.SendKeys(field("Project name"), "My shop"), chromedp.Click(button("Create project")))
	u.p.Do(chromedp.WaitVisible(`//h2[normalize-space()="No API keys yet"]`))
	empty := u.eval(`document.querySelector(".empty").innerText`)
	for _, want := range []string{"lets your own server call the Codex API", "The buy button needs no key"} {
		if !strings.Contains(empty, want) {
			t.Errorf("empty state %q does not say %q", empty, want)
		}
	}
	u.axe("keys, empty")
	u.p.Screenshot("keys-empty")

	// A name the API refuses (over 100 characters): its message is next to the field.
	u.p.Do(chromedp.Click(button("Create key")), chromedp.WaitVisible(field("Name")))
	if f := u.focused(); f != "input:Name" {
		t.Errorf("the dialog opened with the focus on %q, want its name field", f)
	}
	hint := u.eval(`document.querySelector("dialog[open] .hint").textContent`)
	if !strings.Contains(hint, "usually where it runs, like 'Production server'") && !strings.Contains(hint, "Usually where it runs, like 'Production server'") {
		t.Errorf("name hint %q", hint)
	}
	u.axe("create key dialog")
	u.p.Do(chromedp.SendKeys(field("Name"), strings.Repeat("x", 101)), chromedp.Click(button("Generate key")))
	u.wait(`document.querySelector("dialog[open] .field.invalid .error") !== null`)
	errText := u.eval(`(() => { const i = document.querySelector("dialog[open] input[aria-invalid=true]");
		const ids = (i.getAttribute("aria-describedby") || "").split(" ");
		const e = document.querySelector("dialog[open] .field.invalid .error");
		return (ids.includes(e.id) ? "described:" : "not described:") + e.textContent; })()`)
	if !strings.HasPrefix(errText, "described:") || !strings.Contains(strings.ToLower(errText), "name") {
		t.Errorf("the 400's message next to the name field: %q", errText)
	}
	u.axe("create key dialog, error")
	u.p.Screenshot("create-key-400")
	u.p.Do(chromedp.Focus(field("Name")), chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.KeyEvent(kb.Backspace),
		chromedp.SendKeys(field("Name"), "Production server"), chromedp.Click(button("Generate key")))

	// Shown once: the full key, the warning, Copy.
	u.p.Do(chromedp.WaitVisible(`#new-key`))
	key := browser.Run(u.p, chromedp.Value(`#new-key`))
	secrets.add(key)
	if !keyPattern.MatchString(key) {
		t.Fatalf("the dialog shows %q, not a key", key)
	}
	warning := u.eval(`document.querySelector("dialog[open] .warning").textContent`)
	for _, want := range []string{"only time", "only a hash"} {
		if !strings.Contains(warning, want) {
			t.Errorf("warning %q does not say %q", warning, want)
		}
	}
	u.axe("shown-once dialog")
	// The README's picture: the key blurred, so no key string is ever committed in clear.
	u.p.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById("new-key").style.filter = "blur(6px)"`))
	u.p.Screenshot("shown-once")
	u.p.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById("new-key").style.filter = ""`))

	// Closing before copying asks first.
	u.p.Do(chromedp.Click(button("Done")), chromedp.WaitVisible(button("Close without copying")))
	u.axe("close without copying?")
	u.p.Screenshot("confirm-close")
	u.p.Do(chromedp.Click(button("Back to the key")), chromedp.WaitVisible(`#new-key`))

	u.p.Do(chromedp.Click(button("Copy")))
	u.wait(`document.querySelector("dialog[open] [role=status]").textContent === "Copied"`)
	if live := u.eval(`document.querySelector("dialog[open] [role=status]").getAttribute("aria-live")`); live != "polite" {
		t.Errorf("Copied is not in a live region: aria-live=%q", live)
	}
	if clip := u.eval(`navigator.clipboard.readText()`); clip != key {
		t.Fatalf("the clipboard holds %d characters, not the key", len(clip))
	}
	u.p.Do(chromedp.Click(button("Done")))
	u.wait(`document.querySelector("dialog[open]") === null`)
	if f := u.focused(); f != "button:Create key" {
		t.Errorf("after the dialog the focus is on %q, want Create key", f)
	}

	// The list: name, masked prefix, date with the exact time on hover; never the key.
	u.p.Do(chromedp.WaitVisible(`//td[normalize-space()="Production server"]`))
	row := u.eval(`(() => { const r = document.querySelector("table.list tbody tr"); const t = r.querySelector("time");
		return [r.cells[1].textContent, t.getAttribute("datetime"), t.getAttribute("title"), t.textContent].join("|"); })()`)
	parts := strings.Split(row, "|")
	if len(parts) != 4 || parts[0] != key[:8]+"••••" || parts[1] == "" || parts[2] == "" || parts[3] == "" {
		t.Errorf("row %q: want the masked prefix %s••••, a datetime, an exact title and a date", row, key[:8])
	}
	u.noKeyAnywhere(key)
	u.axe("keys list")
	u.p.Screenshot("keys-list")

	// The key works; the trash revokes it, and it is refused at once.
	if s := whoami(t, key); s != http.StatusOK {
		t.Fatalf("GET /v1/whoami with the copied key: %d, want 200", s)
	}
	u.p.Do(chromedp.Click(button("Delete key Production server")), chromedp.WaitVisible(button("Delete key")))
	confirm := u.eval(`document.querySelector("dialog[open]").innerText`)
	if !strings.Contains(confirm, "Production server") || !strings.Contains(confirm, "rejected at once") {
		t.Errorf("the confirmation %q does not name the key and say it is rejected at once", confirm)
	}
	u.axe("delete key dialog")
	u.p.Screenshot("delete-key")
	u.p.Do(chromedp.Click(button("Delete key")))
	u.wait(`!document.body.innerText.includes("Production server")`)
	u.wait(`document.getElementById("announcer").textContent === "Key Production server deleted"`)
	if s := whoami(t, key); s != http.StatusForbidden {
		t.Fatalf("GET /v1/whoami after the delete: %d, want 403", s)
	}
	u.noKeyAnywhere(key)
}

// TestAPIKeysFlowKeyboard is the same flow without a mouse: Tab, Enter, Escape and typing only.
// Focus moves into each dialog and back to what opened it. It ends with signing out (the refresh
// token is revoked) and in again, and logs the keys tab's first render after sign-in.
func TestAPIKeysFlowKeyboard(t *testing.T) {
	u := open(t)
	user := randomName("keys")
	u.p.Do(chromedp.WaitVisible(field("Username")))
	u.tabTo("button:Create an account")
	u.press(kb.Enter)
	u.tabTo("input:Username")
	u.press(user)
	u.tabTo("input:Email")
	u.press(user + "@example.com")
	u.tabTo("input:Password")
	u.press(password + kb.Enter)
	u.p.Do(chromedp.WaitVisible(field("Confirmation code")))
	u.tabTo("input:Confirmation code")
	u.press("123456" + kb.Enter)
	u.p.Do(chromedp.WaitVisible(field("Project name")))
	u.registerTokens()
	u.tabTo("input:Project name")
	u.press("Keyboard shop" + kb.Enter)
	u.p.Do(chromedp.WaitVisible(`//h2[normalize-space()="No API keys yet"]`))

	// Create key: the focus goes to the name, then to Copy; Escape closes once copied.
	u.tabTo("button:Create key")
	u.press(kb.Enter)
	u.p.Do(chromedp.WaitVisible(field("Name")))
	if f := u.focused(); f != "input:Name" {
		t.Fatalf("Create key opened with the focus on %q", f)
	}
	u.press("Production server" + kb.Enter)
	u.p.Do(chromedp.WaitVisible(`#new-key`))
	key := browser.Run(u.p, chromedp.Value(`#new-key`))
	secrets.add(key)
	if f := u.focused(); f != "button:Copy" {
		t.Errorf("the shown-once view has the focus on %q, want Copy", f)
	}
	u.tabTo("button:Copy")
	u.press(kb.Enter)
	u.wait(`document.querySelector("dialog[open] [role=status]").textContent === "Copied"`)
	if clip := u.eval(`navigator.clipboard.readText()`); clip != key {
		t.Fatalf("the clipboard holds %d characters, not the key", len(clip))
	}
	u.press(kb.Escape)
	u.wait(`document.querySelector("dialog[open]") === null`)
	if f := u.focused(); f != "button:Create key" {
		t.Errorf("after Escape the focus is on %q, want Create key", f)
	}

	// A second key closed without copying: Escape asks first, and the focus is in the question.
	u.press(kb.Enter)
	u.p.Do(chromedp.WaitVisible(field("Name")))
	u.press("Staging" + kb.Enter)
	u.p.Do(chromedp.WaitVisible(`#new-key`))
	secrets.add(browser.Run(u.p, chromedp.Value(`#new-key`)))
	u.press(kb.Escape)
	u.p.Do(chromedp.WaitVisible(button("Close without copying")))
	if f := u.focused(); f != "button:Back to the key" {
		t.Errorf("the question has the focus on %q, want Back to the key", f)
	}
	u.tabTo("button:Close without copying")
	u.press(kb.Enter)
	u.wait(`document.querySelector("dialog[open]") === null`)
	if f := u.focused(); f != "button:Create key" {
		t.Errorf("after closing the focus is on %q, want Create key", f)
	}
	u.noKeyAnywhere(key)

	// The trash, by keyboard: the confirmation takes the focus (on Cancel), Delete key revokes.
	if s := whoami(t, key); s != http.StatusOK {
		t.Fatalf("whoami with the copied key: %d", s)
	}
	u.tabTo("button:Delete key Production server")
	u.press(kb.Enter)
	u.p.Do(chromedp.WaitVisible(button("Delete key")))
	if f := u.focused(); f != "button:Cancel" {
		t.Errorf("the delete confirmation has the focus on %q, want Cancel", f)
	}
	u.tabTo("button:Delete key")
	u.press(kb.Enter)
	u.wait(`document.getElementById("announcer").textContent === "Key Production server deleted"`)
	if s := whoami(t, key); s != http.StatusForbidden {
		t.Fatalf("whoami after the delete: %d, want 403", s)
	}
	if f := u.focused(); f != "button:Create key" {
		t.Errorf("after the delete the focus is on %q, want Create key", f)
	}

	// An expired ID token is refreshed with the refresh token, without signing in again.
	u.p.Do(chromedp.Evaluate[chromedp.Void](`(() => { const s = JSON.parse(sessionStorage.getItem("codex.session"));
		s.expiresAt = 1; sessionStorage.setItem("codex.session", JSON.stringify(s)); })()`), chromedp.Reload())
	u.p.Do(chromedp.WaitVisible(`//td[normalize-space()="Staging"]`))
	if exp := u.eval(`String(JSON.parse(sessionStorage.getItem("codex.session")).expiresAt > Date.now())`); exp != "true" {
		t.Errorf("the session was not refreshed")
	}
	u.registerTokens()
	refresh := u.eval(`JSON.parse(sessionStorage.getItem("codex.session")).refreshToken`)

	// Sign out revokes the refresh token; sign in again and time the keys tab.
	u.tabTo("button:Sign out")
	u.press(kb.Enter)
	u.p.Do(chromedp.WaitVisible(field("Password")))
	if s := u.eval(`sessionStorage.getItem("codex.session") || ""`); s != "" {
		t.Errorf("the session is still stored after sign-out")
	}
	if code, body := cognitoCall(t, "InitiateAuth", fmt.Sprintf(`{"AuthFlow":"REFRESH_TOKEN_AUTH","ClientId":%q,"AuthParameters":{"REFRESH_TOKEN":%q}}`,
		client.Stack.UserPoolClientID, refresh)); code != http.StatusBadRequest || !strings.Contains(body, "NotAuthorizedException") {
		t.Errorf("the refresh token after sign-out: %d %s, want it revoked", code, body)
	}
	// Three sign-ins, each timed from the tokens to the keys list on screen (web/src/keys.tsx).
	var times []string
	for i := range 3 {
		if i > 0 {
			u.tabTo("button:Sign out")
			u.press(kb.Enter)
			u.p.Do(chromedp.WaitVisible(field("Password")))
		}
		u.tabTo("input:Username")
		u.press(user)
		u.tabTo("input:Password")
		u.press(password + kb.Enter)
		u.p.Do(chromedp.WaitVisible(`//td[normalize-space()="Staging"]`))
		u.registerTokens()
		ms := u.eval(`(() => { const m = performance.getEntriesByName("codex:keys-first-render")[0]; return m ? m.duration.toFixed(0) : ""; })()`)
		if ms == "" {
			t.Fatal("no measure of the keys tab's first render")
		}
		times = append(times, ms)
	}
	t.Logf("first render of the keys tab after sign-in, three sign-ins: %s ms", strings.Join(times, ", "))
}

// cognitoCall calls the stack's Cognito proxy as the page does.
func cognitoCall(t *testing.T, target, body string) (int, string) {
	t.Helper()
	h := http.Header{"X-Amz-Target": {"AWSCognitoIdentityProviderService." + target}, "Content-Type": {"application/x-amz-json-1.1"}}
	r, err := client.Send(context.Background(), e2etest.Request{Method: "POST", Path: "/cognito/", Header: h, Body: strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status, string(r.Body)
}

// signIn signs a user that the stack made (through Cognito's admin API) in through the page.
func (u *ui) signIn(user string) {
	u.t.Helper()
	pw, err := client.Stack.LocalUser(context.Background(), client.Stack.Cognito(), user)
	if err != nil {
		u.t.Fatal(err)
	}
	secrets.add(pw)
	u.p.Do(chromedp.WaitVisible(field("Username")),
		chromedp.SendKeys(field("Username"), user), chromedp.SendKeys(field("Password"), pw), chromedp.Click(button("Sign in")))
	u.wait(`document.querySelector("header.top") !== null`)
	u.registerTokens()
}

// clearAndType replaces the text of the field labelled label.
func (u *ui) clearAndType(label, text string) {
	u.t.Helper()
	u.p.Do(chromedp.Focus(field(label)), chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.KeyEvent(kb.Backspace),
		chromedp.SendKeys(field(label), text))
}

// fieldError is the error shown next to the field labelled label ("" when none), if the field
// points at it with aria-describedby.
func (u *ui) fieldError(label string) string {
	return u.eval(fmt.Sprintf(`(() => { const l = [...document.querySelectorAll("label")].find(l => l.textContent.trim() === %q);
		const i = document.getElementById(l.htmlFor); const e = i.closest(".field").querySelector(".error");
		if (!e) return ""; return (i.getAttribute("aria-describedby") || "").split(" ").includes(e.id) && i.getAttribute("aria-invalid") === "true"
			? e.textContent : "(not tied to the field) " + e.textContent; })()`, label))
}

// TestButtonsCheckoutsProjects covers the other tabs: a buy button created with its price in
// major units (and a 400 from the API shown next to its field), the snippet of contracts.md with
// Copy, archive; a checkout from that button in the Checkouts tab, its detail and the filter;
// the empty Webhooks tab; a second project and the switcher. axe on each page and dialog.
func TestButtonsCheckoutsProjects(t *testing.T) {
	u := open(t)
	u.signIn(randomName("tabs"))
	u.p.Do(chromedp.SendKeys(field("Project name"), "Poster shop"), chromedp.Click(button("Create project")),
		chromedp.WaitVisible(`//h2[normalize-space()="No API keys yet"]`))
	project := strings.Split(u.eval(`location.hash`), "/")[2] // #/p/<project>/keys

	u.p.Do(chromedp.Click(`//a[normalize-space()="Buy buttons"]`), chromedp.WaitVisible(field("Product name")))
	u.axe("buttons, empty")
	u.p.Do(chromedp.SendKeys(field("Product name"), "Poster A2"), chromedp.SendKeys(field("Price"), "25.555"),
		chromedp.SendKeys(field("Success URL"), "ftp://shop.example/thanks"), chromedp.SendKeys(field("Cancel URL"), "https://shop.example/poster"),
		chromedp.Click(button("Create button")))
	// Too many decimals for EUR: said before anything is sent.
	u.wait(`document.querySelector(".field.invalid") !== null`)
	if e := u.fieldError("Price"); !strings.Contains(e, "2 decimals") {
		t.Errorf("price error %q", e)
	}
	u.clearAndType("Price", "25.5")
	u.p.Do(chromedp.Click(button("Create button")))
	// The API refuses the URL: its message is next to Success URL.
	u.wait(`document.querySelector(".field.invalid input[type=url]") !== null`)
	if e := u.fieldError("Success URL"); !strings.HasPrefix(e, "Success URL must") {
		t.Errorf("the 400 for success_url is not shown next to its field: %q", e)
	}
	if e := u.fieldError("Price"); e != "" {
		t.Errorf("the price still shows an error: %q", e)
	}
	u.axe("buttons, error")
	u.p.Screenshot("button-400")
	u.clearAndType("Success URL", "https://shop.example/thanks")
	u.p.Do(chromedp.Click(button("Create button")), chromedp.WaitVisible(`pre.snippet`))

	// The snippet: contracts.md's two lines, Copy, a preview that links to the buy page.
	snippet := u.eval(`document.querySelector("pre.snippet").textContent`)
	pub := client.Stack.APIs["PublicApi"]
	m := regexp.MustCompile(`data-codex-button="(btn_[0-9A-Za-z]+)"`).FindStringSubmatch(snippet)
	if m == nil {
		t.Fatalf("snippet %q names no button", snippet)
	}
	btn := m[1]
	want := fmt.Sprintf("<script async src=\"%s/button.js\"></script>\n<a data-codex-button=\"%s\" data-codex-project=\"%s\" href=\"%s/b/%s/%s\">Buy Poster A2</a>",
		pub, btn, project, pub, project, btn)
	if snippet != want {
		t.Errorf("snippet\n%s\nwant\n%s", snippet, want)
	}
	if f := u.focused(); f != "button:Copy" {
		t.Errorf("the snippet dialog opened with the focus on %q", f)
	}
	u.p.Do(chromedp.Click(button("Copy")))
	u.wait(`document.querySelector("dialog[open] [role=status]").textContent === "Copied"`)
	if clip := u.eval(`navigator.clipboard.readText()`); clip != want {
		t.Errorf("clipboard %q", clip)
	}
	if href := u.eval(`document.querySelector("dialog[open] .preview a").href`); href != fmt.Sprintf("%s/b/%s/%s", pub, project, btn) {
		t.Errorf("preview link %q", href)
	}
	u.axe("snippet dialog")
	u.p.Screenshot("snippet")
	u.press(kb.Escape)
	u.wait(`document.querySelector("dialog[open]") === null`)
	u.p.Do(chromedp.WaitVisible(`//td[normalize-space()="€25.50"]`))

	// A buyer's checkout from the button, then the button archived.
	r, err := client.Send(context.Background(), e2etest.Request{API: "PublicApi", Method: "POST",
		Path: "/public/projects/" + project + "/buttons/" + btn + "/checkouts", Body: strings.NewReader(`{"quantity":2}`)})
	if err != nil || r.Status != http.StatusCreated {
		t.Fatalf("a checkout from the button: %v %v", r, err)
	}
	u.p.Do(chromedp.Click(button("Archive Poster A2")), chromedp.WaitVisible(button("Archive button")))
	u.axe("archive dialog")
	u.p.Do(chromedp.Click(button("Archive button")), chromedp.WaitVisible(`//span[normalize-space()="Archived"]`))
	u.axe("buttons list")
	u.p.Screenshot("buttons")

	u.p.Do(chromedp.Click(`//a[normalize-space()="Checkouts"]`), chromedp.WaitVisible(`//td[normalize-space()="€51.00"]`))
	if s := u.eval(`document.querySelector("table.list tbody tr .status").textContent`); s != "open" {
		t.Errorf("status %q", s)
	}
	u.axe("checkouts")
	u.p.Screenshot("checkouts")
	u.p.Do(chromedp.Click(`table.list tbody button`), chromedp.WaitVisible(`dl.detail`))
	detail := u.eval(`document.querySelector("dialog[open]").innerText`)
	if !strings.Contains(detail, "2 × Poster A2 at €25.50") || !strings.Contains(detail, "https://shop.example/thanks") {
		t.Errorf("detail %q", detail)
	}
	u.axe("checkout detail")
	u.press(kb.Escape)
	u.wait(`document.querySelector("dialog[open]") === null`)
	u.p.Do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("status-filter"); s.value = "complete";
		s.dispatchEvent(new Event("change", {bubbles: true})); })()`))
	u.wait(`document.body.innerText.includes("No complete checkouts.")`)

	u.p.Do(chromedp.Click(`//a[normalize-space()="Webhooks"]`), chromedp.WaitVisible(`//h1[normalize-space()="Webhooks"]`))
	u.axe("webhooks, empty")

	// A second project from the header, and the switcher.
	u.p.Do(chromedp.Click(button("New project")), chromedp.WaitVisible(`dialog[open]`))
	if f := u.focused(); f != "input:Project name" {
		t.Errorf("New project opened with the focus on %q", f)
	}
	u.axe("new project dialog")
	u.p.Do(chromedp.SendKeys(`dialog[open] input`, "Second shop"), chromedp.Click(`//dialog//button[normalize-space()="Create project"]`))
	u.wait(`document.querySelector("#project-switch option:checked").textContent === "Second shop"`)
	if f := u.focused(); f != "button:New project" {
		t.Errorf("after New project the focus is on %q", f)
	}
	u.p.Do(chromedp.WaitVisible(`//h2[normalize-space()="No API keys yet"]`))
	u.p.Do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("project-switch"); s.value = "` + project + `";
		s.dispatchEvent(new Event("change", {bubbles: true})); })()`))
	u.wait(`location.hash === "#/p/` + project + `/keys"`)
}

// TestStaticFiles: the page and its script as the stack serves them hold no credential of this
// run, and carry the headers of the deployed site.
func TestStaticFiles(t *testing.T) {
	page := client.Call(t, "", "GET", "/", nil, "")
	e2etest.Want(t, page, http.StatusOK)
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"} {
		if page.Header.Get(h) == "" {
			t.Errorf("the page has no %s", h)
		}
	}
	script := regexp.MustCompile(`src="(/assets/[^"]+\.js)"`).FindSubmatch(page.Body)
	if script == nil {
		t.Fatalf("no script in %s", page.Body)
	}
	js := client.Call(t, "", "GET", string(script[1]), nil, "")
	e2etest.Want(t, js, http.StatusOK)
	// As the gateway does, the page and the Cognito proxy refuse a Host that is not the stack's
	// (a stranger's DNS name resolving to 127.0.0.1).
	for _, path := range []string{"/", "/config.json", "/cognito/"} {
		req, _ := http.NewRequest("GET", client.Stack.APIs["HttpApi"]+path, nil)
		req.Host = "rebind.example"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("GET %s with Host rebind.example: %d, want 421", path, resp.StatusCode)
		}
	}
	for _, f := range [][]byte{page.Body, js.Body} {
		if leaks := secrets.in(string(f)); len(leaks) > 0 || keyInText.Match(f) {
			t.Errorf("a credential in a static file: %v", leaks)
		}
	}
}
