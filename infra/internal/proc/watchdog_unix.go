//go:build unix

package proc

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// Watchdog ends a process group when this process dies, however it dies: the backstop where the
// kernel has none (!DiesWithParent). It is a shell in the group, blocked reading a pipe whose only
// writer is this process; the kernel closes that pipe when this process exits, the read returns,
// and the shell SIGKILLs its own group. No polling, and no pid to go stale: as a member, the shell
// keeps the group's id from being reused for as long as it can send the signal.
type Watchdog struct {
	cmd  *exec.Cmd
	pipe *os.File // the write end; never written, closed by Stop or by this process's death
}

// StartWatchdog starts a watchdog in the process group pgid, which must exist: start it right after
// the group's leader (started with NewGroup) and before waiting for the leader.
func StartWatchdog(pgid int) (*Watchdog, error) {
	r, w, err := os.Pipe() // close-on-exec: no other child inherits the write end
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// `read` returns at end of file; kill's pid 0 is the shell's own process group.
	cmd := exec.Command("/bin/sh", "-c", "read line; kill -s KILL 0")
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: pgid}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start a watchdog in process group %d: %w", pgid, err)
	}
	return &Watchdog{cmd: cmd, pipe: w}, nil
}

// Pid is the watchdog's process id.
func (w *Watchdog) Pid() int { return w.cmd.Process.Pid }

// Stop ends the watchdog and waits for it. The watchdog SIGKILLs whatever is left of its group, so
// stop the group's leader first.
func (w *Watchdog) Stop() {
	w.pipe.Close()
	_ = w.cmd.Wait() // killed by its own signal, or earlier by a signal to the group
}
