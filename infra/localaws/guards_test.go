package localaws

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMotoRefusesForeignOrigins: a web page the developer opens must not be able to drive the
// local AWS. Without MOTO_DISABLE_GLOBAL_CORS moto answers every origin's preflight with an
// Access-Control-Allow-Origin that echoes it, and a browser would then send the page's requests.
func TestMotoRefusesForeignOrigins(t *testing.T) {
	t.Parallel()
	srv, err := StartMoto(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	const origin = "https://attacker.example"
	preflight, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, srv.Endpoint()+"/", nil)
	preflight.Header.Set("Origin", origin)
	preflight.Header.Set("Access-Control-Request-Method", http.MethodPost)
	preflight.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-amz-target")
	// A request a page could send without a preflight if the browser allowed it, DynamoDB's shape.
	simple, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.Endpoint()+"/", strings.NewReader("{}"))
	simple.Header.Set("Origin", origin)
	simple.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	simple.Header.Set("Content-Type", "application/x-amz-json-1.0")
	simple.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
	for _, req := range []*http.Request{preflight, simple} {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for k, v := range resp.Header {
			if strings.HasPrefix(k, "Access-Control-Allow-") {
				t.Errorf("%s from %s: %s: %v (moto must answer no origin's CORS)", req.Method, origin, k, v)
			}
		}
	}
}

// fakeMoto writes a package named moto into a new directory, for PYTHONPATH: version is its
// __version__, responses the source of moto/dynamodb/responses.py ("" for none).
func fakeMoto(t *testing.T, version, responses string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"moto/__init__.py": "__version__ = " + `"` + version + `"` + "\n",
		"moto/server.py":   "raise SystemExit('the fake moto server must not run')\n",
	}
	if responses != "" {
		files["moto/dynamodb/__init__.py"] = ""
		files["moto/dynamodb/responses.py"] = responses
	}
	for name, src := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestMotoVersionPinned: another moto version than the one the repository is tested with is refused,
// with the command that installs the right one.
func TestMotoVersionPinned(t *testing.T) {
	// PYTHONPATH of the process, not Options.Env: sitecustomize.py stays first on the path.
	t.Setenv("PYTHONPATH", fakeMoto(t, "5.0.0", "class DynamoHandler:\n    def call_action(self):\n        pass\n"))
	srv, err := StartMoto(t.Context(), Options{})
	if err == nil {
		_ = srv.Stop()
		t.Fatal("StartMoto succeeded with moto 5.0.0")
	}
	if !errors.Is(err, ErrMotoVersion) || !strings.Contains(err.Error(), "found 5.0.0") ||
		!strings.Contains(err.Error(), `pip install "moto[server]==`+MotoVersion+`"`) {
		t.Errorf("err = %v", err)
	}
	t.Log(err)
}

// TestMotoLayoutChecked: a moto whose DynamoDB handler is not what sitecustomize.py patches is
// refused, never run unpatched; so is a server that started without sitecustomize.py at all.
func TestMotoLayoutChecked(t *testing.T) {
	for name, responses := range map[string]string{
		"no responses module":   "",
		"handler renamed":       "class DynamoDBHandler:\n    def call_action(self):\n        pass\n",
		"call_action reshaped":  "class DynamoHandler:\n    def call_action(self, request):\n        pass\n",
		"call_action not there": "class DynamoHandler:\n    def dispatch(self):\n        pass\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("PYTHONPATH", fakeMoto(t, MotoVersion, responses))
			srv, err := StartMoto(t.Context(), Options{})
			if err == nil {
				_ = srv.Stop()
				t.Fatal("StartMoto succeeded")
			}
			if !errors.Is(err, ErrMotoLayout) || !strings.Contains(err.Error(), "sitecustomize.py") ||
				!strings.Contains(err.Error(), `pip install "moto[server]==`+MotoVersion+`"`) {
				t.Errorf("err = %v", err)
			}
			t.Log(err)
		})
	}
	t.Run("sitecustomize.py skipped", func(t *testing.T) {
		// -I: isolated mode ignores PYTHONPATH, so the real moto starts without the patch.
		wrapper := filepath.Join(t.TempDir(), "python3")
		if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec python3 -I \"$@\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		srv, err := StartMoto(t.Context(), Options{Python: wrapper})
		if err == nil {
			_ = srv.Stop()
			t.Fatal("StartMoto succeeded without sitecustomize.py")
		}
		if !errors.Is(err, ErrMotoLayout) || !strings.Contains(err.Error(), "without sitecustomize.py having run") {
			t.Errorf("err = %v", err)
		}
		t.Log(err)
	})
}

// TestCIPinsMotoVersion: .ci/run checks for the moto version StartMoto insists on, so that CI fails
// up front with the same instruction.
func TestCIPinsMotoVersion(t *testing.T) {
	b, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^MOTO_VERSION=(\S+)$`).FindSubmatch(b)
	if m == nil || string(m[1]) != MotoVersion {
		t.Errorf(".ci/run pins moto %q, localaws.MotoVersion is %s", m, MotoVersion)
	}
}
