package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"codex/infra/internal/proc"
)

// RIEFunction is a function to run under the Lambda Runtime Interface Emulator.
type RIEFunction struct {
	Name      string // logical id; the function's AWS_LAMBDA_FUNCTION_NAME
	Bootstrap string // the built bootstrap executable
	// Env is the function's whole environment ("KEY=value"); nothing is inherited from this
	// process, so a developer's own AWS credentials or endpoints never reach a function.
	Env      []string
	Timeout  time.Duration // the template's Timeout, enforced by the emulator
	MemoryMB int
}

// RIEOptions configures an RIEPool.
type RIEOptions struct {
	// Binary is the aws-lambda-rie executable.
	Binary string
	// MaxInstances bounds the emulators (execution environments) of the function; default 4.
	MaxInstances int
	// Log receives the function's output (one record per line) and the emulator's errors.
	Log *slog.Logger
}

// RIEPool runs a function's real bootstrap under aws-lambda-rie. The emulator crashes when
// invocations overlap, so each emulator serves one invocation at a time and the pool holds up to
// MaxInstances of them, started on demand: the model of Lambda execution environments. An
// emulator whose process died, or whose invocation was abandoned at the integration timeout (it
// would still be busy), is stopped and replaced by a fresh one on the next invocation.
type RIEPool struct {
	fn    RIEFunction
	opts  RIEOptions
	slots chan struct{}

	mu     sync.Mutex
	idle   []*emulator
	all    map[*emulator]bool
	closed bool
}

// NewRIEPool returns a pool; no process starts until the first invocation.
func NewRIEPool(fn RIEFunction, opts RIEOptions) *RIEPool {
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = 4
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &RIEPool{fn: fn, opts: opts, slots: make(chan struct{}, opts.MaxInstances), all: map[*emulator]bool{}}
}

var errPoolClosed = errors.New("function pool is closed")

// Invoke runs one invocation on an idle emulator, starting one if none is idle and the pool is not
// full, else waiting for one until ctx ends.
func (p *RIEPool) Invoke(ctx context.Context, payload []byte) (Invocation, error) {
	e, release, err := p.acquire(ctx)
	if err != nil {
		return Invocation{}, err
	}
	inv, healthy, err := e.invoke(ctx, payload)
	release(healthy)
	return inv, err
}

// Start starts one emulator ahead of the first invocation, unless one is idle already. The emulator
// starts the function's runtime only on its first invocation, so that invocation then takes exactly
// the function's cold start (init and first invoke) without the emulator's own start-up: make bench
// measures cold starts that way.
func (p *RIEPool) Start(ctx context.Context) error {
	_, release, err := p.acquire(ctx)
	if err == nil {
		release(true)
	}
	return err
}

// acquire takes one of the pool's MaxInstances slots and an emulator for it; release gives both
// back, keeping the emulator only if healthy.
func (p *RIEPool) acquire(ctx context.Context) (*emulator, func(healthy bool), error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	e, err := p.get(ctx)
	if err != nil {
		<-p.slots
		return nil, nil, err
	}
	return e, func(healthy bool) { p.put(e, healthy); <-p.slots }, nil
}

func (p *RIEPool) get(ctx context.Context) (*emulator, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errPoolClosed
	}
	if n := len(p.idle); n > 0 {
		e := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if !e.exited() {
			return e, nil
		}
		p.discard(e)
		p.mu.Lock()
	}
	p.mu.Unlock()

	e, err := startEmulator(ctx, p.fn, p.opts)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		// Closed while this one was starting: Close did not see it, so stop it here.
		p.mu.Unlock()
		e.stop()
		return nil, errPoolClosed
	}
	p.all[e] = true
	p.mu.Unlock()
	return e, nil
}

