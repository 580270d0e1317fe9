package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/infra/capacity"
	"codex/infra/samtemplate"
)

// opCapacity is one DynamoDB call of a request and its capacity by DynamoDB's documented rules, for
// the size of the item it read or wrote in this run.
type opCapacity struct {
	op, table  string // operation; the table's logical id
	size       int    // bytes of the whole item (a projection does not reduce what a read costs)
	consistent bool
	// transactional: a put inside a TransactWriteItems, at twice the standard rate.
	transactional bool
	rcu, wcu      float64            // in all (wcu includes the indexes')
	indexes       map[string]float64 // write units per GSI
	// reported is what the endpoint said the call consumed (moto: placeholders), and its total.
	reported      string
	reportedUnits float64
}

// routeCapacity is what one request of a route consumes: its calls in order.
type routeCapacity struct {
	ops []opCapacity
}

// routeCapacityOf prices the calls a capacity.Recorder saw. Reads are priced on the whole item, so a
// GetItem with a ProjectionExpression is read again in full (with client, unrecorded) to size it;
// puts, alone or in a TransactWriteItems, are priced as new items (pricePut).
func routeCapacityOf(ctx context.Context, calls []capacity.Call, client *dynamodb.Client, tpl *samtemplate.Template, tables map[string]string) (routeCapacity, error) {
	logical := map[string]string{}
	for id, name := range tables {
		logical[name] = id
	}
	var rc routeCapacity
	for _, c := range calls {
		if c.Err != nil {
			return rc, fmt.Errorf("%s failed: %w", c.Operation, c.Err)
		}
		op := opCapacity{op: c.Operation, reported: capacity.FormatConsumed(c.Consumed, nil)}
		for _, cc := range c.Consumed {
			op.reportedUnits += aws.ToFloat64(cc.CapacityUnits)
		}
		switch in := c.Input.(type) {
		case *dynamodb.GetItemInput:
			op.table = logical[aws.ToString(in.TableName)]
			item := c.Output.(*dynamodb.GetItemOutput).Item
			if in.ProjectionExpression != nil {
				full, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: in.TableName, Key: in.Key, ConsistentRead: in.ConsistentRead})
				if err != nil {
					return rc, err
				}
				item = full.Item
			}
			op.size = capacity.ItemSize(item)
			op.consistent = aws.ToBool(in.ConsistentRead)
			op.rcu = capacity.ReadUnits(op.size, op.consistent)
		case *dynamodb.PutItemInput:
			if err := op.pricePut(tpl, logical, in.TableName, in.Item, false); err != nil {
				return rc, err
			}
		case *dynamodb.TransactWriteItemsInput:
			// One row per item: each is priced at the transactional rate; the endpoint reports
			// the transaction's consumption once, on its first row.
			for i, it := range in.TransactItems {
				if it.Put == nil {
					return rc, fmt.Errorf("TransactWriteItems item %d: the bench prices only the Puts of a transaction", i)
				}
				item := op
				item.op = fmt.Sprintf("TransactWriteItems[%d] Put", i)
				if i > 0 {
					item.reported, item.reportedUnits = "(the transaction's, above)", 0
				}
				if err := item.pricePut(tpl, logical, it.Put.TableName, it.Put.Item, true); err != nil {
					return rc, err
				}
				rc.ops = append(rc.ops, item)
			}
			continue
		default:
			return rc, fmt.Errorf("%s: the bench prices only GetItem, PutItem and the Puts of TransactWriteItems", c.Operation)
		}
		rc.ops = append(rc.ops, op)
	}
	return rc, nil
}

// pricePut prices the put of a new item (every put of the benched routes is conditional on the
// item not existing). A transactional write costs twice a standard one, per DynamoDB's rules (a
// prepare and a commit of each item); its index writes are priced at the standard rate, as in
// docs/dynamodb-costs.md (which notes this is not yet measured on real DynamoDB).
func (op *opCapacity) pricePut(tpl *samtemplate.Template, logical map[string]string, tableName *string, item map[string]types.AttributeValue, transactional bool) error {
	op.table = logical[aws.ToString(tableName)]
	tb := tpl.Tables[op.table]
	if tb == nil {
		return fmt.Errorf("%s on %s, which is not a table of the template", op.op, aws.ToString(tableName))
	}
	op.transactional = transactional
	op.size = capacity.ItemSize(item)
	op.wcu = capacity.WriteUnits(op.size)
	if transactional {
		op.wcu *= 2
	}
	op.indexes = capacity.IndexWrites(item, tb.CreateTableInput(aws.ToString(tableName)))
	for _, u := range op.indexes {
		op.wcu += u
	}
	return nil
}

// total is "2 RCU", "1 RCU + 2 WCU"; reported is the endpoint's total.
func (rc routeCapacity) total() (computed string, reported float64) {
	var r, w float64
	for _, op := range rc.ops {
		r += op.rcu
		w += op.wcu
		reported += op.reportedUnits
	}
	var parts []string
	if r > 0 {
		parts = append(parts, fmt.Sprintf("%g RCU", r))
	}
	if w > 0 {
		parts = append(parts, fmt.Sprintf("%g WCU", w))
	}
	if len(parts) == 0 {
		return "0", reported
	}
	return strings.Join(parts, " + "), reported
}

// basis is what the call's units are computed from: "item 265 B, strongly consistent".
func (op opCapacity) basis() string {
	if op.op == "GetItem" {
		if op.consistent {
			return fmt.Sprintf("item %d B, strongly consistent", op.size)
		}
		return fmt.Sprintf("item %d B, eventually consistent", op.size)
	}
	s := fmt.Sprintf("new item %d B", op.size)
	if op.transactional {
		s += ", transactional (2 WCU per KB)"
	}
	if len(op.indexes) > 0 {
		s += ", in " + strings.Join(slices.Sorted(maps.Keys(op.indexes)), ", ")
	}
	return s
}

// units is "1 RCU", "2 WCU (table 1 + GSI1 1)".
func (op opCapacity) units() string {
	if op.op == "GetItem" {
		return fmt.Sprintf("%g RCU", op.rcu)
	}
	if len(op.indexes) == 0 {
		return fmt.Sprintf("%g WCU", op.wcu)
	}
	table := op.wcu
	parts := []string{}
	for _, name := range slices.Sorted(maps.Keys(op.indexes)) {
		table -= op.indexes[name]
		parts = append(parts, fmt.Sprintf("%s %g", name, op.indexes[name]))
	}
	return fmt.Sprintf("%g WCU (table %g + %s)", op.wcu, table, strings.Join(parts, " + "))
}
