//go:build unix

package gateway

import (
	"os/exec"
	"syscall"
)

// setProcAttrs puts an emulator in its own process group: a Ctrl-C in the terminal then reaches
// only the gateway, which stops the emulators itself, and a stop can signal the whole group.
func setProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setPdeathsig(cmd.SysProcAttr)
}

func signalGroup(pid int, sig syscall.Signal) { _ = syscall.Kill(-pid, sig) }

// killRuntime kills a bootstrap the emulator left behind. The emulator starts each runtime as the
// leader of a new process group, so the group is killed only if pid still leads one (it has not
// exited and been replaced by an unrelated process).
func killRuntime(pid int) {
	if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}
