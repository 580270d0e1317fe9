package dynamo

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/pkg/codex"
)

var _ codex.CheckoutStore = (*Store)(nil)

// Checkouts in the app table:
//
//	PK            SK           GSI1PK                   GSI1SK
//	CHECKOUT#<id> CHECKOUT     PROJECT#<pid>#CHECKOUT   <created_at>#<id>
//
// The primary key is the id alone, so the hosted page and payment events, which know only the id,
// find a checkout with one GetItem; project_id on the item scopes merchant reads. GSI1 lists a
// project's checkouts newest first: created_at is fixed-width (codex.TimeFormat), so its lexical
// order is time order, and the id breaks ties between checkouts of the same millisecond.
type checkoutItem struct {
	PK                string             `dynamodbav:"PK"`
	SK                string             `dynamodbav:"SK"`
	GSI1PK            string             `dynamodbav:"GSI1PK"`
	GSI1SK            string             `dynamodbav:"GSI1SK"`
	Type              string             `dynamodbav:"type"`
	ID                string             `dynamodbav:"id"`
	ProjectID         string             `dynamodbav:"project_id"`
	Status            string             `dynamodbav:"status"`
	PaymentStatus     string             `dynamodbav:"payment_status"`
	Currency          string             `dynamodbav:"currency"`
	AmountTotal       int64              `dynamodbav:"amount_total"`
	LineItems         []lineItemAttr     `dynamodbav:"line_items"`
	SuccessURL        string             `dynamodbav:"success_url"`
	CancelURL         string             `dynamodbav:"cancel_url"`
	ClientReferenceID string             `dynamodbav:"client_reference_id,omitempty"`
	Metadata          map[string]string  `dynamodbav:"metadata,omitempty"`
	CreatedAt         string             `dynamodbav:"created_at"`
	ExpiresAt         string             `dynamodbav:"expires_at"`
	ButtonID          string             `dynamodbav:"button_id,omitempty"`
	CompletedAt       string             `dynamodbav:"completed_at,omitempty"`
	CustomerEmail     string             `dynamodbav:"customer_email,omitempty"`
	PaymentMethod     *paymentMethodAttr `dynamodbav:"payment_method,omitempty"`
	LastPaymentError  *paymentErrorAttr  `dynamodbav:"last_payment_error,omitempty"`
	// The keys of the sparse index of open checkouts (expiry.go), present only while open.
	OpenShard     *int   `dynamodbav:"open_shard,omitempty"`
	OpenExpiresAt string `dynamodbav:"open_expires_at,omitempty"`
	// pay_lock_until and pay_lock_id, the payment lease, are written only by payments.go.
}

type paymentMethodAttr struct {
	Brand string `dynamodbav:"brand"`
	Last4 string `dynamodbav:"last4"`
}

type paymentErrorAttr struct {
	Code    string `dynamodbav:"code"`
	Message string `dynamodbav:"message"`
}

// lineItemAttr uses one-letter names: they are repeated in every line item and item size is what
// DynamoDB bills.
type lineItemAttr struct {
	Name       string `dynamodbav:"n"`
	UnitAmount int64  `dynamodbav:"a"`
	Quantity   int64  `dynamodbav:"q"`
}

const (
	checkoutSK   = "CHECKOUT"
	checkoutType = "checkout"
	indexGSI1    = "GSI1"
)

func checkoutPK(id string) string              { return "CHECKOUT#" + id }
func projectCheckoutsGSI1PK(pid string) string { return "PROJECT#" + pid + "#CHECKOUT" }
func checkoutGSI1SK(c codex.Checkout) string   { return codex.FormatTime(c.CreatedAt) + "#" + c.ID }

func checkoutKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: checkoutPK(id)},
		"SK": &types.AttributeValueMemberS{Value: checkoutSK},
	}
}

