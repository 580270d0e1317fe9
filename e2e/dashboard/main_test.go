// Package dashboard is the end-to-end test of the dashboard in a real browser: Debian's headless
// Chromium (e2e/browser) against the whole local stack of make dev, which serves the page, its
// /config.json, the dashboard API and a proxy to moto's Cognito on one origin. It walks the
// product page's API Keys flow with the mouse and again with the keyboard only, runs axe-core on
// every page and dialog, and checks that no key, token or password reaches the stack's logs or
// the browser's console. Screenshots land in .dev/artefacts/<test>/ (gitignored).
package dashboard

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"codex/e2e/browser"
	"codex/e2e/e2etest"
	"codex/infra/devstack"
)

var (
	client = &e2etest.Client{}
	chrome *browser.Browser
	logs   lockedBuffer
)

func TestMain(m *testing.M) {
	e2etest.Suite{
		Name:    "dashboard",
		Client:  client,
		Options: devstack.Options{Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))},
		Started: func(s *devstack.Stack) error {
			if s.Dashboard == "" {
				return fmt.Errorf("the stack serves no dashboard")
			}
			var err error
			chrome, err = browser.Start()
			return err
		},
		Finish: func(code int) int {
			if chrome != nil {
				chrome.Close()
			}
			if leaks := secrets.in(logs.String()); len(leaks) > 0 {
				fmt.Fprintln(os.Stderr, "FAIL: credentials in the stack's logs:")
				for _, l := range leaks {
					fmt.Fprintln(os.Stderr, "  ", l)
				}
				return 1
			}
			if code == 0 {
				fmt.Fprintf(os.Stderr, "secret scan: none of %d credentials in %d bytes of stack log\n", secrets.count(), logs.Len())
			}
			return code
		},
	}.Main(m)
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

var _ io.Writer = (*lockedBuffer)(nil)

// secrets are the credentials the tests saw: API keys, Cognito tokens, passwords.
var secrets secretSet

type secretSet struct {
	mu   sync.Mutex
	list []string
	n    int
}

// add registers a credential and, for a key or a JWT, each 12-character window of its secret part,
// so that a run of 24 characters of it anywhere is found.
func (s *secretSet) add(credential string) {
	if credential == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	s.list = append(s.list, credential)
	part := ""
	if rest, ok := strings.CutPrefix(credential, "cmk_"); ok {
		part = rest
	} else if p := strings.Split(credential, "."); len(p) == 3 {
		part = p[2]
	}
	for i := 0; i+12 <= len(part); i += 12 {
		s.list = append(s.list, part[i:i+12])
	}
}

func (s *secretSet) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// in lists the lines of text holding a registered credential, masked.
func (s *secretSet) in(text string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []string
	for i, line := range strings.Split(text, "\n") {
		hit := false
		for _, c := range s.list {
			if strings.Contains(line, c) {
				hit = true
				line = strings.ReplaceAll(line, c, "<SECRET>")
			}
		}
		if hit {
			found = append(found, fmt.Sprintf("line %d: %.300s", i+1, line))
		}
	}
	return found
}
