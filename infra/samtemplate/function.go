package samtemplate

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

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
	// Events are the function's HttpApi events, sorted by event name.
	Events []HTTPEvent
	// Schedules are its Schedule events, StreamEvents and QueueEvents its DynamoDB and SQS events
	// (event source mappings), each sorted by event name. Other event types are ignored.
	Schedules    []ScheduleEvent
	StreamEvents []StreamEvent
	QueueEvents  []QueueEvent
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

// ScheduleEvent is a Schedule event of a function: EventBridge invokes the function at a rate.
type ScheduleEvent struct {
	Name       string
	Expression string        // as written, e.g. rate(1 minute)
	Every      time.Duration // what Expression means
	Enabled    bool          // Enabled: false keeps the rule but invokes nothing
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

type scheduleEvent struct {
	Schedule string `yaml:"Schedule"`
	Enabled  *bool  `yaml:"Enabled"`
	_        any    `yaml:"Description"`
}

// rateExpr is EventBridge's rate expression: a positive whole number and a unit, singular for 1
// and plural otherwise, as EventBridge requires.
var rateExpr = regexp.MustCompile(`^rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)$`)

// parseRate reads a rate expression. cron expressions are refused: the local stack runs schedules
// at a fixed period and would run a cron one at the wrong times.
func parseRate(expr string) (time.Duration, error) {
	if strings.HasPrefix(expr, "cron(") {
		return 0, fmt.Errorf("schedule %q: cron expressions are not emulated by the local stack (infra/devstack); use rate(N minutes|hours|days)", expr)
	}
	m := rateExpr.FindStringSubmatch(expr)
	if m == nil {
		return 0, fmt.Errorf("schedule %q is not a rate expression such as rate(1 minute) or rate(5 minutes)", expr)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, fmt.Errorf("schedule %q: %v", expr, err)
	}
	if singular := !strings.HasSuffix(m[2], "s"); singular != (n == 1) {
		return 0, fmt.Errorf("schedule %q: the unit is singular for 1 and plural otherwise (rate(1 minute), rate(5 minutes))", expr)
	}
	unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(m[2], "s")]
	return time.Duration(n) * unit, nil
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
		switch ev.Type {
		case "Schedule":
			var se scheduleEvent
			if err := strict(&ev.Properties, &se); err != nil {
				return err
			}
			every, err := parseRate(se.Schedule)
			if err != nil {
				return errAt(&ev.Properties, "event %s: %v", name, err)
			}
			f.Schedules = append(f.Schedules, ScheduleEvent{Name: name, Expression: se.Schedule, Every: every,
				Enabled: se.Enabled == nil || *se.Enabled})
			continue
		case "DynamoDB":
			if err := t.addStreamEvent(f, name, &ev.Properties); err != nil {
				return err
			}
			continue
		case "SQS":
			if err := t.addQueueEvent(f, name, &ev.Properties); err != nil {
				return err
			}
			continue
		case "HttpApi":
		default:
			continue
		}
		var he httpEvent
		if err := strict(&ev.Properties, &he); err != nil {
			return err
		}
		e := HTTPEvent{Name: name, API: he.APIID.Target, Path: he.Path, Method: strings.ToUpper(he.Method),
			Authorizer: he.Auth.Authorizer}
		if he.APIID.Fn != FnRef {
			t.problems.add(id, "event %s: ApiId %s is not a !Ref to an AWS::Serverless::HttpApi", name, he.APIID)
		}
		if e.Path == "" || e.Method == "" {
			t.problems.add(id, "event %s: Path and Method must be set together", name)
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

// Schedule is one Schedule event as EventBridge will run it.
type Schedule struct {
	Function string // logical id of the invoked function
	Event    string // event name in the function's Events
	ScheduleEvent
}

// Schedules returns every enabled Schedule event of every function, sorted by function and event.
func (t *Template) Schedules() []Schedule {
	var out []Schedule
	for _, id := range slices.Sorted(maps.Keys(t.Functions)) {
		for _, ev := range t.Functions[id].Schedules {
			if ev.Enabled {
				out = append(out, Schedule{Function: id, Event: ev.Name, ScheduleEvent: ev})
			}
		}
	}
	return out
}
