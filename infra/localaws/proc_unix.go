//go:build unix

package localaws

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcAttrs puts the server in its own process group, so that Stop reaches any process the
// interpreter (or a pyenv shim in front of it) leaves behind, and so that a Ctrl-C aimed at
// `make dev` is handled by the Go side rather than killing the server mid-request.
func setProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setPdeathsig(cmd.SysProcAttr)
}

func terminate(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGTERM) }

func kill(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
