// Package eventpattern implements the filter patterns of Lambda event source mappings
// (FilterCriteria.Filters[].Pattern), as far as the local stack emulates them: a pattern is a JSON
// object whose keys name fields of the record, nested objects descend into it, and each leaf is a
// list of matchers of which one must match. Matchers are literal values (strings, numbers, true,
// false, null) and the operators prefix, suffix, equals-ignore-case, anything-but (of values or of
// a prefix), numeric and exists. Other operators (wildcard, cidr, ...) are refused by Compile, so a
// template cannot filter locally otherwise than on AWS without saying so.
//
// A record field holding a list matches when any of its elements does. Several keys must all match;
// several patterns of one mapping are alternatives (Any).
package eventpattern

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Pattern is a compiled filter pattern.
type Pattern struct {
	fields map[string]node
}

// node is either a nested pattern or a list of matchers.
type node struct {
	nested   *Pattern
	matchers []matcher
}

type matcher struct {
	op string // "" for a literal value
	// literal: the value; prefix, suffix, equals-ignore-case: a string; anything-but: []any of
	// literals or a prefix (in prefix); numeric: the conditions; exists: a bool.
	value   any
	prefix  string
	numeric []numericCond
}

type numericCond struct {
	op string
	n  float64
}

// Compile parses a pattern.
func Compile(src string) (*Pattern, error) {
	dec := json.NewDecoder(strings.NewReader(src))
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("filter pattern %q is not a JSON object: %v", src, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("filter pattern %q has more than one JSON value", src)
	}
	p, err := compile(raw, "")
	if err != nil {
		return nil, fmt.Errorf("filter pattern %s: %w", src, err)
	}
	return p, nil
}

func compile(raw map[string]any, path string) (*Pattern, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%sempty object", at(path))
	}
	p := &Pattern{fields: map[string]node{}}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		switch v := raw[k].(type) {
		case map[string]any:
			n, err := compile(v, path+k+".")
			if err != nil {
				return nil, err
			}
			p.fields[k] = node{nested: n}
		case []any:
			if len(v) == 0 {
				return nil, fmt.Errorf("%s%s: an empty list matches nothing", at(path), k)
			}
			var ms []matcher
			for _, e := range v {
				m, err := compileMatcher(e)
				if err != nil {
					return nil, fmt.Errorf("%s%s: %w", at(path), k, err)
				}
				ms = append(ms, m)
			}
			p.fields[k] = node{matchers: ms}
		default:
			return nil, fmt.Errorf("%s%s: a value must be an object or a list of matchers", at(path), k)
		}
	}
	return p, nil
}

func at(path string) string {
	if path == "" {
		return ""
	}
	return "at " + path
}

func compileMatcher(e any) (matcher, error) {
	obj, ok := e.(map[string]any)
	if !ok {
		return matcher{value: e}, nil // a literal
	}
	if len(obj) != 1 {
		return matcher{}, fmt.Errorf("an operator object must have exactly one key, got %v", slices.Sorted(maps.Keys(obj)))
	}
	for op, arg := range obj {
		switch op {
		case "prefix", "suffix", "equals-ignore-case":
			s, ok := arg.(string)
			if !ok {
				return matcher{}, fmt.Errorf("%s takes a string", op)
			}
			return matcher{op: op, value: s}, nil
		case "exists":
			b, ok := arg.(bool)
			if !ok {
				return matcher{}, fmt.Errorf("exists takes true or false")
			}
			return matcher{op: op, value: b}, nil
		case "anything-but":
			switch a := arg.(type) {
			case []any:
				for _, x := range a {
					if _, isObj := x.(map[string]any); isObj {
						return matcher{}, fmt.Errorf("anything-but takes a value, a list of values or {\"prefix\": ...}")
					}
				}
				return matcher{op: op, value: a}, nil
			case map[string]any:
				s, ok := a["prefix"].(string)
				if len(a) != 1 || !ok {
					return matcher{}, fmt.Errorf("anything-but takes a value, a list of values or {\"prefix\": ...}; other operators are not emulated locally")
				}
				return matcher{op: op, prefix: s}, nil
			default:
				return matcher{op: op, value: []any{a}}, nil
			}
		case "numeric":
			conds, err := compileNumeric(arg)
			if err != nil {
				return matcher{}, err
			}
			return matcher{op: op, numeric: conds}, nil
		default:
			return matcher{}, fmt.Errorf("operator %q is not emulated by the local stack (infra/eventpattern)", op)
		}
	}
	panic("unreachable")
}

