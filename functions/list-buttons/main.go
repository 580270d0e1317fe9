// Command list-buttons is ListButtonsFunction of template.yaml; see codex/pkg/registry.
package main

import "codex/pkg/registry"

func main() { registry.Main(registry.ListButtons) }
