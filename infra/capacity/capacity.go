// Package capacity computes DynamoDB's on-demand capacity from its documented rules and records what
// a client's requests consumed. pkg/dynamo's capacity test and `make bench` (infra/bench) share it.
//
// The rules (DynamoDB developer guide, "Read/write capacity mode" and "Item sizes"): a write costs one
// write unit per 1 KB of the item, rounded up, on the table and again on every global secondary index
// the item appears in (its projected size there); a read costs one read unit per 4 KB, rounded up,
// halved when eventually consistent, on the whole item whatever a projection returns (a Query sums
// the sizes of the items read before rounding).
package capacity

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// ItemSize is DynamoDB's item size: attribute names plus values, with strings as UTF-8 bytes,
// numbers as about one byte per two significant digits plus one, and lists and maps as 3 bytes
// plus one per element plus their contents.
func ItemSize(item map[string]types.AttributeValue) int {
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
	case *types.AttributeValueMemberB:
		return len(v.Value)
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
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += valueSize(&types.AttributeValueMemberN{Value: s})
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	}
	panic(fmt.Sprintf("capacity.ItemSize: unexpected %T", v))
}

// WriteUnits is the write capacity of one standard write of size bytes: 1 per KB, rounded up (at
// least 1).
func WriteUnits(size int) float64 { return math.Max(1, math.Ceil(float64(size)/1024)) }

// ReadUnits is the read capacity of reading size bytes: 1 per 4 KB rounded up (at least 1, also for
// an item that is not found), halved when eventually consistent.
func ReadUnits(size int, consistent bool) float64 {
	units := math.Max(1, math.Ceil(float64(size)/4096))
	if !consistent {
		units /= 2
	}
	return units
}

// IndexWrites are the write units a new item costs on each global secondary index it appears in:
// those whose key attributes it has. Its size there is the projected part: the whole item for
// ALL, else the table's and the index's keys plus any INCLUDE attributes.
func IndexWrites(item map[string]types.AttributeValue, table *dynamodb.CreateTableInput) map[string]float64 {
	out := map[string]float64{}
	for _, gsi := range table.GlobalSecondaryIndexes {
		keys := map[string]bool{}
		for _, k := range append(append([]types.KeySchemaElement(nil), table.KeySchema...), gsi.KeySchema...) {
			keys[*k.AttributeName] = true
		}
		present := true
		for _, k := range gsi.KeySchema {
			if _, ok := item[*k.AttributeName]; !ok {
				present = false
			}
		}
		if !present {
			continue
		}
		projected := item
		if p := gsi.Projection; p != nil && p.ProjectionType != types.ProjectionTypeAll {
			for _, a := range p.NonKeyAttributes {
				keys[a] = true
			}
			projected = map[string]types.AttributeValue{}
			for name, v := range item {
				if keys[name] {
					projected[name] = v
				}
			}
		}
		out[*gsi.IndexName] = WriteUnits(ItemSize(projected))
	}
	return out
}

// Call is one request a Recorder saw.
type Call struct {
	Operation string
	// Input is the request as sent (*dynamodb.GetItemInput, ...), with ReturnConsumedCapacity set.
	Input any
	// Output is the response (*dynamodb.GetItemOutput, ...), nil when the request failed.
	Output any
	// Consumed is the capacity the endpoint reported.
	Consumed []types.ConsumedCapacity
	Err      error
}

// Recorder asks for ReturnConsumedCapacity=INDEXES on every GetItem, PutItem, Query and
// TransactWriteItems of a client (add Option to its options) and records each call.
type Recorder struct {
	mu    sync.Mutex
	calls []Call
}

// Reset forgets the calls recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

// Calls returns the calls recorded since the last Reset, in order.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Summary returns the operations recorded since the last Reset and what the endpoint reported for
// them, joined with " + ".
func (r *Recorder) Summary() (ops []string, reported string) {
	var units []string
	for _, c := range r.Calls() {
		ops = append(ops, c.Operation)
		units = append(units, FormatConsumed(c.Consumed, c.Err))
	}
	return ops, strings.Join(units, " + ")
}

// Option installs the recorder on a DynamoDB client: dynamodb.New(opts, rec.Option).
func (r *Recorder) Option(o *dynamodb.Options) {
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
				switch res := out.Result.(type) {
				case *dynamodb.PutItemOutput:
					cc = optional(res.ConsumedCapacity)
				case *dynamodb.GetItemOutput:
					cc = optional(res.ConsumedCapacity)
				case *dynamodb.QueryOutput:
					cc = optional(res.ConsumedCapacity)
				case *dynamodb.TransactWriteItemsOutput:
					cc = res.ConsumedCapacity
				}
				r.mu.Lock()
				defer r.mu.Unlock()
				r.calls = append(r.calls, Call{
					Operation: awsmiddleware.GetOperationName(ctx),
					Input:     in.Parameters, Output: out.Result, Consumed: cc, Err: err,
				})
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

// FormatConsumed renders what an endpoint reported for one request: "1 (table 1, GSI1 1)".
func FormatConsumed(cc []types.ConsumedCapacity, err error) string {
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
