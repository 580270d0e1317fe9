package gateway

import (
	"fmt"
	"net/url"
	"strings"

	"codex/infra/samtemplate"
)

// segmentKind orders path segments by specificity: API Gateway prefers a literal segment to a
// path variable, and a path variable to a greedy {name+} variable.
type segmentKind int

const (
	greedySegment segmentKind = iota
	paramSegment
	staticSegment
)

type segment struct {
	kind segmentKind
	text string // the literal, or the variable's name
}

// route is one template route compiled for matching.
type route struct {
	samtemplate.Route
	key       string // the route key API Gateway puts in routeKey: "GET /projects/{id}" or "$default"
	segments  []segment
	isDefault bool
}

// compileRoute parses a route's path. It rejects paths API Gateway would reject at deploy time, so
// that a template mistake fails `make dev` instead of surfacing as a puzzling 404.
func compileRoute(r samtemplate.Route) (*route, error) {
	c := &route{Route: r}
	if r.Path == "$default" {
		c.key, c.isDefault = "$default", true
		return c, nil
	}
	c.key = r.Method + " " + r.Path
	if !strings.HasPrefix(r.Path, "/") {
		return nil, fmt.Errorf("route %s: path must start with /", c.key)
	}
	if r.Path == "/" {
		return c, nil
	}
	parts := strings.Split(r.Path[1:], "/")
	seen := map[string]bool{}
	for i, p := range parts {
		switch {
		case p == "":
			return nil, fmt.Errorf("route %s: empty path segment", c.key)
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}"):
			if i != len(parts)-1 {
				return nil, fmt.Errorf("route %s: greedy variable %s must be the last segment", c.key, p)
			}
			c.segments = append(c.segments, segment{greedySegment, p[1 : len(p)-2]})
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			c.segments = append(c.segments, segment{paramSegment, p[1 : len(p)-1]})
		case strings.ContainsAny(p, "{}"):
			// API Gateway has no partial-segment variables such as /files/{name}.json.
			return nil, fmt.Errorf("route %s: a path variable must be a whole segment: %s", c.key, p)
		default:
			c.segments = append(c.segments, segment{staticSegment, p})
		}
		if last := c.segments[len(c.segments)-1]; last.kind != staticSegment {
			if seen[last.text] || last.text == "" {
				return nil, fmt.Errorf("route %s: path variable names must be unique and non-empty", c.key)
			}
			seen[last.text] = true
		}
	}
	return c, nil
}

// match reports whether the request path (split into unescaped segments) fits the route, with the
// path parameters it binds.
func (c *route) match(method string, segs []string) (map[string]string, bool) {
	if c.isDefault {
		return nil, true
	}
	if c.Method != "ANY" && c.Method != method {
		return nil, false
	}
	var params map[string]string
	bind := func(k, v string) {
		if params == nil {
			params = map[string]string{}
		}
		params[k] = v
	}
	for i, s := range c.segments {
		if s.kind == greedySegment {
			// {proxy+} needs at least one more segment: /files/{proxy+} does not match /files.
			rest := segs[i:]
			if len(rest) == 0 || (len(rest) == 1 && rest[0] == "") {
				return nil, false
			}
			bind(s.text, strings.Join(rest, "/"))
			return params, true
		}
		if i >= len(segs) {
			return nil, false
		}
		switch s.kind {
		case staticSegment:
			if segs[i] != s.text {
				return nil, false
			}
		case paramSegment:
			if segs[i] == "" {
				return nil, false
			}
			bind(s.text, segs[i])
		}
	}
	return params, len(segs) == len(c.segments)
}

// moreSpecific reports whether a beats b for the same request. API Gateway picks the most specific
// route: literal segments before variables, variables before greedy variables, compared from the
// left; then a route for the exact method before ANY; $default only when nothing else matches.
func moreSpecific(a, b *route) bool {
	if a.isDefault != b.isDefault {
		return b.isDefault
	}
	for i := 0; i < len(a.segments) && i < len(b.segments); i++ {
		if a.segments[i].kind != b.segments[i].kind {
			return a.segments[i].kind > b.segments[i].kind
		}
	}
	if len(a.segments) != len(b.segments) {
		// Only reachable with a greedy variable: /a/b/{p+} is more specific than /a/{p+}.
		return len(a.segments) > len(b.segments)
	}
	return a.Method != "ANY" && b.Method == "ANY"
}

// router holds one API's routes.
type router struct {
	routes []*route
}

// lookup finds the route for a request. rawPath is the escaped path; segments are unescaped one by
// one so that an encoded slash (%2F) stays inside its segment. (Whether API Gateway routes an
// encoded slash that way is not checked on AWS; the events it sends carry the path decoded.)
func (rt *router) lookup(method, rawPath string) (*route, map[string]string, bool) {
	segs, ok := splitPath(rawPath)
	if !ok {
		return nil, nil, false
	}
	var best *route
	var bestParams map[string]string
	for _, r := range rt.routes {
		params, ok := r.match(method, segs)
		if !ok {
			continue
		}
		if best == nil || moreSpecific(r, best) {
			best, bestParams = r, params
		}
	}
	return best, bestParams, best != nil
}

// splitPath splits "/a/b%2Fc" into ["a", "b/c"]; "/" is no segments.
func splitPath(rawPath string) ([]string, bool) {
	if !strings.HasPrefix(rawPath, "/") {
		return nil, false
	}
	if rawPath == "/" {
		return nil, true
	}
	parts := strings.Split(rawPath[1:], "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}
