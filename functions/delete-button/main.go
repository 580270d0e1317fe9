// Command delete-button is DeleteButtonFunction of template.yaml; see codex/pkg/registry.
package main

import "codex/pkg/registry"

func main() { registry.Main(registry.DeleteButton) }
