package api

import (
	"strings"
	"testing"

	"codex/pkg/codex"
)

// TestDecodeJSONFieldNamesAreCaseSensitive: encoding/json matches keys to fields case-insensitively
// (with Unicode folding: ſ is s, K is k), so without the check a body could carry one value for
// "quantity" that other parsers see and another, under "QUANTITY", that Go uses.
func TestDecodeJSONFieldNamesAreCaseSensitive(t *testing.T) {
	for _, tc := range []struct {
		body, param string
	}{
		{`{"Name":"a"}`, "Name"},
		{`{"name":"a","NAME":"b"}`, "NAME"},
		{`{"QUANTITY":2,"quantity":3}`, "QUANTITY"},
		{`{"nameſ":"a"}`, "nameſ"}, // matches nothing even folded
		{"{\"ſtags\":[\"x\"]}", "ſtags"},
		{`{"nested":{"AMOUNT":1}}`, "nested.AMOUNT"},
		{`{"nested":{"colour":1}}`, "nested.colour"},
		// The name as the request spells it, whatever it holds.
		{`{"a\"b":1}`, `a"b`},
		{`{"name":"a","zz":1,"b\\c":2}`, `b\c`}, // of several, the first in sorted order
	} {
		var v sample
		err := DecodeJSON(&Request{Body: tc.body}, &v)
		if e, _ := err.(*codex.Error); e == nil || e.Code != codex.CodeParameterUnknown || e.Param != tc.param {
			t.Errorf("%s: %v, want unknown parameter %s", tc.body, err, tc.param)
		}
	}
	// Map keys are data, not parameter names: any case is accepted.
	var m sample
	if err := DecodeJSON(&Request{Body: `{"meta":{"K":"v","k":"w"}}`}, &m); err != nil || m.Meta["K"] != "v" || m.Meta["k"] != "w" {
		t.Errorf("map keys: %v %+v", err, m)
	}
	// Kelvin sign and long s fold to k and s in encoding/json.
	type kelvin struct {
		Kind string `json:"kind"`
		Size int    `json:"size"`
	}
	for _, body := range []string{"{\"\u212aind\":\"x\"}", "{\"\u017fize\":1}"} {
		var v kelvin
		if err := DecodeJSON(&Request{Body: body}, &v); codex.ErrorCode(err) != codex.CodeParameterUnknown {
			t.Errorf("%s: %v (%+v), want an unknown parameter", body, err, v)
		}
	}
	// Line items are decoded one by one, with the same rule and the element's path.
	_, err := decodeCheckoutParams(&Request{Body: `{"line_items":[{"name":"x","unit_amount":1,"quantity":1,"Quantity":5}]}`})
	if e, _ := err.(*codex.Error); e == nil || e.Code != codex.CodeParameterUnknown || e.Param != "line_items[0].Quantity" {
		t.Errorf("line item: %v", err)
	}
}

// TestDecodeJSONEmbeddedStructs: the fields of an embedded struct, by value or by pointer, are the
// parameters of the outer one, as encoding/json decodes them; a key in none of them is unknown.
func TestDecodeJSONEmbeddedStructs(t *testing.T) {
	type Inner struct {
		A int64 `json:"a"`
	}
	type byValue struct {
		Inner
		B int64 `json:"b"`
	}
	type byPointer struct {
		*Inner
		B int64 `json:"b"`
	}
	var v byValue
	if err := DecodeJSON(&Request{Body: `{"a":1,"b":2}`}, &v); err != nil || v.A != 1 || v.B != 2 {
		t.Errorf("by value: %v %+v", err, v)
	}
	var p byPointer
	if err := DecodeJSON(&Request{Body: `{"a":1,"b":2}`}, &p); err != nil || p.Inner == nil || p.A != 1 || p.B != 2 {
		t.Errorf("by pointer: %v %+v", err, p)
	}
	for _, target := range []any{&byValue{}, &byPointer{}} {
		err := DecodeJSON(&Request{Body: `{"a":1,"c":3}`}, target)
		if e, _ := err.(*codex.Error); e == nil || e.Code != codex.CodeParameterUnknown || e.Param != "c" {
			t.Errorf("%T: %v, want unknown parameter c", target, err)
		}
	}
}

// TestDecodeJSONCaseHint: the message says names are case-sensitive when the name would match a
// parameter in another case, and only then.
func TestDecodeJSONCaseHint(t *testing.T) {
	for body, hint := range map[string]bool{
		`{"Name":"a"}`: true, `{"nested":{"AMOUNT":1}}`: true, `{"zz":1}`: false, `{"name":"a","zz":1,"Name":2}`: true,
		`{"name":"a","zz":1,"b\\c":2}`: false,
	} {
		var v sample
		err := DecodeJSON(&Request{Body: body}, &v)
		if e, _ := err.(*codex.Error); e == nil || strings.Contains(e.Message, "case-sensitive") != hint {
			t.Errorf("%s: %v, want the case hint %v", body, err, hint)
		}
	}
}
