// Command button-page is ButtonPageFunction of template.yaml; see codex/pkg/registry.
package main

import "codex/pkg/registry"

func main() { registry.Main(registry.ButtonPage) }
