package devstack

import "codex/infra/samtemplate"

// localParameters are the template parameters the local stack sets rather than their defaults:
// make dev's webhook receivers are on loopback, which the deployed default refuses.
var localParameters = map[string]string{"WebhookAllowLoopback": "true"}

// addLocalParameters adds localParameters that the template declares to names.
func addLocalParameters(n map[string]string, tpl *samtemplate.Template) {
	for k, v := range localParameters {
		if _, ok := tpl.Parameters[k]; ok {
			n[k] = v
		}
	}
}
