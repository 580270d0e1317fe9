package dynamo

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/pkg/codex"
)

var t0 = time.Date(2026, 5, 6, 7, 8, 9, 123_000_000, time.UTC)

func testCheckout(t *testing.T, projectID string, now time.Time) codex.Checkout {
	t.Helper()
	ref := "order-1"
	p, err := codex.CheckoutParams{
		LineItems:         []codex.LineItem{{Name: "Tea ☕", UnitAmount: 450, Quantity: 3}, {Name: "Cup", UnitAmount: 1200, Quantity: 1}},
		Currency:          "eur",
		SuccessURL:        "https://shop.example/ok",
		CancelURL:         "https://shop.example/cart",
		ClientReferenceID: &ref,
		Metadata:          map[string]string{"cart": "42", "empty": ""},
	}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return codex.NewCheckout(projectID, p, now)
}

func testRecord(projectID, key, fingerprint string, now time.Time) *codex.IdempotencyRecord {
	return &codex.IdempotencyRecord{
		ProjectID: projectID, Key: key, Fingerprint: fingerprint, StatusCode: 201, Body: `{"id":"` + fingerprint + `"}`,
		CreatedAt: now, ExpiresAt: now.Add(codex.IdempotencyTTL),
	}
}

func TestCheckoutRoundTrip(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	c := testCheckout(t, "prj_A", t0)
	if _, err := s.CreateCheckout(ctx, c, createdEvent(c), nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCheckout(ctx, "prj_A", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, c)
	}
	// Writing the same checkout again is what an SDK retry of a written PutItem does: success.
	// Another checkout under the same id would be a collision: an error, and no overwrite.
	if _, err := s.CreateCheckout(ctx, c, createdEvent(c), nil); err != nil {
		t.Fatalf("retried write: %v", err)
	}
	clash := c
	clash.AmountTotal++
	if _, err := s.CreateCheckout(ctx, clash, createdEvent(clash), nil); err == nil {
		t.Fatal("a different checkout overwrote one with the same id")
	}
	if got, _ := s.GetCheckout(ctx, "prj_A", c.ID); got.AmountTotal != c.AmountTotal {
		t.Fatal("overwritten")
	}

	// A checkout without the optional fields reads back with empty, not nil, metadata.
	p, _ := codex.CheckoutParams{LineItems: c.LineItems, Currency: "jpy", SuccessURL: c.SuccessURL, CancelURL: c.CancelURL}.Validate()
	bare := codex.NewCheckout("prj_A", p, t0)
	if _, err := s.CreateCheckout(ctx, bare, createdEvent(bare), nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetCheckout(ctx, "prj_A", bare.ID); err != nil || !reflect.DeepEqual(got, bare) {
		t.Fatalf("read back %+v, %v; want %+v", got, err, bare)
	}
}

func TestCheckoutProjectIsolation(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	a := testCheckout(t, "prj_A", t0)
	if _, err := s.CreateCheckout(ctx, a, createdEvent(a), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCheckout(ctx, "prj_B", a.ID); !codex.IsNotFound(err) {
		t.Fatalf("project B read A's checkout: %v", err)
	}
	if _, err := s.GetCheckout(ctx, "prj_A", codex.NewID(codex.CheckoutIDPrefix)); !codex.IsNotFound(err) {
		t.Fatalf("missing checkout: %v", err)
	}
	page, more, err := s.ListCheckouts(ctx, "prj_B", 100, "")
	if err != nil || len(page) != 0 || more {
		t.Fatalf("project B lists %d checkouts (more %v, err %v)", len(page), more, err)
	}
	if _, _, err := s.ListCheckouts(ctx, "prj_B", 10, a.ID); !codex.IsNotFound(err) {
		t.Fatalf("project B paged from A's checkout: %v", err)
	}
}

// TestListCheckoutsPagination walks 25 checkouts 7 at a time: every checkout exactly once, newest
// first, has_more false only on the last page. Several share a millisecond, so the id tie-break in
// the sort key is exercised too.
func TestListCheckoutsPagination(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	var created []codex.Checkout
	for i := range 25 {
		at := t0.Add(time.Duration(i/3) * time.Millisecond) // three per millisecond
		c := testCheckout(t, "prj_A", at)
		if _, err := s.CreateCheckout(ctx, c, createdEvent(c), nil); err != nil {
			t.Fatal(err)
		}
		created = append(created, c)
	}
	// Noise in another project must not show up.
	for range 3 {
		if _, err := createChecked(ctx, s, testCheckout(t, "prj_B", t0), nil); err != nil {
			t.Fatal(err)
		}
	}

	var got []codex.Checkout
	after, pages := "", 0
	for {
		page, more, err := s.ListCheckouts(ctx, "prj_A", 7, after)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, page...)
		if !more {
			if len(page) != 25-7*3 {
				t.Fatalf("last page has %d", len(page))
			}
			break
		}
		if len(page) != 7 {
			t.Fatalf("page %d has %d with has_more", pages, len(page))
		}
		after = page[len(page)-1].ID
	}
	if pages != 4 || len(got) != 25 {
		t.Fatalf("%d checkouts in %d pages", len(got), pages)
	}
	seen := map[string]bool{}
	for i, c := range got {
		if seen[c.ID] {
			t.Fatalf("duplicate %s", c.ID)
		}
		seen[c.ID] = true
		if c.ProjectID != "prj_A" {
			t.Fatalf("another project's checkout %s", c.ID)
		}
		if i > 0 {
			prev := got[i-1]
			if c.CreatedAt.After(prev.CreatedAt) || c.CreatedAt.Equal(prev.CreatedAt) && c.ID > prev.ID {
				t.Fatalf("not newest first at %d: %s %s after %s %s", i, c.CreatedAt, c.ID, prev.CreatedAt, prev.ID)
			}
		}
	}
	for _, c := range created {
		if !seen[c.ID] {
			t.Fatalf("gap: %s never listed", c.ID)
		}
	}

	// Exactly a page's worth: no phantom has_more.
	page, more, err := s.ListCheckouts(ctx, "prj_A", 25, "")
	if err != nil || len(page) != 25 || more {
		t.Fatalf("limit 25 of 25: %d, more %v, %v", len(page), more, err)
	}
	// Starting after the oldest: an empty last page.
	page, more, err = s.ListCheckouts(ctx, "prj_A", 10, got[24].ID)
	if err != nil || len(page) != 0 || more {
		t.Fatalf("after the oldest: %d, more %v, %v", len(page), more, err)
	}
}

func TestIdempotentCreate(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	first := testCheckout(t, "prj_A", t0)
	rec := testRecord("prj_A", "key-1", "fp-1", t0)
	if existing, err := s.CreateCheckout(ctx, first, createdEvent(first), rec); err != nil || existing != nil {
		t.Fatalf("first create: %v, %v", existing, err)
	}

	// A retry (a new checkout id, as the handler would generate) stores nothing and gets the record.
	retry := testCheckout(t, "prj_A", t0.Add(time.Second))
	existing, err := s.CreateCheckout(ctx, retry, createdEvent(retry), testRecord("prj_A", "key-1", "fp-other", t0.Add(time.Second)))
	if err != nil || existing == nil {
		t.Fatalf("retry: %v, %v", existing, err)
	}
	want := *rec
	want.ExpiresAt = rec.ExpiresAt.Truncate(time.Second).Add(time.Second) // ttl is whole seconds, rounded up
	if !reflect.DeepEqual(*existing, want) {
		t.Fatalf("record\n%+v\nwant\n%+v", *existing, want)
	}
	if _, err := s.GetCheckout(ctx, "prj_A", retry.ID); !codex.IsNotFound(err) {
		t.Fatalf("the retry created its checkout: %v", err)
	}

	// Keys are per project: project B may use the same one.
	if existing, err := createChecked(ctx, s, testCheckout(t, "prj_B", t0), testRecord("prj_B", "key-1", "fp-1", t0)); err != nil || existing != nil {
		t.Fatalf("same key in another project: %v, %v", existing, err)
	}

	// Just before expiry the key is still taken; at expiry it is free, though no TTL sweep has
	// deleted the record (moto never sweeps; DynamoDB sweeps within days).
	late := t0.Add(codex.IdempotencyTTL).Add(-time.Millisecond)
	if existing, err := createChecked(ctx, s, testCheckout(t, "prj_A", late), testRecord("prj_A", "key-1", "fp-2", late)); err != nil || existing == nil {
		t.Fatalf("just before expiry: %v, %v", existing, err)
	}
	expired := t0.Add(codex.IdempotencyTTL).Add(time.Second)
	reuse := testCheckout(t, "prj_A", expired)
	if existing, err := s.CreateCheckout(ctx, reuse, createdEvent(reuse), testRecord("prj_A", "key-1", "fp-3", expired)); err != nil || existing != nil {
		t.Fatalf("after expiry: %v, %v", existing, err)
	}
	if _, err := s.GetCheckout(ctx, "prj_A", reuse.ID); err != nil {
		t.Fatal(err)
	}
	// The new record replaced the expired one.
	existing, err = createChecked(ctx, s, testCheckout(t, "prj_A", expired), testRecord("prj_A", "key-1", "fp-4", expired))
	if err != nil || existing == nil || existing.Fingerprint != "fp-3" {
		t.Fatalf("after reuse: %+v, %v", existing, err)
	}
	page, _, err := s.ListCheckouts(ctx, "prj_A", 100, "")
	if err != nil || len(page) != 2 {
		t.Fatalf("project A has %d checkouts, want 2 (first and reuse): %v", len(page), err)
	}
}

// TestIdempotentCreateConcurrent races 50 creations with one key: exactly one checkout is stored,
// and every other caller either gets the winner's record or is told the key is in use.
func TestIdempotentCreateConcurrent(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	const n = 50
	var wg sync.WaitGroup
	type result struct {
		id       string
		existing *codex.IdempotencyRecord
		err      error
	}
	results := make([]result, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			c := testCheckout(t, "prj_A", t0)
			existing, err := s.CreateCheckout(ctx, c, createdEvent(c), testRecord("prj_A", "race", "fp-"+c.ID, t0))
			results[i] = result{c.ID, existing, err}
		})
	}
	close(start)
	wg.Wait()

	var winners []string
	for _, r := range results {
		switch {
		case r.err == nil && r.existing == nil:
			winners = append(winners, r.id)
		case codex.ErrorCode(r.err) == codex.CodeIdempotencyInUse:
		case r.err != nil:
			t.Errorf("unexpected error: %v", r.err)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d creations won: %v", len(winners), winners)
	}
	for _, r := range results {
		if r.existing != nil && r.existing.Fingerprint != "fp-"+winners[0] {
			t.Errorf("a loser got record %q, not the winner's", r.existing.Fingerprint)
		}
	}
	page, _, err := s.ListCheckouts(ctx, "prj_A", 100, "")
	if err != nil || len(page) != 1 || page[0].ID != winners[0] {
		t.Fatalf("stored %d checkouts, want only %s: %v", len(page), winners[0], err)
	}
}

