package localaws

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"codex/infra/internal/proc"
	"codex/infra/samtemplate"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(motoParentEnv); dir != "" {
		motoParent(dir)
		return
	}
	os.Exit(m.Run())
}

func TestStartResetStop(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv, err := StartMoto(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	if !strings.HasPrefix(srv.Endpoint(), "http://127.0.0.1:") {
		t.Errorf("endpoint %s is not loopback", srv.Endpoint())
	}

	// A client of its own: this server is not the shared one. Requests must be signed: moto
	// picks the service from the signature's credential scope and treats unsigned ones as S3.
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.Endpoint()),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for id := range tpl.Tables {
		names[id] = "reset-" + id
	}
	if err := CreateTables(ctx, client, tpl, names); err != nil {
		t.Fatal(err)
	}
	if err := srv.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := client.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TableNames) != 0 {
		t.Errorf("tables after Reset: %v", out.TableNames)
	}

	pgid := srv.cmd.Process.Pid
	// sitecustomize.py's directory is gone once the server answers: nothing is left behind if
	// this process is killed while the server runs.
	var patchDir string
	for _, kv := range srv.cmd.Env {
		if v, ok := strings.CutPrefix(kv, "PYTHONPATH="); ok {
			patchDir = filepath.SplitList(v)[0]
		}
	}
	if !strings.Contains(patchDir, "codex-moto-") {
		t.Errorf("PYTHONPATH starts with %q, want the codex-moto- directory", patchDir)
	} else if _, err := os.Stat(patchDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s still there while the server runs (stat: %v)", patchDir, err)
	}

	if err := srv.Stop(); err != nil {
		t.Errorf("Stop() = %v", err)
	}
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still alive after Stop (kill 0: %v)", pgid, err)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop() = %v", err)
	}
	if err := srv.Reset(ctx); err == nil {
		t.Error("Reset after Stop succeeded")
	}
}

// motoParentEnv makes the test binary, started again by TestMotoExitsWhenParentDies, start a moto
// server and wait to be killed, instead of running tests.
const motoParentEnv = "LOCALAWS_TEST_MOTO_PARENT"

// motoParent starts moto with the command StartMoto uses, its sitecustomize.py in patchDir, prints
// the server's pid and port, and waits to be killed. The server gets a process group of its own
// but, unlike under StartMoto, not Linux's parent-death signal: only its parent watch can end it.
func motoParent(patchDir string) {
	ports, err := proc.FreePorts(1)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	cmd, err := motoCommand(Options{Python: "python3"}, ports[0], patchDir)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(cmd.Process.Pid, ports[0])
	select {}
}

