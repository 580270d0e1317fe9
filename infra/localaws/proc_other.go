//go:build !unix

package localaws

import (
	"os"
	"os/exec"
)

// Without process groups, Stop can only kill the interpreter itself.
func setProcAttrs(*exec.Cmd) {}

func terminate(p *os.Process) { _ = p.Kill() }

func kill(p *os.Process) { _ = p.Kill() }
