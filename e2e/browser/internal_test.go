package browser

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without Chromium, or without axe-core, the error says what to install.
func TestMissingDependenciesNamed(t *testing.T) {
	if _, err := start("/nonexistent/chromium"); err == nil || !strings.Contains(err.Error(), "Debian's package `chromium`") {
		t.Errorf("start without chromium: %v", err)
	}
	// Run from a copy of the module without web/node_modules.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if _, err := loadAxe(); err == nil || !strings.Contains(err.Error(), "cd web && npm ci") {
		t.Errorf("loadAxe without web/node_modules: %v", err)
	}
}
