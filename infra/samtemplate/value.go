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
// exists. Ref, GetAtt ("Resource.Attribute") and Sub (a string, without a variable map) are read;
// any other intrinsic is a parse error rather than a silently wrong value.
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
	// Template is Sub's format string.
	Template string
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

// TableARN reports the table (its logical id) and the index ("" for the table itself) that a
// policy resource names as `!GetAtt Table.Arn` or `!Sub ${Table.Arn}/index/Name`; ok is false for
// any other value. Whether Table is a table of the template is the caller's to check.
func (v Value) TableARN() (table, index string, ok bool) {
	switch v.Fn {
	case FnGetAtt:
		return v.Target, "", v.Attribute == "Arn"
	case FnSub:
		parts, err := parseSub(v.Template)
		if err != nil || len(parts) != 2 || parts[0].text != "" || parts[0].attr != "Arn" || parts[1].name != "" {
			break
		}
		if index, ok := strings.CutPrefix(parts[1].text, "/index/"); ok && index != "" && !strings.ContainsAny(index, "/*") {
			return parts[0].name, index, true
		}
	}
	return "", "", false
}

// Resolve renders v as a plain string. lookup returns the value of a name (attribute "" for Ref and
// ${Name}, else the GetAtt attribute); an unknown name is an error so that a missing substitution
// never reaches a running function as a literal "${KeysTable}".
func (v Value) Resolve(lookup func(name, attribute string) (string, bool)) (string, error) {
	var b strings.Builder
	for _, r := range v.refs() {
		b.WriteString(r.text)
		if r.name == "" {
			continue
		}
		s, ok := lookup(r.name, r.attr)
		if !ok {
			return "", fmt.Errorf("cannot resolve %s", r.raw(v))
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// subPart is literal text followed by an optional reference: a ${name} or ${name.attr}
// placeholder of Sub, or the target of Ref or GetAtt.
type subPart struct {
	text, name, attr string
}

func (p subPart) raw(v Value) string {
	if v.Fn != FnSub {
		return v.String()
	}
	if p.attr == "" {
		return "${" + p.name + "} in " + v.String()
	}
	return "${" + p.name + "." + p.attr + "} in " + v.String()
}

// refs splits v into literal text and the references between it.
func (v Value) refs() []subPart {
	switch v.Fn {
	case FnRef, FnGetAtt:
		return []subPart{{name: v.Target, attr: v.Attribute}}
	case FnSub:
		parts, _ := parseSub(v.Template) // checked when parsed
		return parts
	}
	return []subPart{{text: v.Literal}}
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
		if j < 0 || strings.TrimSpace(s[i+2:i+j]) == "" {
			return nil, fmt.Errorf("unterminated or empty ${} in Sub %q", tmpl)
		}
		p := subPart{text: s[:i], name: s[i+2 : i+j]}
		if !strings.HasPrefix(p.name, "AWS::") {
			if name, attr, ok := strings.Cut(p.name, "."); ok {
				p.name, p.attr = name, attr
			}
		}
		parts = append(parts, p)
		s = s[i+j+1:]
	}
}

// UnmarshalYAML decodes a literal scalar, or a Ref, GetAtt or Sub (in the long form longForm makes
// of every intrinsic).
func (v *Value) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*v = Value{Literal: n.Value}
		return nil
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[1].Kind == yaml.ScalarNode {
		arg := n.Content[1].Value
		switch n.Content[0].Value {
		case FnRef:
			if arg != "" {
				*v = Value{Fn: FnRef, Target: arg}
				return nil
			}
		case FnGetAtt:
			// Logical ids contain no dots; attributes may (Endpoint.Address).
			if res, attr, ok := strings.Cut(arg, "."); ok && res != "" && attr != "" {
				*v = Value{Fn: FnGetAtt, Target: res, Attribute: attr}
				return nil
			}
		case FnSub:
			if _, err := parseSub(arg); err != nil {
				return errAt(n, "%v", err)
			}
			*v = Value{Fn: FnSub, Template: arg}
			return nil
		}
	}
	return errAt(n, "expected a string, !Ref Name, !GetAtt Resource.Attribute or !Sub string")
}
