// Package buyer is the buyer's journey in a real browser (Debian's headless chromium, driven by
// e2e/browser) over the whole local stack (devstack, as `make dev` runs it): a merchant's page on
// its own loopback origin, with a strict Content-Security-Policy, holds the buy-button snippet; the
// script renders the button, a click creates the checkout and opens the hosted page on the public
// API's origin, the buyer pays with a test card and lands on the merchant's success_url; the
// merchant's key then reads the checkout complete and paid. Around it: the decline cards, an expired
// checkout, the API unreachable, JavaScript off (the snippet's link and the button's page), a
// keyboard alone, and axe-core on every page. Screenshots of each state are saved under
// .dev/artefacts/<test>/ (gitignored).
//
// One stack, one browser and one merchant server serve the whole package.
package buyer

import (
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"codex/e2e/browser"
	"codex/e2e/e2etest"
	"codex/infra/devstack"
)

var (
	// client reaches the stack; it follows no redirect (the fallback form's 303 is under test).
	client = &e2etest.Client{HTTP: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	chrome *browser.Browser
	shop   *merchantSite
)

func TestMain(m *testing.M) {
	e2etest.Suite{
		Name:   "buyer",
		Client: client,
		Started: func(s *devstack.Stack) error {
			var err error
			if chrome, err = browser.Start(); err != nil {
				return err
			}
			shop = newMerchantSite(s.APIs["PublicApi"])
			return nil
		},
		Finish: func(code int) int {
			if chrome != nil {
				chrome.Close()
			}
			if shop != nil {
				shop.srv.Close()
			}
			return code
		},
	}.Main(m)
}

// merchantSite is the merchant's own web site, on its own loopback origin: the product pages that
// hold the snippet (registered by the tests), the success page and the cancel page.
type merchantSite struct {
	srv *httptest.Server
	api string // the PublicApi's origin: the script's and the API's

	mu    sync.Mutex
	pages map[string]string
	n     int
}

// csp is the merchant page's policy: scripts only from the API's origin (the snippet's script),
// requests only to it, nothing inline, nothing else loaded.
func (s *merchantSite) csp() string {
	return "default-src 'none'; script-src " + s.api + "; connect-src " + s.api +
		"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

func newMerchantSite(api string) *merchantSite {
	s := &merchantSite{api: strings.TrimRight(api, "/"), pages: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func (s *merchantSite) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", s.csp())
	w.Header().Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/favicon.ico":
		w.WriteHeader(http.StatusNoContent)
	case "/thanks", "/cart":
		title := map[string]string{"/thanks": "Thank you", "/cart": "Your cart"}[r.URL.Path]
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = siteTemplate.Execute(w, map[string]any{"Title": title, "Session": r.URL.Query().Get("session")})
	default:
		s.mu.Lock()
		page, ok := s.pages[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}
}

var siteTemplate = template.Must(template.New("site").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} – Poster shop</title></head>
<body><main><h1>{{.Title}}</h1>{{if .Session}}<p>Order reference: <output id="session">{{.Session}}</output></p>{{end}}</main></body></html>
`))

// snippet is what the dashboard gives the merchant to paste (docs/buy-button.md).
func (s *merchantSite) snippet(project, button, name string) string {
	return fmt.Sprintf(`<a data-codex-button="%s" data-codex-project="%s" href="%s/b/%s/%s">Buy %s</a>`,
		button, project, s.api, project, button, template.HTMLEscapeString(name))
}

// page publishes a product page holding the script and the given buttons' snippets and returns its URL.
func (s *merchantSite) page(buttons ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	path := fmt.Sprintf("/product/%d", s.n)
	s.pages[path] = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Posters – Poster shop</title></head>
<body><main><h1>Posters</h1>
<p>Printed on heavy matte paper, shipped in a tube.</p>
<script async src="` + s.api + `/button.js"></script>
` + strings.Join(buttons, "\n<br>\n") + `
</main></body></html>
`
	return s.srv.URL + path
}
