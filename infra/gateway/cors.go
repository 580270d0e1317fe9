package gateway

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"codex/infra/samtemplate"
)

// CORS as an HTTP API applies its CorsConfiguration: preflight requests are answered by the
// gateway itself whether or not an OPTIONS route exists, and the configured headers replace any
// CORS headers an integration returns. New refuses what this does not emulate (credentials, *
// methods or headers).

// isPreflight reports a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// allowOrigin returns the Access-Control-Allow-Origin value for origin, or "" if it is not allowed.
func allowOrigin(c *samtemplate.CORS, origin string) string {
	switch {
	case origin == "":
		return ""
	case slices.Contains(c.AllowOrigins, "*"):
		return "*"
	case slices.ContainsFunc(c.AllowOrigins, func(o string) bool { return strings.EqualFold(o, origin) }):
		return origin
	}
	return ""
}

// preflight answers an OPTIONS preflight. A request the configuration does not allow gets the
// same 204, without the Access-Control-Allow-* headers, so the browser refuses it.
func preflight(c *samtemplate.CORS, w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	origin := allowOrigin(c, r.Header.Get("Origin"))
	listed := func(list []string, v string) bool {
		return slices.ContainsFunc(list, func(a string) bool { return strings.EqualFold(a, v) })
	}
	ok := origin != "" && listed(c.AllowMethods, r.Header.Get("Access-Control-Request-Method"))
	for v := range strings.SplitSeq(r.Header.Get("Access-Control-Request-Headers"), ",") {
		if v = strings.TrimSpace(v); v != "" && !listed(c.AllowHeaders, v) {
			ok = false
		}
	}
	if ok {
		h.Set("Access-Control-Allow-Origin", origin)
		if len(c.AllowMethods) > 0 {
			h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ","))
		}
		if len(c.AllowHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
		}
		if c.MaxAge != nil {
			h.Set("Access-Control-Max-Age", strconv.Itoa(*c.MaxAge))
		}
		if origin != "*" {
			h.Add("Vary", "Origin")
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// decorate sets the CORS headers of an actual (non-preflight) response.
func decorate(c *samtemplate.CORS, h http.Header, r *http.Request) {
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			delete(h, k)
		}
	}
	if origin := allowOrigin(c, r.Header.Get("Origin")); origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
		if origin != "*" {
			h.Add("Vary", "Origin")
		}
	}
}
