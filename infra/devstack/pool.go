package devstack

import "codex/infra/gateway"

// Pool returns the emulator pool that runs function id (a logical id of template.yaml), or nil when
// the stack serves no such function. Its Config is the function as the stack runs it (bootstrap,
// environment, timeout, memory size, emulator binary): make bench makes fresh pools from it to
// measure cold starts.
func (s *Stack) Pool(id string) *gateway.RIEPool { return s.pools[id] }
