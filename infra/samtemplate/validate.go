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

func (t *Template) problem(resource, format string, args ...any) {
	t.problems = append(t.problems, problem{resource, fmt.Sprintf(format, args...)})
}

// Validate checks what SAM and CloudFormation would only reject at deploy time, or not at all:
// routes whose authorizer is not defined on their API, ApiIds and Lambda authorizers pointing at
// missing resources, Refs (in environments, policies, authorizers, clients) to names that do not
// exist, functions not built with `BuildMethod: makefile`, and two routes with the same method and
// path. It returns every problem at once, one per line, each prefixed with the resource's logical
// id, or nil.
func (t *Template) Validate() error {
	v := &validator{Template: t, problems: slices.Clone(t.problems)}
	for _, id := range slices.Sorted(maps.Keys(t.Functions)) {
		v.function(t.Functions[id])
	}
	for _, id := range slices.Sorted(maps.Keys(t.HTTPAPIs)) {
		v.httpAPI(t.HTTPAPIs[id])
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

type validator struct {
	*Template
	problems []problem
}

func (v *validator) add(resource, format string, args ...any) {
	v.problems = append(v.problems, problem{resource, fmt.Sprintf(format, args...)})
}

func (v *validator) function(f *Function) {
	id := f.LogicalID
	if f.BuildMethod != "makefile" {
		v.add(id, "Metadata.BuildMethod is %q; every function must be built with BuildMethod: makefile", f.BuildMethod)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Environment)) {
		v.value(id, "Environment.Variables."+k, f.Environment[k])
	}
	for _, k := range slices.Sorted(maps.Keys(f.Tags)) {
		v.value(id, "Tags."+k, f.Tags[k])
	}
	for i, s := range f.Statements {
		for _, r := range slices.Concat(s.Resource, s.NotResource) {
			v.value(id, fmt.Sprintf("policy statement %d Resource", i+1), r)
		}
	}
	for _, m := range f.ManagedPolicies {
		v.value(id, "Policies", m)
	}
	for _, pt := range f.PolicyTemplates {
		for _, k := range slices.Sorted(maps.Keys(pt.Params)) {
			v.value(id, "Policies."+pt.Name+"."+k, pt.Params[k])
		}
	}
	for _, ev := range f.Events {
		v.event(f, ev)
	}
}

func (v *validator) event(f *Function, ev HTTPEvent) {
	id := f.LogicalID
	if ev.API == "" {
		return // not a Ref; reported while parsing
	}
	var api *HTTPAPI
	if ev.API != ImplicitHTTPAPI {
		typ, ok := v.Resources[ev.API]
		switch {
		case !ok:
			v.add(id, "event %s: ApiId refers to missing resource %q", ev.Name, ev.API)
			return
		case typ != TypeHTTPAPI:
			v.add(id, "event %s: ApiId refers to %q, a %s rather than an %s", ev.Name, ev.API, typ, TypeHTTPAPI)
			return
		}
		api = v.HTTPAPIs[ev.API]
	} else {
		api = &HTTPAPI{LogicalID: ImplicitHTTPAPI} // SAM's implicit API has no authorizers
	}
	switch ev.Authorizer {
	case "":
	case "NONE":
		if api.DefaultAuthorizer == "" {
			v.add(id, "event %s: Authorizer NONE is only valid when %s has a DefaultAuthorizer", ev.Name, api.LogicalID)
		}
	case "AWS_IAM":
		if api.EnableIAMAuthorizer {
			break
		}
		fallthrough
	default:
		if api.Authorizers[ev.Authorizer] == nil {
			v.add(id, "event %s: authorizer %q is not defined on %s", ev.Name, ev.Authorizer, api.LogicalID)
		}
	}
}

func (v *validator) httpAPI(api *HTTPAPI) {
	id := api.LogicalID
	if d := api.DefaultAuthorizer; d != "" && api.Authorizers[d] == nil && !(d == "AWS_IAM" && api.EnableIAMAuthorizer) {
		v.add(id, "DefaultAuthorizer %q is not defined in Auth.Authorizers", d)
	}
	for _, name := range slices.Sorted(maps.Keys(api.Authorizers)) {
		a := api.Authorizers[name]
		switch {
		case a.JWT != nil:
			v.value(id, "authorizer "+name+" issuer", a.JWT.Issuer)
			for _, aud := range a.JWT.Audience {
				v.value(id, "authorizer "+name+" audience", aud)
			}
		case a.Lambda != nil:
			switch fn := a.Lambda.Function; {
			case fn == "":
				v.add(id, "authorizer %s: FunctionArn %s does not refer to a function of this template", name, a.Lambda.FunctionArn)
			case v.Functions[fn] == nil:
				v.add(id, "authorizer %s: FunctionArn refers to missing function %q", name, fn)
			}
		}
	}
}

// value checks that every name v refers to exists: a resource (or one SAM generates), a parameter
// (Ref only) or a pseudo parameter.
func (v *validator) value(resource, where string, val Value) {
	for _, r := range val.refs() {
		if r.attr == "" && (pseudoParameters[r.name] || hasKey(v.Parameters, r.name)) {
			continue
		}
		if hasKey(v.Resources, r.name) || v.generated(r.name) {
			continue
		}
		v.add(resource, "%s: %s refers to missing resource %q", where, val, r.name)
	}
}

// generated reports logical ids SAM adds to the stack: the implicit HTTP API and each function's
// execution role.
func (v *validator) generated(name string) bool {
	if name == ImplicitHTTPAPI {
		for _, f := range v.Functions {
			for _, ev := range f.Events {
				if ev.API == ImplicitHTTPAPI {
					return true
				}
			}
		}
		return false
	}
	fn, ok := strings.CutSuffix(name, "Role")
	return ok && v.Functions[fn] != nil
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

type ref struct{ name, attr string }

// refs is References with GetAtt attributes kept, since only Ref may name a parameter.
func (v Value) refs() []ref {
	switch v.Fn {
	case FnRef:
		return []ref{{v.Target, ""}}
	case FnGetAtt:
		return []ref{{v.Target, v.Attribute}}
	case FnSub:
		var out []ref
		parts, _ := parseSub(v.Template) // checked when parsed
		for _, p := range parts {
			if _, isVar := v.Vars[p.name]; p.name == "" || (isVar && p.attr == "") {
				continue
			}
			out = append(out, ref{p.name, p.attr})
		}
		for _, k := range slices.Sorted(maps.Keys(v.Vars)) {
			out = append(out, v.Vars[k].refs()...)
		}
		return out
	}
	return nil
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}