func marshalCheckout(c codex.Checkout) (map[string]types.AttributeValue, error) {
	it := checkoutItem{
		PK: checkoutPK(c.ID), SK: checkoutSK,
		GSI1PK: projectCheckoutsGSI1PK(c.ProjectID), GSI1SK: checkoutGSI1SK(c),
		Type: checkoutType, ID: c.ID, ProjectID: c.ProjectID,
		Status: string(c.Status), PaymentStatus: string(c.PaymentStatus),
		Currency: c.Currency, AmountTotal: c.AmountTotal,
		SuccessURL: c.SuccessURL, CancelURL: c.CancelURL, ClientReferenceID: c.ClientReferenceID,
		Metadata:  c.Metadata,
		CreatedAt: codex.FormatTime(c.CreatedAt), ExpiresAt: codex.FormatTime(c.ExpiresAt),
		ButtonID: c.ButtonID, CustomerEmail: c.CustomerEmail,
	}
	if pm := c.PaymentMethod; pm != nil {
		it.PaymentMethod = &paymentMethodAttr{Brand: pm.Brand, Last4: pm.Last4}
	}
	if pe := c.LastPaymentError; pe != nil {
		it.LastPaymentError = &paymentErrorAttr{Code: pe.Code, Message: pe.Message}
	}
	if !c.CompletedAt.IsZero() {
		it.CompletedAt = codex.FormatTime(c.CompletedAt)
	}
	if c.Status == codex.CheckoutOpen {
		shard := openShard(c.ID)
		it.OpenShard, it.OpenExpiresAt = &shard, it.ExpiresAt
	}
	for _, li := range c.LineItems {
		it.LineItems = append(it.LineItems, lineItemAttr{Name: li.Name, UnitAmount: li.UnitAmount, Quantity: li.Quantity})
	}
	return attributevalue.MarshalMap(it)
}

func unmarshalCheckout(item map[string]types.AttributeValue) (codex.Checkout, error) {
	var it checkoutItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return codex.Checkout{}, fmt.Errorf("decode checkout: %w", err)
	}
	created, err := codex.ParseTime(it.CreatedAt)
	if err != nil {
		return codex.Checkout{}, fmt.Errorf("decode checkout %s: %w", it.ID, err)
	}
	expires, err := codex.ParseTime(it.ExpiresAt)
	if err != nil {
		return codex.Checkout{}, fmt.Errorf("decode checkout %s: %w", it.ID, err)
	}
	c := codex.Checkout{
		ID: it.ID, ProjectID: it.ProjectID,
		Status: codex.CheckoutStatus(it.Status), PaymentStatus: codex.PaymentStatus(it.PaymentStatus),
		Currency: it.Currency, AmountTotal: it.AmountTotal,
		LineItems:  make([]codex.LineItem, 0, len(it.LineItems)),
		SuccessURL: it.SuccessURL, CancelURL: it.CancelURL, ClientReferenceID: it.ClientReferenceID,
		Metadata:  it.Metadata,
		CreatedAt: created, ExpiresAt: expires,
		ButtonID: it.ButtonID, CustomerEmail: it.CustomerEmail,
	}
	if pm := it.PaymentMethod; pm != nil {
		c.PaymentMethod = &codex.PaymentMethod{Brand: pm.Brand, Last4: pm.Last4}
	}
	if pe := it.LastPaymentError; pe != nil {
		c.LastPaymentError = &codex.PaymentError{Code: pe.Code, Message: pe.Message}
	}
	if it.CompletedAt != "" {
		if c.CompletedAt, err = codex.ParseTime(it.CompletedAt); err != nil {
			return codex.Checkout{}, fmt.Errorf("decode checkout %s: %w", it.ID, err)
		}
	}
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	for _, li := range it.LineItems {
		c.LineItems = append(c.LineItems, codex.LineItem{Name: li.Name, UnitAmount: li.UnitAmount, Quantity: li.Quantity})
	}
	return c, nil
}

