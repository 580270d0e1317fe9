package checks

import (
	"testing"

	"codex/pkg/registry"
)

// TestPageURLVariables: every function that renders a checkout's url reads CHECKOUT_BASE_URL and,
// since the parameter is empty by default, PUBLIC_API_URL, the stack's own page; only a function
// of PublicApi itself, which template.yaml cannot name to it (a circular dependency), goes without
// and takes the host of its request. make dev sets CHECKOUT_BASE_URL for every function, so only
// this test catches a function deployed with neither.
func TestPageURLVariables(t *testing.T) {
	tpl := loadTemplate(t)
	onPublic := map[string]bool{}
	for _, r := range tpl.Routes() {
		if r.API == "PublicApi" {
			onPublic[r.Function] = true
		}
	}
	for _, f := range registry.All() {
		fn := tpl.Functions[f.ID]
		if fn == nil {
			continue // TestRoutesAreWired names it
		}
		_, base := fn.Environment["CHECKOUT_BASE_URL"]
		_, public := fn.Environment["PUBLIC_API_URL"]
		switch {
		case f.NeedsPageURL() && !base:
			t.Errorf("%s renders checkout urls but template.yaml gives it no CHECKOUT_BASE_URL", f.ID)
		case f.NeedsPageURL() && !public && !onPublic[f.ID]:
			t.Errorf("%s renders checkout urls but template.yaml gives it no PUBLIC_API_URL, where the page is by default", f.ID)
		case f.NeedsPageURL() && public && onPublic[f.ID]:
			t.Errorf("%s serves on PublicApi: naming PublicApi in its environment is a circular dependency", f.ID)
		case !f.NeedsPageURL() && (base || public):
			t.Errorf("%s does not render checkout urls; drop CHECKOUT_BASE_URL and PUBLIC_API_URL from it", f.ID)
		}
	}
}
