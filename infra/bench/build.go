package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"codex/infra/samtemplate"
)

// helloID names the hello-world baseline in results; helloTarget is its Makefile target, which runs
// the functions' exact build command on infra/bench/hello.
const (
	helloID     = "hello world"
	helloTarget = "bench-hello"
)

// binarySize is a bootstrap's size and the size of the zip SAM would upload for it.
type binarySize struct {
	bytes, zipped int64
}

// buildDeployed builds every function of the template as `sam build` does, `make
// build-<LogicalId> ARTIFACTS_DIR=...`, for the architecture the template deploys it on, and the hello
// world the same way, and measures each bootstrap. It returns the sizes and the GOARCH used.
func buildDeployed(ctx context.Context, root, dir string, tpl *samtemplate.Template) (map[string]binarySize, string, error) {
	fns := slices.Sorted(maps.Keys(tpl.Functions))
	goarch := ""
	for _, id := range fns {
		a, err := deployedGOARCH(tpl.Functions[id])
		if err != nil {
			return nil, "", err
		}
		if goarch != "" && a != goarch {
			return nil, "", fmt.Errorf("functions deploy on different architectures (%s, %s): the hello world has one", goarch, a)
		}
		goarch = a
	}
	progress("building %d functions and the hello world for linux/%s (make build-<LogicalId>, as sam build)", len(fns), goarch)

	targets := map[string]string{helloID: helloTarget}
	for _, id := range fns {
		targets[id] = "build-" + id
	}
	sizes := map[string]binarySize{}
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(2) // each go build is parallel already
	for id, target := range targets {
		g.Go(func() error {
			artifacts := filepath.Join(dir, strings.ReplaceAll(id, " ", "-"))
			if err := makeTarget(ctx, root, target, artifacts, "linux", goarch); err != nil {
				return err
			}
			size, err := measureBinary(filepath.Join(artifacts, "bootstrap"))
			mu.Lock()
			defer mu.Unlock()
			sizes[id] = size
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, "", err
	}
	return sizes, goarch, nil
}

// deployedGOARCH maps a function's Architectures (Lambda's default is x86_64) to GOARCH.
func deployedGOARCH(fn *samtemplate.Function) (string, error) {
	arch := "x86_64"
	if len(fn.Architectures) > 0 {
		arch = fn.Architectures[0]
	}
	switch arch {
	case "arm64":
		return "arm64", nil
	case "x86_64":
		return "amd64", nil
	}
	return "", fmt.Errorf("function %s: unknown architecture %q", fn.LogicalID, arch)
}

// makeTarget runs `make <target> ARTIFACTS_DIR=<artifacts> BUILD_GOOS=<goos> BUILD_GOARCH=<goarch>` in
// root: SAM's makefile build method, with the platform explicit so that a GOARCH in the environment
// cannot change it.
func makeTarget(ctx context.Context, root, target, artifacts, goos, goarch string) error {
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "make", "-C", root, "--no-print-directory", target,
		"ARTIFACTS_DIR="+artifacts, "BUILD_GOOS="+goos, "BUILD_GOARCH="+goarch)
	// Without the variables of the make running `make bench`: its jobserver file descriptors do not
	// survive exec and would only make the child make warn.
	cmd.Env = append(os.Environ(), "MAKEFLAGS=", "MFLAGS=", "MAKELEVEL=", "MAKEOVERRIDES=")
	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("make %s BUILD_GOOS=%s BUILD_GOARCH=%s failed: %v\n%s", target, goos, goarch, err, out)
	}
	if _, err := os.Stat(filepath.Join(artifacts, "bootstrap")); err != nil {
		return fmt.Errorf("make %s produced no bootstrap in %s", target, artifacts)
	}
	return nil
}

// measureBinary returns a bootstrap's size and the size of a zip holding it as SAM packages a
// provided.al2023 function: one entry "bootstrap", executable, deflated.
func measureBinary(path string) (binarySize, error) {
	f, err := os.Open(path)
	if err != nil {
		return binarySize{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return binarySize{}, err
	}
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return binarySize{}, err
	}
	if _, err := io.Copy(w, f); err != nil {
		return binarySize{}, err
	}
	if err := zw.Close(); err != nil {
		return binarySize{}, err
	}
	return binarySize{bytes: st.Size(), zipped: int64(zipped.Len())}, nil
}