// TestMotoExitsWhenParentDies kills (SIGKILL, so none of its code runs) the process that started a
// moto server and expects the server to exit by itself: the backstop where the kernel has no
// parent-death signal (macOS).
func TestMotoExitsWhenParentDies(t *testing.T) {
	t.Parallel()
	patchDir := t.TempDir()
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), motoParentEnv+"="+patchDir)
	stdout, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = parent.Process.Kill(); _ = parent.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the helper's output: %v", err)
	}
	var pid, port int
	if _, err := fmt.Sscan(line, &pid, &port); err != nil {
		t.Fatalf("helper said %q", line)
	}
	t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL) }) // if the watch failed

	// Killed only once the server answers, as StartMoto returns then, and with sitecustomize.py
	// deleted, as StartMoto deletes it then.
	srv := &Server{endpoint: "http://127.0.0.1:" + strconv.Itoa(port)}
	deadline := time.Now().Add(60 * time.Second) // a loaded machine; moto takes ~1.5 s when idle
	for !srv.answers(t.Context()) {
		if time.Now().After(deadline) || processGone(pid) {
			t.Fatalf("moto (pid %d) did not answer on port %d", pid, port)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := os.RemoveAll(patchDir); err != nil {
		t.Fatal(err)
	}

	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	deadline = time.Now().Add(20 * time.Second) // the watch polls every 0.5 s
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("moto (pid %d) still running 20 s after its parent died", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMotoBehindForkingWrapper: an interpreter started through a wrapper that forks has the wrapper
// for a parent, not StartMoto's process, so the parent watch is off; the server says so and runs.
func TestMotoBehindForkingWrapper(t *testing.T) {
	t.Parallel()
	wrapper := filepath.Join(t.TempDir(), "python3")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\npython3 \"$@\"\nexit $?\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := StartMoto(t.Context(), Options{Python: wrapper})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	if out := srv.out.tail(20); !strings.Contains(out, "not process "+strconv.Itoa(os.Getpid())+" that started it") {
		t.Errorf("no warning about the wrapper in the output:\n%s", out)
	}
	if err := srv.Reset(t.Context()); err != nil {
		t.Errorf("server behind the wrapper: %v", err)
	}
}

// processGone reports whether pid has exited: no such process, or a zombie (its new parent may be
// slow to reap it, or never do so).
func processGone(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false // no /proc (macOS): alive as far as kill can tell
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && strings.HasPrefix(s[i+1:], " Z")
}

func TestMotoMissing(t *testing.T) {
	t.Parallel()
	// A package named moto without a server module, first on the path, hides the real one, as
	// on a machine with an unrelated moto or none at all.
	shadow := t.TempDir()
	if err := os.Mkdir(filepath.Join(shadow, "moto"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shadow, "moto", "__init__.py"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]Options{
		"no interpreter": {Python: filepath.Join(t.TempDir(), "python3")},
		"no module":      {Env: []string{"PYTHONPATH=" + shadow}},
	} {
		t.Run(name, func(t *testing.T) {
			srv, err := StartMoto(t.Context(), opts)
			if err == nil {
				_ = srv.Stop()
				t.Fatal("StartMoto succeeded")
			}
			if !errors.Is(err, ErrMotoNotInstalled) || !strings.Contains(err.Error(), `moto is required: pip install "moto[server]==`+MotoVersion+`"`) {
				t.Errorf("err = %v", err)
			}
			t.Log(err)
		})
	}
}

func TestMotoDiesEarly(t *testing.T) {
	t.Parallel()
	// A moto.server that fails at startup: the error must carry its output.
	fake := t.TempDir()
	if err := os.Mkdir(filepath.Join(fake, "moto"), 0o755); err != nil {
		t.Fatal(err)
	}
	for file, src := range map[string]string{
		"__init__.py": "",
		"server.py":   "import sys\nprint('starting', flush=True)\nsys.exit('fatal: config is broken')\n",
	} {
		if err := os.WriteFile(filepath.Join(fake, "moto", file), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := StartMoto(t.Context(), Options{Env: []string{"PYTHONPATH=" + fake}})
	if err == nil || errors.Is(err, ErrMotoNotInstalled) || !strings.Contains(err.Error(), "fatal: config is broken") ||
		!strings.Contains(err.Error(), "starting") {
		t.Errorf("err = %v", err)
	}
}

func TestMotoStartTimeout(t *testing.T) {
	t.Parallel()
	// A moto.server that never answers: StartMoto gives up and kills it.
	fake := t.TempDir()
	if err := os.Mkdir(filepath.Join(fake, "moto"), 0o755); err != nil {
		t.Fatal(err)
	}
	for file, src := range map[string]string{
		"__init__.py": "",
		"server.py":   "import time\nprint('hanging', flush=True)\ntime.sleep(60)\n",
	} {
		if err := os.WriteFile(filepath.Join(fake, "moto", file), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	_, err := StartMoto(t.Context(), Options{Env: []string{"PYTHONPATH=" + fake}, StartTimeout: 3 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "did not answer") || !strings.Contains(err.Error(), "hanging") {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("StartMoto took %s to give up", d)
	}
}

func TestTailBuffer(t *testing.T) {
	b := newTailBuffer(16)
	for i := range 10 {
		fmt.Fprintf(b, "line %d\n", i)
	}
	if got := b.tail(2); got != "line 8\nline 9" {
		t.Errorf("tail = %q", got)
	}
	if len(b.buf) > 16 {
		t.Errorf("buffer grew to %d bytes", len(b.buf))
	}
}
