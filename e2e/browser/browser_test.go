package browser_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"codex/e2e/browser"
)

var b *browser.Browser

func TestMain(m *testing.M) {
	var err error
	if b, err = browser.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	b.Close()
	os.Exit(code)
}

// A page with a strict CSP: its inline script is refused, and the refusal reaches Console;
// its own script's console.log and uncaught error do too.
func TestConsoleAndErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/app.js" {
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, `console.log("hello from app"); document.title = "ran"; throw new Error("boom");`)
			return
		}
		w.Header().Set("Content-Security-Policy", "script-src 'self'")
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>t</title><main><h1>Hi</h1>`+
			`<script>document.title = "inline ran"</script><script src="/app.js"></script></main>`)
	}))
	defer srv.Close()
	p := b.NewPage(t)
	p.Do(chromedp.Navigate(srv.URL))
	p.Do(chromedp.Poll[chromedp.Void](`document.title === "ran"`))
	var log, boom, csp bool
	for _, m := range p.Console() {
		log = log || m.Type == chromedp.ConsoleLog && m.Text == "hello from app"
		boom = boom || m.IsException() && strings.Contains(m.Text, "boom")
		csp = csp || strings.Contains(m.Text, "Content Security Policy")
	}
	if !log || !boom || !csp {
		t.Errorf("console log %v, exception %v, CSP report %v; got %v", log, boom, csp, p.Console())
	}
	if len(p.Errors()) < 2 {
		t.Errorf("Errors() = %v, want the exception and the CSP refusal", p.Errors())
	}
	if shot := p.Screenshot("page"); shot == "" {
		t.Error("no screenshot")
	} else if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
		t.Errorf("screenshot %s: %v", shot, err)
	}
}

// axe finds an image without alt text and a field without a label, also with JavaScript off.
func TestAxe(t *testing.T) {
	for _, noJS := range []bool{false, true} {
		t.Run(fmt.Sprint("noJS=", noJS), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Security-Policy", "default-src 'none'")
				fmt.Fprint(w, `<!doctype html><html lang="en"><title>t</title><main><h1>Form</h1>`+
					`<img src="data:," width="1" height="1"><input type="text"></main>`)
			}))
			defer srv.Close()
			var opts []browser.PageOption
			if noJS {
				opts = append(opts, browser.NoJavaScript())
			}
			p := b.NewPage(t, opts...)
			p.Do(chromedp.Navigate(srv.URL))
			ids := map[string]bool{}
			for _, v := range p.Axe() {
				ids[v.ID] = v.Serious()
			}
			if !ids["image-alt"] || !ids["label"] {
				t.Errorf("axe found %v, want image-alt and label as serious or critical", ids)
			}
		})
	}
}

// NoJavaScript keeps the page's scripts from running, before and after Axe.
func TestNoJavaScript(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>static</title><main><h1>x</h1></main>`+
			`<script>document.title = "script ran"</script>`)
	}))
	defer srv.Close()
	p := b.NewPage(t, browser.NoJavaScript())
	p.Do(chromedp.Navigate(srv.URL))
	p.Axe()
	p.Do(chromedp.Reload())
	if title := browser.Run(p, chromedp.Title()); title != "static" {
		t.Errorf("title %q: the page's script ran", title)
	}
}
