package gateway

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// setPdeathsig makes the kernel kill an emulator when the gateway dies without stopping it (a
// panic, SIGKILL), so no emulator keeps its port. Its runtime then loses the Runtime API and exits.
func setPdeathsig(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

// childPIDs lists the children of pid by scanning /proc (the kernel's children file is not always
// available).
func childPIDs(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// Fields after the parenthesised command name: state, ppid, ...
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := bytes.Fields(b[i+1:])
		if len(fields) < 2 || string(fields[1]) != strconv.Itoa(pid) {
			continue
		}
		if child, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
			out = append(out, child)
		}
	}
	return out
}
