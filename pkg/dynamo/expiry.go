package dynamo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/pkg/codex"
)

var _ codex.CheckoutExpirer = (*Store)(nil)

// The open index (open_checkouts) is sparse: a checkout carries its two key attributes only while
// it is open, so the index holds open checkouts and nothing else, and the sweeper finds the due
// ones with one Query per shard however many checkouts were paid or expired before.
//
//	open_shard (N)       open_expires_at (S)
//	0 .. openShards-1    expires_at (codex.TimeFormat, so lexical order is time order)
//
// The shard is a hash of the id: one partition key for every open checkout would put all their
// index writes on one partition, whose throughput is bounded however the table is billed.
const (
	indexOpen           = "open_checkouts"
	attrOpenShard       = "open_shard"
	attrOpenExpiresAt   = "open_expires_at"
	openShards          = 8
	checkoutPKPrefix    = "CHECKOUT#"
	openCursorSeparator = " "
)

// openShard spreads checkouts over the index's shards by a hash of their id.
func openShard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % openShards)
}

// OpenShards is the number of shards of the open index.
func (s *Store) OpenShards() int { return openShards }

// DueCheckouts queries one shard of the open index for checkouts whose expires_at is at or before
// now, oldest first. The index projects only keys: the sweeper reads each checkout afresh anyway.
func (s *Store) DueCheckouts(ctx context.Context, shard int, now time.Time, limit int, cursor string) ([]string, string, error) {
	if shard < 0 || shard >= openShards {
		return nil, "", fmt.Errorf("due checkouts: shard %d is not from 0 to %d", shard, openShards-1)
	}
	in := &dynamodb.QueryInput{
		TableName:              &s.tables.App,
		IndexName:              aws.String(indexOpen),
		KeyConditionExpression: aws.String("#shard = :shard AND #due <= :now"),
		ExpressionAttributeNames: map[string]string{
			"#shard": attrOpenShard, "#due": attrOpenExpiresAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":shard": &types.AttributeValueMemberN{Value: strconv.Itoa(shard)},
			":now":   &types.AttributeValueMemberS{Value: codex.FormatTime(now)},
		},
		Limit: aws.Int32(int32(limit)),
	}
	if cursor != "" {
		due, id, ok := strings.Cut(cursor, openCursorSeparator)
		if !ok {
			return nil, "", fmt.Errorf("due checkouts: bad cursor %q", cursor)
		}
		// A GSI query resumes from the index key plus the table key of the last item seen.
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			"PK":              &types.AttributeValueMemberS{Value: checkoutPK(id)},
			"SK":              &types.AttributeValueMemberS{Value: checkoutSK},
			attrOpenShard:     &types.AttributeValueMemberN{Value: strconv.Itoa(shard)},
			attrOpenExpiresAt: &types.AttributeValueMemberS{Value: due},
		}
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("due checkouts: %w", err)
	}
	ids := make([]string, 0, len(out.Items))
	for _, item := range out.Items {
		pk, _ := item["PK"].(*types.AttributeValueMemberS)
		if pk == nil || !strings.HasPrefix(pk.Value, checkoutPKPrefix) {
			return nil, "", errors.New("due checkouts: an index entry without a checkout key")
		}
		ids = append(ids, strings.TrimPrefix(pk.Value, checkoutPKPrefix))
	}
	next := ""
	if k := out.LastEvaluatedKey; k != nil {
		pk, _ := k["PK"].(*types.AttributeValueMemberS)
		due, _ := k[attrOpenExpiresAt].(*types.AttributeValueMemberS)
		if pk == nil || due == nil {
			return nil, "", errors.New("due checkouts: a page ended on an unexpected key")
		}
		next = due.Value + openCursorSeparator + strings.TrimPrefix(pk.Value, checkoutPKPrefix)
	}
	return ids, next, nil
}

// expireCondition: still open, of the project read, and no live payment lease (one lapses at its
// pay_lock_until, when the payment code may claim the checkout again). The lease may be
// stored as a codex.TimeFormat string or as epoch seconds; each comparison is guarded by the type
// it applies to (comparing across types is an error, not false, in some implementations).
const expireCondition = "#status = :open AND project_id = :pid AND (attribute_not_exists(#lease) OR " +
	"(attribute_type(#lease, :type_s) AND #lease <= :now_s) OR (attribute_type(#lease, :type_n) AND #lease <= :now_n))"

