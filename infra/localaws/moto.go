// Package localaws is the local AWS that tests and `make dev` run against: a moto server started
// and stopped by the caller, and the template's tables and user pool created in it (or in any
// endpoint named by AWS_ENDPOINT_URL_*) from template.yaml itself, so the local schema cannot drift
// from the deployed one.
package localaws

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"codex/infra/internal/proc"
)

// MotoVersion is the moto release the repository is tested with. sitecustomize.py patches moto's
// internals, so StartMoto refuses any other version rather than run a server the patch may not fit.
// .ci/run pins the same version (TestCIPinsMotoVersion).
const MotoVersion = "5.2.1"

// motoInstall is the command that installs MotoVersion.
const motoInstall = `pip install "moto[server]==` + MotoVersion + `"`

// Errors of StartMoto (wrapped), each naming the command that installs the version that fits.
var (
	// ErrMotoNotInstalled: the interpreter or the moto module is missing.
	ErrMotoNotInstalled = errors.New("moto is required: " + motoInstall)
	// ErrMotoVersion: moto is installed at another version than MotoVersion.
	ErrMotoVersion = errors.New("moto " + MotoVersion + " is required: " + motoInstall)
	// ErrMotoLayout: moto no longer has what sitecustomize.py patches, or the patch did not run.
	ErrMotoLayout = errors.New("moto cannot be patched by infra/localaws/sitecustomize.py, which serialises its " +
		"DynamoDB requests, so it is not started unpatched (moto " + MotoVersion + " fits: " + motoInstall + ")")
)

// Options configures StartMoto. The zero value starts `python3 -m moto.server` on a free port.
type Options struct {
	// Python is the interpreter that has moto installed; default "python3".
	Python string
	// Port is the loopback port to listen on; 0 picks a free one.
	Port int
	// Env is appended to the server's environment (PYTHONPATH and the like).
	Env []string
	// StartTimeout bounds the wait for the server to answer; default 15 s.
	StartTimeout time.Duration
}

// siteCustomize serialises moto's DynamoDB requests; see the file for why. Without it, concurrent
// conditional writes and transactions on moto can both succeed, or a cancelled transaction can
// erase another request's writes, which real DynamoDB never does. It also ends the server when
// the process that started it is gone (parentPIDEnv).
//
//go:embed sitecustomize.py
var siteCustomize []byte

// parentPIDEnv tells sitecustomize.py the pid of the process that started the server, so that it
// can check that it watches that process and not a wrapper in between.
const parentPIDEnv = "CODEX_MOTO_PARENT_PID"

// versionEnv tells sitecustomize.py the moto version to insist on.
const versionEnv = "CODEX_MOTO_VERSION"

// patchedFile is what sitecustomize.py writes next to itself once it has patched moto.
const patchedFile = "patched"

// Server is a running moto server in its own process group.
type Server struct {
	cmd      *exec.Cmd
	endpoint string
	out      *tailBuffer
	done     chan struct{} // closed once the process has exited and been reaped
	waitErr  error         // valid after done is closed

	stopOnce sync.Once
	stopErr  error
}

// httpClient polls readiness and calls the moto API; one per process.
var httpClient = &http.Client{Timeout: 5 * time.Second}

// StartMoto starts `python -m moto.server` on 127.0.0.1 and returns once it answers HTTP. The
// module is started directly rather than through the moto_server script, whose wrapper would hide
// the real process from Stop. ctx bounds only the startup; the server runs until Stop.
func StartMoto(ctx context.Context, opts Options) (*Server, error) {
	if opts.Python == "" {
		opts.Python = "python3"
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 15 * time.Second
	}
	if opts.Port != 0 {
		return startMoto(ctx, opts, opts.Port)
	}
	return proc.RetryPortTaken(func() (*Server, error) {
		ports, err := proc.FreePorts(1)
		if err != nil {
			return nil, err
		}
		return startMoto(ctx, opts, ports[0])
	})
}

