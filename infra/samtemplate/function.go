package samtemplate

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Function is an AWS::Serverless::Function with Globals.Function already merged in, so callers see
// what SAM deploys rather than what one resource spells out.
type Function struct {
	LogicalID     string
	Runtime       string
	Architectures []string
	Handler       string
	CodeURI       string
	MemorySize    int // MB; 0 when neither the function nor Globals sets it
	Timeout       int // seconds; 0 when unset
	LogFormat     string
	// Environment holds Environment.Variables; values stay typed so the local stack can put its
	// own table names where the template says !Ref KeysTable.
	Environment map[string]Value
	Tags        map[string]Value
	// BuildMethod is Metadata.BuildMethod; the project builds every function with "makefile".
	BuildMethod string
	// Statements are the statements of the function's inline policies, flattened in order.
	Statements []Statement
	// PolicyTemplates are SAM policy templates (e.g. DynamoDBCrudPolicy) in Policies; they grant
	// more than the function usually needs, which a least-privilege test wants to see.
	PolicyTemplates []PolicyTemplate
	// ManagedPolicies are managed policy names or ARNs listed in Policies.
	ManagedPolicies []Value
	// Events are the function's HttpApi events, sorted by event name. Other event types are ignored.
	Events []HTTPEvent
}

// Statement is one IAM policy statement. NotAction and NotResource are kept because an Allow with
// them grants almost everything, which a least-privilege check must not miss.
type Statement struct {
	Effect      string
	Action      []string
	NotAction   []string
	Resource    []Value
	NotResource []Value
}

// PolicyTemplate is a SAM policy template reference such as `DynamoDBReadPolicy: {TableName: ..}`.
type PolicyTemplate struct {
	Name   string
	Params map[string]Value
}

// HTTPEvent is an HttpApi event of a function, as written (see Routes for the effective view).
type HTTPEvent struct {
	Name string
	// API is the logical id ApiId refers to, or ImplicitHTTPAPI when ApiId is absent.
	API    string
	Path   string // "$default" when neither Path nor Method is set, as SAM does
	Method string // upper-cased; "ANY" matches every method
	// Authorizer is Auth.Authorizer as written: "" when absent, "NONE" to opt out of the API's
	// DefaultAuthorizer, else an authorizer name.
	Authorizer          string
	AuthorizationScopes []string
	RouteSettings       *RouteSettings
}

type rawFunction struct {
	Runtime       *str     `yaml:"Runtime"`
	Architectures *strList `yaml:"Architectures"`
	Handler       *str     `yaml:"Handler"`
	CodeURI       *str     `yaml:"CodeUri"`
	MemorySize    *integer `yaml:"MemorySize"`
	Timeout       *integer `yaml:"Timeout"`
	LoggingConfig struct {
		LogFormat *str `yaml:"LogFormat"`
	} `yaml:"LoggingConfig"`
	Environment struct {
		Variables map[string]Value `yaml:"Variables"`
	} `yaml:"Environment"`
	Tags     map[string]Value    `yaml:"Tags"`
	Policies yaml.Node           `yaml:"Policies"`
	Events   map[string]rawEvent `yaml:"Events"`
}

type rawEvent struct {
	Type       str       `yaml:"Type"`
	Properties yaml.Node `yaml:"Properties"`
}

type rawHTTPEvent struct {
	APIID  *Value `yaml:"ApiId"`
	Path   str    `yaml:"Path"`
	Method str    `yaml:"Method"`
	Auth   struct {
		Authorizer          str     `yaml:"Authorizer"`
		AuthorizationScopes strList `yaml:"AuthorizationScopes"`
	} `yaml:"Auth"`
	RouteSettings *rawRouteSettings `yaml:"RouteSettings"`
}

type rawStatement struct {
	Effect      str       `yaml:"Effect"`
	Action      strList   `yaml:"Action"`
	NotAction   strList   `yaml:"NotAction"`
	Resource    valueList `yaml:"Resource"`
	NotResource valueList `yaml:"NotResource"`
}

func (t *Template) addFunction(id string, r rawResource, globals *rawFunction) error {
	var p rawFunction
	if err := decodeProps(&r.Properties, &p); err != nil {
		return err
	}
	g := globals
	if g == nil {
		g = &rawFunction{}
	}
	f := &Function{
		LogicalID:   id,
		Runtime:     string(pick(p.Runtime, g.Runtime)),
		Handler:     string(pick(p.Handler, g.Handler)),
		CodeURI:     string(pick(p.CodeURI, g.CodeURI)),
		MemorySize:  int(pick(p.MemorySize, g.MemorySize)),
		Timeout:     int(pick(p.Timeout, g.Timeout)),
		LogFormat:   string(pick(p.LoggingConfig.LogFormat, g.LoggingConfig.LogFormat)),
		Environment: mergeMaps(g.Environment.Variables, p.Environment.Variables),
		Tags:        mergeMaps(g.Tags, p.Tags),
		BuildMethod: string(r.Metadata.BuildMethod),
	}
	// SAM concatenates lists from Globals, but a function has exactly one architecture, so the
	// function's list replaces the global one.
	if archs := pick(p.Architectures, g.Architectures); archs != nil {
		f.Architectures = slices.Clone(archs)
	}
	if err := f.addPolicies(&p.Policies); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(p.Events)) {
		ev := p.Events[name]
		if ev.Type != "HttpApi" {
			continue
		}
		var re rawHTTPEvent
		if err := decodeProps(&ev.Properties, &re); err != nil {
			return err
		}
		he := HTTPEvent{
			Name:                name,
			API:                 ImplicitHTTPAPI,
			Path:                string(re.Path),
			Method:              strings.ToUpper(string(re.Method)),
			Authorizer:          string(re.Auth.Authorizer),
			AuthorizationScopes: re.Auth.AuthorizationScopes,
			RouteSettings:       re.RouteSettings.settings(),
		}
		if re.APIID != nil {
			if re.APIID.Fn == FnRef {
				he.API = re.APIID.Target
			} else {
				he.API = ""
				t.problem(id, "event %s: ApiId %s is not a !Ref to an AWS::Serverless::HttpApi", name, re.APIID)
			}
		}
		switch {
		case he.Path == "" && he.Method == "":
			he.Path, he.Method = "$default", "ANY"
		case he.Path == "" || he.Method == "":
			t.problem(id, "event %s: Path and Method must be set together", name)
		}
		f.Events = append(f.Events, he)
	}
	t.Functions[id] = f
	return nil
}

