//go:build unix && !linux

package proc

import "syscall"

// DiesWithParent is false: outside Linux (macOS included) the kernel has no parent-death signal,
// so a child outlives a process that dies without stopping it unless it has a backstop (a
// Watchdog, or moto's own parent watch).
const DiesWithParent = false

func setPdeathsig(*syscall.SysProcAttr) {}

// Children is only implemented on Linux (it reads /proc).
func Children(int) []int { return nil }
