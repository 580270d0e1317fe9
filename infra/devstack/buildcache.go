package devstack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The bootstraps of a checkout are built once per state of its source and shared by every stack
// started from it: each end-to-end suite of a `make test` run, `make dev` and `make bench` would
// otherwise build all of them again (about 17 s here). An entry of the cache is a directory named
// by sourceKey, which hashes everything a build reads, so a changed file is never served from an
// older build. A stack holds a shared flock on its entry's lock file while it runs (its emulators
// start bootstraps on demand); an entry nobody holds is removed when another one is built.

// buildShared returns every function's bootstrap for the source as it is now: from the cache in
// cacheDir when an earlier stack built the same source, built into it otherwise. The returned
// lock keeps the entry while the stack runs; Close closes it. Outside a git checkout (the key
// needs the list of source files) it builds into ownDir, as for a source whose key cannot be told.
func buildShared(ctx context.Context, root, cacheDir, ownDir string, fns []string, usedBy map[string][]string) (
	bootstraps map[string]string, lock *os.File, reused bool, err error) {
	built := false
	key, err := sourceKey(ctx, root)
	if err != nil {
		return nil, nil, false, err
	}
	if key == "" {
		b, err := buildFunctions(ctx, root, ownDir, fns, usedBy)
		return b, nil, false, err
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, nil, false, err
	}
	entry := filepath.Join(cacheDir, key)
	for {
		// Shared first: a stack running on this entry holds it shared, and must not keep a second
		// one on the same source waiting.
		if lock, err = flockPath(ctx, entry+".lock", syscall.LOCK_SH); err != nil {
			return nil, nil, false, err
		}
		if exists(entry) {
			break
		}
		lock.Close()
		if lock, err = flockPath(ctx, entry+".lock", syscall.LOCK_EX); err != nil {
			return nil, nil, false, err
		}
		if !exists(entry) { // else another stack built it while this one waited
			changed, err := buildEntry(ctx, root, cacheDir, key, ownDir, fns, usedBy)
			if err != nil || changed {
				lock.Close()
				if changed {
					return ownBootstraps(ownDir, fns), nil, false, nil
				}
				return nil, nil, false, err
			}
			built = true
		}
		// Not converted to shared in place (flock does not do it atomically): the loop takes the
		// shared lock afresh and looks for the entry again.
		lock.Close()
	}
	bootstraps = map[string]string{}
	var missing []string
	for _, fn := range fns {
		bootstraps[fn] = filepath.Join(entry, fn, "bootstrap")
		if !exists(bootstraps[fn]) {
			missing = append(missing, fn)
		}
	}
	if len(missing) > 0 {
		lock.Close()
		return nil, nil, false, fmt.Errorf("build cache %s lacks %s: remove the directory and start again", entry, strings.Join(missing, ", "))
	}
	return bootstraps, lock, !built, nil
}

// buildEntry builds every function into a temporary directory and renames it to the entry, with
// the entry's lock held exclusively, then removes the entries no stack holds. A source that
// changed during the build is not cached, since the bootstraps may hold either state: they move
// to ownDir, for this stack only, and changed is true.
func buildEntry(ctx context.Context, root, cacheDir, key, ownDir string, fns []string, usedBy map[string][]string) (changed bool, err error) {
	entry := filepath.Join(cacheDir, key)
	tmp := entry + ".tmp"
	if err := os.RemoveAll(tmp); err != nil { // a build killed half way
		return false, err
	}
	defer os.RemoveAll(tmp)
	if _, err := buildFunctions(ctx, root, tmp, fns, usedBy); err != nil {
		return false, err
	}
	after, err := sourceKey(ctx, root)
	if err != nil {
		return false, err
	}
	if after != key {
		if err := os.RemoveAll(ownDir); err != nil {
			return false, err
		}
		if err := os.MkdirAll(filepath.Dir(ownDir), 0o755); err != nil {
			return false, err
		}
		return true, os.Rename(tmp, ownDir)
	}
	if err := os.Rename(tmp, entry); err != nil {
		return false, err
	}
	pruneCache(cacheDir, key)
	return false, nil
}

func ownBootstraps(dir string, fns []string) map[string]string {
	out := map[string]string{}
	for _, fn := range fns {
		out[fn] = filepath.Join(dir, fn, "bootstrap")
	}
	return out
}

// pruneCache removes every entry but keep that no stack holds.
func pruneCache(cacheDir, keep string) {
	locks, _ := filepath.Glob(filepath.Join(cacheDir, "*.lock"))
	for _, l := range locks {
		entry := strings.TrimSuffix(l, ".lock")
		if filepath.Base(entry) == keep {
			continue
		}
		f, err := os.Open(l)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.RemoveAll(entry)
			os.RemoveAll(entry + ".tmp")
			// The lock file goes while held, so that a stack waiting on it sees it was replaced
			// (flockPath checks) rather than lock a file no longer in the directory.
			os.Remove(l)
		}
		f.Close()
	}
}

// flockPath opens path (creating it) and locks it with how (LOCK_EX or LOCK_SH), waiting until it
// can or ctx ends. It retries when the file was removed or replaced while it waited.
func flockPath(ctx context.Context, path string, how int) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		for {
			err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
			if !errors.Is(err, syscall.EWOULDBLOCK) {
				break
			}
			select {
			case <-ctx.Done():
				f.Close()
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return f, nil
		}
		f.Close()
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// localReplace finds a replace directive of go.mod that points at a directory: source outside the
// checkout that the key would not see.
var localReplace = regexp.MustCompile(`=>\s*[./]`)

// sourceKey hashes what building the functions reads: every file of the checkout that git knows
// (tracked or not ignored, in its current content) but tests, the Go toolchain and its settings,
// the GO make variable and the platform. It returns "" when the build reads source the key cannot
// see (no git checkout, a local replace directive, a go.work), so that nothing is cached.
func sourceKey(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	list, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", nil
	}
	if gomod, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || localReplace.Match(gomod) {
		return "", nil
	}
	cmd = exec.CommandContext(ctx, "go", "env", "GOVERSION", "GOFLAGS", "GOEXPERIMENT", "GOAMD64", "GOARM64", "GOWORK")
	cmd.Dir, cmd.Env = root, buildEnv()
	goenv, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(goenv), "\n"), "\n")
	if len(lines) != 6 {
		return "", fmt.Errorf("go env printed %q, want six lines", goenv)
	}
	if lines[5] != "" && lines[5] != "off" {
		return "", nil // a go.work: its modules are outside the key
	}

	h := sha256.New()
	fmt.Fprintf(h, "%s/%s\x00GO=%s\x00%s\x00", runtime.GOOS, runtime.GOARCH, os.Getenv("GO"), goenv)
	files := strings.Split(strings.TrimRight(string(list), "\x00"), "\x00")
	slices.Sort(files)
	for _, f := range slices.Compact(files) {
		if f == "" || strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, f))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			b = []byte("\x00deleted")
		case err != nil && exists(filepath.Join(root, f, ".git")):
			return "", nil // a submodule: its own files are not listed
		case err != nil:
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}
