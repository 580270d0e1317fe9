package checks

import (
	"slices"
	"strings"
	"testing"
)

// TestCORSOnlyOnPublicRoutes: the buyer-facing routes (publicPath) live on PublicApi, the only API
// with CORS (any origin, no credentials, only what the snippet sends); every other route is on an
// API without CORS, so no other site's script can read the dashboard's or the merchant API's answers.
func TestCORSOnlyOnPublicRoutes(t *testing.T) {
	tpl := loadTemplate(t)
	public := tpl.HTTPAPIs["PublicApi"]
	if public == nil {
		t.Fatal("no PublicApi")
	}
	for _, r := range tpl.Routes() {
		if isPublic := publicPath(r.Path); isPublic != (r.API == "PublicApi") {
			t.Errorf("%s %s is on %s: public routes (%v), and only they, belong on PublicApi", r.Method, r.Path, r.API, publicPrefixes)
		}
	}
	for id, api := range tpl.HTTPAPIs {
		if id != "PublicApi" && api.CORS != nil {
			t.Errorf("%s has a CorsConfiguration; only PublicApi may", id)
		}
		// samtemplate refuses a DefaultAuthorizer, so routes without Auth.Authorizer are open.
		if id == "PublicApi" && len(api.Authorizers) > 0 {
			t.Errorf("PublicApi has authorizers; its routes are open by design")
		}
	}
	c := public.CORS
	if c == nil {
		t.Fatal("PublicApi has no CorsConfiguration")
	}
	if !slices.Equal(c.AllowOrigins, []string{"*"}) || c.AllowCredentials {
		t.Errorf("PublicApi CORS: origins %v, credentials %v; want any origin and no credentials", c.AllowOrigins, c.AllowCredentials)
	}
	var methods []string
	for _, r := range tpl.Routes() {
		if r.API == "PublicApi" && !slices.Contains(methods, r.Method) {
			methods = append(methods, r.Method)
		}
	}
	slices.Sort(methods)
	if got := slices.Sorted(slices.Values(c.AllowMethods)); !slices.Equal(got, methods) {
		t.Errorf("PublicApi CORS methods %v, want exactly the public routes' %v", got, methods)
	}
	if !slices.EqualFunc(c.AllowHeaders, []string{"content-type"}, strings.EqualFold) {
		t.Errorf("PublicApi CORS headers %v, want only content-type (no Authorization: the routes take no credential)", c.AllowHeaders)
	}
}

// publicPrefixes start the paths of the routes a buyer's browser calls: the buy button's JSON
// routes, the hosted checkout page and the button's page without JavaScript; the buy-button
// script (/button.js) is the one other.
var publicPrefixes = []string{"/public/", "/c/", "/b/"}

func publicPath(path string) bool {
	return path == "/button.js" || slices.ContainsFunc(publicPrefixes, func(p string) bool { return strings.HasPrefix(path, p) })
}

// TestPublicRoutesThrottled: every public route has both a rate and a burst limit.
func TestPublicRoutesThrottled(t *testing.T) {
	tpl := loadTemplate(t)
	api := tpl.HTTPAPIs["PublicApi"]
	if api == nil {
		t.Fatal("no PublicApi")
	}
	for _, r := range tpl.Routes() {
		if r.API != "PublicApi" {
			continue
		}
		s := api.DefaultRouteSettings // samtemplate refuses per-route RouteSettings
		if s == nil || s.ThrottlingRateLimit == nil || s.ThrottlingBurstLimit == nil ||
			*s.ThrottlingRateLimit <= 0 || *s.ThrottlingBurstLimit < 1 {
			t.Errorf("%s %s: needs ThrottlingRateLimit and ThrottlingBurstLimit > 0, has %+v", r.Method, r.Path, s)
		}
	}
}
