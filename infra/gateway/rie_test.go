package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"codex/infra/samtemplate"
)

// The emulator tests run the real aws-lambda-rie with testdata/fn, a real aws-lambda-go
// function, to prove that what the emulator does on each outcome is classified right.

var (
	emulatorOnce sync.Once
	emulatorBin  string
	fnDir        string // holds fnBootstrap; removed by TestMain
	fnBootstrap  string
	emulatorErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	// The bootstrap is built once for all tests, so no test's TempDir can hold it.
	if fnDir != "" {
		os.RemoveAll(fnDir)
	}
	os.Exit(code)
}

func testEmulator(t *testing.T) (rie, bootstrap string) {
	t.Helper()
	emulatorOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		root, err := filepath.Abs("../..")
		if err != nil {
			emulatorErr = err
			return
		}
		if emulatorBin, emulatorErr = BuildRIE(ctx, root, filepath.Join(root, ".dev", "bin")); emulatorErr != nil {
			return
		}
		if fnDir, emulatorErr = os.MkdirTemp("", "gateway-fn-"); emulatorErr != nil {
			return
		}
		fnBootstrap = filepath.Join(fnDir, "bootstrap")
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", fnBootstrap, "./testdata/fn")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			emulatorErr = errors.New("build testdata/fn: " + string(out))
		}
	})
	if emulatorErr != nil {
		t.Fatal(emulatorErr)
	}
	return emulatorBin, fnBootstrap
}

func newTestPool(t *testing.T, timeout time.Duration, max int) *RIEPool {
	t.Helper()
	rie, bootstrap := testEmulator(t)
	p := NewRIEPool(RIEFunction{
		Name: "TestFunction", Bootstrap: bootstrap, Timeout: timeout, MemoryMB: 128,
		Env: []string{"PATH=/usr/bin:/bin", "TABLE=local-table"},
	}, RIEOptions{Binary: rie, MaxInstances: max})
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func invokeDo(t *testing.T, p *RIEPool, ctx context.Context, do string) (Invocation, error) {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{"rawPath": "/", "queryStringParameters": map[string]string{"do": do}})
	return p.Invoke(ctx, payload)
}

func TestRIEPoolOutcomes(t *testing.T) {
	p := newTestPool(t, time.Second, 1)
	ctx := context.Background()
	type want struct {
		functionError bool
		contains      string
	}
	steps := []struct {
		do   string
		want want
	}{
		{"", want{false, `"statusCode":200`}},
		{"error", want{true, `"errorMessage":"boom"`}},
		{"", want{false, `"statusCode":200`}},
		{"panic", want{true, `"errorMessage":"kaboom"`}},
		{"", want{false, `"statusCode":200`}},
		{"exit", want{true, `Runtime.ExitError`}},
		{"", want{false, `"statusCode":200`}},
		{"sleep", want{true, `Sandbox.Timedout`}},
		{"", want{false, `"statusCode":200`}},
		{"string", want{false, `"plain"`}},
		// The environment is exactly the function's: nothing of this process leaks in.
		{"env", want{false, `{"home":"","name":"TestFunction","table":"local-table"}`}},
	}
	for _, s := range steps {
		inv, err := invokeDo(t, p, ctx, s.do)
		if err != nil {
			t.Fatalf("do=%s: %v", s.do, err)
		}
		if (inv.FunctionError != "") != s.want.functionError || !strings.Contains(string(inv.Payload), s.want.contains) {
			t.Errorf("do=%s: %q %s, want function error %v and %s", s.do, inv.FunctionError, inv.Payload, s.want.functionError, s.want.contains)
		}
	}
}

func TestRIEPoolConcurrencyAndRecycling(t *testing.T) {
	p := newTestPool(t, 5*time.Second, 2)
	// Overlapping invocations crash a single emulator; the pool never overlaps them.
	var wg sync.WaitGroup
	pids := sync.Map{}
	for range 8 {
		wg.Go(func() {
			inv, err := invokeDo(t, p, context.Background(), "slow")
			if err != nil || inv.FunctionError != "" {
				t.Errorf("slow: %v %s", err, inv.Payload)
				return
			}
			pids.Store(string(inv.Payload), true)
		})
	}
	wg.Wait()
	n := 0
	pids.Range(func(any, any) bool { n++; return true })
	if n > 2 || len(p.PIDs()) > 4 {
		t.Errorf("%d runtimes answered, pool holds processes %v; want at most 2 environments", n, p.PIDs())
	}

	// An invocation abandoned at the integration timeout leaves its emulator busy: it is
	// discarded, and the next invocation gets a fresh one.
	before := p.PIDs()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := invokeDo(t, p, ctx, "sleep"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("sleep past the deadline: %v", err)
	}
	if inv, err := invokeDo(t, p, context.Background(), ""); err != nil || inv.FunctionError != "" {
		t.Fatalf("after the timeout: %v %s", err, inv.Payload)
	}
	gone := 0
	for _, pid := range before {
		if syscall.Kill(pid, 0) != nil {
			gone++
		}
	}
	// PIDs lists the runtimes only on Linux (it reads /proc); elsewhere it lists the emulators.
	want := 2
	if runtime.GOOS != "linux" {
		want = 1
	}
	if gone != want {
		t.Errorf("%d of %v gone after discarding one emulator, want its %d processes", gone, before, want)
	}

	// Close stops every emulator and runtime.
	all := p.PIDs()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range all {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d survived Close", pid)
		}
	}
	if _, err := invokeDo(t, p, context.Background(), ""); err == nil {
		t.Error("invoke after Close succeeded")
	}
}

