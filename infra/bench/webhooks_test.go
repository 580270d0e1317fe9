package main

import (
	"slices"
	"testing"

	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"codex/infra/dynamoproxy"
	"codex/infra/samtemplate"
)

// The floor finds its event on the stream by the event id in the new image; a record of another
// event, or with the id only in a number, must not stop it early.
func TestHasString(t *testing.T) {
	image := map[string]streamtypes.AttributeValue{
		"PK":   &streamtypes.AttributeValueMemberS{Value: "EVENT#evt_1"},
		"json": &streamtypes.AttributeValueMemberS{Value: `{"id":"evt_1"}`},
		"n":    &streamtypes.AttributeValueMemberN{Value: "12"},
	}
	for _, c := range []struct {
		s    string
		want bool
	}{{"evt_1", true}, {"evt_2", false}, {"12", false}} {
		if got := hasString(image, c.s); got != c.want {
			t.Errorf("hasString(%q) = %v, want %v", c.s, got, c.want)
		}
	}
	if hasString(nil, "evt_1") {
		t.Error("hasString of no image = true")
	}
}

// A fan-out's or a delivery's call, made on its own schedule, is no request's; the authorizer's,
// a route function's and the floor's (unknown caller) are.
func TestRequestCalls(t *testing.T) {
	tpl := &samtemplate.Template{Functions: map[string]*samtemplate.Function{
		"AuthorizerFunction":      {},
		"FanoutEventsFunction":    {StreamEvents: []samtemplate.StreamEvent{{}}},
		"DeliverWebhooksFunction": {QueueEvents: []samtemplate.QueueEvent{{}}},
	}}
	calls := []dynamoproxy.Call{
		{Operation: "GetItem", Caller: "AuthorizerFunction"},
		{Operation: "Query", Caller: "FanoutEventsFunction"},
		{Operation: "TransactWriteItems", Caller: "test"},
		{Operation: "PutItem", Caller: "DeliverWebhooksFunction"},
	}
	var got []string
	for _, c := range requestCalls(calls, tpl) {
		got = append(got, c.Operation)
	}
	if want := []string{"GetItem", "TransactWriteItems"}; !slices.Equal(got, want) {
		t.Errorf("requestCalls kept %v, want %v", got, want)
	}
}
