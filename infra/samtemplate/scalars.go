package samtemplate

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// The decode-only types below make the raw structs strict where yaml.v3 would be lenient in the
// wrong way: yaml.v3 happily decodes `Runtime: !Ref X` into a string as "X", dropping the tag, and
// rejects the quoted scalars CloudFormation accepts (`Enabled: "true"`, `Timeout: "10"`).

// str is a literal string; an intrinsic here is an error instead of its silently dropped tag.
type str string

func (s *str) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || isCustomTag(n.Tag) {
		return errAt(n, "expected a literal string")
	}
	*s = str(n.Value)
	return nil
}

// strList is a string or a list of strings, as IAM's Action and many SAM properties allow.
type strList []string

func (l *strList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var s str
		if err := s.UnmarshalYAML(n); err != nil {
			return err
		}
		*l = strList{string(s)}
		return nil
	}
	var items []str
	if err := n.Decode(&items); err != nil {
		return err
	}
	out := make(strList, len(items))
	for i, s := range items {
		out[i] = string(s)
	}
	*l = out
	return nil
}

// valueList is a Value or a list of Values, as IAM's Resource allows.
type valueList []Value

func (l *valueList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode && !isCustomTag(n.Tag) {
		var items []Value
		if err := n.Decode(&items); err != nil {
			return err
		}
		*l = items
		return nil
	}
	v, err := valueFromNode(n)
	if err != nil {
		return err
	}
	*l = valueList{v}
	return nil
}

// flag is a boolean, quoted or not.
type flag bool

func (f *flag) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && !isCustomTag(n.Tag) {
		switch n.Value {
		case "true", "True", "TRUE":
			*f = true
			return nil
		case "false", "False", "FALSE":
			*f = false
			return nil
		}
	}
	return errAt(n, "expected true or false")
}

// integer is a whole number, quoted or not.
type integer int

func (i *integer) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && !isCustomTag(n.Tag) {
		if v, err := strconv.Atoi(n.Value); err == nil {
			*i = integer(v)
			return nil
		}
	}
	return errAt(n, "expected an integer")
}

// number is a decimal number, quoted or not.
type number float64

func (f *number) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && !isCustomTag(n.Tag) {
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
			*f = number(v)
			return nil
		}
	}
	return errAt(n, "expected a number")
}

func strs(l []str) []string {
	if l == nil {
		return nil
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = string(s)
	}
	return out
}

func intPtr(i *integer) *int {
	if i == nil {
		return nil
	}
	v := int(*i)
	return &v
}

func floatPtr(f *number) *float64 {
	if f == nil {
		return nil
	}
	v := float64(*f)
	return &v
}
