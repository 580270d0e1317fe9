package gateway

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RIEModule is the emulator's module; go.mod pins its version as a tool dependency.
const RIEModule = "github.com/aws/aws-lambda-runtime-interface-emulator"

// BuildRIE builds aws-lambda-rie at the version the module in root pins, into cacheDir, once per
// version (a cold build takes about 40 s, a link about 7 s), and returns its path. make dev, the
// end-to-end test and this package's tests share the cache.
func BuildRIE(ctx context.Context, root, cacheDir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Version}}", RIEModule)
	cmd.Dir = root
	v, err := cmd.Output()
	if err != nil {
		var detail []byte
		if ee, ok := err.(*exec.ExitError); ok {
			detail = ee.Stderr
		}
		return "", fmt.Errorf("go list -m %s: %v %s(is it a tool dependency in go.mod?)", RIEModule, err, detail)
	}
	bin := filepath.Join(cacheDir, "aws-lambda-rie-"+strings.TrimSpace(string(v)))
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	// Built under a temporary name and renamed, so a concurrent start never runs half a file.
	tmp := fmt.Sprintf("%s.tmp%d", bin, os.Getpid())
	cmd = exec.CommandContext(ctx, "go", "build", "-o", tmp, RIEModule+"/cmd/aws-lambda-rie")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("building aws-lambda-rie failed:\n%s", b)
	}
	return bin, os.Rename(tmp, bin)
}
