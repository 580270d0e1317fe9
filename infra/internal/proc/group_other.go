//go:build !unix

package proc

import (
	"os"
	"os/exec"
)

// DiesWithParent is false: nothing here ends a child when this process dies.
const DiesWithParent = false

// NewGroup does nothing: there are no process groups here.
func NewGroup(*exec.Cmd) {}

// Terminate kills p alone: there are no groups to signal, and no SIGTERM.
func Terminate(p *os.Process) { _ = p.Kill() }

// Kill kills p alone.
func Kill(p *os.Process) { _ = p.Kill() }
