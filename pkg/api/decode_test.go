package api

import (
	"encoding/base64"
	"strings"
	"testing"

	"codex/pkg/codex"
)

type sample struct {
	Name     string            `json:"name"`
	Quantity int64             `json:"quantity"`
	Tags     []string          `json:"tags"`
	Meta     map[string]string `json:"meta"`
	Nested   *struct {
		Amount int64 `json:"amount"`
	} `json:"nested"`
}

func TestDecodeJSONAccepts(t *testing.T) {
	for name, body := range map[string]string{
		"empty body":       "",
		"blank body":       " \n",
		"empty object":     "{}",
		"all fields":       `{"name":"a","quantity":3,"tags":["x","y"],"meta":{"k":"v"},"nested":{"amount":5}}`,
		"same key nesting": `{"meta":{"name":"v"},"name":"a"}`,
		"unicode":          `{"name":"Café ☕ 日本"}`,
	} {
		t.Run(name, func(t *testing.T) {
			var v sample
			if err := DecodeJSON(&Request{Body: body}, &v); err != nil {
				t.Fatalf("DecodeJSON(%q) = %v", body, err)
			}
		})
	}
}

func TestDecodeJSONRejects(t *testing.T) {
	deep := strings.Repeat(`{"meta":`, 20) + "{}" + strings.Repeat("}", 20)
	cases := []struct {
		name, body, contentType string
		base64                  bool
		code                    codex.Code
		param                   string
	}{
		{name: "malformed", body: `{"name":`, code: codex.CodeBodyInvalid},
		{name: "not an object", body: `["name"]`, code: codex.CodeBodyInvalid},
		{name: "scalar", body: `"name"`, code: codex.CodeBodyInvalid},
		{name: "null", body: `null`, code: codex.CodeBodyInvalid},
		{name: "trailing object", body: `{"name":"a"}{"name":"b"}`, code: codex.CodeBodyInvalid},
		{name: "trailing garbage", body: `{"name":"a"} x`, code: codex.CodeBodyInvalid},
		{name: "duplicate key", body: `{"name":"a","name":"b"}`, code: codex.CodeBodyInvalid},
		{name: "duplicate nested key", body: `{"meta":{"k":"1","k":"2"}}`, code: codex.CodeBodyInvalid},
		{name: "unknown field", body: `{"name":"a","price":1}`, code: codex.CodeParameterUnknown, param: "price"},
		{name: "string for integer", body: `{"quantity":"3"}`, code: codex.CodeParameterInvalid, param: "quantity"},
		{name: "fraction for integer", body: `{"quantity":2.5}`, code: codex.CodeParameterInvalid, param: "quantity"},
		{name: "exponent overflow", body: `{"quantity":1e400}`, code: codex.CodeParameterInvalid, param: "quantity"},
		{name: "number for string", body: `{"name":5}`, code: codex.CodeParameterInvalid, param: "name"},
		{name: "nested wrong type", body: `{"nested":{"amount":"x"}}`, code: codex.CodeParameterInvalid, param: "nested.amount"},
		{name: "too deep", body: deep, code: codex.CodeBodyInvalid},
		{name: "invalid utf-8", body: "{\"name\":\"\xff\xfe\"}", code: codex.CodeBodyInvalid},
		{name: "too large", body: `{"name":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, code: codex.CodeBodyTooLarge},
		{name: "bad base64", body: "!!!", base64: true, code: codex.CodeBodyInvalid},
		{name: "form encoded", body: "name=a", contentType: "application/x-www-form-urlencoded", code: codex.CodeUnsupportedMedia},
		{name: "garbage content type", body: "{}", contentType: ";;", code: codex.CodeUnsupportedMedia},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &Request{Body: tc.body, IsBase64Encoded: tc.base64}
			if tc.contentType != "" {
				req.Headers = map[string]string{"content-type": tc.contentType}
			}
			var v sample
			err := DecodeJSON(req, &v)
			if got := codex.ErrorCode(err); got != tc.code {
				t.Fatalf("code = %q (err %v), want %q", got, err, tc.code)
			}
			if tc.param != "" {
				if e, _ := err.(*codex.Error); e == nil || e.Param != tc.param {
					t.Fatalf("param of %v, want %q", err, tc.param)
				}
			}
		})
	}
}

func TestDecodeJSONBase64AndContentType(t *testing.T) {
	req := &Request{
		Body:            base64.StdEncoding.EncodeToString([]byte(`{"name":"from base64"}`)),
		IsBase64Encoded: true,
		Headers:         map[string]string{"Content-Type": "application/json; charset=utf-8"},
	}
	var v sample
	if err := DecodeJSON(req, &v); err != nil {
		t.Fatal(err)
	}
	if v.Name != "from base64" {
		t.Fatalf("name = %q", v.Name)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{"", "{}", `{"name":"a","quantity":3}`, `{"a":1,"a":2}`, `[{}]`, `{"nested":{"amount":1}}`, "{\"name\":\"\xff\"}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v sample
		err := DecodeJSON(&Request{Body: body}, &v)
		if err != nil && codex.ErrorCode(err) == codex.CodeInternal {
			t.Fatalf("DecodeJSON(%q) gave an internal error: %v", body, err)
		}
	})
}
