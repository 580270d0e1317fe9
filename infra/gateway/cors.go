package gateway

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"codex/infra/samtemplate"
)

// cors applies an HTTP API's CorsConfiguration. As in API Gateway, preflight requests are answered
// by the gateway itself whether or not an OPTIONS route exists, and the configured headers replace
// any CORS headers an integration returns.
type cors struct {
	cfg *samtemplate.CORS
}

// isPreflight reports a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// allowOrigin returns the Access-Control-Allow-Origin value for origin, or "" if it is not allowed.
func (c *cors) allowOrigin(origin string) string {
	if origin == "" {
		return ""
	}
	for _, o := range c.cfg.AllowOrigins {
		switch {
		case o == "*":
			if c.cfg.AllowCredentials {
				return origin // "*" is not valid with credentials, so the origin is echoed
			}
			return "*"
		case strings.EqualFold(o, origin):
			return origin
		case strings.Contains(o, "*") && wildcardMatch(strings.ToLower(o), strings.ToLower(origin)):
			// Patterns such as https://*.example.com.
			return origin
		}
	}
	return ""
}

// preflight answers an OPTIONS preflight. A request the configuration does not allow gets the
// same 204, without the Access-Control-Allow-* headers, so the browser refuses it.
func (c *cors) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	origin := c.allowOrigin(r.Header.Get("Origin"))
	method := r.Header.Get("Access-Control-Request-Method")
	reqHeaders := splitList(r.Header.Get("Access-Control-Request-Headers"))
	if origin != "" && c.methodAllowed(method) && c.headersAllowed(reqHeaders) {
		h.Set("Access-Control-Allow-Origin", origin)
		if slices.Contains(c.cfg.AllowMethods, "*") {
			h.Set("Access-Control-Allow-Methods", method)
		} else if len(c.cfg.AllowMethods) > 0 {
			h.Set("Access-Control-Allow-Methods", joinHeader(c.cfg.AllowMethods))
		}
		if slices.Contains(c.cfg.AllowHeaders, "*") {
			if len(reqHeaders) > 0 {
				h.Set("Access-Control-Allow-Headers", joinHeader(reqHeaders))
			}
		} else if len(c.cfg.AllowHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", joinHeader(c.cfg.AllowHeaders))
		}
		if c.cfg.MaxAge != nil {
			h.Set("Access-Control-Max-Age", strconv.Itoa(*c.cfg.MaxAge))
		}
		if c.cfg.AllowCredentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if origin != "*" {
			h.Add("Vary", "Origin")
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *cors) methodAllowed(m string) bool {
	return slices.ContainsFunc(c.cfg.AllowMethods, func(a string) bool { return a == "*" || strings.EqualFold(a, m) })
}

func (c *cors) headersAllowed(hs []string) bool {
	if slices.Contains(c.cfg.AllowHeaders, "*") {
		return true
	}
	for _, h := range hs {
		if !slices.ContainsFunc(c.cfg.AllowHeaders, func(a string) bool { return strings.EqualFold(a, h) }) {
			return false
		}
	}
	return true
}

// decorate sets the CORS headers of an actual (non-preflight) response.
func (c *cors) decorate(h http.Header, r *http.Request) {
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			delete(h, k)
		}
	}
	origin := c.allowOrigin(r.Header.Get("Origin"))
	if origin == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if len(c.cfg.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", joinHeader(c.cfg.ExposeHeaders))
	}
	if c.cfg.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if origin != "*" {
		h.Add("Vary", "Origin")
	}
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
