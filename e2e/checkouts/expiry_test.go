package checkouts

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/e2e/e2etest"
	"codex/pkg/api"
	"codex/pkg/codex"
	"codex/pkg/dynamo"
)

// TestExpireOverHTTP: the merchant closes an open checkout; GET shows it expired from then on, and
// a second attempt, or one by another merchant, changes nothing.
func TestExpireOverHTTP(t *testing.T) {
	a, b := newMerchant(t, "e2e-expire-a"), newMerchant(t, "e2e-expire-b")
	created := call(t, "POST", "/v1/checkouts", e2etest.Bearer(a.key), order)
	e2etest.Want(t, created, http.StatusCreated)
	id := e2etest.Decode[checkout](t, created).ID

	e2etest.WantError(t, call(t, "POST", "/v1/checkouts/"+id+"/expire", e2etest.Bearer(b.key), ""), http.StatusNotFound, "resource_missing", "")
	expired := call(t, "POST", "/v1/checkouts/"+id+"/expire", e2etest.Bearer(a.key), "")
	e2etest.Want(t, expired, http.StatusOK)
	if c := e2etest.Decode[checkout](t, expired); c.Status != "expired" || c.ID != id {
		t.Fatalf("expire answered %s", expired)
	}
	got := call(t, "GET", "/v1/checkouts/"+id, e2etest.Bearer(a.key), "")
	e2etest.Want(t, got, http.StatusOK)
	if !bytes.Equal(got.Body, expired.Body) {
		t.Errorf("GET after expire: %s\nexpire answered: %s", got, expired)
	}
	e2etest.WantError(t, call(t, "POST", "/v1/checkouts/"+id+"/expire", e2etest.Bearer(a.key), ""), http.StatusConflict, "checkout_not_open", "")
}

// TestSweepOverTheStack: the stack's SweepCheckoutsFunction, run as its Schedule event runs it,
// stores a checkout past expires_at as expired, with the TTL that deletes it 30 days after it
// expired; a checkout not yet due stays open.
func TestSweepOverTheStack(t *testing.T) {
	m := newMerchant(t, "e2e-sweep")
	st := client.Stack
	db := dynamodb.New(dynamodb.Options{Region: st.Region, BaseEndpoint: aws.String(st.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	store := dynamo.New(db, dynamo.Tables{Keys: st.Tables["KeysTable"], App: st.Tables["AppTable"]})
	p, err := codex.CheckoutParams{
		LineItems: []codex.LineItem{{Name: "Tea", UnitAmount: 450, Quantity: 1}}, Currency: "eur",
		SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/cart",
	}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	// No route makes a checkout in the past: this one is written straight to the table.
	overdue := codex.NewCheckout(m.project, p, time.Now().Add(-25*time.Hour))
	ev, err := api.Checkouts{PageURL: "https://checkout.codex.example/c"}.Event(codex.EventCheckoutCreated, overdue, overdue.CreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateCheckout(context.Background(), overdue, ev, nil); err != nil {
		t.Fatal(err)
	}
	created := call(t, "POST", "/v1/checkouts", e2etest.Bearer(m.key), order)
	e2etest.Want(t, created, http.StatusCreated)
	fresh := e2etest.Decode[checkout](t, created).ID

	out, err := st.RunSchedule(context.Background(), "SweepCheckoutsFunction")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Expired int  `json:"expired"`
		Done    bool `json:"done"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Expired < 1 || !r.Done {
		t.Fatalf("the sweep answered %s (%v)", out, err)
	}

	item, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(st.Tables["AppTable"]), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "CHECKOUT#" + overdue.ID}, "SK": &types.AttributeValueMemberS{Value: "CHECKOUT"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	status, _ := item.Item["status"].(*types.AttributeValueMemberS)
	ttl, _ := item.Item["ttl"].(*types.AttributeValueMemberN)
	deleteAt := overdue.ExpiresAt.Add(codex.ExpiredRetention) // in epoch seconds, rounded up
	want := strconv.FormatInt(deleteAt.Add(time.Second-time.Nanosecond).Unix(), 10)
	if status == nil || status.Value != "expired" || ttl == nil || ttl.Value != want {
		t.Errorf("the swept checkout is stored with status %v, ttl %v; want expired, %s", status, ttl, want)
	}
	got := call(t, "GET", "/v1/checkouts/"+fresh, e2etest.Bearer(m.key), "")
	e2etest.Want(t, got, http.StatusOK)
	if c := e2etest.Decode[checkout](t, got); c.Status != "open" {
		t.Errorf("a checkout not yet due is %s after the sweep", c.Status)
	}
	// The sweep wrote the checkout.expired event with the change; data.object is the checkout as
	// GET shows it now.
	events := e2etest.Decode[eventPage](t, call(t, "GET", "/v1/events?type=checkout.expired", e2etest.Bearer(m.key), ""))
	if len(events.Data) != 1 {
		t.Fatalf("%d checkout.expired events, want the swept checkout's", len(events.Data))
	}
	var expired event
	_ = json.Unmarshal(events.Data[0], &expired)
	if now := call(t, "GET", "/v1/checkouts/"+overdue.ID, e2etest.Bearer(m.key), ""); !bytes.Equal(expired.Data.Object, now.Body) {
		t.Errorf("the expired event's data.object\n%s\nGET /v1/checkouts/%s\n%s", expired.Data.Object, overdue.ID, now.Body)
	}
}
