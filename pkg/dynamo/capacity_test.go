package dynamo

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

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
	log := &capacityLog{}
	client := dynamodb.New(testEnv.DynamoDB.Options(), log.option)
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
	recSize := itemSize(recPut.Item)

	type row struct {
		route, scenario string
		ops             []string
		expected        string
		run             func() error
	}
	// Eleven typical checkouts in a project of their own to list, so that a default page (limit 10,
	// 11 items read for has_more) is full.
	var listed []codex.Checkout
	for i := range 11 {
		c := testCheckout(t, "prj_L", t0.Add(-time.Duration(i+1)*time.Millisecond))
		listed = append(listed, c)
		if _, err := s.CreateCheckout(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	rows := []row{
		{"POST /v1/checkouts", fmt.Sprintf("no Idempotency-Key, typical checkout (%d B)", typicalSize), []string{"PutItem"},
			fmt.Sprintf("%s WCU table + %s WCU GSI1", wcu(typicalSize), wcu(typicalSize)),
			func() error { _, err := s.CreateCheckout(ctx, typical, nil); return err }},
		{"POST /v1/checkouts", fmt.Sprintf("with Idempotency-Key, first request (record %d B)", recSize), []string{"TransactWriteItems"},
			fmt.Sprintf("2×(%s+%s) WCU table + %s WCU GSI1", wcu(recSize), wcu(typicalSize), wcu(typicalSize)),
			func() error {
				c := testCheckout(t, "prj_A", t0)
				_, err := s.CreateCheckout(ctx, c, rec)
				return err
			}},
		{"POST /v1/checkouts", "with Idempotency-Key, replay or 422", []string{"TransactWriteItems"},
			"cancelled: billed as the attempted writes, no GSI1 write",
			func() error {
				existing, err := s.CreateCheckout(ctx, testCheckout(t, "prj_A", t0), rec)
				if err == nil && existing == nil {
					err = fmt.Errorf("not a replay")
				}
				return err
			}},
		{"POST /v1/checkouts", fmt.Sprintf("no key, largest checkout allowed (%d B)", largestSize), []string{"PutItem"},
			fmt.Sprintf("%s WCU table + %s WCU GSI1", wcu(largestSize), wcu(largestSize)),
			func() error { _, err := s.CreateCheckout(ctx, largest, nil); return err }},
		{"GET /v1/checkouts/{id}", "strongly consistent", []string{"GetItem"},
			fmt.Sprintf("%s RCU", rcu(typicalSize, true)),
			func() error { _, err := s.GetCheckout(ctx, "prj_A", typical.ID); return err }},
		{"GET /v1/checkouts", "first page, limit 10 (11 items read)", []string{"Query"},
			fmt.Sprintf("%s RCU GSI1", rcu(11*typicalSize, false)),
			func() error { _, _, err := s.ListCheckouts(ctx, "prj_L", 10, ""); return err }},
		{"GET /v1/checkouts", "limit 10, starting_after (6 items left)", []string{"GetItem", "Query"},
			fmt.Sprintf("%s RCU table + %s RCU GSI1", rcu(typicalSize, true), rcu(6*typicalSize, false)),
			func() error { _, _, err := s.ListCheckouts(ctx, "prj_L", 10, listed[4].ID); return err }},
	}

	var out strings.Builder
	fmt.Fprintf(&out, "\n| route | scenario | operations | expected capacity (documented rules) | reported by %s |\n| --- | --- | --- | --- | --- |\n", endpointName())
	for _, r := range rows {
		log.reset()
		if err := r.run(); err != nil {
			t.Fatalf("%s (%s): %v", r.route, r.scenario, err)
		}
		ops, reported := log.summary()
		if strings.Join(ops, " + ") != strings.Join(r.ops, " + ") {
			t.Errorf("%s (%s): operations %v, want %v", r.route, r.scenario, ops, r.ops)
		}
		fmt.Fprintf(&out, "| `%s` | %s | %s | %s | %s |\n", r.route, r.scenario, strings.Join(ops, " + "), r.expected, reported)
	}
	t.Log(out.String())
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
	return itemSize(item)
}

// itemSize is DynamoDB's item size: attribute names plus values, with strings as UTF-8 bytes,
// numbers as about one byte per two significant digits plus one, and lists and maps as 3 bytes
// plus one per element plus their contents.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		digits := strings.Trim(strings.TrimLeft(v.Value, "-"), "0")
		digits = strings.ReplaceAll(digits, ".", "")
		return (len(digits)+1)/2 + 1
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	panic(fmt.Sprintf("itemSize: unexpected %T", v))
}

