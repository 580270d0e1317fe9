package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/pkg/codex"
)

var _ codex.PaymentStore = (*Store)(nil)

// A payment moves a checkout item in three conditional writes:
//
//	claim     UpdateItem          SET pay_lock_until, pay_lock_id   if open, expires after the lease, no live lease
//	complete  TransactWriteItems  SET status complete, paid, ...    if open, not expired, the lease is ours
//	          (Update + event)    REMOVE the lease, the open index's keys; Put checkout.completed
//	fail      TransactWriteItems  SET last_payment_error            if the lease is ours
//	          (Update + event)    REMOVE the lease; Put checkout.payment_failed
//
// pay_lock_until is codex.TimeFormat, fixed width, so string comparison is time comparison, as for
// expires_at. Expiring a checkout is conditional on no live pay_lock_until, so a charge in flight is
// never closed under. Completion and failure are transactions with their event's Put
// (checkout.completed, checkout.payment_failed).
const (
	attrPayLockUntil = codex.PayLockAttribute
	attrPayLockID    = "pay_lock_id"
)

// ClaimPayment implements codex.PaymentStore.
func (s *Store) ClaimPayment(ctx context.Context, id, lease string, now, until time.Time) (codex.Checkout, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.tables.App,
		Key:                 checkoutKey(id),
		UpdateExpression:    aws.String("SET #until = :until, #lease = :lease"),
		ConditionExpression: aws.String("#status = :open AND expires_at > :until AND (attribute_not_exists(#until) OR #until <= :now)"),
		ExpressionAttributeNames: map[string]string{
			"#until": attrPayLockUntil, "#lease": attrPayLockID, "#status": "status",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":until": &types.AttributeValueMemberS{Value: codex.FormatTime(until)},
			":now":   &types.AttributeValueMemberS{Value: codex.FormatTime(now)},
			":lease": &types.AttributeValueMemberS{Value: lease},
			":open":  &types.AttributeValueMemberS{Value: string(codex.CheckoutOpen)},
		},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return refused(ccf.Item, now, until)
	}
	if err != nil {
		return codex.Checkout{}, fmt.Errorf("claim payment of %s: %w", id, err)
	}
	return unmarshalCheckout(out.Attributes)
}

// refused says why a checkout's payment write failed its condition, from the item as it was.
func refused(item map[string]types.AttributeValue, now, until time.Time) (codex.Checkout, error) {
	if item == nil || item["PK"] == nil {
		// A conditional update of a missing item fails its condition with no old item.
		return codex.Checkout{}, codex.NotFound("checkout")
	}
	c, err := unmarshalCheckout(item)
	if err != nil {
		return c, err
	}
	switch {
	case c.Status != codex.CheckoutOpen:
		return c, codex.Errorf(codex.CodeCheckoutNotOpen, "checkout is %s", c.Status)
	case !c.ExpiresAt.After(until):
		return c, codex.Errorf(codex.CodeCheckoutExpired, "checkout has expired")
	}
	if v, ok := item[attrPayLockUntil].(*types.AttributeValueMemberS); ok && v.Value > codex.FormatTime(now) {
		return c, codex.Errorf(codex.CodePaymentInProgress, "a payment of this checkout is in progress")
	}
	return c, codex.Errorf(codex.CodePaymentInProgress, "the payment lease of this checkout was lost")
}

// CompletePayment implements codex.PaymentStore.
func (s *Store) CompletePayment(ctx context.Context, id, lease string, done codex.Completion, ev codex.Event) error {
	now := codex.FormatTime(done.CompletedAt)
	return s.leasedUpdate(ctx, id, codex.EventCheckoutCompleted, ev, &types.Update{
		TableName: &s.tables.App,
		Key:       checkoutKey(id),
		UpdateExpression: aws.String("SET #status = :complete, payment_status = :paid, completed_at = :now, " +
			"customer_email = :email, payment_method = :pm REMOVE last_payment_error, #until, #lease, #shard, #due"),
		ConditionExpression: aws.String("#status = :open AND expires_at > :now AND #lease = :lease AND #until > :now"),
		ExpressionAttributeNames: map[string]string{
			"#until": attrPayLockUntil, "#lease": attrPayLockID, "#status": "status",
			"#shard": attrOpenShard, "#due": attrOpenExpiresAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":complete": &types.AttributeValueMemberS{Value: string(codex.CheckoutComplete)},
			":paid":     &types.AttributeValueMemberS{Value: string(codex.PaymentPaid)},
			":open":     &types.AttributeValueMemberS{Value: string(codex.CheckoutOpen)},
			":now":      &types.AttributeValueMemberS{Value: now},
			":email":    &types.AttributeValueMemberS{Value: done.CustomerEmail},
			":lease":    &types.AttributeValueMemberS{Value: lease},
			":pm": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"brand": &types.AttributeValueMemberS{Value: done.PaymentMethod.Brand},
				"last4": &types.AttributeValueMemberS{Value: done.PaymentMethod.Last4},
			}},
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, done.CompletedAt)
}

// FailPayment implements codex.PaymentStore.
func (s *Store) FailPayment(ctx context.Context, id, lease string, e codex.PaymentError, now time.Time, ev codex.Event) error {
	return s.leasedUpdate(ctx, id, codex.EventCheckoutPaymentFailed, ev, &types.Update{
		TableName:           &s.tables.App,
		Key:                 checkoutKey(id),
		UpdateExpression:    aws.String("SET last_payment_error = :err REMOVE #until, #lease"),
		ConditionExpression: aws.String("#lease = :lease"),
		ExpressionAttributeNames: map[string]string{
			"#until": attrPayLockUntil, "#lease": attrPayLockID,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":lease": &types.AttributeValueMemberS{Value: lease},
			":err": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"code":    &types.AttributeValueMemberS{Value: e.Code},
				"message": &types.AttributeValueMemberS{Value: e.Message},
			}},
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, now)
}

// leasedUpdate runs update and the Put of its event ev (of type typ) as one transaction: no change
// without its event, no event without its change. A failed condition of the update is explained
// from the item as it was. A transaction cancelled by a concurrent one on the same checkout (an
// expiry being tried while the lease holds it) is tried again a moment later: the lease still
// holds, and a completion must not be lost after the processor charged.
func (s *Store) leasedUpdate(ctx context.Context, id string, typ codex.EventType, ev codex.Event, update *types.Update, now time.Time) error {
	if ev.Type != typ {
		return fmt.Errorf("update checkout %s: event %s is a %s, not a %s", id, ev.ID, ev.Type, typ)
	}
	evPut, err := s.eventPut(ev)
	if err != nil {
		return err
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Update: update}, {Put: evPut}}}
	for attempt := 1; ; attempt++ {
		// A new transaction each time: DynamoDB answers a repeated token with the first outcome.
		in.ClientRequestToken = nil
		_, err = s.db.TransactWriteItems(ctx, in)
		if attempt == conflictAttempts || !canceledBy(err, "TransactionConflict") {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 25 * time.Millisecond):
		}
	}
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) && len(tc.CancellationReasons) > 0 && aws.ToString(tc.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		_, err := refused(tc.CancellationReasons[0].Item, now, now)
		return err
	}
	if err != nil {
		return fmt.Errorf("update checkout %s: %w", id, err)
	}
	return nil
}
