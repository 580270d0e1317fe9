package samtemplate

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

type problem struct {
	resource, msg string
}

type problems []problem

func (ps *problems) add(resource, format string, args ...any) {
	*ps = append(*ps, problem{resource, fmt.Sprintf(format, args...)})
}

// Validate checks what SAM and CloudFormation would only reject at deploy time, or not at all:
// routes whose authorizer is not defined on their API, ApiIds and Lambda authorizers pointing at
// missing resources, Refs (in environments, policies, authorizers, Cognito names) to names that do
// not exist, functions not built with `BuildMethod: makefile`, and two routes with the same method
// and path. It returns every problem at once, one per line, each prefixed with the resource's
// logical id, or nil.
func (t *Template) Validate() error {
	v := &validator{t, slices.Clone(t.problems)}
	for _, id := range slices.Sorted(maps.Keys(t.Functions)) {
		v.function(t.Functions[id])
	}
	for _, id := range slices.Sorted(maps.Keys(t.HTTPAPIs)) {
		v.httpAPI(t.HTTPAPIs[id])
	}
	for _, id := range slices.Sorted(maps.Keys(t.Queues)) {
		v.queue(t.Queues[id])
	}
	for _, id := range slices.Sorted(maps.Keys(t.UserPools)) {
		v.value(id, "UserPoolName", t.UserPools[id].Name)
	}
	for _, id := range slices.Sorted(maps.Keys(t.UserPoolClients)) {
		c := t.UserPoolClients[id]
		v.value(id, "ClientName", c.Name)
		if c.UserPool != "" && t.Resources[c.UserPool] != TypeUserPool {
			v.add(id, "UserPoolId refers to %q, which is not an AWS::Cognito::UserPool of this template", c.UserPool)
		}
	}
	v.duplicateRoutes()
	if len(v.problems) == 0 {
		return nil
	}
	slices.SortStableFunc(v.problems, func(a, b problem) int { return cmp.Compare(a.resource, b.resource) })
	errs := make([]error, len(v.problems))
	for i, p := range v.problems {
		errs[i] = fmt.Errorf("%s: %s", p.resource, p.msg)
	}
	return errors.Join(errs...)
}

// validator collects problems on a copy, so that Validate can be called more than once.
type validator struct {
	*Template
	problems
}

func (v *validator) function(f *Function) {
	id := f.LogicalID
	if f.BuildMethod != "makefile" {
		v.add(id, "Metadata.BuildMethod is %q; every function must be built with BuildMethod: makefile", f.BuildMethod)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Environment)) {
		v.value(id, "Environment.Variables."+k, f.Environment[k])
	}
	for i, s := range f.Statements {
		for _, r := range s.Resource {
			v.value(id, fmt.Sprintf("policy statement %d Resource", i+1), r)
		}
	}
	v.eventSources(f)
	for _, ev := range f.Events {
		switch typ, ok := v.Resources[ev.API]; {
		case ev.API == "":
			// not a Ref; reported while parsing
		case !ok:
			v.add(id, "event %s: ApiId refers to missing resource %q", ev.Name, ev.API)
		case typ != TypeHTTPAPI:
			v.add(id, "event %s: ApiId refers to %q, a %s rather than an %s", ev.Name, ev.API, typ, TypeHTTPAPI)
		case ev.Authorizer != "" && v.HTTPAPIs[ev.API].Authorizers[ev.Authorizer] == nil:
			v.add(id, "event %s: authorizer %q is not defined on %s", ev.Name, ev.Authorizer, ev.API)
		}
	}
}

func (v *validator) httpAPI(api *HTTPAPI) {
	id := api.LogicalID
	for _, name := range slices.Sorted(maps.Keys(api.Authorizers)) {
		a := api.Authorizers[name]
		switch {
		case a.JWT != nil:
			v.value(id, "authorizer "+name+" issuer", a.JWT.Issuer)
			for _, aud := range a.JWT.Audience {
				v.value(id, "authorizer "+name+" audience", aud)
			}
		case a.Lambda != nil && a.Lambda.Function == "":
			v.add(id, "authorizer %s: FunctionArn %s is not !GetAtt Function.Arn", name, a.Lambda.FunctionArn)
		case a.Lambda != nil && v.Functions[a.Lambda.Function] == nil:
			v.add(id, "authorizer %s: FunctionArn refers to missing function %q", name, a.Lambda.Function)
		}
	}
}

// value checks that every name val refers to exists: a resource, a parameter (Ref only) or a
// pseudo parameter.
func (v *validator) value(resource, where string, val Value) {
	for _, r := range val.refs() {
		_, isParam := v.Parameters[r.name]
		if r.name == "" || r.attr == "" && (pseudoParameters[r.name] || isParam) {
			continue
		}
		if _, ok := v.Resources[r.name]; !ok {
			v.add(resource, "%s: %s refers to missing resource %q", where, val, r.name)
		}
	}
}

// pathParam matches a path parameter; API Gateway treats /a/{x} and /a/{y} as the same route.
var pathParam = regexp.MustCompile(`\{[^}]*\}`)

func (v *validator) duplicateRoutes() {
	seen := map[string][]Route{}
	var keys []string
	for _, r := range v.Routes() {
		k := r.API + " " + r.Method + " " + pathParam.ReplaceAllString(r.Path, "{}")
		if seen[k] == nil {
			keys = append(keys, k)
		}
		seen[k] = append(seen[k], r)
	}
	for _, k := range keys {
		rs := seen[k]
		if len(rs) < 2 {
			continue
		}
		var by []string
		for _, r := range rs {
			by = append(by, r.Function+"."+r.Event+" ("+r.Path+")")
		}
		v.add(rs[0].API, "route %s %s is defined more than once: %s", rs[0].Method, rs[0].Path, strings.Join(by, ", "))
	}
}