// TestGatewayOverEmulator maps each real outcome of a function to API Gateway's answer.
func TestGatewayOverEmulator(t *testing.T) {
	tpl, err := samtemplate.Load("testdata/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Generous timeouts: an emulator's cold start counts against them, and CI machines are busy.
	p := newTestPool(t, 8*time.Second, 2)
	functions := map[string]Invoker{}
	for id := range tpl.Functions {
		functions[id] = p
	}
	gw, err := New(Config{Template: tpl, API: "Api", Addr: testAddr, Functions: functions, IntegrationTimeout: 4 * time.Second,
		Names: map[string]string{"UserPool": testPool, "UserPoolClient": testClient}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		do     string
		status int
		body   string
	}{
		{"error", 500, `{"message":"Internal Server Error"}`},
		{"panic", 500, `{"message":"Internal Server Error"}`},
		{"exit", 500, `{"message":"Internal Server Error"}`},
		{"string", 200, "plain"},
		// The function's own timeout (8 s) is past the integration timeout (4 s): 503.
		{"sleep", 503, `{"message":"Service Unavailable"}`},
		{"", 200, "pid "},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, testRequest("/fail?do="+c.do))
		if rec.Code != c.status || !strings.HasPrefix(rec.Body.String(), c.body) {
			t.Errorf("do=%s: %d %s, want %d %s", c.do, rec.Code, rec.Body, c.status, c.body)
		}
	}

	// The function's own timeout, shorter than the integration's, is a function error: 500.
	short := newTestPool(t, time.Second, 1)
	functions["FailFunction"] = short
	gw, err = New(Config{Template: tpl, API: "Api", Addr: testAddr, Functions: functions, IntegrationTimeout: 8 * time.Second,
		Names: map[string]string{"UserPool": testPool, "UserPoolClient": testClient}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, testRequest("/fail?do=sleep"))
	if rec.Code != 500 {
		t.Errorf("function timeout: %d %s, want 500", rec.Code, rec.Body)
	}
}

// TestRIEPoolWatchdogs runs the pool as it runs off Linux, with a watchdog in each emulator's process
// group, and checks that the watchdogs leave invocations alone and that Close ends emulators,
// runtimes and watchdogs alike. (That a watchdog ends its group when the gateway dies is
// infra/internal/proc's test.)
func TestRIEPoolWatchdogs(t *testing.T) {
	if !watchdogs {
		watchdogs = true // no test runs in parallel with this one: none calls t.Parallel
		t.Cleanup(func() { watchdogs = false })
	}
	p := newTestPool(t, 5*time.Second, 2)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if inv, err := invokeDo(t, p, context.Background(), "slow"); err != nil || inv.FunctionError != "" {
				t.Errorf("slow: %v %s", err, inv.Payload)
			}
		})
	}
	wg.Wait()

	p.mu.Lock()
	var watched []int
	for e := range p.all {
		if e.watchdog == nil {
			t.Errorf("emulator %d has no watchdog", e.cmd.Process.Pid)
			continue
		}
		watched = append(watched, e.watchdog.Pid())
	}
	p.mu.Unlock()
	if len(watched) == 0 {
		t.Fatal("the pool runs no emulator")
	}
	all := append(p.PIDs(), watched...)
	for _, pid := range all {
		if err := syscall.Kill(pid, 0); err != nil {
			t.Errorf("process %d not running before Close: %v", pid, err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// Every one of them was waited for (watchdogs and emulators by the pool, runtimes by the
	// emulators or by init), so gone means gone, not a zombie.
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range all {
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d survived Close", pid)
		}
	}
}

func testRequest(target string) *http.Request {
	req := httptest.NewRequest("GET", target, nil)
	req.Host = testAddr
	return req
}
