package dynamo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/pkg/codex"
)

// TestCheckoutOutbox: a checkout and its checkout.created event are written together or not at
// all, whichever of the two fails, with or without an idempotency record.
func TestCheckoutOutbox(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()

	c := testCheckout(t, "prj_A", t0)
	ev := createdEvent(c)
	if _, err := s.CreateCheckout(ctx, c, ev, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetEvent(ctx, "prj_A", ev.ID, t0)
	if err != nil || string(got.JSON) != string(ev.JSON) || got.Type != codex.EventCheckoutCreated || !got.CreatedAt.Equal(t0) {
		t.Fatalf("event read back %+v, %v; want %+v", got, err, ev)
	}

	// The event cannot be written (its id is taken): no checkout either.
	orphan := testCheckout(t, "prj_A", t0)
	taken := createdEvent(orphan)
	taken.ID = ev.ID
	if _, err := s.CreateCheckout(ctx, orphan, taken, nil); err == nil {
		t.Fatal("a checkout was created with an event that could not be written")
	}
	if _, err := s.GetCheckout(ctx, "prj_A", orphan.ID); !codex.IsNotFound(err) {
		t.Fatalf("checkout without its event: %v", err)
	}
	rec := testRecord("prj_A", "key-x", "fp", t0)
	if _, err := s.CreateCheckout(ctx, orphan, taken, rec); err == nil {
		t.Fatal("a keyed checkout was created with an event that could not be written")
	}
	if _, err := s.GetCheckout(ctx, "prj_A", orphan.ID); !codex.IsNotFound(err) {
		t.Fatalf("keyed checkout without its event: %v", err)
	}

	// The checkout cannot be written (its id is taken by another): no event either.
	clash := c
	clash.AmountTotal++
	lost := createdEvent(clash)
	if _, err := s.CreateCheckout(ctx, clash, lost, nil); err == nil {
		t.Fatal("a different checkout overwrote one with the same id")
	}
	if _, err := s.GetEvent(ctx, "prj_A", lost.ID, t0); !codex.IsNotFound(err) {
		t.Fatalf("event without its change: %v", err)
	}

	// A replayed key writes neither.
	first := testCheckout(t, "prj_A", t0)
	if existing, err := s.CreateCheckout(ctx, first, createdEvent(first), testRecord("prj_A", "key-1", "fp", t0)); err != nil || existing != nil {
		t.Fatalf("first keyed create: %v, %v", existing, err)
	}
	retry := testCheckout(t, "prj_A", t0)
	retryEv := createdEvent(retry)
	if existing, err := s.CreateCheckout(ctx, retry, retryEv, testRecord("prj_A", "key-1", "fp", t0)); err != nil || existing == nil {
		t.Fatalf("replay: %v, %v", existing, err)
	}
	if _, err := s.GetEvent(ctx, "prj_A", retryEv.ID, t0); !codex.IsNotFound(err) {
		t.Fatalf("a replay wrote an event: %v", err)
	}

	// Every checkout has exactly one event and every event its checkout.
	events, _, err := s.ListEvents(ctx, "prj_A", "", 100, "", t0)
	if err != nil {
		t.Fatal(err)
	}
	checkouts, _, err := s.ListCheckouts(ctx, "prj_A", 100, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || len(checkouts) != 2 {
		t.Fatalf("%d events for %d checkouts, want 2 and 2", len(events), len(checkouts))
	}

	// An event that is not the checkout's checkout.created is refused before anything is sent.
	bad := testCheckout(t, "prj_A", t0)
	for name, e := range map[string]codex.Event{
		"another type":    withType(createdEvent(bad), codex.EventCheckoutExpired),
		"another project": withProject(createdEvent(bad), "prj_B"),
		"no body":         withBody(createdEvent(bad), nil),
		"no id":           {ProjectID: "prj_A", Type: codex.EventCheckoutCreated, CreatedAt: t0, JSON: []byte("{}")},
	} {
		if _, err := s.CreateCheckout(ctx, bad, e, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := s.GetCheckout(ctx, "prj_A", bad.ID); !codex.IsNotFound(err) {
		t.Fatalf("a checkout was written with a bad event: %v", err)
	}
}

func withType(e codex.Event, typ codex.EventType) codex.Event { e.Type = typ; return e }
func withProject(e codex.Event, pid string) codex.Event       { e.ProjectID = pid; return e }
func withBody(e codex.Event, b []byte) codex.Event            { e.JSON = b; return e }

// putEvent writes an event on its own, as the status changes still to come will in their own
// transactions, so that listing can be tested over every type.
func putEvent(t *testing.T, s *Store, e codex.Event) {
	t.Helper()
	put, err := s.eventPut(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{{Put: put}},
	}); err != nil {
		t.Fatal(err)
	}
}

func testEvent(pid string, typ codex.EventType, at time.Time) codex.Event {
	id := codex.NewID(codex.EventIDPrefix)
	return codex.Event{ID: id, ProjectID: pid, Type: typ, CreatedAt: at, JSON: []byte(`{"id":"` + id + `"}`)}
}

func ids(events []codex.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// TestListEventsPagination walks 30 events of four types 7 at a time, all and by type: every event
// exactly once, newest first, has_more false only on the last page. Several share a millisecond,
// so the id tie-break is exercised; a cursor of another type than the filter is a position in time.
func TestListEventsPagination(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	var all []codex.Event
	for i := range 30 {
		e := testEvent("prj_A", codex.EventTypes[i%len(codex.EventTypes)], t0.Add(time.Duration(i/3)*time.Millisecond))
		putEvent(t, s, e)
		all = append(all, e)
		putEvent(t, s, testEvent("prj_B", e.Type, e.CreatedAt)) // another project's, never listed
	}
	newestFirst := func(events []codex.Event) []string {
		out := slices.Clone(events)
		slices.SortFunc(out, func(a, b codex.Event) int {
			return -cmp.Compare(eventSortKey(a.CreatedAt, a.ID), eventSortKey(b.CreatedAt, b.ID))
		})
		return ids(out)
	}
	walk := func(typ codex.EventType) []string {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			page, more, err := s.ListEvents(ctx, "prj_A", typ, 7, after, t0)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ids(page)...)
			if !more {
				return got
			}
			if len(page) != 7 || pages > 10 {
				t.Fatalf("type %q: a page of %d with more after it", typ, len(page))
			}
			after = page[len(page)-1].ID
		}
	}
	if got, want := walk(""), newestFirst(all); !slices.Equal(got, want) {
		t.Fatalf("all events:\n got %v\nwant %v", got, want)
	}
	for _, typ := range codex.EventTypes {
		var want []codex.Event
		for _, e := range all {
			if e.Type == typ {
				want = append(want, e)
			}
		}
		if got := walk(typ); !slices.Equal(got, newestFirst(want)) {
			t.Fatalf("type %s:\n got %v\nwant %v", typ, got, newestFirst(want))
		}
	}

	// From the position of an event of another type, the completed events older than it.
	cursor := all[20] // checkout.created
	page, _, err := s.ListEvents(ctx, "prj_A", codex.EventCheckoutCompleted, 100, cursor.ID, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page {
		if e.Type != codex.EventCheckoutCompleted || eventSortKey(e.CreatedAt, e.ID) >= eventSortKey(cursor.CreatedAt, cursor.ID) {
			t.Fatalf("after %s: %+v", cursor.ID, e)
		}
	}
	if len(page) == 0 {
		t.Fatal("nothing after a cursor of another type")
	}

	// Another project's event is no cursor.
	other, _, _ := s.ListEvents(ctx, "prj_B", "", 1, "", t0)
	if _, _, err := s.ListEvents(ctx, "prj_A", "", 10, other[0].ID, t0); !codex.IsNotFound(err) {
		t.Fatalf("cursor of another project: %v", err)
	}
	if _, err := s.GetEvent(ctx, "prj_A", other[0].ID, t0); !codex.IsNotFound(err) {
		t.Fatalf("another project's event: %v", err)
	}
}

// TestEventRetention: an event is listed and readable for 30 days, then neither, whether or not
// DynamoDB's TTL has deleted it yet; the item's ttl is never before that.
func TestEventRetention(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	old := testEvent("prj_A", codex.EventCheckoutCreated, t0)
	young := testEvent("prj_A", codex.EventCheckoutCreated, t0.Add(time.Hour))
	putEvent(t, s, old)
	putEvent(t, s, young)
	put, err := s.eventPut(old)
	if err != nil {
		t.Fatal(err)
	}
	var ttl int64
	fmt.Sscan(put.Item["ttl"].(*types.AttributeValueMemberN).Value, &ttl)
	if expires := t0.Add(codex.EventRetention); time.Unix(ttl, 0).Before(expires) {
		t.Fatalf("ttl %v is before the end of retention %v", time.Unix(ttl, 0).UTC(), expires)
	}

	justBefore := t0.Add(codex.EventRetention - time.Millisecond)
	if page, _, err := s.ListEvents(ctx, "prj_A", "", 10, "", justBefore); err != nil || !slices.Equal(ids(page), []string{young.ID, old.ID}) {
		t.Fatalf("before the end of retention: %v, %v", ids(page), err)
	}
	at := t0.Add(codex.EventRetention)
	page, more, err := s.ListEvents(ctx, "prj_A", "", 1, "", at)
	if err != nil || !slices.Equal(ids(page), []string{young.ID}) || more {
		t.Fatalf("at the end of the old one's retention: %v (more %v), %v", ids(page), more, err)
	}
	if _, err := s.GetEvent(ctx, "prj_A", old.ID, at); !codex.IsNotFound(err) {
		t.Fatalf("an event past retention: %v", err)
	}
	if _, err := s.GetEvent(ctx, "prj_A", young.ID, at); err != nil {
		t.Fatalf("an event within retention: %v", err)
	}
	// An expired event still works as a cursor: a client paging through is not cut off.
	if page, more, err := s.ListEvents(ctx, "prj_A", "", 10, old.ID, at); err != nil || len(page) != 0 || more {
		t.Fatalf("after an expired cursor: %v %v %v", ids(page), more, err)
	}
}

// TestExpireOutbox: expiring a checkout writes its checkout.expired event with it; an expiry that
// is refused (no longer open, a live payment lease) writes none, and an event that cannot be
// written leaves the checkout open.
func TestExpireOutbox(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	c := testCheckout(t, "prj_A", t0)
	if _, err := s.CreateCheckout(ctx, c, createdEvent(c), nil); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Minute)

	// The event's id is taken: the checkout stays open.
	taken := expiredEvent(c, at)
	clash := testEvent("prj_A", codex.EventCheckoutCreated, t0)
	putEvent(t, s, clash)
	taken.ID = clash.ID
	if _, err := s.ExpireCheckout(ctx, c, taken, at); err == nil {
		t.Fatal("expired with an event that could not be written")
	}
	if got, _ := s.FindCheckout(ctx, c.ID); got.Status != codex.CheckoutOpen {
		t.Fatalf("the checkout is %s without its event", got.Status)
	}

	ev := expiredEvent(c, at)
	if _, err := s.ExpireCheckout(ctx, c, ev, at); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetEvent(ctx, "prj_A", ev.ID, at); err != nil || got.Type != codex.EventCheckoutExpired {
		t.Fatalf("the expired event: %+v, %v", got, err)
	}
	again := expiredEvent(c, at.Add(time.Minute))
	if _, err := s.ExpireCheckout(ctx, c, again, at.Add(time.Minute)); codex.ErrorCode(err) != codex.CodeCheckoutNotOpen {
		t.Fatalf("second expiry: %v", err)
	}
	if _, err := s.GetEvent(ctx, "prj_A", again.ID, at); !codex.IsNotFound(err) {
		t.Fatalf("a refused expiry wrote its event: %v", err)
	}
	page, _, err := s.ListEvents(ctx, "prj_A", codex.EventCheckoutExpired, 10, "", at)
	if err != nil || len(page) != 1 || page[0].ID != ev.ID {
		t.Fatalf("expired events %v, %v; want exactly the one", ids(page), err)
	}
	if _, err := s.ExpireCheckout(ctx, c, createdEvent(c), at); err == nil {
		t.Fatal("expired with a checkout.created event")
	}
}