func compileNumeric(arg any) ([]numericCond, error) {
	a, ok := arg.([]any)
	if !ok || len(a) == 0 || len(a)%2 != 0 || len(a) > 4 {
		return nil, fmt.Errorf("numeric takes [op, n] or [op, n, op, n]")
	}
	var out []numericCond
	for i := 0; i < len(a); i += 2 {
		op, _ := a[i].(string)
		n, ok := a[i+1].(float64)
		switch op {
		case "=", "<", "<=", ">", ">=":
		default:
			ok = false
		}
		if !ok {
			return nil, fmt.Errorf("numeric takes [op, n] or [op, n, op, n] with op one of =, <, <=, >, >=")
		}
		out = append(out, numericCond{op, n})
	}
	return out, nil
}

// Any reports whether record (a JSON document) matches one of patterns; with no patterns,
// every record matches.
func Any(patterns []*Pattern, record []byte) (bool, error) {
	if len(patterns) == 0 {
		return true, nil
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(record))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return false, err
	}
	doc = normalise(doc)
	for _, p := range patterns {
		if p.Match(doc) {
			return true, nil
		}
	}
	return false, nil
}

// normalise turns json.Numbers into float64, as the pattern's numbers are.
func normalise(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalise(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalise(e)
		}
	}
	return v
}

// Match reports whether doc (decoded JSON: maps, slices, strings, float64s, bools, nil) matches p.
func (p *Pattern) Match(doc any) bool {
	obj, _ := doc.(map[string]any)
	for k, n := range p.fields {
		v, present := obj[k]
		if n.nested != nil {
			if list, ok := v.([]any); ok {
				if !slices.ContainsFunc(list, n.nested.Match) {
					return false
				}
			} else if !n.nested.Match(v) {
				return false
			}
			continue
		}
		if !matchLeaf(n.matchers, v, present) {
			return false
		}
	}
	return true
}

func matchLeaf(ms []matcher, v any, present bool) bool {
	values := []any{v}
	if list, ok := v.([]any); ok {
		values = list
	}
	for _, m := range ms {
		if m.op == "exists" {
			if m.value.(bool) == present {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		for _, x := range values {
			if m.match(x) {
				return true
			}
		}
	}
	return false
}

func (m matcher) match(x any) bool {
	switch m.op {
	case "":
		return m.value == x
	case "prefix":
		s, ok := x.(string)
		return ok && strings.HasPrefix(s, m.value.(string))
	case "suffix":
		s, ok := x.(string)
		return ok && strings.HasSuffix(s, m.value.(string))
	case "equals-ignore-case":
		s, ok := x.(string)
		return ok && strings.EqualFold(s, m.value.(string))
	case "anything-but":
		if m.prefix != "" {
			s, ok := x.(string)
			return ok && !strings.HasPrefix(s, m.prefix)
		}
		return !slices.Contains(m.value.([]any), x)
	case "numeric":
		f, ok := x.(float64)
		if !ok {
			return false
		}
		for _, c := range m.numeric {
			var ok bool
			switch c.op {
			case "=":
				ok = f == c.n
			case "<":
				ok = f < c.n
			case "<=":
				ok = f <= c.n
			case ">":
				ok = f > c.n
			case ">=":
				ok = f >= c.n
			}
			if !ok {
				return false
			}
		}
		return true
	}
	return false
}
