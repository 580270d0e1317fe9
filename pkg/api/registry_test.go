package api_test

import (
	"codex/pkg/api"
	"codex/pkg/codex"
	"codex/pkg/dynamo"
	"codex/pkg/registry"
)

// The route tests of package api run the registry's wiring; see RegistryRoutes.
func init() {
	api.RegistryRoutes = func(s *dynamo.Store, now codex.Clock, pageURL string) map[string]api.Route {
		return registry.Routes(registry.Deps{Store: s, Now: now, PageURL: pageURL})
	}
}
