package dynamo

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/infra/localaws"
	"codex/pkg/codex"
)

// TestPaymentLease: a claim holds the checkout against other claims until it lapses; only its
// holder completes or fails the payment; completion is refused after the lease lapsed or the
// checkout expired; a paid checkout cannot be claimed again.
func TestPaymentLease(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	c := testCheckout(t, "prj_A", t0) // expires a day after t0
	if _, err := createChecked(ctx, s, c, nil); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Minute)
	until := now.Add(codex.PaymentLease)
	claimed, err := s.ClaimPayment(ctx, c.ID, "lease-1", now, until)
	if err != nil || claimed.ID != c.ID || claimed.AmountTotal != c.AmountTotal {
		t.Fatalf("claim: %+v, %v", claimed, err)
	}
	wantCode := func(what string, err error, code codex.Code) {
		t.Helper()
		if codex.ErrorCode(err) != code {
			t.Errorf("%s: %v, want %s", what, err, code)
		}
	}
	_, err = s.ClaimPayment(ctx, c.ID, "lease-2", now.Add(time.Second), until.Add(time.Second))
	wantCode("a second claim while the first is live", err, codex.CodePaymentInProgress)
	wantCode("completion by another lease", s.CompletePayment(ctx, c.ID, "lease-2", codex.Completion{CompletedAt: now}, testEvent(c.ProjectID, codex.EventCheckoutCompleted, t0)), codex.CodePaymentInProgress)
	wantCode("failure by another lease", s.FailPayment(ctx, c.ID, "lease-2", codex.PaymentError{Code: "x", Message: "y"}, now, testEvent(c.ProjectID, codex.EventCheckoutPaymentFailed, now)), codex.CodePaymentInProgress)

	// The holder's decline releases the lease and is recorded.
	if err := s.FailPayment(ctx, c.ID, "lease-1", codex.PaymentError{Code: "card_declined", Message: "Your card was declined."}, now, testEvent(c.ProjectID, codex.EventCheckoutPaymentFailed, now)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.FindCheckout(ctx, c.ID)
	if got.Status != codex.CheckoutOpen || !reflect.DeepEqual(got.LastPaymentError, &codex.PaymentError{Code: "card_declined", Message: "Your card was declined."}) {
		t.Errorf("after the decline: %+v", got)
	}

	// A lease that lapsed can be taken over; its old holder can then complete nothing.
	if _, err := s.ClaimPayment(ctx, c.ID, "lease-3", now, until); err != nil {
		t.Fatal(err)
	}
	later := until.Add(time.Second)
	wantCode("completion after the lease lapsed", s.CompletePayment(ctx, c.ID, "lease-3", codex.Completion{CompletedAt: later}, testEvent(c.ProjectID, codex.EventCheckoutCompleted, t0)), codex.CodePaymentInProgress)
	if _, err := s.ClaimPayment(ctx, c.ID, "lease-4", later, later.Add(codex.PaymentLease)); err != nil {
		t.Fatalf("taking over a lapsed lease: %v", err)
	}
	wantCode("completion by the lapsed lease", s.CompletePayment(ctx, c.ID, "lease-3", codex.Completion{CompletedAt: later}, testEvent(c.ProjectID, codex.EventCheckoutCompleted, t0)), codex.CodePaymentInProgress)

	done := codex.Completion{CompletedAt: later.Add(time.Second), CustomerEmail: "b@example.com", PaymentMethod: codex.PaymentMethod{Brand: "visa", Last4: "4242"}}
	if err := s.CompletePayment(ctx, c.ID, "lease-4", done, testEvent(c.ProjectID, codex.EventCheckoutCompleted, t0)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.FindCheckout(ctx, c.ID)
	want := c
	want.Status, want.PaymentStatus, want.CompletedAt = codex.CheckoutComplete, codex.PaymentPaid, done.CompletedAt
	want.CustomerEmail, want.PaymentMethod = done.CustomerEmail, &done.PaymentMethod
	if !reflect.DeepEqual(got, want) {
		t.Errorf("complete:\n%+v\nwant\n%+v", got, want)
	}
	item := rawItem(t, s, c.ID)
	for _, attr := range []string{attrPayLockUntil, attrPayLockID, "last_payment_error", attrOpenShard, attrOpenExpiresAt} {
		if _, ok := item[attr]; ok {
			t.Errorf("%s left on the paid checkout (the lease, the last error, the open index's keys)", attr)
		}
	}
	_, err = s.ClaimPayment(ctx, c.ID, "lease-5", later.Add(time.Hour), later.Add(time.Hour+codex.PaymentLease))
	wantCode("a claim of a paid checkout", err, codex.CodeCheckoutNotOpen)
	_, err = s.ClaimPayment(ctx, "chk_AAAAAAAAAAAAAAAAAAAAAAAAAA", "lease-6", now, until)
	wantCode("a claim of no checkout", err, codex.CodeNotFound)
	if _, err := s.FindCheckout(ctx, "chk_AAAAAAAAAAAAAAAAAAAAAAAAAA"); !codex.IsNotFound(err) {
		t.Errorf("the refused claim created an item: %v", err)
	}
}

// TestPaymentNearExpiry: a checkout is not claimed when its lease would outlive it, nor completed
// once past expires_at, so no charge is ever made on a checkout that expires under it.
func TestPaymentNearExpiry(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	c := testCheckout(t, "prj_A", t0)
	if _, err := createChecked(ctx, s, c, nil); err != nil {
		t.Fatal(err)
	}
	late := c.ExpiresAt.Add(-codex.PaymentLease / 2)
	_, err := s.ClaimPayment(ctx, c.ID, "lease-1", late, late.Add(codex.PaymentLease))
	if codex.ErrorCode(err) != codex.CodeCheckoutExpired {
		t.Errorf("a claim whose lease outlives the checkout: %v, want %s", err, codex.CodeCheckoutExpired)
	}
	early := c.ExpiresAt.Add(-2 * codex.PaymentLease)
	if _, err := s.ClaimPayment(ctx, c.ID, "lease-2", early, early.Add(codex.PaymentLease)); err != nil {
		t.Fatal(err)
	}
	err = s.CompletePayment(ctx, c.ID, "lease-2", codex.Completion{CompletedAt: c.ExpiresAt}, testEvent(c.ProjectID, codex.EventCheckoutCompleted, t0))
	if codex.ErrorCode(err) == "" {
		t.Error("completed at expires_at")
	}
}

func TestFindProject(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	p := newProject(t, s, "user-a", "Tea ☕", t0)
	got, err := s.FindProject(ctx, p.ID)
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("FindProject: %+v, %v; want %+v", got, err, p)
	}
	if _, err := s.FindProject(ctx, "prj_AAAAAAAAAAAAAAAAAAAAAAAAAA"); !codex.IsNotFound(err) {
		t.Errorf("unknown project: %v", err)
	}
}

