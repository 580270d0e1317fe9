package checks

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fakeTools writes executables into a new directory and returns a PATH with it first; make stays
// the real one except for `make test`, which only records that it was reached.
func fakeTools(t *testing.T, tools map[string]string) (path, reached string) {
	t.Helper()
	dir := t.TempDir()
	realMake, err := exec.LookPath("make")
	if err != nil {
		t.Fatal(err)
	}
	reached = filepath.Join(dir, "make-test-reached")
	tools["make"] = `for a in "$@"; do [ "$a" = test ] && { touch ` + reached + `; exit 0; }; done; exec ` + realMake + ` "$@"`
	for name, script := range tools {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH"), reached
}

func pinnedCFNLint(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^CFN_LINT_VERSION := (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("the Makefile pins no CFN_LINT_VERSION")
	}
	return string(m[1])
}

// TestToolVersionsPinned: CI and make lint refuse a moto or cfn-lint other than the pinned ones,
// before running anything, with the pip command that installs the right one.
func TestToolVersionsPinned(t *testing.T) {
	cfnLint := pinnedCFNLint(t)
	const moto = "5.2.1" // localaws.MotoVersion; TestCIPinsMotoVersion keeps .ci/run on it
	goodMoto := `echo ` + moto
	goodLint := `echo "cfn-lint ` + cfnLint + `"`
	cases := []struct {
		name, python, cfnLint, want string
	}{
		{"other moto", `echo 4.9.0`, goodLint, `moto ` + moto + ` is required, found 4.9.0: pip install "moto[server]==` + moto + `"`},
		{"no moto", `echo "ModuleNotFoundError: No module named 'moto'" >&2; exit 1`, goodLint, `moto is required: pip install "moto[server]==` + moto + `"`},
		{"other cfn-lint", goodMoto, `echo "cfn-lint 1.2.3"`, `cfn-lint ` + cfnLint + ` is required, found 1.2.3: pip install "cfn-lint==` + cfnLint + `"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path, reached := fakeTools(t, map[string]string{"python3": c.python, "cfn-lint": c.cfnLint})
			cmd := exec.Command("bash", "../../.ci/run")
			cmd.Env = append(os.Environ(), "PATH="+path)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), c.want) {
				t.Errorf(".ci/run: %v, want a failure saying %q; output:\n%s", err, c.want, out)
			}
			if _, err := os.Stat(reached); err == nil {
				t.Error(".ci/run went on to make test")
			}
		})
	}
	t.Run("make lint", func(t *testing.T) {
		path, _ := fakeTools(t, map[string]string{"cfn-lint": `echo "cfn-lint 1.2.3"`})
		cmd := exec.Command("make", "-C", "../..", "--no-print-directory", "cfn-lint")
		cmd.Env = append(os.Environ(), "PATH="+path)
		out, err := cmd.CombinedOutput()
		want := `cfn-lint ` + cfnLint + ` is required, found 1.2.3: pip install "cfn-lint==` + cfnLint + `"`
		if err == nil || !strings.Contains(string(out), want) || strings.Contains(string(out), "template.yaml") {
			t.Errorf("make cfn-lint with cfn-lint 1.2.3: %v; output:\n%s", err, out)
		}
	})
}

// TestDevBinaryLinksNoTesting: `make dev`'s binary is built from non-test code only; package
// testing (and what only tests need) stays in the test-support packages such as localawstest.
func TestDevBinaryLinksNoTesting(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../dev").Output()
	if err != nil {
		t.Fatalf("go list -deps ./infra/dev: %v", err)
	}
	for dep := range strings.Lines(string(out)) {
		if dep = strings.TrimSpace(dep); dep == "testing" || strings.HasPrefix(dep, "codex/") && strings.HasSuffix(dep, "test") {
			t.Errorf("infra/dev links %s", dep)
		}
	}
}
