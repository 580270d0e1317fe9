package samtemplate

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Intrinsic function names as CloudFormation spells them in the long form.
const (
	FnRef    = "Ref"
	FnGetAtt = "Fn::GetAtt"
	FnSub    = "Fn::Sub"
)

// Value is a property value that may be an intrinsic function. Resources refer to each other by
// logical id (`!Ref KeysTable`); keeping that reference typed instead of flattening it to a string
// lets the local stack substitute its own physical names and lets Validate check that the target
// exists. Only Ref, GetAtt and Sub are supported, in both the short (!Ref) and long ({"Ref": ..})
// forms; any other intrinsic in a property this package reads is a parse error rather than a
// silently wrong value.
type Value struct {
	// Fn is "" for a literal scalar, else FnRef, FnGetAtt or FnSub.
	Fn string
	// Literal is the scalar's text when Fn is "".
	Literal string
	// Target is what Ref names (a logical id, parameter or pseudo parameter such as AWS::Region),
	// or the logical id of GetAtt's resource.
	Target string
	// Attribute is GetAtt's attribute, e.g. "Arn".
	Attribute string
	// Template is Sub's format string; Vars holds the variable map of the long form
	// `!Sub [template, {Name: value}]`.
	Template string
	Vars     map[string]Value
}

// String renders v the way it would be written with short-form tags, for messages.
func (v Value) String() string {
	switch v.Fn {
	case FnRef:
		return "!Ref " + v.Target
	case FnGetAtt:
		return "!GetAtt " + v.Target + "." + v.Attribute
	case FnSub:
		return "!Sub " + v.Template
	}
	return v.Literal
}

// IsRef reports whether v is `!Ref name`.
func (v Value) IsRef(name string) bool { return v.Fn == FnRef && v.Target == name }

// IsGetAtt reports whether v is `!GetAtt resource.attribute`.
func (v Value) IsGetAtt(resource, attribute string) bool {
	return v.Fn == FnGetAtt && v.Target == resource && v.Attribute == attribute
}

// References lists the names v depends on: Ref targets, GetAtt resources and the ${Name} or
// ${Name.Attr} placeholders of Sub (without variables Sub defines itself). Pseudo parameters
// (AWS::Region) are included; callers that only care about resources skip the "AWS::" prefix.
func (v Value) References() []string {
	var out []string
	for _, r := range v.refs() {
		out = append(out, r.name)
	}
	return out
}

// Resolve renders v as a plain string. lookup returns the value of a name (attribute "" for Ref and
// ${Name}, else the GetAtt attribute); an unknown name is an error so that a missing substitution
// never reaches a running function as a literal "${KeysTable}".
func (v Value) Resolve(lookup func(name, attribute string) (string, bool)) (string, error) {
	switch v.Fn {
	case "":
		return v.Literal, nil
	case FnRef, FnGetAtt:
		s, ok := lookup(v.Target, v.Attribute)
		if !ok {
			return "", fmt.Errorf("cannot resolve %s", v)
		}
		return s, nil
	case FnSub:
		parts, err := parseSub(v.Template)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.text)
			if p.name == "" {
				continue
			}
			if val, isVar := v.Vars[p.name]; isVar && p.attr == "" {
				s, err := val.Resolve(lookup)
				if err != nil {
					return "", err
				}
				b.WriteString(s)
				continue
			}
			s, ok := lookup(p.name, p.attr)
			if !ok {
				return "", fmt.Errorf("cannot resolve ${%s} in %s", p.raw(), v)
			}
			b.WriteString(s)
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("unsupported intrinsic %s", v.Fn)
}

// subPart is literal text (with ${!Literal} escapes already undone) followed by an optional
// ${name} or ${name.attr} placeholder.
type subPart struct {
	text, name, attr string
}

func (p subPart) raw() string {
	if p.attr == "" {
		return p.name
	}
	return p.name + "." + p.attr
}

// parseSub splits a Sub template into literal text and placeholders. Pseudo parameters keep their
// "AWS::" name whole; any other name splits at its first dot into resource and attribute.
func parseSub(tmpl string) ([]subPart, error) {
	var parts []subPart
	for s := tmpl; ; {
		i := strings.Index(s, "${")
		if i < 0 {
			return append(parts, subPart{text: s}), nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("unterminated ${ in Sub %q", tmpl)
		}
		inner := s[i+2 : i+j]
		switch {
		case strings.HasPrefix(inner, "!"):
			parts = append(parts, subPart{text: s[:i] + "${" + inner[1:] + "}"})
		case strings.TrimSpace(inner) == "":
			return nil, fmt.Errorf("empty ${} in Sub %q", tmpl)
		default:
			p := subPart{text: s[:i], name: inner}
			if !strings.HasPrefix(inner, "AWS::") {
				if name, attr, ok := strings.Cut(inner, "."); ok {
					p.name, p.attr = name, attr
				}
			}
			parts = append(parts, p)
		}
		s = s[i+j+1:]
	}
}

