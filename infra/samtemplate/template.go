// Package samtemplate reads the project's AWS SAM template (template.yaml) into typed values, so
// that the template stays the single source of truth: the local stack creates its tables and user
// pool and serves its APIs from it, and tests assert routes, authorizers and IAM policies against it.
//
// It reads what the template uses and nothing more. Other resources and properties are ignored,
// except where ignoring them would make the local stack behave unlike AWS without saying so: a
// property of an HttpApi, an authorizer, a route or a policy statement that the local stack does
// not emulate (a DefaultAuthorizer, per-route RouteSettings, SAM policy templates, NotAction, ...)
// fails Parse with its line, and so does an intrinsic other than Ref, GetAtt and Sub where a value
// is read. Cross-resource problems (an undefined authorizer, a Ref to nothing) do not fail Parse:
// Validate reports them all at once.
package samtemplate

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Resource types this package models.
const (
	TypeFunction       = "AWS::Serverless::Function"
	TypeHTTPAPI        = "AWS::Serverless::HttpApi"
	TypeTable          = "AWS::DynamoDB::Table"
	TypeUserPool       = "AWS::Cognito::UserPool"
	TypeUserPoolClient = "AWS::Cognito::UserPoolClient"
)

// Template is a parsed SAM template. The maps are keyed by logical id; iterate them with
// slices.Sorted(maps.Keys(m)) where order matters.
type Template struct {
	Parameters      map[string]Parameter
	Functions       map[string]*Function
	HTTPAPIs        map[string]*HTTPAPI
	Tables          map[string]*Table
	UserPools       map[string]*UserPool
	UserPoolClients map[string]*UserPoolClient
	Queues          map[string]*Queue
	// Resources maps every resource's logical id to its Type, including types not modelled here.
	Resources map[string]string

	// problems are semantic issues noticed while parsing; Validate reports them.
	problems problems
}

// Parameter is a template parameter; a Ref to it resolves to Default unless the caller names it.
type Parameter struct {
	Default *string `yaml:"Default"`
}

type rawTemplate struct {
	Parameters map[string]Parameter `yaml:"Parameters"`
	Globals    struct {
		Function yaml.Node `yaml:"Function"`
		HTTPAPI  yaml.Node `yaml:"HttpApi"`
	} `yaml:"Globals"`
	Resources map[string]struct {
		Type       string    `yaml:"Type"`
		Properties yaml.Node `yaml:"Properties"`
		Metadata   struct {
			BuildMethod string `yaml:"BuildMethod"`
		} `yaml:"Metadata"`
	} `yaml:"Resources"`
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse parses a template. It fails when a property it reads has the wrong shape or one the local
// stack does not emulate; see Validate for cross-resource checks.
func Parse(b []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, err
	}
	longForm(&root)
	var raw rawTemplate
	if err := root.Decode(&raw); err != nil {
		return nil, err
	}
	if !raw.Globals.HTTPAPI.IsZero() {
		// Merging these would change every API's authorizers and CORS; refuse rather than
		// describe the APIs wrongly.
		return nil, errAt(&raw.Globals.HTTPAPI, "Globals.HttpApi is not read; set the properties on the AWS::Serverless::HttpApi resource")
	}
	t := &Template{
		Parameters:      raw.Parameters,
		Functions:       map[string]*Function{},
		HTTPAPIs:        map[string]*HTTPAPI{},
		Tables:          map[string]*Table{},
		UserPools:       map[string]*UserPool{},
		UserPoolClients: map[string]*UserPoolClient{},
		Queues:          map[string]*Queue{},
		Resources:       map[string]string{},
	}
	for _, id := range slices.Sorted(maps.Keys(raw.Resources)) {
		r := raw.Resources[id]
		t.Resources[id] = r.Type
		var err error
		switch r.Type {
		case TypeFunction:
			err = t.addFunction(id, r.Metadata.BuildMethod, &raw.Globals.Function, &r.Properties)
		case TypeHTTPAPI:
			err = t.addHTTPAPI(id, &r.Properties)
		case TypeTable:
			err = t.addTable(id, &r.Properties)
		case TypeUserPool:
			err = t.addUserPool(id, &r.Properties)
		case TypeUserPoolClient:
			err = t.addUserPoolClient(id, &r.Properties)
		case TypeQueue:
			err = t.addQueue(id, &r.Properties)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
	}
	return t, nil
}

// longForm rewrites the short-form intrinsics (!Ref X, !Sub s, !If [...]) into their long form
// ({Ref: X}, {Fn::Sub: s}, {Fn::If: [...]}). Only Value decodes those maps, so an intrinsic where
// a literal is read (Runtime: !Ref X) fails to decode instead of reading as the string "X".
func longForm(n *yaml.Node) {
	for _, c := range n.Content {
		longForm(c)
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return
	}
	name := "Fn::" + n.Tag[1:]
	if n.Tag == "!Ref" {
		name = "Ref"
	}
	arg := *n
	arg.Tag = ""
	*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column,
		Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}, &arg}}
}

