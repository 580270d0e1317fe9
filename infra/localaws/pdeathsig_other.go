//go:build unix && !linux

package localaws

import "syscall"

// setPdeathsig has no equivalent outside Linux; Stop remains the only cleanup.
func setPdeathsig(*syscall.SysProcAttr) {}
