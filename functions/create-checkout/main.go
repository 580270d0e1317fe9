// Command create-checkout is CreateCheckoutFunction of template.yaml; see codex/pkg/registry.
package main

import "codex/pkg/registry"

func main() { registry.Main(registry.CreateCheckout) }
