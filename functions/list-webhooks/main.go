// Command list-webhooks is ListWebhooksFunction of template.yaml; see codex/pkg/registry.
package main

import "codex/pkg/registry"

func main() { registry.Main(registry.ListWebhooks) }