// ExpireCheckout is the one write of open → expired: a TransactWriteItems of one conditional
// Update and the Put of the change's checkout.expired event (the outbox: see events.go). It sets the status, the
// table's TTL attribute (ttl) to ExpiredRetention after the checkout expired (at, or expires_at if
// that came first, as for the sweeper) and removes the open index's attributes. On a failed
// condition the item as it was comes back with the cancellation and tells which rule refused.
func (s *Store) ExpireCheckout(ctx context.Context, c codex.Checkout, ev codex.Event, at time.Time) (codex.Checkout, error) {
	if ev.Type != codex.EventCheckoutExpired || ev.ProjectID != c.ProjectID {
		return codex.Checkout{}, fmt.Errorf("expire checkout %s: event %s is not its checkout.expired", c.ID, ev.ID)
	}
	evPut, err := s.eventPut(ev)
	if err != nil {
		return codex.Checkout{}, err
	}
	expired := at
	if c.ExpiresAt.Before(at) {
		expired = c.ExpiresAt
	}
	del := expired.Add(codex.ExpiredRetention)
	ttl := del.Unix()
	if del.Nanosecond() > 0 {
		ttl++ // never before the retention is over
	}
	update := &types.Update{
		TableName:           &s.tables.App,
		Key:                 checkoutKey(c.ID),
		UpdateExpression:    aws.String("SET #status = :expired, #ttl = :ttl REMOVE #shard, #due"),
		ConditionExpression: aws.String(expireCondition),
		ExpressionAttributeNames: map[string]string{
			"#status": "status", "#ttl": "ttl", "#lease": codex.PayLockAttribute,
			"#shard": attrOpenShard, "#due": attrOpenExpiresAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":open":    &types.AttributeValueMemberS{Value: string(codex.CheckoutOpen)},
			":expired": &types.AttributeValueMemberS{Value: string(codex.CheckoutExpired)},
			":pid":     &types.AttributeValueMemberS{Value: c.ProjectID},
			":ttl":     &types.AttributeValueMemberN{Value: strconv.FormatInt(ttl, 10)},
			":now_s":   &types.AttributeValueMemberS{Value: codex.FormatTime(at)},
			":now_n":   &types.AttributeValueMemberN{Value: strconv.FormatInt(at.Unix(), 10)},
			":type_s":  &types.AttributeValueMemberS{Value: "S"},
			":type_n":  &types.AttributeValueMemberS{Value: "N"},
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{{Update: update}, {Put: evPut}},
	})
	if err != nil {
		return codex.Checkout{}, expireRefusal(err, c)
	}
	c.Status = codex.CheckoutExpired
	return c, nil
}

// expireRefusal names why the expiring transaction was cancelled, from the item as it was.
func expireRefusal(err error, c codex.Checkout) error {
	if canceledBy(err, "TransactionConflict") {
		// Another transaction on this checkout (a payment completing) is in flight; its outcome
		// decides, and a retry after it gets the answer.
		return codex.Errorf(codex.CodePaymentInProgress, "the checkout is being changed by a payment; retry once it has ended")
	}
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) || len(tc.CancellationReasons) == 0 || aws.ToString(tc.CancellationReasons[0].Code) != "ConditionalCheckFailed" {
		return fmt.Errorf("expire checkout %s: %w", c.ID, err)
	}
	item := tc.CancellationReasons[0].Item
	if item == nil {
		return codex.NotFound("checkout")
	}
	status, _ := item["status"].(*types.AttributeValueMemberS)
	pid, _ := item["project_id"].(*types.AttributeValueMemberS)
	switch {
	case pid == nil || pid.Value != c.ProjectID:
		return codex.NotFound("checkout")
	case status == nil || status.Value != string(codex.CheckoutOpen):
		return codex.Errorf(codex.CodeCheckoutNotOpen, "the checkout is not open: it has been paid or has expired")
	}
	return codex.Errorf(codex.CodePaymentInProgress, "a payment of this checkout is in progress; retry once it has ended")
}

// UnindexCheckout removes the open index's attributes from a checkout that is no longer open.
func (s *Store) UnindexCheckout(ctx context.Context, id string) (bool, error) {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.tables.App,
		Key:                 checkoutKey(id),
		UpdateExpression:    aws.String("REMOVE #shard, #due"),
		ConditionExpression: aws.String("attribute_exists(#shard) AND #status <> :open"),
		ExpressionAttributeNames: map[string]string{
			"#status": "status", "#shard": attrOpenShard, "#due": attrOpenExpiresAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":open": &types.AttributeValueMemberS{Value: string(codex.CheckoutOpen)},
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil // open (the sweeper's next run looks again), gone, or already out of the index
	}
	if err != nil {
		return false, fmt.Errorf("unindex checkout %s: %w", id, err)
	}
	return true, nil
}
