package devstack

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"codex/infra/samtemplate"
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
		t.Errorf("other issuer: %q, want none", got)
	}
}

// assertNoChildren fails if this test process still has live children (moto, emulators, make).
// ps, not /proc, so that it checks on macOS too.
func assertNoChildren(t *testing.T) {
	t.Helper()
	out, err := exec.Command("ps", "-A", "-o", "pid=", "-o", "ppid=", "-o", "stat=", "-o", "command=").Output()
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	me := strconv.Itoa(os.Getpid())
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) >= 4 && f[1] == me && !strings.HasPrefix(f[2], "Z") && !strings.HasPrefix(f[3], "ps") {
			t.Errorf("child %s still running: %s", f[0], strings.Join(f[3:], " "))
		}
	}
}

// TestNonLoopbackAddrRefused: `make dev` with DEV_ADDR off loopback refuses to start, naming the
// flag that allows it, and starts nothing; with the flag it warns and goes on.
func TestNonLoopbackAddrRefused(t *testing.T) {
	// No routes: a start that goes past the address check fails right after it, before anything
	// listens or runs.
	root := fixtureRoot(t, "Resources: {}\n", "")
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:3000", "dev.example:3000"} {
		_, err := Start(t.Context(), Options{Root: root, Addr: addr})
		if err == nil || !strings.Contains(err.Error(), "refusing to serve on "+addr) ||
			!strings.Contains(err.Error(), "DEV_FLAGS="+AllowNonLoopbackFlag) {
			t.Errorf("Start on %s: %v", addr, err)
		}
		if _, err := os.Stat(filepath.Join(root, ".dev")); err == nil {
			t.Errorf("Start on %s created the state directory", addr)
		}

		var log bytes.Buffer
		_, err = Start(t.Context(), Options{Root: root, Addr: addr, AllowNonLoopback: true,
			Log: slog.New(slog.NewJSONHandler(&log, nil))})
		if err == nil || strings.Contains(err.Error(), "refusing") || !strings.Contains(err.Error(), "no HttpApi routes") {
			t.Errorf("Start on %s with the flag: %v", addr, err)
		}
		if !strings.Contains(log.String(), `"level":"WARN","msg":"serving off loopback`) {
			t.Errorf("Start on %s with the flag logged no warning:\n%s", addr, log.String())
		}
		os.RemoveAll(filepath.Join(root, ".dev"))
	}
	for _, addr := range []string{"127.0.0.1:0", "127.1.2.3:0", "[::1]:0", "localhost:0"} {
		var log bytes.Buffer
		_, err := Start(t.Context(), Options{Root: root, Addr: addr, Log: slog.New(slog.NewJSONHandler(&log, nil))})
		if err == nil || !strings.Contains(err.Error(), "no HttpApi routes") || strings.Contains(log.String(), "WARN") {
			t.Errorf("Start on %s: %v, log %s", addr, err, log.String())
		}
	}
}

// TestStateFileOwnerOnly: stack.json is readable by its owner only, also when an earlier stack left
// a world-readable one or a temporary file behind.
func TestStateFileOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{stateFile, stateFile + ".tmp"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st := &State{PID: 1, URL: "http://127.0.0.1:3000", UserPoolID: "us-east-1_x", UserPoolClientID: "client"}
	for range 2 {
		if err := writeStateFile(dir, st); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dir, stateFile))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("stack.json mode %v, want 0600", perm)
		}
	}
	got, err := readStateFile(dir)
	if err != nil || got.UserPoolClientID != "client" {
		t.Errorf("read back %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != stateFile && e.Name() != stateFile+".tmp" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestDashboardAPI: the dashboard goes on the API whose routes take a user's JWT (the template's
// HttpApi), and its config points buy buttons at the other API.
func TestDashboardAPI(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := dashboardAPI(tpl, servedAPIs(tpl)); got != "HttpApi" {
		t.Fatalf("dashboard API %q, want HttpApi", got)
	}
	s := &Stack{State: State{APIs: map[string]string{"HttpApi": "http://127.0.0.1:3000", "PublicApi": "http://127.0.0.1:3001"},
		UserPoolID: "us-east-1_x", UserPoolClientID: "c", Dashboard: "http://127.0.0.1:3000/"}}
	cfg := s.dashboardConfig("us-east-1", "HttpApi")
	if cfg.PublicOrigin != "http://127.0.0.1:3001" || cfg.APIBase != "" || cfg.UserPoolID != "us-east-1_x" || cfg.CognitoEndpoint != "/cognito/" {
		t.Fatalf("config %+v", cfg)
	}
	s.DashboardUser, s.DashboardPassword = "demo", "Aa1!pw"
	if d := s.Describe(); !strings.Contains(d, "The dashboard: http://127.0.0.1:3000/") || !strings.Contains(d, "sign in as demo, password Aa1!pw") {
		t.Fatalf("banner:\n%s", d)
	}
}

// TestQueueVisibilityTimeoutOverride: the option sets every queue's VisibilityTimeout (rounded up
// to whole seconds, even on a queue the template leaves at SQS's default) and leaves the template
// itself and the other attributes alone; zero keeps the template's.
func TestQueueVisibilityTimeoutOverride(t *testing.T) {
	thirty := 30
	redrive := &samtemplate.RedrivePolicy{DeadLetterQueue: "Dead", MaxReceiveCount: 5}
	tpl := &samtemplate.Template{Queues: map[string]*samtemplate.Queue{
		"Work": {LogicalID: "Work", VisibilityTimeout: &thirty, RedrivePolicy: redrive},
		"Dead": {LogicalID: "Dead"},
	}}
	if got := withVisibilityTimeout(tpl, 0); got != tpl {
		t.Fatal("zero changed the template")
	}
	got := withVisibilityTimeout(tpl, 1500*time.Millisecond)
	for id, q := range got.Queues {
		if q.VisibilityTimeout == nil || *q.VisibilityTimeout != 2 {
			t.Errorf("%s: VisibilityTimeout %v, want 2", id, q.VisibilityTimeout)
		}
	}
	if got.Queues["Work"].RedrivePolicy != redrive {
		t.Errorf("other attributes lost: %+v", got.Queues["Work"])
	}
	if *tpl.Queues["Work"].VisibilityTimeout != 30 || tpl.Queues["Dead"].VisibilityTimeout != nil {
		t.Errorf("template changed: %+v %+v", tpl.Queues["Work"], tpl.Queues["Dead"])
	}
}