// rawItem is a checkout's item as stored, every attribute.
func rawItem(t *testing.T, s *Store, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := s.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &s.tables.App, Key: checkoutKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// TestCompletePaymentConflict: a completion cancelled by a concurrent transaction on the checkout
// (an expiry tried while the lease holds it) is tried again, so a charge is not left unrecorded;
// one that keeps conflicting is an error that changes nothing.
func TestCompletePaymentConflict(t *testing.T) {
	t.Parallel()
	names := testEnv.NewTables(t)
	tables := Tables{Keys: names["KeysTable"], App: names["AppTable"]}
	plain, ctx := New(testEnv.DynamoDB, tables), context.Background()
	for _, tc := range []struct {
		conflicts int64
		completed bool
	}{{1, true}, {conflictAttempts - 1, true}, {conflictAttempts, false}} {
		c := testCheckout(t, "prj_A", t0)
		if _, err := createChecked(ctx, plain, c, nil); err != nil {
			t.Fatal(err)
		}
		now := t0.Add(time.Minute)
		if _, err := plain.ClaimPayment(ctx, c.ID, "lease", now, now.Add(codex.PaymentLease)); err != nil {
			t.Fatal(err)
		}
		var tokens []string
		s := New(dynamodb.New(testEnv.DynamoDB.Options(), recordTokens(&tokens), localaws.ConflictingTransactions(tc.conflicts)), tables)
		err := s.CompletePayment(ctx, c.ID, "lease", codex.Completion{CompletedAt: now, CustomerEmail: "b@example.com",
			PaymentMethod: codex.PaymentMethod{Brand: "visa", Last4: "4242"}}, testEvent(c.ProjectID, codex.EventCheckoutCompleted, now))
		got, _ := plain.FindCheckout(ctx, c.ID)
		switch {
		case tc.completed && (err != nil || got.Status != codex.CheckoutComplete):
			t.Errorf("%d conflicts: %v, status %s; want completed", tc.conflicts, err, got.Status)
		case !tc.completed && (err == nil || got.Status != codex.CheckoutOpen):
			t.Errorf("%d conflicts: %v, status %s; want an error and still open", tc.conflicts, err, got.Status)
		}
		if len(tokens) != len(slices.Compact(slices.Sorted(slices.Values(tokens)))) {
			t.Errorf("%d conflicts: the attempts shared a token: %q", tc.conflicts, tokens)
		}
	}
}
