// Command github-secret-scanning is GithubSecretScanningFunction of template.yaml; see codex/pkg/registry.
package main

import "codex/pkg/registry"

func main() { registry.Main(registry.GithubSecretScanning) }