// wcu is the write capacity of one standard write of size bytes: 1 per KB, rounded up.
func wcu(size int) string { return fmt.Sprint(math.Ceil(float64(size) / 1024)) }

// rcu is the read capacity of reading size bytes: 1 per 4 KB rounded up, halved when eventually
// consistent (a Query sums the sizes of all items read before rounding).
func rcu(size int, consistent bool) string {
	units := math.Ceil(float64(size) / 4096)
	if !consistent {
		units /= 2
	}
	return fmt.Sprint(units)
}

func endpointName() string {
	if testEnv.Moto != nil {
		return "moto (placeholders)"
	}
	return testEnv.DynamoDBEndpoint
}

// capacityLog asks for ReturnConsumedCapacity=INDEXES on every request of a client and records the
// operations and what came back.
type capacityLog struct {
	mu    sync.Mutex
	ops   []string
	units []string
}

func (l *capacityLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops, l.units = nil, nil
}

func (l *capacityLog) summary() (ops []string, reported string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ops...), strings.Join(l.units, " + ")
}

func (l *capacityLog) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("consumedCapacity",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				const indexes = types.ReturnConsumedCapacityIndexes
				switch p := in.Parameters.(type) {
				case *dynamodb.PutItemInput:
					p.ReturnConsumedCapacity = indexes
				case *dynamodb.GetItemInput:
					p.ReturnConsumedCapacity = indexes
				case *dynamodb.QueryInput:
					p.ReturnConsumedCapacity = indexes
				case *dynamodb.TransactWriteItemsInput:
					p.ReturnConsumedCapacity = indexes
				}
				out, md, err := next.HandleInitialize(ctx, in)
				var cc []types.ConsumedCapacity
				switch r := out.Result.(type) {
				case *dynamodb.PutItemOutput:
					cc = optional(r.ConsumedCapacity)
				case *dynamodb.GetItemOutput:
					cc = optional(r.ConsumedCapacity)
				case *dynamodb.QueryOutput:
					cc = optional(r.ConsumedCapacity)
				case *dynamodb.TransactWriteItemsOutput:
					cc = r.ConsumedCapacity
				}
				l.mu.Lock()
				defer l.mu.Unlock()
				l.ops = append(l.ops, awsmiddleware.GetOperationName(ctx))
				l.units = append(l.units, formatCapacity(cc, err))
				return out, md, err
			}), middleware.After)
	})
}

func optional(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}

func formatCapacity(cc []types.ConsumedCapacity, err error) string {
	if err != nil {
		return "not reported (cancelled)"
	}
	if len(cc) == 0 {
		return "not reported"
	}
	var parts []string
	for _, c := range cc {
		s := fmt.Sprintf("%v", deref(c.CapacityUnits))
		var detail []string
		if c.Table != nil {
			detail = append(detail, fmt.Sprintf("table %v", deref(c.Table.CapacityUnits)))
		}
		for name, idx := range c.GlobalSecondaryIndexes {
			detail = append(detail, fmt.Sprintf("%s %v", name, deref(idx.CapacityUnits)))
		}
		if len(detail) > 0 {
			s += " (" + strings.Join(detail, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func deref(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}
