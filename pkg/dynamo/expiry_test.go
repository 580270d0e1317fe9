package dynamo

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/infra/localaws"
	"codex/pkg/codex"
)

// rawCheckout reads a checkout's item as stored.
func rawCheckout(t *testing.T, s *Store, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := s.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: &s.tables.App, Key: checkoutKey(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// setAttr sets one attribute of a stored checkout, as another writer (the payment code) would.
func setAttr(t *testing.T, s *Store, id, name string, v types.AttributeValue) {
	t.Helper()
	_, err := s.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: &s.tables.App, Key: checkoutKey(id),
		UpdateExpression:          aws.String("SET #a = :v"),
		ExpressionAttributeNames:  map[string]string{"#a": name},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": v},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// allDue lists every due checkout of every shard as of now, paging limit at a time.
func allDue(t *testing.T, s *Store, now time.Time, limit int) []string {
	t.Helper()
	var ids []string
	for shard := range s.OpenShards() {
		cursor, pages := "", 0
		for {
			page, next, err := s.DueCheckouts(context.Background(), shard, now, limit, cursor)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit {
				t.Fatalf("a page of %d, limit %d", len(page), limit)
			}
			ids = append(ids, page...)
			if pages++; next == "" || pages > 100 {
				break
			}
			cursor = next
		}
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids ...string) []string { slices.Sort(ids); return ids }

// TestOpenIndex: the index holds open checkouts only, each listed once it is due and not before,
// however the pages are cut; expiring a checkout takes it out.
func TestOpenIndex(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	var early, late []string // expiring at t0+30m and t0+24h
	for i := range 12 {
		p := codex.CheckoutParams{
			LineItems: []codex.LineItem{{Name: "Tea", UnitAmount: 450, Quantity: 1}}, Currency: "eur",
			SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/cart",
		}
		if i%2 == 0 {
			in := int64(codex.MinExpiresIn)
			p.ExpiresIn = &in
		}
		p, err := p.Validate()
		if err != nil {
			t.Fatal(err)
		}
		c := codex.NewCheckout("prj_A", p, t0)
		if _, err := s.CreateCheckout(ctx, c, createdEvent(c), nil); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			early = append(early, c.ID)
		} else {
			late = append(late, c.ID)
		}
	}
	if got := allDue(t, s, t0.Add(29*time.Minute), 5); len(got) != 0 {
		t.Errorf("due before any expires_at: %v", got)
	}
	// expires_at itself is due: from then on the checkout reads as expired.
	for _, limit := range []int{1, 2, 100} {
		if got := allDue(t, s, t0.Add(30*time.Minute), limit); !slices.Equal(got, sorted(early...)) {
			t.Errorf("limit %d: due at the first expires_at: %v, want %v", limit, got, sorted(early...))
		}
	}
	everything := sorted(append(slices.Clone(early), late...)...)
	if got := allDue(t, s, t0.Add(25*time.Hour), 3); !slices.Equal(got, everything) {
		t.Errorf("due a day later: %v, want %v", got, everything)
	}

	c, err := s.GetCheckout(ctx, "prj_A", early[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExpireCheckout(ctx, c, expiredEvent(c, t0.Add(31*time.Minute)), t0.Add(31*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := allDue(t, s, t0.Add(25*time.Hour), 100); slices.Contains(got, c.ID) || len(got) != len(everything)-1 {
		t.Errorf("after expiring %s the index lists %v", c.ID, got)
	}
	item := rawCheckout(t, s, c.ID)
	if item[attrOpenShard] != nil || item[attrOpenExpiresAt] != nil {
		t.Errorf("an expired checkout keeps the open index's attributes: %v", item)
	}

	// A checkout stored in another status never enters the index.
	done := testCheckout(t, "prj_A", t0)
	done.Status, done.PaymentStatus = codex.CheckoutComplete, codex.PaymentPaid
	if _, err := s.CreateCheckout(ctx, done, createdEvent(done), nil); err != nil {
		t.Fatal(err)
	}
	if got := allDue(t, s, t0.Add(25*time.Hour), 100); slices.Contains(got, done.ID) {
		t.Errorf("a complete checkout is in the open index")
	}
	if _, _, err := s.DueCheckouts(ctx, s.OpenShards(), t0, 1, ""); err == nil {
		t.Error("a shard out of range was queried")
	}
}

// TestExpireCheckout: each outcome of the one conditional write, and what it stores.
func TestExpireCheckout(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	create := func() codex.Checkout {
		c := testCheckout(t, "prj_A", t0)
		if _, err := s.CreateCheckout(ctx, c, createdEvent(c), nil); err != nil {
			t.Fatal(err)
		}
		return c
	}
	at := t0.Add(time.Hour + 500*time.Millisecond) // before expires_at (t0+24h)

	c := create()
	got, err := s.ExpireCheckout(ctx, c, expiredEvent(c, at), at)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != codex.CheckoutExpired || got.ID != c.ID || got.PaymentStatus != codex.PaymentUnpaid {
		t.Errorf("returned %+v", got)
	}
	read, err := s.GetCheckout(ctx, "prj_A", c.ID)
	if err != nil || read.Status != codex.CheckoutExpired {
		t.Errorf("read back %+v, %v", read, err)
	}
	// Deleted 30 days after it expired, rounded up to the second.
	wantTTL := strconv.FormatInt(at.Add(codex.ExpiredRetention).Unix()+1, 10)
	if ttl, _ := rawCheckout(t, s, c.ID)["ttl"].(*types.AttributeValueMemberN); ttl == nil || ttl.Value != wantTTL {
		t.Errorf("ttl = %v, want %s", ttl, wantTTL)
	}
	// Again: no longer open.
	if _, err := s.ExpireCheckout(ctx, c, expiredEvent(c, at), at); codex.ErrorCode(err) != codex.CodeCheckoutNotOpen {
		t.Errorf("expiring twice: %v, want %s", err, codex.CodeCheckoutNotOpen)
	}

	// Swept after expires_at: the retention counts from expires_at, when it expired.
	swept := create()
	if _, err := s.ExpireCheckout(ctx, swept, expiredEvent(swept, swept.ExpiresAt.Add(90*time.Second)), swept.ExpiresAt.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	wantTTL = strconv.FormatInt(swept.ExpiresAt.Add(codex.ExpiredRetention).Unix()+1, 10)
	if ttl, _ := rawCheckout(t, s, swept.ID)["ttl"].(*types.AttributeValueMemberN); ttl == nil || ttl.Value != wantTTL {
		t.Errorf("swept: ttl = %v, want %s", ttl, wantTTL)
	}

	// Another project's checkout, or none: not found, and nothing written.
	other := create()
	asOther := other
	asOther.ProjectID = "prj_B"
	if _, err := s.ExpireCheckout(ctx, asOther, expiredEvent(asOther, at), at); !codex.IsNotFound(err) {
		t.Errorf("another project's: %v, want not found", err)
	}
	missing := testCheckout(t, "prj_A", t0)
	if _, err := s.ExpireCheckout(ctx, missing, expiredEvent(missing, at), at); !codex.IsNotFound(err) {
		t.Errorf("missing: %v, want not found", err)
	}
	if item := rawCheckout(t, s, missing.ID); item != nil {
		t.Errorf("expiring a missing checkout created %v", item)
	}

	// A paid checkout is never expired and never gets a ttl.
	paid := create()
	setAttr(t, s, paid.ID, "status", &types.AttributeValueMemberS{Value: string(codex.CheckoutComplete)})
	if _, err := s.ExpireCheckout(ctx, paid, expiredEvent(paid, at), at); codex.ErrorCode(err) != codex.CodeCheckoutNotOpen {
		t.Errorf("paid: %v, want %s", err, codex.CodeCheckoutNotOpen)
	}
	if item := rawCheckout(t, s, paid.ID); item["ttl"] != nil || item["status"].(*types.AttributeValueMemberS).Value != "complete" {
		t.Errorf("paid checkout after an expire attempt: %v", item)
	}

	// A payment's lease, in either of the forms it may be stored in: live refuses, lapsed does not.
	for _, tc := range []struct {
		name  string
		lease types.AttributeValue
		want  codex.Code
	}{
		{"live, time string", &types.AttributeValueMemberS{Value: codex.FormatTime(at.Add(time.Second))}, codex.CodePaymentInProgress},
		{"live, epoch seconds", &types.AttributeValueMemberN{Value: strconv.FormatInt(at.Unix()+1, 10)}, codex.CodePaymentInProgress},
		{"lapsed, time string", &types.AttributeValueMemberS{Value: codex.FormatTime(at.Add(-time.Millisecond))}, ""},
		{"lapsed, epoch seconds", &types.AttributeValueMemberN{Value: strconv.FormatInt(at.Unix()-1, 10)}, ""},
		{"lapsing now", &types.AttributeValueMemberS{Value: codex.FormatTime(at)}, ""},
	} {
		c := create()
		setAttr(t, s, c.ID, codex.PayLockAttribute, tc.lease)
		_, err := s.ExpireCheckout(ctx, c, expiredEvent(c, at), at)
		if codex.ErrorCode(err) != tc.want {
			t.Errorf("lease %s: %v, want %q", tc.name, err, tc.want)
		}
		status := rawCheckout(t, s, c.ID)["status"].(*types.AttributeValueMemberS).Value
		if want := map[codex.Code]string{"": "expired", codex.CodePaymentInProgress: "open"}[tc.want]; status != want {
			t.Errorf("lease %s: status %s, want %s", tc.name, status, want)
		}
	}
}

// TestUnindexCheckout: an index entry a status change left behind goes; an open checkout's stays.
func TestUnindexCheckout(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	open, paid := testCheckout(t, "prj_A", t0), testCheckout(t, "prj_A", t0)
	for _, c := range []codex.Checkout{open, paid} {
		if _, err := s.CreateCheckout(ctx, c, createdEvent(c), nil); err != nil {
			t.Fatal(err)
		}
	}
	setAttr(t, s, paid.ID, "status", &types.AttributeValueMemberS{Value: string(codex.CheckoutComplete)})
	for i, id := range []string{open.ID, paid.ID, paid.ID, "chk_NOSUCHCHECKOUTAAAAAAAAAAAA"} {
		removed, err := s.UnindexCheckout(ctx, id)
		if err != nil || removed != (i == 1) {
			t.Errorf("unindex %s (call %d): removed %v, %v; want removed only by the first call for the paid one", id, i, removed, err)
		}
	}
	if due := allDue(t, s, t0.Add(48*time.Hour), 10); !slices.Equal(due, []string{open.ID}) {
		t.Errorf("due after unindexing: %v, want only the open %s", due, open.ID)
	}
	if item := rawCheckout(t, s, "chk_NOSUCHCHECKOUTAAAAAAAAAAAA"); item != nil {
		t.Errorf("unindexing a missing checkout created %v", item)
	}
}

// TestExpireCheckoutConflict: a transaction in flight on the checkout (a payment completing)
// cancels the expiring one with TransactionConflict: payment_in_progress, to retry, and nothing
// written.
func TestExpireCheckoutConflict(t *testing.T) {
	t.Parallel()
	names := testEnv.NewTables(t)
	tables := Tables{Keys: names["KeysTable"], App: names["AppTable"]}
	plain, ctx := New(testEnv.DynamoDB, tables), context.Background()
	c := testCheckout(t, "prj_A", t0)
	if _, err := plain.CreateCheckout(ctx, c, createdEvent(c), nil); err != nil {
		t.Fatal(err)
	}
	conflicting := New(dynamodb.New(testEnv.DynamoDB.Options(), localaws.ConflictingTransactions(1)), tables)
	if _, err := conflicting.ExpireCheckout(ctx, c, expiredEvent(c, t0.Add(time.Minute)), t0.Add(time.Minute)); codex.ErrorCode(err) != codex.CodePaymentInProgress {
		t.Errorf("expire during a conflicting transaction: %v, want %s", err, codex.CodePaymentInProgress)
	}
	if got, err := plain.GetCheckout(ctx, "prj_A", c.ID); err != nil || got.Status != codex.CheckoutOpen {
		t.Errorf("after the conflict: %+v, %v; want it open", got.Status, err)
	}
}
