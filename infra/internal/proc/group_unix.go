//go:build unix

package proc

import (
	"os"
	"os/exec"
	"syscall"
)

// NewGroup makes cmd start as the leader of a new process group: a Ctrl-C in the terminal then
// reaches only this process, which stops the server itself and in order, and Terminate and Kill
// reach whatever the server leaves behind in its group. On Linux the kernel also SIGKILLs the
// server when this process dies (DiesWithParent); elsewhere the caller adds a backstop.
func NewGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setPdeathsig(cmd.SysProcAttr)
}

// Terminate sends SIGTERM to the process group that p leads. Call it only while p has not been
// waited for: once p is reaped, its id may name an unrelated group.
func Terminate(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGTERM) }

// Kill sends SIGKILL to the process group that p leads, under the same condition as Terminate.
func Kill(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }

// KillGroupIfLeader SIGKILLs the group of pid, a process this one did not start (so cannot wait
// for), only if pid still leads a group: if it has exited and its id was reused, the new process
// is very unlikely to lead a group of that id too.
func KillGroupIfLeader(pid int) {
	if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}
