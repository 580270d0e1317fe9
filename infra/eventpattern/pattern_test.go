package eventpattern

import (
	"strings"
	"testing"
)

// A DynamoDB stream record of an event item, as Lambda filters it.
const insertEvent = `{"eventName":"INSERT","eventSource":"aws:dynamodb","dynamodb":{"SizeBytes":812,
	"Keys":{"PK":{"S":"EVENT#evt_1"},"SK":{"S":"EVENT"}},
	"NewImage":{"kind":{"S":"event"},"event_type":{"S":"checkout.created"},"tags":{"L":[{"S":"a"},{"S":"b"}]}}}}`

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern string
		want    bool
	}{
		{`{"eventName":["INSERT"],"dynamodb":{"NewImage":{"kind":{"S":["event"]}}}}`, true},
		{`{"eventName":["MODIFY","REMOVE"]}`, false},
		{`{"eventName":["MODIFY","INSERT"]}`, true},
		{`{"dynamodb":{"NewImage":{"kind":{"S":["checkout"]}}}}`, false},
		{`{"dynamodb":{"OldImage":{"kind":{"S":["event"]}}}}`, false},
		{`{"dynamodb":{"OldImage":{"kind":{"S":[{"exists":false}]}}}}`, true},
		{`{"dynamodb":{"NewImage":{"kind":{"S":[{"exists":true}]}}}}`, true},
		{`{"dynamodb":{"NewImage":{"nope":{"S":[{"exists":true}]}}}}`, false},
		{`{"dynamodb":{"NewImage":{"event_type":{"S":[{"prefix":"checkout."}]}}}}`, true},
		{`{"dynamodb":{"NewImage":{"event_type":{"S":[{"suffix":".created"}]}}}}`, true},
		{`{"dynamodb":{"NewImage":{"event_type":{"S":[{"equals-ignore-case":"CHECKOUT.CREATED"}]}}}}`, true},
		{`{"dynamodb":{"NewImage":{"event_type":{"S":[{"anything-but":["checkout.created"]}]}}}}`, false},
		{`{"dynamodb":{"NewImage":{"event_type":{"S":[{"anything-but":{"prefix":"ping"}}]}}}}`, true},
		{`{"dynamodb":{"NewImage":{"event_type":{"S":[{"anything-but":"x"}]}}}}`, true},
		{`{"dynamodb":{"SizeBytes":[{"numeric":[">",100,"<=",812]}]}}`, true},
		{`{"dynamodb":{"SizeBytes":[{"numeric":["<",100]}]}}`, false},
		{`{"dynamodb":{"SizeBytes":[812]}}`, true},
		{`{"dynamodb":{"NewImage":{"tags":{"L":{"S":["b"]}}}}}`, true}, // any element of a list
	} {
		p, err := Compile(c.pattern)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		if got, err := Any([]*Pattern{p}, []byte(insertEvent)); err != nil || got != c.want {
			t.Errorf("%s: %v, %v; want %v", c.pattern, got, err, c.want)
		}
	}
	// Several patterns are alternatives; none is "everything".
	no, _ := Compile(`{"eventName":["REMOVE"]}`)
	yes, _ := Compile(`{"eventName":["INSERT"]}`)
	if got, _ := Any([]*Pattern{no, yes}, []byte(insertEvent)); !got {
		t.Error("the second pattern was not tried")
	}
	if got, _ := Any(nil, []byte(insertEvent)); !got {
		t.Error("no pattern must match everything")
	}
}

func TestCompileRefuses(t *testing.T) {
	for src, want := range map[string]string{
		`[]`:                                  "not a JSON object",
		`{}`:                                  "empty object",
		`{"a":"x"}`:                           "list of matchers",
		`{"a":[]}`:                            "matches nothing",
		`{"a":[{"wildcard":"x*"}]}`:           "not emulated",
		`{"a":[{"cidr":"10.0.0.0/8"}]}`:       "not emulated",
		`{"a":[{"prefix":1}]}`:                "takes a string",
		`{"a":[{"numeric":[">"]}]}`:           "numeric takes",
		`{"a":[{"numeric":["!",1]}]}`:         "numeric takes",
		`{"a":[{"prefix":"a","suffix":"b"}]}`: "exactly one key",
		`{"a":[{"anything-but":{"suffix":"b"}}]}`: "not emulated",
		`{"a":{"b":[{"exists":"yes"}]}}`:          "at a.b",
		`{"a":["x"]} {}`:                          "more than one",
	} {
		if _, err := Compile(src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", src, err, want)
		}
	}
}