func (p *RIEPool) put(e *emulator, healthy bool) {
	p.mu.Lock()
	if healthy && !p.closed && !e.exited() {
		p.idle = append(p.idle, e)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.discard(e)
}

func (p *RIEPool) discard(e *emulator) {
	p.mu.Lock()
	delete(p.all, e)
	p.mu.Unlock()
	e.stop()
}

// Config returns the function and options the pool was made with (defaults applied), so that a
// caller can make another pool of the same function.
func (p *RIEPool) Config() (RIEFunction, RIEOptions) { return p.fn, p.opts }

// Close stops every emulator of the pool and the runtimes they started, and waits for them.
func (p *RIEPool) Close() error {
	p.mu.Lock()
	p.closed = true
	all := make([]*emulator, 0, len(p.all))
	for e := range p.all {
		all = append(all, e)
	}
	p.all, p.idle = map[*emulator]bool{}, nil
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range all {
		wg.Go(e.stop)
	}
	wg.Wait()
	return nil
}

// PIDs lists the process ids of the pool's emulators and of the runtimes (bootstraps) they run.
func (p *RIEPool) PIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pids []int
	for e := range p.all {
		pids = append(pids, e.cmd.Process.Pid)
		pids = append(pids, proc.Children(e.cmd.Process.Pid)...)
	}
	return pids
}

// emulator is one aws-lambda-rie process, in its own process group so that a Ctrl-C aimed at the
// gateway reaches the gateway alone, which then stops everything in order.
type emulator struct {
	fn       string
	cmd      *exec.Cmd
	watchdog *proc.Watchdog // nil where the kernel kills the emulator with the gateway (Linux)
	addr     string         // the invoke API, 127.0.0.1:port
	out      *lineLogger
	done     chan struct{}
	waitErr  error
	once     sync.Once
}

// watchdogs is whether each emulator gets a proc.Watchdog in its process group: wherever the kernel
// does not kill it when the gateway dies without stopping it (a second Ctrl-C, a panic, go test's
// timeout), it would otherwise keep running and hold its ports. A variable so that Linux tests can
// run the pool as macOS does.
var watchdogs = !proc.DiesWithParent

const invokePath = "/2015-03-31/functions/function/invocations"

// rieClient talks to every emulator of the process. No client timeout: the caller's context (the
// integration timeout) bounds each invocation.
var rieClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}}

func startEmulator(ctx context.Context, fn RIEFunction, opts RIEOptions) (*emulator, error) {
	return proc.RetryPortTaken(func() (*emulator, error) { return tryStartEmulator(ctx, fn, opts) })
}

