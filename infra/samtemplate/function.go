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
	MemorySize    int // MB; 0 when neither the function nor Globals sets it
	Timeout       int // seconds; 0 when unset
	LogFormat     string
	// Environment holds Environment.Variables; values stay typed so the local stack can put its
	// own table names where the template says !Ref KeysTable.
	Environment map[string]Value
	// BuildMethod is Metadata.BuildMethod; the project builds every function with "makefile".
	BuildMethod string
	// Statements are the statements of the function's inline policies, in order. Policies holds
	// nothing else: SAM policy templates and managed policies fail Parse.
	Statements []Statement
	// Events are the function's HttpApi events, sorted by event name. Other event types are ignored.
	Events []HTTPEvent
}

// Statement is one IAM policy statement. NotAction, NotResource and Condition fail Parse.
type Statement struct {
	Effect   string
	Action   []string
	Resource []Value
}

// HTTPEvent is an HttpApi event of a function.
type HTTPEvent struct {
	Name       string
	API        string // the logical id ApiId refers to
	Path       string
	Method     string // upper-cased
	Authorizer string // Auth.Authorizer; "" for a public route
}

// rawFunction holds the properties of a function and of Globals.Function. Decoding the function's
// properties over the globals' merges them as SAM does: scalars and lists are replaced, maps merged
// key by key.
type rawFunction struct {
	Runtime       string   `yaml:"Runtime"`
	Architectures []string `yaml:"Architectures"`
	Handler       string   `yaml:"Handler"`
	MemorySize    int      `yaml:"MemorySize"`
	Timeout       int      `yaml:"Timeout"`
	LoggingConfig struct {
		LogFormat string `yaml:"LogFormat"`
	} `yaml:"LoggingConfig"`
	Environment struct {
		Variables map[string]Value `yaml:"Variables"`
	} `yaml:"Environment"`
	Policies []policy `yaml:"Policies"`
	Events   map[string]struct {
		Type       string    `yaml:"Type"`
		Properties yaml.Node `yaml:"Properties"`
	} `yaml:"Events"`
}

type policy struct {
	Statement []Statement `yaml:"Statement"`
}

func (p *policy) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return errAt(n, "only inline policies ({Statement: [...]}) are read, not managed policies")
	}
	type plain policy
	return strict(n, (*plain)(p))
}

func (s *Statement) UnmarshalYAML(n *yaml.Node) error {
	var raw struct {
		Effect   string            `yaml:"Effect"`
		Action   oneOrMany[string] `yaml:"Action"`
		Resource oneOrMany[Value]  `yaml:"Resource"`
		_        any               `yaml:"Sid"`
	}
	if err := strict(n, &raw); err != nil {
		return err
	}
	*s = Statement{Effect: raw.Effect, Action: raw.Action, Resource: raw.Resource}
	return nil
}

// oneOrMany is a value or a list of them, as IAM's Action and Resource allow.
type oneOrMany[T any] []T

func (l *oneOrMany[T]) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		return n.Decode((*[]T)(l))
	}
	*l = make(oneOrMany[T], 1)
	return n.Decode(&(*l)[0])
}

type httpEvent struct {
	APIID  Value     `yaml:"ApiId"`
	Path   string    `yaml:"Path"`
	Method string    `yaml:"Method"`
	Auth   eventAuth `yaml:"Auth"`
}

type eventAuth struct {
	Authorizer string `yaml:"Authorizer"`
}

func (t *Template) addFunction(id, buildMethod string, globals, props *yaml.Node) error {
	var p rawFunction
	if err := decodeProps(globals, &p); err != nil {
		return err
	}
	if err := decodeProps(props, &p); err != nil {
		return err
	}
	f := &Function{
		LogicalID:     id,
		Runtime:       p.Runtime,
		Architectures: p.Architectures,
		Handler:       p.Handler,
		MemorySize:    p.MemorySize,
		Timeout:       p.Timeout,
		LogFormat:     p.LoggingConfig.LogFormat,
		Environment:   p.Environment.Variables,
		BuildMethod:   buildMethod,
	}
	for _, pol := range p.Policies {
		f.Statements = append(f.Statements, pol.Statement...)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Events)) {
		ev := p.Events[name]
		if ev.Type != "HttpApi" {
			continue
		}
		var he httpEvent
		if err := strict(&ev.Properties, &he); err != nil {
			return err
		}
		e := HTTPEvent{Name: name, API: he.APIID.Target, Path: he.Path, Method: strings.ToUpper(he.Method),
			Authorizer: he.Auth.Authorizer}
		if he.APIID.Fn != FnRef {
			t.problem(id, "event %s: ApiId %s is not a !Ref to an AWS::Serverless::HttpApi", name, he.APIID)
		}
		if e.Path == "" || e.Method == "" {
			t.problem(id, "event %s: Path and Method must be set together", name)
		}
		f.Events = append(f.Events, e)
	}
	t.Functions[id] = f
	return nil
}

// Route is one HTTP route as API Gateway will serve it.
type Route struct {
	Function   string // logical id of the integrated function
	Event      string // event name in the function's Events
	API        string // logical id of the HttpApi
	Method     string // upper-cased
	Path       string
	Authorizer string // "" when the route is public
}

// Routes returns every HttpApi route of every function, sorted by path, method, API and function.
func (t *Template) Routes() []Route {
	var out []Route
	for _, f := range t.Functions {
		for _, ev := range f.Events {
			out = append(out, Route{Function: f.LogicalID, Event: ev.Name, API: ev.API, Method: ev.Method, Path: ev.Path,
				Authorizer: ev.Authorizer})
		}
	}
	slices.SortFunc(out, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method), cmp.Compare(a.API, b.API),
			cmp.Compare(a.Function, b.Function), cmp.Compare(a.Event, b.Event))
	})
	return out
}
