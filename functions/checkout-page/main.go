// Command checkout-page is CheckoutPageFunction of template.yaml; see codex/pkg/registry.
package main

import "codex/pkg/registry"

func main() { registry.Main(registry.CheckoutPage) }
