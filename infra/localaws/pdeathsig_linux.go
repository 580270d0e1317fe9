package localaws

import "syscall"

// setPdeathsig makes the kernel kill the server if the test binary dies without calling Stop
// (a panic, a timeout, SIGKILL), so no orphaned moto keeps its port.
func setPdeathsig(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
