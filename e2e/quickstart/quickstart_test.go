// Package quickstart runs the README's quickstart against the whole local stack, started by the same
// devstack.Start as `make dev`: real bootstraps under the Lambda emulator, moto, the gateway. The
// quickstart block is executed by bash as written (only the API's port differs), and every
// "# → " line under a command must match what that command printed, so the README cannot drift
// from the code.
package quickstart

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"codex/e2e/e2etest"
	"codex/infra/devstack"
)

const quickstartMarker = "<!-- quickstart:"

func TestQuickstart(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README quickstart needs %s on PATH: %v", tool, err)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	script, expected := readQuickstart(t, filepath.Join(root, "README.md"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var logs e2etest.LogBuffer
	state := t.TempDir()
	start := time.Now()
	stack, err := devstack.Start(ctx, devstack.Options{
		Root: root, Addr: "127.0.0.1:0", StateDir: state,
		Log: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs.Tail(30))
	}
	closed := false
	defer func() {
		if !closed {
			stack.Close()
		}
		if t.Failed() {
			t.Logf("stack log (last lines):\n%s", logs.Tail(40))
		}
	}()
	t.Logf("stack started in %s: %v", time.Since(start).Round(100*time.Millisecond), stack.APIs)

	// stack.json names the local user pool and client that mint tokens: for its owner only.
	if fi, err := os.Stat(filepath.Join(state, "stack.json")); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("stack.json mode %v, want 0600", fi.Mode().Perm())
	}

	// A second stack on the same state directory refuses to start, and says why.
	if _, err := devstack.Start(ctx, devstack.Options{Root: root, Addr: "127.0.0.1:0", StateDir: state}); err == nil ||
		!strings.Contains(err.Error(), "a dev stack is already running") {
		t.Errorf("second start: %v", err)
	}

	// The README's block, with the API at this stack's port; the last line exposes the ids and
	// credentials the block keeps in variables.
	const readmeAPI = "API=http://127.0.0.1:3000\n"
	if strings.Count(script, readmeAPI) != 1 {
		t.Fatalf("the quickstart must set %q exactly once", strings.TrimSpace(readmeAPI))
	}
	script = strings.Replace(script, readmeAPI, "API="+stack.URL+"\n", 1) +
		"printf 'ids %s %s %s %s\\n' \"$PROJECT\" \"$KEY_ID\" \"$KEY\" \"$TOKEN\"\n"
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = root
	cmd.Env = append(cleanEnv(), "DEV_STATE="+state)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	flow := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("quickstart: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("quickstart ran in %s", time.Since(flow).Round(10*time.Millisecond))

	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	if len(lines) != len(expected)+1 {
		t.Fatalf("quickstart printed %d lines, want %d (one per \"# → \" line):\n%s", len(lines), len(expected), stdout.String())
	}
	for i, want := range expected {
		if !want.MatchString(lines[i]) {
			t.Errorf("quickstart output line %d:\n got %s\nwant %s", i+1, lines[i], want)
		}
	}
	// The whoami and the listing are about the key the block created, in its project.
	ids := strings.Fields(lines[len(lines)-1])
	if len(ids) != 5 || !strings.Contains(lines[0], `"project_id":"`+ids[1]+`"`) || !strings.Contains(lines[0], `"key_id":"`+ids[2]+`"`) ||
		!strings.Contains(lines[1], `"id":"`+ids[2]+`"`) {
		t.Errorf("ids %v do not match the output:\n%s", ids, stdout.String())
	}
	// Neither the key nor the token reaches the log (the gateway's or the functions').
	if len(ids) == 5 {
		for _, secret := range ids[3:] {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the stack's log contains a credential (%.8s…)", secret)
			}
		}
	}

	// The --env-vars file for sam local, from this stack, reaches the quickstart's data.
	if len(ids) == 5 {
		checkSAMEnv(t, ctx, root, state, stack, ids[1], ids[4])
	}

	// Close stops everything the stack started, and frees every port it served.
	before := descendants(t, os.Getpid())
	if len(before) == 0 {
		t.Fatal("no child processes found before Close")
	}
	stopping := time.Now()
	if err := stack.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	closed = true
	t.Logf("stack stopped in %s (%d processes)", time.Since(stopping).Round(10*time.Millisecond), len(before))
	_, after := processes(t)
	for _, p := range before {
		if _, alive := after[p.pid]; alive {
			t.Errorf("process %d (%s) survived Close", p.pid, p.cmd)
		}
	}
	for _, u := range append(slices.Collect(maps.Values(stack.APIs)), stack.Endpoint) {
		if !refused(u) {
			t.Errorf("%s still accepts connections after Close", u)
		}
	}
	if _, err := devstack.ReadState(state); !errors.Is(err, devstack.ErrNotRunning) {
		t.Errorf("state after Close: %v", err)
	}
}