// addPolicies sorts the entries of Policies (a single entry or a list) into inline statements,
// policy templates and managed policies.
func (f *Function) addPolicies(n *yaml.Node) error {
	if n.IsZero() {
		return nil
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode && !isCustomTag(n.Tag) {
		items = n.Content
	}
	for _, item := range items {
		if item.Kind == yaml.AliasNode {
			item = item.Alias
		}
		if item.Kind != yaml.MappingNode || isIntrinsicMap(item) {
			v, err := valueFromNode(item)
			if err != nil {
				return err
			}
			f.ManagedPolicies = append(f.ManagedPolicies, v)
			continue
		}
		var doc struct {
			Statement yaml.Node `yaml:"Statement"`
		}
		if err := item.Decode(&doc); err != nil {
			return err
		}
		if !doc.Statement.IsZero() {
			var sts []rawStatement
			if doc.Statement.Kind == yaml.MappingNode {
				sts = make([]rawStatement, 1)
				if err := doc.Statement.Decode(&sts[0]); err != nil {
					return err
				}
			} else if err := doc.Statement.Decode(&sts); err != nil {
				return err
			}
			for _, s := range sts {
				f.Statements = append(f.Statements, Statement{
					Effect:      string(s.Effect),
					Action:      s.Action,
					NotAction:   s.NotAction,
					Resource:    s.Resource,
					NotResource: s.NotResource,
				})
			}
			continue
		}
		// Anything else is a map of policy template name to its parameters.
		for i := 0; i+1 < len(item.Content); i += 2 {
			pt := PolicyTemplate{Name: item.Content[i].Value}
			if pn := item.Content[i+1]; pn.Kind == yaml.MappingNode {
				if err := pn.Decode(&pt.Params); err != nil {
					return err
				}
			}
			f.PolicyTemplates = append(f.PolicyTemplates, pt)
		}
	}
	return nil
}

// isIntrinsicMap reports the long form of an intrinsic, {"Ref": ..} or {"Fn::...": ..}.
func isIntrinsicMap(n *yaml.Node) bool {
	if len(n.Content) != 2 {
		return false
	}
	k := n.Content[0].Value
	return k == FnRef || strings.HasPrefix(k, "Fn::")
}

// pick returns the function's setting when present, else the global one (zero when neither).
func pick[T any](fn, global *T) T {
	if fn != nil {
		return *fn
	}
	if global != nil {
		return *global
	}
	var zero T
	return zero
}

// mergeMaps merges key by key, the function's entries winning, as SAM merges Globals maps.
func mergeMaps(global, fn map[string]Value) map[string]Value {
	if global == nil && fn == nil {
		return nil
	}
	out := maps.Clone(global)
	if out == nil {
		out = map[string]Value{}
	}
	maps.Copy(out, fn)
	return out
}

// Route is one HTTP route as API Gateway will serve it.
type Route struct {
	Function string // logical id of the integrated function
	Event    string // event name in the function's Events
	API      string // logical id of the HttpApi
	Method   string // upper-cased, or "ANY"
	Path     string
	// Authorizer is the effective authorizer: the event's, else the API's DefaultAuthorizer;
	// "" when the route is public (no authorizer, or "NONE").
	Authorizer string
}

// Routes returns every HttpApi route of every function, sorted by path, method, API and function.
func (t *Template) Routes() []Route {
	var out []Route
	for _, f := range t.Functions {
		for _, ev := range f.Events {
			r := Route{Function: f.LogicalID, Event: ev.Name, API: ev.API, Method: ev.Method, Path: ev.Path,
				Authorizer: ev.Authorizer}
			if r.Authorizer == "" {
				if api := t.HTTPAPIs[ev.API]; api != nil {
					r.Authorizer = api.DefaultAuthorizer
				}
			}
			if r.Authorizer == "NONE" {
				r.Authorizer = ""
			}
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method), cmp.Compare(a.API, b.API),
			cmp.Compare(a.Function, b.Function), cmp.Compare(a.Event, b.Event))
	})
	return out
}
