//go:build !unix

package proc

import (
	"os"
	"os/exec"
)

// DiesWithParent: nothing here ends a child when this process dies.
const DiesWithParent = false

// NewGroup does nothing without process groups; Terminate and Kill reach the process alone.
func NewGroup(*exec.Cmd) {}

func Terminate(p *os.Process) { _ = p.Kill() }

func Kill(p *os.Process) { _ = p.Kill() }
