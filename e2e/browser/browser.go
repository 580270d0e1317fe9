// Package browser drives a real headless Chromium (Debian's `chromium`, /usr/bin/chromium) for the
// end-to-end suites that test pages: it starts one browser per test package, opens a tab per test
// that records the page's console messages and uncaught errors, saves screenshots under the
// gitignored .dev/artefacts/<test>/, and runs axe-core (web/node_modules, installed by
// `cd web && npm ci`) over a page. It is imported only by tests.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's `chromium` package installs the browser; the tests use no other.
const ChromiumPath = "/usr/bin/chromium"

// ActionTimeout bounds one call of Page.Do or Page.Run.
const ActionTimeout = 30 * time.Second

// Flags are the command-line flags the browser runs with, besides a fresh --user-data-dir:
// headless without a sandbox (CI runs as root) or GPU, and none of the background traffic
// (component updates, sync, first-run pages) a test does not ask for.
var Flags = []string{
	"headless", "no-sandbox", "disable-gpu", "disable-background-networking",
	"disable-component-update", "disable-sync", "no-first-run",
}

// Browser is one running Chromium. Start it once per test package (TestMain) and Close it at the
// end; its tabs (Page) are safe to use from parallel tests, one tab per test.
type Browser struct {
	ctx     context.Context
	cancel  context.CancelFunc
	dataDir string
}

// Start launches Chromium with a fresh profile. Its error says which Debian package to install
// when the browser is absent.
func Start() (*Browser, error) { return start(ChromiumPath) }

func start(path string) (*Browser, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("browser tests need Chromium at %s: install Debian's package `chromium` "+
			"(apt-get install -y chromium): %w", path, err)
	}
	dir, err := os.MkdirTemp("", "codex-chromium-")
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1024, 768),
		// Shared memory in the temporary directory: /dev/shm is small in containers.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
	}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &Browser{ctx: ctx, cancel: func() { cancel(); acancel() }, dataDir: dir}
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to ctx
		b.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	return b, nil
}

// Close stops the browser and removes its profile.
func (b *Browser) Close() {
	tctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	_ = chromedp.Cancel(tctx)
	b.cancel()
	_ = os.RemoveAll(b.dataDir)
}

// PageOption configures a new tab.
type PageOption func(*pageConfig)

type pageConfig struct{ noJS bool }

// NoJavaScript opens the tab with the page's scripts off, as for a buyer who turned JavaScript off.
// Page.Axe still runs axe in it.
func NoJavaScript() PageOption { return func(c *pageConfig) { c.noJS = true } }

// Page is one tab of the browser for one test. The tab closes when the test ends.
type Page struct {
	t      testing.TB
	Ctx    context.Context // a chromedp context of the tab, for actions Do and Run do not cover
	dir    string
	noJS   bool
	mu     sync.Mutex
	msgs   []chromedp.ConsoleMessage
	shotNo int
}

var artefactDirs sync.Map // test name → struct{}: each test's directory is emptied once per run

// NewPage opens a tab for t that records the console from the start.
func (b *Browser) NewPage(t testing.TB, opts ...PageOption) *Page {
	t.Helper()
	var cfg pageConfig
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := chromedp.NewContext(b.ctx)
	p := &Page{t: t, Ctx: ctx, noJS: cfg.noJS, dir: artefactPath(t)}
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open a tab: %v", err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	msgs := chromedp.Console(cctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.msgs = append(p.msgs, m)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			p.Screenshot("failed")
			for _, m := range p.Console() {
				t.Logf("console: %s", m)
			}
		}
		ccancel()
		<-done
		tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
		defer tcancel()
		_ = chromedp.Cancel(tctx)
		cancel()
	})
	if cfg.noJS {
		p.Do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled,
				emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}))
	}
	return p
}

// Do runs the actions in the tab within ActionTimeout, and fails the test on an error.
func (p *Page) Do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, ActionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
}

// Run runs one action that returns a value, as Do does.
func Run[T any](p *Page, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, ActionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.t.Fatalf("browser: %v", err)
	}
	return v
}

// Console returns the messages the tab's pages wrote so far: console API calls, uncaught
// exceptions and unhandled rejections, and the browser's own log (CSP violations, failed loads).
func (p *Page) Console() []chromedp.ConsoleMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.msgs)
}

// Errors returns the console messages at level error and the uncaught exceptions.
func (p *Page) Errors() []chromedp.ConsoleMessage {
	var out []chromedp.ConsoleMessage
	for _, m := range p.Console() {
		if m.IsException() || m.Type == chromedp.ConsoleError {
			out = append(out, m)
		}
	}
	return out
}

// Screenshot saves the viewport as <artefacts>/<NN>-<name>.png and returns its path.
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	return p.screenshot(name, chromedp.FullScreenshot(100))
}

// ScreenshotOf saves the first element matching the CSS selector alone, as Screenshot does.
func (p *Page) ScreenshotOf(name, selector string) string {
	p.t.Helper()
	return p.screenshot(name, chromedp.Screenshot(chromedp.CSS(selector)))
}

func (p *Page) screenshot(name string, shot chromedp.Action[[]byte]) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, ActionTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	p.mu.Lock()
	p.shotNo++
	file := filepath.Join(p.dir, fmt.Sprintf("%02d-%s.png", p.shotNo, safeName(name)))
	p.mu.Unlock()
	if err := writeArtefact(file, png); err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	return file
}

// ArtefactDir returns t's directory for screenshots and reports, .dev/artefacts/<test name> at the
// repository's root (gitignored), emptied the first time a run asks for it.
func ArtefactDir(t testing.TB) string {
	t.Helper()
	dir := artefactPath(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// artefactPath is ArtefactDir without creating the directory: a page makes it when it first
// saves something, so a test that saves nothing leaves nothing behind.
func artefactPath(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".dev", "artefacts", safeName(t.Name()))
	if _, seen := artefactDirs.LoadOrStore(dir, struct{}{}); !seen {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeArtefact(file string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return strings.Trim(unsafeChars.ReplaceAllString(s, "_"), "_") }

// repoRoot is the directory of go.mod above the working directory (a test's package directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("browser: no go.mod above the working directory")
		}
		dir = parent
	}
}
