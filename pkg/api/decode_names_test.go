package api

import (
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
		{`{"nameſ":"a"}`, ""}, // matches nothing even folded: the decoder's unknown field
		{"{\"ſtags\":[\"x\"]}", ""},
		{`{"nested":{"AMOUNT":1}}`, "nested.AMOUNT"},
		{`{"meta":{"K":"v","k":"w"}}`, ""}, // map keys are data, not field names: accepted
	} {
		var v sample
		err := DecodeJSON(&Request{Body: tc.body}, &v)
		switch {
		case tc.param == "" && tc.body == `{"meta":{"K":"v","k":"w"}}`:
			if err != nil || v.Meta["K"] != "v" || v.Meta["k"] != "w" {
				t.Errorf("%s: %v %+v", tc.body, err, v)
			}
		case tc.param == "":
			if codex.ErrorCode(err) != codex.CodeParameterUnknown {
				t.Errorf("%s: %v, want an unknown parameter", tc.body, err)
			}
		default:
			e, _ := err.(*codex.Error)
			if e == nil || e.Code != codex.CodeParameterUnknown || e.Param != tc.param {
				t.Errorf("%s: %v, want unknown parameter %s", tc.body, err, tc.param)
			}
		}
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
