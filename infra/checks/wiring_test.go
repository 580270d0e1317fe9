package checks

import (
	"cmp"
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"codex/api/openapi"
	"codex/infra/samtemplate"
	"codex/pkg/registry"

	"go.yaml.in/yaml/v3"
)

// TestRoutesAreWired ties the three places a route lives: template.yaml (what is deployed),
// pkg/registry (the handler each function runs) and api/openapi/openapi.yaml (what is documented).
// Each difference names the side it is missing from.
func TestRoutesAreWired(t *testing.T) {
	tpl := loadTemplate(t)
	doc, err := openapi.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	// Template functions and their routes, by logical id; and the Lambda authorizers' functions.
	templateRoute := map[string]string{}
	for _, r := range tpl.Routes() {
		if prev, ok := templateRoute[r.Function]; ok {
			t.Errorf("template.yaml function %s has two routes (%s, %s); a function serves one", r.Function, prev, r.Method+" "+r.Path)
		}
		templateRoute[r.Function] = r.Method + " " + r.Path
	}
	authorizers := map[string]bool{}
	for _, api := range tpl.HTTPAPIs {
		for _, a := range api.Authorizers {
			if a.Lambda != nil && a.Lambda.Function != "" {
				authorizers[a.Lambda.Function] = true
			}
		}
	}

	sources := eventSources(t)

	// Registry against template.
	inRegistry := map[string]registry.Function{}
	routeOwner := map[string]string{}
	for _, f := range registry.All() {
		if _, dup := inRegistry[f.ID]; dup {
			t.Errorf("pkg/registry lists %s twice", f.ID)
		}
		inRegistry[f.ID] = f
		if f.RouteKey != "" {
			if other, dup := routeOwner[f.RouteKey]; dup {
				t.Errorf("pkg/registry routes %s to both %s and %s", f.RouteKey, other, f.ID)
			}
			routeOwner[f.RouteKey] = f.ID
		}
		if tpl.Functions[f.ID] == nil {
			t.Errorf("pkg/registry entry %s (route %q) is not a function of template.yaml", f.ID, f.RouteKey)
			continue
		}
		switch want, routed := templateRoute[f.ID]; {
		case f.RouteKey == "" && routed:
			t.Errorf("pkg/registry entry %s has no route; template.yaml routes %s to it", f.ID, want)
		case f.EventSource != "" && !slices.Contains(sources[f.ID], f.EventSource):
			t.Errorf("pkg/registry entry %s is invoked by a %s event source; template.yaml gives it events %v", f.ID, f.EventSource, sources[f.ID])
		case f.EventSource == "" && len(sources[f.ID]) > 0:
			t.Errorf("template.yaml gives %s events %v; its pkg/registry entry names no EventSource", f.ID, sources[f.ID])
		case f.RouteKey == "" && f.EventSource == "" && !authorizers[f.ID]:
			t.Errorf("pkg/registry entry %s has no route, and template.yaml neither routes to it, uses it as an authorizer nor gives it an event source", f.ID)
		case f.EventSource != "" && (routed || authorizers[f.ID]):
			t.Errorf("pkg/registry entry %s is invoked by an event source; template.yaml also routes to it or uses it as an authorizer", f.ID)
		case f.RouteKey != "" && !routed:
			t.Errorf("pkg/registry routes %s to %s; template.yaml gives %s no route", f.RouteKey, f.ID, f.ID)
		case f.RouteKey != "" && f.RouteKey != want:
			t.Errorf("pkg/registry routes %s to %s; template.yaml routes %s to it", f.RouteKey, f.ID, want)
		}
		if (f.RouteKey != "") != (f.Route(registry.Deps{}) != nil) {
			t.Errorf("pkg/registry entry %s: an entry with a route key builds a route handler, one without builds the authorizer or a scheduled handler", f.ID)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
		if _, ok := inRegistry[id]; !ok {
			what := "no route"
			if r, ok := templateRoute[id]; ok {
				what = "route " + r
			}
			t.Errorf("template.yaml function %s (%s) has no entry in pkg/registry", id, what)
		}
	}

	// Template routes against the document, with the credential each route's authorizer takes.
	wantScheme := map[string]string{"DashboardAuthorizer": "dashboardToken", "ApiKeyAuthorizer": "apiKey", "": ""}
	inTemplate := map[string]samtemplate.Route{}
	for _, r := range tpl.Routes() {
		inTemplate[r.Method+" "+r.Path] = r
	}
	inDoc := map[string]openapi.Operation{}
	for _, op := range openapi.Operations(doc) {
		inDoc[op.Method+" "+op.Path] = op
	}
	for _, k := range slices.Sorted(maps.Keys(inTemplate)) {
		r := inTemplate[k]
		op, ok := inDoc[k]
		if !ok {
			t.Errorf("template.yaml route %s (%s) is not in api/openapi/openapi.yaml", k, r.Function)
			continue
		}
		scheme, known := wantScheme[r.Authorizer]
		if !known {
			t.Errorf("%s: authorizer %q has no security scheme in this test", k, r.Authorizer)
			continue
		}
		if op.Op.Security == nil {
			t.Errorf("%s: openapi.yaml must state its security explicitly", k)
			continue
		}
		var got []string
		for _, req := range *op.Op.Security {
			for name := range req {
				got = append(got, name)
			}
		}
		want := []string{}
		if scheme != "" {
			want = []string{scheme}
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s: security %v, want %v (authorizer %q)", k, got, want, r.Authorizer)
		}
		// Public routes are served by PublicApi, at another base URL.
		if public := r.API == "PublicApi"; public != (op.Item.Servers != nil) {
			t.Errorf("%s on %s: path-level servers %v", k, r.API, op.Item.Servers)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(inDoc)) {
		if _, ok := inTemplate[k]; !ok {
			owner := "no function of pkg/registry"
			if id, ok := routeOwner[k]; ok {
				owner = "pkg/registry's " + id
			}
			t.Errorf("api/openapi/openapi.yaml describes %s (%s), which template.yaml does not route", k, owner)
		}
	}
}

// eventSources lists the types of each function's non-HttpApi events (DynamoDB, SQS), which
// samtemplate does not model: read from the YAML.
func eventSources(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resources map[string]struct {
			Properties struct {
				Events map[string]struct {
					Type string `yaml:"Type"`
				} `yaml:"Events"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for id, r := range doc.Resources {
		for _, ev := range r.Properties.Events {
			if ev.Type != "HttpApi" {
				out[id] = append(out[id], ev.Type)
			}
		}
	}
	return out
}

// functionDir is the Makefile's function_dir: the logical id without "Function", in kebab case.
func functionDir(id string) string {
	return strings.ToLower(regexp.MustCompile(`([a-z0-9])([A-Z])`).ReplaceAllString(strings.TrimSuffix(id, "Function"), "$1-$2"))
}

// TestEveryFunctionBuilds: SAM's makefile build method runs `make build-<LogicalId>`, which builds
// functions/<name>; that folder's main.go must run the function's own registry entry, and every
// folder must belong to a function (a folder nobody deploys is dead code). make build reads the
// same function list as this parser.
func TestEveryFunctionBuilds(t *testing.T) {
	tpl := loadTemplate(t)
	entries := registryVars(t)
	used := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
		f := tpl.Functions[id]
		if f.Runtime != "provided.al2023" || !slices.Equal(f.Architectures, []string{"arm64"}) || f.Handler != "bootstrap" || f.BuildMethod != "makefile" {
			t.Errorf("%s: want provided.al2023, arm64, handler bootstrap, BuildMethod makefile; got %s %v %s %s", id, f.Runtime, f.Architectures, f.Handler, f.BuildMethod)
		}
		dir := functionDir(id)
		used[dir] = true
		main := filepath.Join("../../functions", dir, "main.go")
		name, err := mainEntry(main)
		if err != nil {
			t.Errorf("%s is built from functions/%s: %v", id, dir, err)
			continue
		}
		if entries[name] != id {
			t.Errorf("functions/%s/main.go runs registry.%s (%s), want the entry of %s", dir, name, cmp.Or(entries[name], "no such entry"), id)
		}
	}
	dirs, err := os.ReadDir("../../functions")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if d.IsDir() && !used[d.Name()] {
			t.Errorf("functions/%s is built by no template function", d.Name())
		}
	}

	out, err := exec.Command("make", "-s", "--no-print-directory", "-C", "../..", "functions").CombinedOutput()
	if err != nil {
		t.Fatalf("make functions: %v\n%s", err, out)
	}
	if got, want := strings.Fields(string(out)), slices.Sorted(maps.Keys(tpl.Functions)); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Errorf("make build builds %v; template.yaml's functions are %v", got, want)
	}
}

// mainEntry returns X of the registry.Main(registry.X) call main.go must consist of.
func mainEntry(path string) (string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "main" || len(fn.Body.List) != 1 {
			continue
		}
		stmt, _ := fn.Body.List[0].(*ast.ExprStmt)
		if stmt == nil {
			continue
		}
		call, _ := stmt.X.(*ast.CallExpr)
		if call == nil || !isSelector(call.Fun, "registry", "Main") || len(call.Args) != 1 {
			continue
		}
		if sel, ok := call.Args[0].(*ast.SelectorExpr); ok && isSelector(sel, "registry", sel.Sel.Name) {
			return sel.Sel.Name, nil
		}
	}
	return "", errors.New("its main must be the one call registry.Main(registry.<Entry>)")
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}

// registryVars maps each variable of pkg/registry that is a Function literal to its ID. An entry
// is named after its logical id, so that main.go reads as what it deploys.
func registryVars(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../../pkg/registry/*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, v := range spec.Values {
				lit, ok := v.(*ast.CompositeLit)
				if !ok || !isIdent(lit.Type, "Function") {
					continue
				}
				for _, el := range lit.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok || !isIdent(kv.Key, "ID") {
						continue
					}
					if s, ok := kv.Value.(*ast.BasicLit); ok {
						id, _ := strconv.Unquote(s.Value)
						name := spec.Names[i].Name
						if id != name+"Function" {
							t.Errorf("pkg/registry: %s holds %s; name an entry after its logical id (%s)", name, id, strings.TrimSuffix(id, "Function"))
						}
						out[name] = id
					}
				}
			}
			return true
		})
	}
	return out
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
