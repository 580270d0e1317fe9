// Command button-page-checkout is ButtonPageCheckoutFunction of template.yaml; see codex/pkg/registry.
package main

import "codex/pkg/registry"

func main() { registry.Main(registry.ButtonPageCheckout) }
