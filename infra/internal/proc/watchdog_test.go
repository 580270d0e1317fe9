//go:build unix

package proc

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary, started again by a test, act as the parent process of a
// watched group instead of running tests: see TestMain.
const helperEnv = "PROC_TEST_WATCHDOG_PARENT"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		watchdogParent()
		return
	}
	os.Exit(m.Run())
}

// watchdogParent starts a process group (a long sleep) with a watchdog, prints their pids and
// waits to be killed. The group is made by hand, without Linux's parent-death signal, so that
// only the watchdog can end it.
func watchdogParent() {
	cmd := exec.Command("sleep", "300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	w, err := StartWatchdog(cmd.Process.Pid)
	if err != nil {
		Kill(cmd.Process)
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(cmd.Process.Pid, w.Pid())
	select {}
}

// TestWatchdogEndsGroupWhenParentDies kills (SIGKILL, so nothing of the parent runs) a process
// that started a group with a watchdog, and expects the whole group to be gone soon after.
func TestWatchdogEndsGroupWhenParentDies(t *testing.T) {
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), helperEnv+"=1")
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = parent.Process.Kill(); _ = parent.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the helper's pids: %v", err)
	}
	var sleepPid, watchdogPid int
	if _, err := fmt.Sscan(line, &sleepPid, &watchdogPid); err != nil {
		t.Fatalf("helper said %q", line)
	}
	t.Cleanup(func() { _ = syscall.Kill(-sleepPid, syscall.SIGKILL) }) // if the watchdog failed
	if gone(sleepPid) || gone(watchdogPid) {
		t.Fatalf("sleep %d or watchdog %d gone before the parent died", sleepPid, watchdogPid)
	}

	if err := parent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	// Generous: the shell only has to be scheduled once, but test machines are busy.
	deadline := time.Now().Add(20 * time.Second)
	for !gone(sleepPid) || !gone(watchdogPid) {
		if time.Now().After(deadline) {
			t.Fatalf("20 s after its parent died: sleep gone %v, watchdog gone %v", gone(sleepPid), gone(watchdogPid))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWatchdogStop: Stop ends the watchdog and, with it, what is left of the group.
func TestWatchdogStop(t *testing.T) {
	cmd := exec.Command("sleep", "300")
	NewGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w, err := StartWatchdog(cmd.Process.Pid)
	if err != nil {
		Kill(cmd.Process)
		_ = cmd.Wait()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	w.Stop()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("sleep ended with %v, want SIGKILL", err)
		}
	case <-time.After(20 * time.Second):
		Kill(cmd.Process)
		t.Fatal("sleep still running 20 s after the watchdog stopped")
	}
	if !gone(w.Pid()) {
		t.Errorf("watchdog %d still there after Stop", w.Pid())
	}
}

func TestStartWatchdogNeedsGroup(t *testing.T) {
	// A process that leads no group (it was started without NewGroup): no group of its id.
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if w, err := StartWatchdog(cmd.Process.Pid); err == nil {
		w.Stop()
		t.Error("StartWatchdog joined a group that does not exist")
	}
}

// gone reports whether pid has exited: no such process, or a zombie (its new parent, init or the
// machine's pid 1, may be slow to reap it or never do so).
func gone(pid int) bool {
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
