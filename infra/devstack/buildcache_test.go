package devstack

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// cacheFixture is a git checkout with one function whose Makefile target records each build in a
// log outside the checkout.
type cacheFixture struct {
	root, cache, own, log string
}

func newCacheFixture(t *testing.T) *cacheFixture {
	t.Helper()
	f := &cacheFixture{root: t.TempDir(), cache: filepath.Join(t.TempDir(), "functions"), own: filepath.Join(t.TempDir(), "functions")}
	f.log = filepath.Join(t.TempDir(), "builds.log")
	f.write(t, "go.mod", "module fixture\n\ngo 1.26\n")
	f.write(t, "Makefile", "build-HelloFunction: ; echo built >> "+f.log+" && go build -o $(ARTIFACTS_DIR)/bootstrap ./functions/hello\n")
	f.write(t, "functions/hello/main.go", "package main\n\nfunc main() { println(\"v1\") }\n")
	if out, err := exec.Command("git", "init", "-q", f.root).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	return f
}

func (f *cacheFixture) write(t *testing.T, name, content string) {
	t.Helper()
	path := filepath.Join(f.root, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *cacheFixture) builds(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(f.log)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "built\n")
}

// build runs buildShared and returns the bootstrap, what it prints, whether it was reused and the
// lock, which the caller closes.
func (f *cacheFixture) build(t *testing.T) (bootstrap, says string, reused bool, lock *os.File) {
	t.Helper()
	fns := []string{"HelloFunction"}
	// Bounded: a stack that waits for another one to stop fails rather than hangs.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, lock, reused, err := buildShared(ctx, f.root, f.cache, f.own, fns, map[string][]string{"HelloFunction": {"route GET /hello"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(b["HelloFunction"]).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v %s", b["HelloFunction"], err, out)
	}
	return b["HelloFunction"], strings.TrimSpace(string(out)), reused, lock
}

func (f *cacheFixture) entries(t *testing.T) []string {
	t.Helper()
	var out []string
	ents, _ := os.ReadDir(f.cache)
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestBuildSharedNeverStale: a second stack on the same source reuses the first one's bootstraps;
// any change to what the build reads (a source file, a new untracked file) builds again, and a
// changed test file does not. Entries no stack holds are removed; held ones stay.
func TestBuildSharedNeverStale(t *testing.T) {
	f := newCacheFixture(t)

	first, says, reused, running := f.build(t)
	if says != "v1" || reused || f.builds(t) != 1 {
		t.Fatalf("first build: %s, reused %v, %d builds", says, reused, f.builds(t))
	}
	// While the first stack runs, and after it stopped.
	again, says, reused, lock := f.build(t)
	lock.Close()
	if again != first || says != "v1" || !reused || f.builds(t) != 1 {
		t.Errorf("same source, a stack running on it: %s (%s), reused %v, %d builds; want the first build's %s", again, says, reused, f.builds(t), first)
	}
	running.Close()
	again, says, reused, lock = f.build(t)
	lock.Close()
	if again != first || says != "v1" || !reused || f.builds(t) != 1 {
		t.Errorf("same source: %s (%s), reused %v, %d builds; want the first build's %s", again, says, reused, f.builds(t), first)
	}

	f.write(t, "functions/hello/main_test.go", "package main\n")
	if _, _, reused, lock = f.build(t); !reused || f.builds(t) != 1 {
		t.Errorf("a new test file: reused %v, %d builds; tests are not built", reused, f.builds(t))
	}
	lock.Close()

	f.write(t, "functions/hello/main.go", "package main\n\nfunc main() { println(\"v\" + two) }\n")
	f.write(t, "functions/hello/two.go", "package main\n\nconst two = \"2\"\n") // untracked
	second, says, reused, lock := f.build(t)
	if says != "v2" || reused || f.builds(t) != 2 {
		t.Errorf("changed source: %s, reused %v, %d builds; want a new build saying v2", says, reused, f.builds(t))
	}
	if e := f.entries(t); len(e) != 1 || !strings.Contains(second, e[0]) {
		t.Errorf("entries %v: want only the new one (the first is held by no stack)", e)
	}

	// The second entry is held (a running stack): a third source state must not remove it.
	f.write(t, "functions/hello/two.go", "package main\n\nconst two = \"3\"\n")
	_, says, _, lock3 := f.build(t)
	lock3.Close()
	if says != "v3" || f.builds(t) != 3 {
		t.Errorf("third source: %s, %d builds", says, f.builds(t))
	}
	if _, err := os.Stat(second); err != nil {
		t.Errorf("the bootstrap of a running stack was removed: %v", err)
	}
	lock.Close()
}

// TestBuildSharedConcurrent: stacks starting together on the same source build it once.
func TestBuildSharedConcurrent(t *testing.T) {
	f := newCacheFixture(t)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			b, lock, _, err := buildShared(context.Background(), f.root, f.cache, f.own, []string{"HelloFunction"}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer lock.Close()
			if _, err := os.Stat(b["HelloFunction"]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.builds(t); n != 1 {
		t.Errorf("%d builds for three stacks on one source, want 1", n)
	}
}

// TestBuildSharedOutsideGit: without git's list of files the source's state cannot be told, so
// every start builds, into the stack's own directory.
func TestBuildSharedOutsideGit(t *testing.T) {
	f := newCacheFixture(t)
	if err := os.RemoveAll(filepath.Join(f.root, ".git")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		b, _, reused, lock := f.build(t)
		if lock != nil || reused || !strings.HasPrefix(b, f.own) || f.builds(t) != i+1 {
			t.Errorf("start %d: %s, reused %v, %d builds", i+1, b, reused, f.builds(t))
		}
	}
}