// TestKeyFamiliesAreDisjoint guards the single-table layout. Items of several kinds share the app
// table and the PROJECT# partition, and a partition query picks a kind by begins_with on its
// prefix, so no kind's prefix may start another's, whatever follows it (ids, or the Idempotency-Key
// a client chooses).
func TestKeyFamiliesAreDisjoint(t *testing.T) {
	for what, prefixes := range map[string]map[string]string{
		"partition keys": {"project": projectPK(""), "user": userPK(""), "checkout": checkoutPK("")},
		"sort keys under PROJECT#": {
			"project": projectSK, "key": keyRefSK(""), "button": buttonSKPrefix, "idempotency record": idempotencySK(""),
		},
	} {
		for a, pa := range prefixes {
			for b, pb := range prefixes {
				if a != b && strings.HasPrefix(pa, pb) {
					t.Errorf("%s: %s items (%q...) fall under the prefix of %s items (%q)", what, a, pa, b, pb)
				}
			}
		}
	}
}

// TestIdempotentOutcome covers the cancellation a serialised moto never produces: a transaction
// conflict, which DynamoDB reports while another request's transaction on the same record is in
// flight.
func TestIdempotentOutcome(t *testing.T) {
	reasons := func(first string, item map[string]types.AttributeValue) error {
		return fmt.Errorf("op: %w", &types.TransactionCanceledException{CancellationReasons: []types.CancellationReason{
			{Code: aws.String(first), Item: item}, {Code: aws.String("None")},
		}})
	}
	if _, err := idempotentOutcome(reasons("TransactionConflict", nil)); codex.ErrorCode(err) != codex.CodeIdempotencyInUse {
		t.Errorf("conflict: %v", err)
	}
	put, err := idempotencyPut("app", testRecord("prj_A", "k", "fp", t0))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := idempotentOutcome(reasons("ConditionalCheckFailed", put.Item))
	if err != nil || rec.Fingerprint != "fp" || rec.ProjectID != "prj_A" || rec.Key != "k" {
		t.Errorf("condition failed: %+v, %v", rec, err)
	}
	if _, err := idempotentOutcome(reasons("ConditionalCheckFailed", nil)); err == nil || codex.ErrorCode(err) != codex.CodeInternal {
		t.Errorf("condition failed without the item: %v", err)
	}
	for _, e := range []error{reasons("ThrottlingError", nil), errors.New("network")} {
		if _, err := idempotentOutcome(e); codex.ErrorCode(err) != codex.CodeInternal {
			t.Errorf("%v: %v", e, err)
		}
	}
}
