package checks

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBrowserDepsNamed: without Chromium, make test stops at once with the Debian package to
// install, rather than at the first browser test.
func TestBrowserDepsNamed(t *testing.T) {
	cmd := exec.Command("make", "-C", "../..", "--no-print-directory", "browser-deps", "CHROMIUM=/nonexistent/chromium")
	out, err := cmd.CombinedOutput()
	if want := "install Debian's package chromium (apt-get install -y chromium)"; err == nil || !strings.Contains(string(out), want) {
		t.Errorf("make browser-deps without chromium: %v, want a failure saying %q; output:\n%s", err, want, out)
	}
}
