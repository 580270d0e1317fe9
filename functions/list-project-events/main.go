// Command list-project-events is ListProjectEventsFunction of template.yaml; see codex/pkg/registry.
package main

import "codex/pkg/registry"

func main() { registry.Main(registry.ListProjectEvents) }
