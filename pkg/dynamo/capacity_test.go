package dynamo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/infra/capacity"
	"codex/pkg/api"
	"codex/pkg/codex"
)

// TestCheckoutCapacity pins the DynamoDB operations each checkout route performs, and prints the
// capacity table of docs/dynamodb-costs.md:
//
//	go test ./pkg/dynamo -run TestCheckoutCapacity -v
//
// Every request is sent with ReturnConsumedCapacity=INDEXES and what the endpoint reports is shown
// next to what DynamoDB's documented rules give for the measured item sizes. moto reports fixed
// placeholder numbers; point AWS_ENDPOINT_URL_DYNAMODB at real DynamoDB (with credentials) to see
// real ones.
func TestCheckoutCapacity(t *testing.T) {
	log := &capacity.Recorder{}
	client := dynamodb.New(testEnv.DynamoDB.Options(), log.Option)
	names := testEnv.NewTables(t)
	s := New(client, Tables{Keys: names["KeysTable"], App: names["AppTable"]})
	ctx := context.Background()

	typical := testCheckout(t, "prj_A", t0)
	largest := largestCheckout(t, "prj_A")
	typicalSize, largestSize := mustSize(t, marshalCheckout, typical), mustSize(t, marshalCheckout, largest)
	rec := testRecord("prj_A", "0b1f3c2e-7d8a-4f4e-9b1a-2c3d4e5f6a7b", strings.Repeat("f", 64), t0)
	rec.Body = strings.Repeat("x", 550) // the size of a typical checkout's JSON response
	recPut, err := idempotencyPut("app", rec)
	if err != nil {
		t.Fatal(err)
	}
	recSize := capacity.ItemSize(recPut.Item)
	// An open checkout's entry in the keys-only open index: the table's keys and the index's.
	item, err := marshalCheckout(typical)
	if err != nil {
		t.Fatal(err)
	}
	openEntry := capacity.ItemSize(map[string]types.AttributeValue{
		"PK": item["PK"], "SK": item["SK"], attrOpenShard: item[attrOpenShard], attrOpenExpiresAt: item[attrOpenExpiresAt],
	})
	// Checkouts to expire: by the route (as read, before expires_at) and by the sweeper (after).
	toExpire, toSweep := testCheckout(t, "prj_E", t0), testCheckout(t, "prj_E", t0.Add(-48*time.Hour))
	for _, c := range []codex.Checkout{toExpire, toSweep} {
		if _, err := s.CreateCheckout(ctx, c, apiEvent(t, c), nil); err != nil {
			t.Fatal(err)
		}
	}
	typicalEv, largestEv := apiEvent(t, typical), apiEvent(t, largest)
	evSize, largestEvSize := eventSize(t, s, typicalEv), eventSize(t, s, largestEv)

	type row struct {
		route, scenario string
		ops             []string
		expected        string
		run             func() error
	}
	// Eleven typical checkouts in a project of their own to list, so that a default page (limit 10,
	// 11 items read for has_more) is full.
	var listed []codex.Checkout
	var listedEvents []codex.Event
	for i := range 11 {
		c := testCheckout(t, "prj_L", t0.Add(-time.Duration(i+1)*time.Millisecond))
		ev := apiEvent(t, c)
		listed, listedEvents = append(listed, c), append(listedEvents, ev)
		if _, err := s.CreateCheckout(ctx, c, ev, nil); err != nil {
			t.Fatal(err)
		}
	}
	rows := []row{
		{"POST /v1/checkouts", fmt.Sprintf("no Idempotency-Key, typical checkout (%d B) and its event (%d B)", typicalSize, evSize), []string{"TransactWriteItems"},
			fmt.Sprintf("2×(%s+%s) WCU table + %s WCU GSI1 (checkout) + %s+%s WCU GSI1, GSI2 (event) + %s WCU open_checkouts", wcu(typicalSize), wcu(evSize), wcu(typicalSize), wcu(evSize), wcu(evSize), wcu(openEntry)),
			func() error { _, err := s.CreateCheckout(ctx, typical, typicalEv, nil); return err }},
		{"POST /v1/checkouts", fmt.Sprintf("with Idempotency-Key, first request (record %d B)", recSize), []string{"TransactWriteItems"},
			fmt.Sprintf("2×(%s+%s+%s) WCU table + %s WCU GSI1 (checkout) + %s+%s WCU GSI1, GSI2 (event) + %s WCU open_checkouts", wcu(recSize), wcu(typicalSize), wcu(evSize), wcu(typicalSize), wcu(evSize), wcu(evSize), wcu(openEntry)),
			func() error {
				c := testCheckout(t, "prj_A", t0)
				_, err := s.CreateCheckout(ctx, c, apiEvent(t, c), rec)
				return err
			}},
		{"POST /v1/checkouts", "with Idempotency-Key, replay or 422", []string{"TransactWriteItems"},
			"cancelled: billed as the attempted writes, no GSI1 write",
			func() error {
				existing, err := createChecked(ctx, s, testCheckout(t, "prj_A", t0), rec)
				if err == nil && existing == nil {
					err = fmt.Errorf("not a replay")
				}
				return err
			}},
		{"POST /v1/checkouts", fmt.Sprintf("no key, largest checkout allowed (%d B, event %d B)", largestSize, largestEvSize), []string{"TransactWriteItems"},
			fmt.Sprintf("2×(%s+%s) WCU table + %s WCU GSI1 (checkout) + %s+%s WCU GSI1, GSI2 (event) + %s WCU open_checkouts", wcu(largestSize), wcu(largestEvSize), wcu(largestSize), wcu(largestEvSize), wcu(largestEvSize), wcu(openEntry)),
			func() error { _, err := s.CreateCheckout(ctx, largest, largestEv, nil); return err }},
		{"GET /v1/checkouts/{id}", "strongly consistent", []string{"GetItem"},
			fmt.Sprintf("%s RCU", rcu(typicalSize, true)),
			func() error { _, err := s.GetCheckout(ctx, "prj_A", typical.ID); return err }},
		{"GET /v1/checkouts", "first page, limit 10 (11 items read)", []string{"Query"},
			fmt.Sprintf("%s RCU GSI1", rcu(11*typicalSize, false)),
			func() error { _, _, err := s.ListCheckouts(ctx, "prj_L", 10, ""); return err }},
		{"GET /v1/checkouts", "limit 10, starting_after (6 items left)", []string{"GetItem", "Query"},
			fmt.Sprintf("%s RCU table + %s RCU GSI1", rcu(typicalSize, true), rcu(6*typicalSize, false)),
			func() error { _, _, err := s.ListCheckouts(ctx, "prj_L", 10, listed[4].ID); return err }},
		{"POST /v1/checkouts/{id}/expire", "open checkout", []string{"GetItem", "TransactWriteItems"},
			fmt.Sprintf("%s RCU + 2×(%s+%s) WCU table + %s WCU GSI1 (rewritten) + %s WCU open_checkouts (deleted) + %s+%s WCU GSI1, GSI2 (event)",
				rcu(typicalSize, true), wcu(typicalSize), wcu(evSize), wcu(typicalSize), wcu(openEntry), wcu(evSize), wcu(evSize)),
			func() error {
				c, err := s.GetCheckout(ctx, "prj_E", toExpire.ID)
				if err == nil {
					_, err = s.ExpireCheckout(ctx, c, apiExpiredEvent(t, c, t0.Add(time.Minute)), t0.Add(time.Minute))
				}
				return err
			}},
		{"sweeper", "one shard's due checkouts, none", []string{"Query"}, "0.5 RCU open_checkouts (the minimum)",
			func() error {
				_, _, err := s.DueCheckouts(ctx, (openShard(toSweep.ID)+1)%openShards, t0, 100, "")
				return err
			}},
		{"sweeper", "per due checkout", []string{"Query", "GetItem", "TransactWriteItems"},
			fmt.Sprintf("0.5 RCU open_checkouts per 4 KB of keys (about 40 checkouts) + %s RCU + 2×(%s+%s) WCU table + %s WCU GSI1 + %s WCU open_checkouts + %s+%s WCU GSI1, GSI2 (event)",
				rcu(typicalSize, true), wcu(typicalSize), wcu(evSize), wcu(typicalSize), wcu(openEntry), wcu(evSize), wcu(evSize)),
			func() error {
				ids, _, err := s.DueCheckouts(ctx, openShard(toSweep.ID), t0, 100, "")
				if err != nil || len(ids) != 1 {
					return fmt.Errorf("due %v, %v", ids, err)
				}
				c, err := s.FindCheckout(ctx, ids[0])
				if err == nil {
					_, err = s.ExpireCheckout(ctx, c, apiExpiredEvent(t, c, t0), t0)
				}
				return err
			}},
		{"GET /v1/events/{id}", "strongly consistent", []string{"GetItem"},
			fmt.Sprintf("%s RCU", rcu(evSize, true)),
			func() error { _, err := s.GetEvent(ctx, "prj_A", typicalEv.ID, t0); return err }},
		{"GET /v1/events", "first page, limit 10 (11 items read)", []string{"Query"},
			fmt.Sprintf("%s RCU GSI1", rcu(11*evSize, false)),
			func() error { _, _, err := s.ListEvents(ctx, "prj_L", "", 10, "", t0); return err }},
		{"GET /v1/events", "type=checkout.created, limit 10 (11 items read)", []string{"Query"},
			fmt.Sprintf("%s RCU GSI2", rcu(11*evSize, false)),
			func() error {
				_, _, err := s.ListEvents(ctx, "prj_L", codex.EventCheckoutCreated, 10, "", t0)
				return err
			}},
		{"GET /v1/events", "limit 10, starting_after (6 items left)", []string{"GetItem", "Query"},
			fmt.Sprintf("%s RCU table + %s RCU GSI1", rcu(evSize, true), rcu(6*evSize, false)),
			func() error { _, _, err := s.ListEvents(ctx, "prj_L", "", 10, listedEvents[4].ID, t0); return err }},
	}

	var out strings.Builder
	fmt.Fprintf(&out, "\n| route | scenario | operations | expected capacity (documented rules) | reported by %s |\n| --- | --- | --- | --- | --- |\n", endpointName())
	for _, r := range rows {
		log.Reset()
		if err := r.run(); err != nil {
			t.Fatalf("%s (%s): %v", r.route, r.scenario, err)
		}
		ops, reported := log.Summary()
		if strings.Join(ops, " + ") != strings.Join(r.ops, " + ") {
			t.Errorf("%s (%s): operations %v, want %v", r.route, r.scenario, ops, r.ops)
		}
		fmt.Fprintf(&out, "| `%s` | %s | %s | %s | %s |\n", r.route, r.scenario, strings.Join(ops, " + "), r.expected, reported)
	}
	t.Log(out.String())
}

