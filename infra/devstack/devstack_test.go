package devstack

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fixtureRoot writes a module with the given template and Makefile. Its functions folder is empty:
// a target that builds ./functions/<name> fails as a missing folder does in the real module.
func fixtureRoot(t *testing.T, template, makefile string) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"go.mod":        "module fixture\n\ngo 1.26\n",
		"template.yaml": template,
		"Makefile":      makefile,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const fixtureTemplate = `
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          Key:
            FunctionArn: !GetAtt AuthFunction.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
  AuthFunction:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
  GhostFunction:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: makefile}
    Properties:
      Events:
        Get: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /ghost, Method: GET, Auth: {Authorizer: AUTHORIZER}}}
`

// fixtureMakefile builds every function from ./functions/<name>, which does not exist.
const fixtureMakefile = `
build-AuthFunction: ; go build -o $(ARTIFACTS_DIR)/bootstrap ./functions/auth
build-GhostFunction: ; go build -o $(ARTIFACTS_DIR)/bootstrap ./functions/ghost
`

// fixtureRegistered is the fixture module's registry: its two functions.
func fixtureRegistered(id string) bool { return id == "AuthFunction" || id == "GhostFunction" }

// TestTemplateMistakesStopTheStart checks that `make dev` refuses to start on a template mistake
// with a message naming it, and leaves nothing running.
func TestTemplateMistakesStopTheStart(t *testing.T) {
	cases := []struct {
		name, template, makefile string
		want                     []string
	}{
		{"undefined authorizer", strings.Replace(fixtureTemplate, "AUTHORIZER", "Nope", 1), fixtureMakefile,
			[]string{"template.yaml", "GhostFunction", `authorizer "Nope" is not defined on Api`}},
		{"no build target", strings.Replace(fixtureTemplate, "AUTHORIZER", "Key", 1),
			"build-AuthFunction: ; go build -o $(ARTIFACTS_DIR)/bootstrap ./functions/auth\n",
			[]string{"function GhostFunction (route GET /ghost) has no build-GhostFunction target in the Makefile"}},
		{"no function folder", strings.Replace(fixtureTemplate, "AUTHORIZER", "Key", 1), fixtureMakefile,
			[]string{"building function GhostFunction (route GET /ghost) failed", "functions/ghost",
				"building function AuthFunction (authorizer Key) failed"}},
		{"no registry entry", strings.Replace(strings.Replace(fixtureTemplate, "AUTHORIZER", "Key", 1), "GhostFunction", "UnlistedFunction", 1),
			fixtureMakefile, []string{"function UnlistedFunction (route GET /ghost) has no entry in pkg/registry"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := fixtureRoot(t, c.template, c.makefile)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			s, err := Start(ctx, Options{Root: root, Addr: "127.0.0.1:0", CacheDir: filepath.Join(t.TempDir(), "bin"), Registered: fixtureRegistered})
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			t.Logf("%s:\n%v", c.name, err)
			if _, err := ReadState(filepath.Join(root, ".dev")); err != ErrNotRunning {
				t.Errorf("after a failed start: %v, want ErrNotRunning", err)
			}
			assertNoChildren(t)
		})
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	root := fixtureRoot(t, strings.Replace(fixtureTemplate, "AUTHORIZER", "Key", 1), fixtureMakefile)
	_, err = Start(context.Background(), Options{Root: root, Addr: ln.Addr().String(), Registered: fixtureRegistered})
	if err == nil || !strings.Contains(err.Error(), "cannot serve Api on "+ln.Addr().String()) {
		t.Errorf("Start on a taken port: %v", err)
	}
}

func TestLocalJWKS(t *testing.T) {
	got := localJWKS("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc", "http://127.0.0.1:5000")
	if got != "http://127.0.0.1:5000/eu-west-1_abc/.well-known/jwks.json" {
		t.Errorf("cognito issuer: %s", got)
	}
	if got := localJWKS("https://issuer.example", "http://127.0.0.1:5000"); got != "" {
		t.Errorf("other issuer: %q, want discovery", got)
	}
}

// assertNoChildren fails if this test process still has live children (moto, emulators, make).
func assertNoChildren(t *testing.T) {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	me := strconv.Itoa(os.Getpid())
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(fields) >= 2 && fields[1] == me && fields[0] != "Z" {
			cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(f), "cmdline"))
			t.Errorf("child %s still running: %s", filepath.Base(filepath.Dir(f)), strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
}
