package api_test

import (
	"context"
	"time"

	"codex/pkg/api"
	"codex/pkg/codex"
	"codex/pkg/codex/codextest"
	"codex/pkg/dynamo"
	"codex/pkg/registry"
	"codex/pkg/webhook"
)

// The route tests of package api run the registry's wiring; see RegistryRoutes. The webhook
// routes get a stand-in for KMS and a queue that accepts every message.
func init() {
	api.RegistryRoutes = func(s *dynamo.Store, now codex.Clock, pageURL string, github api.SignatureVerifier) map[string]api.Route {
		return registry.Routes(registry.Deps{Store: s, Now: now, PageURL: pageURL, GitHubKeys: github, Sealer: codextest.Sealer{},
			Queue: &codextest.Queue{SendFn: func(context.Context, webhook.Message, time.Duration) error { return nil }}})
	}
}