// decodeProps decodes a resource's Properties, which may be absent.
func decodeProps(n *yaml.Node, out any) error {
	if n.IsZero() {
		return nil
	}
	return n.Decode(out)
}

// strict decodes n into out after refusing every key of a mapping that the struct it decodes into
// does not name in a yaml tag: properties the local stack would otherwise silently not emulate. A
// blank field (`_ any `+"`"+`yaml:"Key"`+"`"+`) names a key that is allowed and ignored, and so does each key in
// the comma-separated `+"`"+`ignored:"A,B"`+"`"+` tag of a blank field. Types with their own
// UnmarshalYAML check their own keys.
func strict(n *yaml.Node, out any) error {
	if n.IsZero() {
		return nil
	}
	if err := knownKeys(n, reflect.TypeOf(out)); err != nil {
		return err
	}
	return n.Decode(out)
}

var unmarshaler = reflect.TypeFor[yaml.Unmarshaler]()

func knownKeys(n *yaml.Node, t reflect.Type) error {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		return nil
	}
	var err error
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := reflect.VisibleFields(t)
		for i := 0; i+1 < len(n.Content) && err == nil; i += 2 {
			k := n.Content[i]
			if slices.ContainsFunc(fields, func(f reflect.StructField) bool {
				return slices.Contains(strings.Split(f.Tag.Get("ignored"), ","), k.Value)
			}) {
				continue
			}
			j := slices.IndexFunc(fields, func(f reflect.StructField) bool { return f.Tag.Get("yaml") == k.Value })
			if j < 0 {
				return errAt(k, "%s is not emulated by the local stack (infra/samtemplate, infra/gateway)", k.Value)
			}
			err = knownKeys(n.Content[i+1], fields[j].Type)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			err = cmp.Or(err, knownKeys(c, t.Elem()))
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			err = cmp.Or(err, knownKeys(n.Content[i], t.Elem()))
		}
	}
	return err
}

func errAt(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("line %d: %s", n.Line, fmt.Sprintf(format, args...))
}

// pseudoParameters are the CloudFormation AWS:: names the local stack resolves.
var pseudoParameters = map[string]bool{
	"AWS::AccountId": true, "AWS::Partition": true, "AWS::Region": true, "AWS::StackName": true, "AWS::URLSuffix": true,
}

// Resolve renders v as a plain string for the local stack. names supplies physical values keyed by
// logical id (for Ref and ${Name}), by "Name.Attribute" (for GetAtt and ${Name.Attribute}) or by
// pseudo parameter ("AWS::Region"); parameters not in names resolve to their Default.
func (t *Template) Resolve(v Value, names map[string]string) (string, error) {
	return v.Resolve(func(name, attr string) (string, bool) {
		key := name
		if attr != "" {
			key += "." + attr
		}
		if s, ok := names[key]; ok {
			return s, true
		}
		if p, ok := t.Parameters[name]; ok && attr == "" && p.Default != nil {
			return *p.Default, true
		}
		return "", false
	})
}
