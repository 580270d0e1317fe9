// Command button-script is ButtonScriptFunction of template.yaml; see codex/pkg/registry.
package main

import "codex/pkg/registry"

func main() { registry.Main(registry.ButtonScript) }