func startMoto(ctx context.Context, opts Options, port int) (*Server, error) {
	// Python has imported sitecustomize.py long before the server answers, so the file is needed
	// only until this function returns; removing it here rather than when the server exits
	// leaves nothing behind if this process is killed while the server runs.
	patchDir, err := os.MkdirTemp("", "codex-moto-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(patchDir)
	cmd, err := motoCommand(opts, port, patchDir)
	if err != nil {
		return nil, err
	}
	out := newTailBuffer(64 << 10)
	cmd.Stdout, cmd.Stderr = out, out
	// A process group of its own; on Linux the kernel also kills the server when this process
	// dies, elsewhere sitecustomize.py's parent watch does it.
	proc.NewGroup(cmd)
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w (%v)", ErrMotoNotInstalled, err)
		}
		return nil, fmt.Errorf("start moto: %w", err)
	}
	s := &Server{cmd: cmd, endpoint: "http://127.0.0.1:" + strconv.Itoa(port), out: out, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	deadline := time.NewTimer(opts.StartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.answers(ctx) {
			// Written before the server module ran, so it is there if it will ever be.
			if _, err := os.Stat(filepath.Join(patchDir, patchedFile)); err != nil {
				s.Stop()
				return nil, fmt.Errorf("%w: the server answered without sitecustomize.py having run (PYTHONPATH replaced, "+
					"or an interpreter that skips site-packages customisation?); output:\n%s", ErrMotoLayout, out.tail(20))
			}
			return s, nil
		}
		select {
		case <-s.done:
			return nil, s.exitError(opts.Python)
		case <-ctx.Done():
			s.Stop()
			return nil, fmt.Errorf("start moto: %w", ctx.Err())
		case <-deadline.C:
			s.Stop()
			return nil, fmt.Errorf("moto did not answer on %s within %s; output:\n%s", s.endpoint, opts.StartTimeout, out.tail(20))
		case <-tick.C:
		}
	}
}

// motoCommand writes sitecustomize.py into patchDir and returns the server's command, with
// patchDir first on its PYTHONPATH. The caller sets its output and process attributes.
func motoCommand(opts Options, port int, patchDir string) (*exec.Cmd, error) {
	if err := os.WriteFile(filepath.Join(patchDir, "sitecustomize.py"), siteCustomize, 0o644); err != nil {
		return nil, err
	}
	pythonPath := patchDir
	if p := os.Getenv("PYTHONPATH"); p != "" {
		pythonPath += string(os.PathListSeparator) + p
	}
	cmd := exec.Command(opts.Python, "-m", "moto.server", "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(append(os.Environ(),
		"PYTHONPATH="+pythonPath,
		parentPIDEnv+"="+strconv.Itoa(os.Getpid()),
		versionEnv+"="+MotoVersion,
	), opts.Env...)
	// Last, so that neither the environment nor opts.Env turns it back on: with global CORS, moto
	// answers any origin's preflight, and any web page the developer opens could drive it.
	cmd.Env = append(cmd.Env, "MOTO_DISABLE_GLOBAL_CORS=true")
	return cmd, nil
}

// answers reports whether the server responds to its dashboard URL, a cheap request that touches
// no service backend.
func (s *Server) answers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint+"/moto-api/", nil)
	if err != nil {
		return false
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// exitError explains an exit during startup from the server's last output lines.
func (s *Server) exitError(python string) error {
	tail := s.out.tail(20)
	switch {
	case strings.Contains(tail, "codex-moto-version: "):
		_, found, _ := strings.Cut(tail, "codex-moto-version: ")
		return fmt.Errorf("%w (%s)", ErrMotoVersion, firstLine(found))
	case strings.Contains(tail, "codex-moto-layout: "):
		_, detail, _ := strings.Cut(tail, "codex-moto-layout: ")
		return fmt.Errorf("%w: %s", ErrMotoLayout, firstLine(detail))
	case strings.Contains(tail, "No module named"):
		// moto itself, or one of its server extras (flask, werkzeug), is missing.
		return fmt.Errorf("%w (%s -m moto.server: %s)", ErrMotoNotInstalled, python, lastLine(tail))
	case strings.Contains(tail, "Address already in use"):
		return fmt.Errorf("moto on %s: %w", s.endpoint, proc.ErrPortTaken)
	case strings.Contains(tail, "command not found"), strings.Contains(tail, "No such file or directory"):
		return fmt.Errorf("%w (%s: %s)", ErrMotoNotInstalled, python, lastLine(tail))
	}
	return fmt.Errorf("moto exited during startup (%v); output:\n%s", s.waitErr, tail)
}

// Endpoint is the server's base URL, e.g. http://127.0.0.1:43211, for every service.
func (s *Server) Endpoint() string { return s.endpoint }

// Stop terminates the server's process group (SIGTERM, then SIGKILL after 5 s) and waits for it.
// It is safe to call more than once. It returns an error, with the server's last output, if the
// server had already died on its own, since tests that ran against it then saw a dead endpoint.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		select {
		case <-s.done:
			s.stopErr = fmt.Errorf("moto had already exited (%v); output:\n%s", s.waitErr, s.out.tail(20))
			return
		default:
		}
		proc.Stop(s.cmd.Process, s.done, 5*time.Second)
	})
	return s.stopErr
}

// Reset clears all of the server's state (every table, pool and user) via POST /moto-api/reset.
func (s *Server) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: %s", resp.Status)
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it: moto logs every request, so a long test
// run would otherwise hold all of them in memory for an error message that needs a few lines.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// tail returns the last n lines.
func (b *tailBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := strings.Split(strings.TrimRight(string(b.buf), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func lastLine(s string) string {
	return s[strings.LastIndexByte(s, '\n')+1:]
}
