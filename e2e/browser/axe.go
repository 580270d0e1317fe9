package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// AxePath is axe-core's browser build, relative to the repository's root, as `npm ci` in web/
// installs it from web/package-lock.json.
const AxePath = "web/node_modules/axe-core/axe.min.js"

// Violation is one rule of axe that the page breaks, with the elements that break it.
type Violation struct {
	ID          string `json:"id"`
	Impact      string `json:"impact"` // minor, moderate, serious or critical
	Description string `json:"description"`
	Help        string `json:"help"`
	HelpURL     string `json:"helpUrl"`
	Nodes       []struct {
		Target         []any  `json:"target"`
		HTML           string `json:"html"`
		FailureSummary string `json:"failureSummary"`
	} `json:"nodes"`
}

// Serious reports whether the violation is one a page must not have: impact serious or critical.
func (v Violation) Serious() bool { return v.Impact == "serious" || v.Impact == "critical" }

func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s (%s)", v.ID, v.Impact, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    %v %s", n.Target, n.HTML)
	}
	return b.String()
}

func loadAxe() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	src, err := os.ReadFile(filepath.Join(root, AxePath))
	if err != nil {
		return "", fmt.Errorf("axe-core is missing (%s): run `cd web && npm ci`: %w", AxePath, err)
	}
	return string(src), nil
}

// Axe runs axe-core (WCAG 2.0/2.1 A and AA rules and axe's best practices) over the tab's current
// page and returns every violation. The script is evaluated through the DevTools protocol, so the
// page's Content-Security-Policy does not stop it, and it runs with the page's JavaScript off too.
func (p *Page) Axe() []Violation {
	p.t.Helper()
	src, err := loadAxe()
	if err != nil {
		p.t.Fatal(err)
	}
	if p.noJS {
		p.setScripts(true)
		defer p.setScripts(false)
	}
	p.Do(chromedp.Evaluate[chromedp.Void](`if (typeof axe === "undefined") {` + src + "\n}"))
	raw := Run(p, chromedp.Evaluate[[]byte](
		`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations)`,
		chromedp.EvalAwaitPromise))
	var vs []Violation
	if err := json.Unmarshal(raw, &vs); err != nil {
		p.t.Fatalf("axe's result: %v", err)
	}
	return vs
}

// CheckAxe runs Axe, saves its findings as <artefacts>/axe-<name>.json, logs the minor and
// moderate ones and fails the test on each serious or critical one. With all, every finding fails.
func (p *Page) CheckAxe(name string, all bool) {
	p.t.Helper()
	vs := p.Axe()
	if js, err := json.MarshalIndent(vs, "", "  "); err == nil {
		_ = writeArtefact(filepath.Join(p.dir, "axe-"+safeName(name)+".json"), js)
	}
	for _, v := range vs {
		if all || v.Serious() {
			p.t.Errorf("axe on %s: %s", name, v)
		} else {
			p.t.Logf("axe on %s (not failing): %s", name, v)
		}
	}
}

func (p *Page) setScripts(on bool) {
	p.t.Helper()
	p.Do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled,
			emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	}))
}
