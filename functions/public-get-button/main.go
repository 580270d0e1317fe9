// Command public-get-button is PublicGetButtonFunction of template.yaml; see codex/pkg/registry.
package main

import "codex/pkg/registry"

func main() { registry.Main(registry.PublicGetButton) }
