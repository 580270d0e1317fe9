package api_test

import (
	"codex/pkg/api"
	"codex/pkg/codex"
	"codex/pkg/dynamo"
	"codex/pkg/registry"
)

// The route tests of package api run the registry's wiring; see RegistryRoutes.
func init() {
	api.RegistryRoutes = func(s *dynamo.Store, now codex.Clock, pageURL string, github api.SignatureVerifier) map[string]api.Route {
		return registry.Routes(registry.Deps{Store: s, Now: now, PageURL: pageURL, GitHubKeys: github})
	}
}