// CreateCheckout writes the checkout and its checkout.created event (the outbox: see events.go)
// with one TransactWriteItems, and with an idempotency record, the record too: never a checkout
// without its event or an event without its checkout, never a checkout without its record (a
// retry would create a second one) nor a record without its checkout (a retry would replay a
// checkout that does not exist). There is no "in progress" state that a crash could leave behind
// to lock the key.
func (s *Store) CreateCheckout(ctx context.Context, c codex.Checkout, ev codex.Event, rec *codex.IdempotencyRecord) (*codex.IdempotencyRecord, error) {
	if ev.Type != codex.EventCheckoutCreated || ev.ProjectID != c.ProjectID {
		return nil, fmt.Errorf("create checkout %s: event %s is not its checkout.created", c.ID, ev.ID)
	}
	item, err := marshalCheckout(c)
	if err != nil {
		return nil, err
	}
	evPut, err := s.eventPut(ev)
	if err != nil {
		return nil, err
	}
	// The id has 130 random bits; the condition turns the impossible collision into an error
	// instead of an overwrite.
	put := types.Put{TableName: &s.tables.App, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
	// The SDK gives the transaction a ClientRequestToken and keeps it across its retries, so a
	// retry of a transaction that was committed succeeds instead of failing its conditions.
	if rec == nil {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems: []types.TransactWriteItem{{Put: &put}, {Put: evPut}},
		})
		var tc *types.TransactionCanceledException
		if errors.As(err, &tc) && len(tc.CancellationReasons) == 2 && tc.CancellationReasons[0].Item != nil {
			// An endpoint that does not honour the token (moto) fails the retry's condition
			// instead: finding exactly this checkout, written with its event by the first
			// attempt, is success, not a collision.
			if existing, uerr := unmarshalCheckout(tc.CancellationReasons[0].Item); uerr == nil && reflect.DeepEqual(existing, c) {
				return nil, nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("create checkout %s: %w", c.ID, err)
		}
		return nil, nil
	}
	recPut, err := idempotencyPut(s.tables.App, rec)
	if err != nil {
		return nil, err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{{Put: recPut}, {Put: &put}, {Put: evPut}},
	})
	if err != nil {
		existing, err := idempotentOutcome(err)
		if err != nil {
			return nil, fmt.Errorf("create checkout %s: %w", c.ID, err)
		}
		return existing, nil
	}
	return nil, nil
}

// idempotentOutcome interprets the failure of the transaction that puts an idempotency record
// (first), its checkout and the checkout's event: the live record that holds the key,
// CodeIdempotencyInUse, or the error itself.
func idempotentOutcome(err error) (*codex.IdempotencyRecord, error) {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) || len(tc.CancellationReasons) == 0 {
		return nil, err
	}
	switch r := tc.CancellationReasons[0]; aws.ToString(r.Code) {
	case "ConditionalCheckFailed":
		// The key is taken and live; its record came back with the cancellation
		// (ReturnValuesOnConditionCheckFailure), so no second read is needed.
		if r.Item == nil {
			return nil, errors.New("idempotency record not returned with its failed condition")
		}
		return unmarshalIdempotency(r.Item)
	case "TransactionConflict":
		// Another transaction on the same record is in flight: the same key in a concurrent
		// request, whose outcome is not known yet. The client retries after it.
		return nil, codex.Errorf(codex.CodeIdempotencyInUse,
			"another request with this Idempotency-Key is in progress; retry after it completes")
	}
	return nil, err
}

// FindCheckout reads a checkout by id alone: one strongly consistent GetItem on the checkout's own
// key, so a checkout is readable as soon as its creation has returned. With no project to check, it
// serves the buyer's view, whose only credential is the unguessable id.
func (s *Store) FindCheckout(ctx context.Context, id string) (codex.Checkout, error) {
	return getItem(ctx, s.db, &dynamodb.GetItemInput{
		TableName: &s.tables.App, Key: checkoutKey(id), ConsistentRead: aws.Bool(true),
	}, "checkout", unmarshalCheckout)
}

// GetCheckout is FindCheckout for a merchant: a checkout of another project is reported exactly
// like a missing one.
func (s *Store) GetCheckout(ctx context.Context, projectID, id string) (codex.Checkout, error) {
	c, err := s.FindCheckout(ctx, id)
	if err == nil && c.ProjectID != projectID {
		return codex.Checkout{}, codex.NotFound("checkout")
	}
	return c, err
}

