// Command pay-checkout is PayCheckoutFunction of template.yaml; see codex/pkg/registry.
package main

import "codex/pkg/registry"

func main() { registry.Main(registry.PayCheckout) }