// apiEvent is c's checkout.created event exactly as the API renders it, so its size is real.
func apiEvent(t *testing.T, c codex.Checkout) codex.Event {
	t.Helper()
	ev, err := api.Checkouts{PageURL: "https://checkout.codex.example/c"}.Event(codex.EventCheckoutCreated, c, c.CreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// apiExpiredEvent is c's checkout.expired event at at, as the expiring route renders it.
func apiExpiredEvent(t *testing.T, c codex.Checkout, at time.Time) codex.Event {
	t.Helper()
	c.Status = codex.CheckoutExpired
	ev, err := api.Checkouts{PageURL: "https://checkout.codex.example/c"}.Event(codex.EventCheckoutExpired, c, at)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func eventSize(t *testing.T, s *Store, ev codex.Event) int {
	t.Helper()
	put, err := s.eventPut(ev)
	if err != nil {
		t.Fatal(err)
	}
	return capacity.ItemSize(put.Item)
}

// largestCheckout has every field at its limit: what bounds item size and so the worst-case cost.
func largestCheckout(t *testing.T, projectID string) codex.Checkout {
	t.Helper()
	p := codex.CheckoutParams{Currency: "usd", SuccessURL: "https://shop.example/" + strings.Repeat("s", 2027), CancelURL: "https://shop.example/" + strings.Repeat("c", 2027)}
	for range codex.MaxLineItems {
		p.LineItems = append(p.LineItems, codex.LineItem{Name: strings.Repeat("n", codex.MaxLineItemName), UnitAmount: codex.MaxUnitAmount, Quantity: codex.MaxQuantity})
	}
	ref := strings.Repeat("r", codex.MaxClientReferenceID)
	p.ClientReferenceID = &ref
	p.Metadata = map[string]string{}
	for i := range codex.MaxMetadataPairs {
		p.Metadata[fmt.Sprintf("%040d", i)] = strings.Repeat("v", codex.MaxMetadataValue)
	}
	v, err := p.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return codex.NewCheckout(projectID, v, t0)
}

func mustSize(t *testing.T, marshal func(codex.Checkout) (map[string]types.AttributeValue, error), c codex.Checkout) int {
	t.Helper()
	item, err := marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return capacity.ItemSize(item)
}

// wcu and rcu are DynamoDB's documented rules (package capacity), formatted for the table.
func wcu(size int) string { return fmt.Sprint(capacity.WriteUnits(size)) }

func rcu(size int, consistent bool) string { return fmt.Sprint(capacity.ReadUnits(size, consistent)) }

func endpointName() string {
	if testEnv.Moto != nil {
		return "moto (placeholders)"
	}
	return testEnv.DynamoDBEndpoint
}