// ListCheckouts queries GSI1 newest first for limit+1 items: the extra one only answers has_more.
// A page normally takes one Query; DynamoDB stops a Query at 1 MB, so very large checkouts can take
// more. starting_after costs one GetItem, to find the cursor checkout's GSI1 sort key and check that
// it belongs to the project.
func (s *Store) ListCheckouts(ctx context.Context, projectID string, limit int, startingAfter string) ([]codex.Checkout, bool, error) {
	in := &dynamodb.QueryInput{
		TableName:              &s.tables.App,
		IndexName:              aws.String(indexGSI1),
		KeyConditionExpression: aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: projectCheckoutsGSI1PK(projectID)},
		},
		ScanIndexForward: aws.Bool(false),
	}
	if startingAfter != "" {
		cursor, err := s.GetCheckout(ctx, projectID, startingAfter)
		if err != nil {
			return nil, false, err
		}
		// A GSI query resumes from the index key plus the table key of the last item seen.
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			"PK":     &types.AttributeValueMemberS{Value: checkoutPK(cursor.ID)},
			"SK":     &types.AttributeValueMemberS{Value: checkoutSK},
			"GSI1PK": &types.AttributeValueMemberS{Value: projectCheckoutsGSI1PK(projectID)},
			"GSI1SK": &types.AttributeValueMemberS{Value: checkoutGSI1SK(cursor)},
		}
	}
	var page []codex.Checkout
	for {
		in.Limit = aws.Int32(int32(limit + 1 - len(page)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, false, fmt.Errorf("list checkouts: %w", err)
		}
		for _, item := range out.Items {
			c, err := unmarshalCheckout(item)
			if err != nil {
				return nil, false, err
			}
			page = append(page, c)
		}
		if len(page) > limit {
			return page[:limit], true, nil
		}
		if out.LastEvaluatedKey == nil {
			return page, false, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// Idempotency records in the app table:
//
//	PK            SK                  ttl
//	PROJECT#<pid> IDEMPOTENCY#<key>   expiry, epoch seconds
//
// Scoped per project by the partition key, so two projects can use the same key. DynamoDB's TTL
// deletes a record some time after expiry, not at it, so every write treats a record whose ttl has
// passed as absent.
type idempotencyItem struct {
	PK          string `dynamodbav:"PK"`
	SK          string `dynamodbav:"SK"`
	Type        string `dynamodbav:"type"`
	Key         string `dynamodbav:"idempotency_key"`
	Fingerprint string `dynamodbav:"fingerprint"`
	StatusCode  int    `dynamodbav:"status_code"`
	Body        string `dynamodbav:"body"`
	CreatedAt   string `dynamodbav:"created_at"`
	TTL         int64  `dynamodbav:"ttl"`
}

func idempotencySK(key string) string { return "IDEMPOTENCY#" + key }

// idempotencyPut is the record's half of the creating transaction. It succeeds when the key is free
// or its record has expired, and otherwise returns the live record with the cancellation.
func idempotencyPut(table string, rec *codex.IdempotencyRecord) (*types.Put, error) {
	// Rounded up to the second, so that "ttl <= now (rounded down)" never frees a key before
	// ExpiresAt.
	ttl := rec.ExpiresAt.Unix()
	if rec.ExpiresAt.Nanosecond() > 0 {
		ttl++
	}
	item, err := attributevalue.MarshalMap(idempotencyItem{
		PK: projectPK(rec.ProjectID), SK: idempotencySK(rec.Key), Type: "idempotency",
		Key: rec.Key, Fingerprint: rec.Fingerprint, StatusCode: rec.StatusCode, Body: rec.Body,
		CreatedAt: codex.FormatTime(rec.CreatedAt), TTL: ttl,
	})
	if err != nil {
		return nil, err
	}
	return &types.Put{
		TableName:                           &table,
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(PK) OR #ttl <= :now"),
		ExpressionAttributeNames:            map[string]string{"#ttl": "ttl"},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(rec.CreatedAt.Unix(), 10)}},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, nil
}

func unmarshalIdempotency(item map[string]types.AttributeValue) (*codex.IdempotencyRecord, error) {
	var it idempotencyItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("decode idempotency record: %w", err)
	}
	created, err := codex.ParseTime(it.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("decode idempotency record: %w", err)
	}
	pid, _ := strings.CutPrefix(it.PK, "PROJECT#")
	return &codex.IdempotencyRecord{
		ProjectID: pid, Key: it.Key, Fingerprint: it.Fingerprint, StatusCode: it.StatusCode, Body: it.Body,
		CreatedAt: created, ExpiresAt: time.Unix(it.TTL, 0).UTC(),
	}, nil
}