// UnmarshalYAML decodes a literal scalar or a Ref, GetAtt or Sub in either form.
func (v *Value) UnmarshalYAML(n *yaml.Node) error {
	val, err := valueFromNode(n)
	if err != nil {
		return err
	}
	*v = val
	return nil
}

func valueFromNode(n *yaml.Node) (Value, error) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Tag {
	case "!Ref":
		if n.Kind != yaml.ScalarNode || n.Value == "" {
			return Value{}, errAt(n, "!Ref needs a name")
		}
		return Value{Fn: FnRef, Target: n.Value}, nil
	case "!GetAtt":
		return getAttFromNode(n)
	case "!Sub":
		return subFromNode(n)
	}
	if isCustomTag(n.Tag) {
		return Value{}, errAt(n, "unsupported intrinsic %s", n.Tag)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return Value{}, nil
		}
		return Value{Literal: n.Value}, nil
	case yaml.MappingNode:
		if len(n.Content) == 2 {
			key, arg := n.Content[0].Value, n.Content[1]
			switch key {
			case FnRef:
				if arg.Kind != yaml.ScalarNode || isCustomTag(arg.Tag) || arg.Value == "" {
					return Value{}, errAt(arg, "Ref needs a name")
				}
				return Value{Fn: FnRef, Target: arg.Value}, nil
			case FnGetAtt, FnSub:
				if isCustomTag(arg.Tag) {
					return Value{}, errAt(arg, "unsupported intrinsic %s inside %s", arg.Tag, key)
				}
				if key == FnGetAtt {
					return getAttFromNode(arg)
				}
				return subFromNode(arg)
			}
			if strings.HasPrefix(key, "Fn::") {
				return Value{}, errAt(n, "unsupported intrinsic %s", key)
			}
		}
	}
	return Value{}, errAt(n, "expected a string or !Ref, !GetAtt or !Sub")
}

// getAttFromNode accepts "Resource.Attr" and [Resource, Attr]. Logical ids contain no dots, so the
// first dot separates them; attributes may contain dots (Endpoint.Address). The node's own tag is
// the !GetAtt of the short form, or none for the long form.
func getAttFromNode(n *yaml.Node) (Value, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		res, attr, ok := strings.Cut(n.Value, ".")
		if ok && res != "" && attr != "" {
			return Value{Fn: FnGetAtt, Target: res, Attribute: attr}, nil
		}
	case yaml.SequenceNode:
		if len(n.Content) == 2 && n.Content[0].Kind == yaml.ScalarNode && n.Content[1].Kind == yaml.ScalarNode &&
			!isCustomTag(n.Content[0].Tag) && !isCustomTag(n.Content[1].Tag) {
			return Value{Fn: FnGetAtt, Target: n.Content[0].Value, Attribute: n.Content[1].Value}, nil
		}
	}
	return Value{}, errAt(n, "GetAtt needs Resource.Attribute or [Resource, Attribute]")
}

// subFromNode accepts "template" and [template, {Name: value}]. The node's own tag is the !Sub of
// the short form, or none for the long form.
func subFromNode(n *yaml.Node) (Value, error) {
	var v Value
	switch {
	case n.Kind == yaml.ScalarNode:
		v = Value{Fn: FnSub, Template: n.Value}
	case n.Kind == yaml.SequenceNode && len(n.Content) == 2 && n.Content[0].Kind == yaml.ScalarNode &&
		!isCustomTag(n.Content[0].Tag):
		var vars map[string]Value
		if err := n.Content[1].Decode(&vars); err != nil {
			return Value{}, err
		}
		v = Value{Fn: FnSub, Template: n.Content[0].Value, Vars: vars}
	default:
		return Value{}, errAt(n, "Sub needs a string or [string, {variables}]")
	}
	if _, err := parseSub(v.Template); err != nil {
		return Value{}, errAt(n, "%v", err)
	}
	return v, nil
}

// isCustomTag reports a local tag such as !Ref, as opposed to the core schema's !!str.
func isCustomTag(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

func errAt(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("line %d: %s", n.Line, fmt.Sprintf(format, args...))
}