func tryStartEmulator(ctx context.Context, fn RIEFunction, opts RIEOptions) (*emulator, error) {
	ports, err := proc.FreePorts(2)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	bootstrap, err := filepath.Abs(fn.Bootstrap)
	if err != nil {
		return nil, err
	}
	timeout := int((fn.Timeout + time.Second - 1) / time.Second)
	if timeout < 1 {
		timeout = 3 // Lambda's default
	}
	// Both addresses are given: the emulator's defaults listen on 0.0.0.0:8080.
	cmd := exec.Command(opts.Binary,
		"--log-level", "error",
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(ports[1]),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	// The emulator passes its whole environment to the bootstrap, so this is the function's too.
	// Clipped: emulators of one function start concurrently, and appending to fn.Env's spare
	// capacity would have them write the same backing array (a data race).
	cmd.Env = append(slices.Clip(fn.Env),
		"AWS_LAMBDA_FUNCTION_NAME="+fn.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(fn.MemoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(timeout),
		"LAMBDA_TASK_ROOT="+cmd.Dir,
	)
	out := newLineLogger(opts.Log, fn.Name)
	cmd.Stdout, cmd.Stderr = out, out
	proc.NewGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the Lambda emulator for %s: %w", fn.Name, err)
	}
	e := &emulator{fn: fn.Name, cmd: cmd, addr: addr, out: out, done: make(chan struct{})}
	if watchdogs {
		// Before anything waits for the emulator: its group must still exist to be joined. (Should
		// the gateway die between the two starts, this emulator is left behind.)
		if e.watchdog, err = proc.StartWatchdog(cmd.Process.Pid); err != nil {
			proc.Kill(cmd.Process)
			_ = cmd.Wait()
			return nil, fmt.Errorf("the Lambda emulator for %s: %w", fn.Name, err)
		}
	}
	go func() {
		e.waitErr = cmd.Wait()
		out.flush()
		close(e.done)
	}()

	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return e, nil
		}
		select {
		case <-e.done:
			e.stop() // its watchdog and runtime, if any
			tail := out.tail()
			if strings.Contains(tail, "address already in use") {
				return nil, proc.ErrPortTaken
			}
			return nil, fmt.Errorf("the Lambda emulator for %s exited at start (%v): %s", fn.Name, e.waitErr, tail)
		case <-ctx.Done():
			e.stop()
			return nil, ctx.Err()
		case <-deadline.C:
			e.stop()
			return nil, fmt.Errorf("the Lambda emulator for %s did not listen on %s within 10s", fn.Name, addr)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (e *emulator) exited() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// maxResponseBytes is Lambda's limit on a synchronous invocation's response.
const maxResponseBytes = 6 << 20

// invoke runs one invocation. healthy is false when the emulator must not be reused.
func (e *emulator) invoke(ctx context.Context, payload []byte) (inv Invocation, healthy bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+e.addr+invokePath, bytes.NewReader(payload))
	if err != nil {
		return Invocation{}, false, err
	}
	req.Header.Set("X-Amzn-RequestId", uuid.NewString())
	resp, err := rieClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			// The invocation may still be running inside; another one would overlap it.
			return Invocation{}, false, ctx.Err()
		}
		return Invocation{}, false, fmt.Errorf("function %s: the Lambda emulator failed: %w", e.fn, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return Invocation{}, false, ctx.Err()
		}
		return Invocation{}, false, fmt.Errorf("function %s: reading the emulator's answer: %w", e.fn, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK && bytes.HasPrefix(body, []byte("Task timed out after")):
		// The emulator's rendering of a function timeout (Lambda's Sandbox.Timedout); it resets
		// the runtime itself.
		doc, _ := json.Marshal(map[string]string{"errorType": "Sandbox.Timedout", "errorMessage": string(body)})
		return Invocation{Payload: doc, FunctionError: "Unhandled"}, true, nil
	case resp.StatusCode == http.StatusOK && isErrorDocument(body):
		// The emulator drops Lambda's X-Amz-Function-Error header, so an error the handler
		// returned is recognised by the document the runtime client posts for it.
		return Invocation{Payload: body, FunctionError: "Unhandled"}, !e.exited(), nil
	case resp.StatusCode == http.StatusOK && len(body) > maxResponseBytes:
		doc, _ := json.Marshal(map[string]string{"errorType": "Function.ResponseSizeTooLarge",
			"errorMessage": fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxResponseBytes)})
		return Invocation{Payload: doc, FunctionError: "Unhandled"}, !e.exited(), nil
	case resp.StatusCode == http.StatusOK:
		return Invocation{Payload: body}, !e.exited(), nil
	case resp.StatusCode == http.StatusBadGateway:
		// A panic or an exit of the runtime (Runtime.ExitError); the emulator starts a new
		// runtime on the next invocation, as Lambda does.
		return Invocation{Payload: body, FunctionError: "Unhandled"}, !e.exited(), nil
	}
	return Invocation{}, false, fmt.Errorf("function %s: the Lambda emulator answered %s: %.200s", e.fn, resp.Status, body)
}

// isErrorDocument reports Lambda's function error document: an object with errorMessage and
// errorType and nothing but stackTrace or cause besides. A response object always has a
// statusCode, so no genuine response of this API looks like this.
func isErrorDocument(body []byte) bool {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil || doc["errorMessage"] == nil || doc["errorType"] == nil {
		return false
	}
	for k := range doc {
		switch k {
		case "errorMessage", "errorType", "stackTrace", "cause":
		default:
			return false
		}
	}
	return true
}

// stop terminates the emulator and its runtime: SIGTERM first, on which the emulator kills the
// runtime and exits; then SIGKILL to both process groups for anything left after two seconds.
func (e *emulator) stop() {
	e.once.Do(func() {
		runtimes := proc.Children(e.cmd.Process.Pid) // the bootstraps run in process groups of their own
		// An emulator already waited for is not signalled: its pid, and so its group's id, may
		// have been reused.
		if !e.exited() {
			proc.Stop(e.cmd.Process, e.done, 2*time.Second)
		}
		if e.watchdog != nil {
			e.watchdog.Stop()
		}
		for _, r := range runtimes {
			proc.KillGroupIfLeader(r)
		}
	})
}
