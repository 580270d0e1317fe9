package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// buildEnv is the environment of make and go. A parent make's MAKEFLAGS (jobserver file
// descriptors that do not survive exec) would only produce warnings in the child make.
func buildEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// makeArgs are the arguments of SAM's makefile build method for a function, plus BUILD_GOOS and
// BUILD_GOARCH so that the bootstrap runs on this machine rather than on Lambda's linux/arm64.
func makeArgs(root, logicalID, artifactsDir string) []string {
	return []string{"-C", root, "--no-print-directory", "build-" + logicalID,
		"ARTIFACTS_DIR=" + artifactsDir, "BUILD_GOOS=" + runtime.GOOS, "BUILD_GOARCH=" + runtime.GOARCH}
}

// checkRegistered reports every function without an entry in the registry, with the routes that
// need it.
func checkRegistered(fns []string, usedBy map[string][]string, registered func(string) bool) error {
	var problems []error
	for _, fn := range fns {
		if !registered(fn) {
			problems = append(problems, fmt.Errorf("function %s (%s) has no entry in pkg/registry", fn, strings.Join(usedBy[fn], ", ")))
		}
	}
	return errors.Join(problems...)
}

// checkTargets reports every function without a build-<LogicalId> target, with the routes that
// need it, before anything slow starts.
func checkTargets(ctx context.Context, root string, fns []string, usedBy map[string][]string) error {
	var problems []error
	for _, fn := range fns {
		cmd := exec.CommandContext(ctx, "make", append([]string{"-n"}, makeArgs(root, fn, os.TempDir())...)...)
		cmd.Env = buildEnv()
		out, err := cmd.CombinedOutput()
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if bytes.Contains(out, []byte("No rule to make target")) {
			problems = append(problems, fmt.Errorf("function %s (%s) has no build-%s target in the Makefile",
				fn, strings.Join(usedBy[fn], ", "), fn))
			continue
		}
		problems = append(problems, fmt.Errorf("function %s (%s): make -n build-%s failed: %s",
			fn, strings.Join(usedBy[fn], ", "), fn, strings.TrimSpace(string(out))))
	}
	return errors.Join(problems...)
}

// buildFunctions runs `make build-<LogicalId> ARTIFACTS_DIR=<dir>/<LogicalId>` for every function,
// two at a time (each go build is parallel already), and returns the bootstrap paths.
func buildFunctions(ctx context.Context, root, dir string, fns []string, usedBy map[string][]string) (map[string]string, error) {
	out := map[string]string{}
	var mu sync.Mutex
	var problems []error
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			artifacts := filepath.Join(dir, fn)
			if err := os.MkdirAll(artifacts, 0o755); err != nil {
				mu.Lock()
				problems = append(problems, err)
				mu.Unlock()
				return
			}
			cmd := exec.CommandContext(ctx, "make", makeArgs(root, fn, artifacts)...)
			cmd.Env = buildEnv()
			b, err := cmd.CombinedOutput()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if ctx.Err() != nil {
					problems = append(problems, ctx.Err())
					return
				}
				problems = append(problems, fmt.Errorf("building function %s (%s) failed:\n%s",
					fn, strings.Join(usedBy[fn], ", "), indent(string(b))))
				return
			}
			bootstrap := filepath.Join(artifacts, "bootstrap")
			if _, err := os.Stat(bootstrap); err != nil {
				problems = append(problems, fmt.Errorf("function %s (%s): make build-%s produced no %s",
					fn, strings.Join(usedBy[fn], ", "), fn, bootstrap))
				return
			}
			out[fn] = bootstrap
		})
	}
	wg.Wait()
	if errors.Is(errors.Join(problems...), context.Canceled) {
		return nil, context.Canceled
	}
	return out, errors.Join(problems...)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}
