//go:build unix && !linux

package gateway

import "syscall"

func setPdeathsig(*syscall.SysProcAttr) {}

// childPIDs is only implemented on Linux; elsewhere a runtime left behind by a killed emulator
// exits on its own once the Runtime API it polls is gone.
func childPIDs(int) []int { return nil }