// readQuickstart returns the shell block after the quickstart marker and the expected output of
// its "# → " lines, where "…" stands for any run of characters other than a double quote.
func readQuickstart(t *testing.T, path string) (string, []*regexp.Regexp) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), quickstartMarker)
	if !ok {
		t.Fatalf("%s has no %s ... --> marker before the quickstart block", path, quickstartMarker)
	}
	_, rest, ok = strings.Cut(rest, "\n```sh\n")
	if !ok {
		t.Fatal("no ```sh block after the quickstart marker")
	}
	block, _, ok := strings.Cut(rest, "\n```")
	if !ok {
		t.Fatal("the quickstart block is not closed")
	}
	var expected []*regexp.Regexp
	sc := bufio.NewScanner(strings.NewReader(block))
	for sc.Scan() {
		if want, ok := strings.CutPrefix(sc.Text(), "# → "); ok {
			parts := strings.Split(want, "…")
			for i := range parts {
				parts[i] = regexp.QuoteMeta(parts[i])
			}
			expected = append(expected, regexp.MustCompile(`^`+strings.Join(parts, `[^"]*`)+`$`))
		}
	}
	if len(expected) == 0 {
		t.Fatal("the quickstart block has no expected output lines")
	}
	return block + "\n", expected
}

// cleanEnv is this process's environment without what `make test` adds, so that the block runs
// as in a developer's shell.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DEV_STATE", "DEV_ADDR":
			continue
		}
		env = append(env, kv)
	}
	return env
}

type proc struct {
	pid int
	cmd string
}

// processes lists every live process (pid → parent, command) with ps, whose -o fields are the same
// on Linux and macOS: /proc exists only on Linux.
func processes(t *testing.T) (parent map[int]int, cmd map[int]string) {
	t.Helper()
	out, err := exec.Command("ps", "-A", "-o", "pid=", "-o", "ppid=", "-o", "stat=", "-o", "comm=").Output()
	if err != nil {
		t.Fatalf("ps (which lists the stack's processes): %v", err)
	}
	parent, cmd = map[int]int{}, map[int]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 4 || strings.HasPrefix(f[2], "Z") {
			continue // a zombie has exited; only its parent's wait is missing
		}
		pid, err1 := strconv.Atoi(f[0])
		ppid, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			continue
		}
		parent[pid], cmd[pid] = ppid, strings.Join(f[3:], " ")
	}
	return parent, cmd
}

// descendants lists every live process below pid.
func descendants(t *testing.T, pid int) []proc {
	t.Helper()
	parent, cmd := processes(t)
	children := map[int][]int{}
	for p, pp := range parent {
		children[pp] = append(children[pp], p)
	}
	var out []proc
	var walk func(int)
	walk = func(p int) {
		for _, c := range children[p] {
			out = append(out, proc{c, cmd[c]})
			walk(c)
		}
	}
	walk(pid)
	return out
}

// refused reports whether nothing accepts connections at a URL's host and port any more.
func refused(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}
