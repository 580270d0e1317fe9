package dynamo

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"codex/pkg/codex"
)

func testButton(t *testing.T, projectID string, now time.Time) codex.Button {
	t.Helper()
	amount := int64(1999)
	p, err := codex.ButtonParams{
		Name: "Poster ✦", UnitAmount: &amount, Currency: "usd",
		SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/back",
	}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return codex.NewButton(projectID, "user-1", p, now)
}

func TestButtonLifecycle(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	first := testButton(t, "prj_A", t0)
	second := testButton(t, "prj_A", t0.Add(time.Second))
	same := testButton(t, "prj_A", t0.Add(time.Second)) // same millisecond: the id breaks the tie
	other := testButton(t, "prj_B", t0)
	for _, b := range []codex.Button{first, second, same, other} {
		if err := s.CreateButton(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateButton(ctx, first); err == nil {
		t.Fatal("a second button with the same id overwrote the first")
	}

	got, err := s.GetButton(ctx, "prj_A", first.ID)
	if err != nil || !reflect.DeepEqual(got, first) {
		t.Fatalf("read back %+v, %v; want %+v", got, err, first)
	}
	// Another project's button id under this project is simply not there.
	if _, err := s.GetButton(ctx, "prj_A", other.ID); !codex.IsNotFound(err) {
		t.Fatalf("prj_A read prj_B's button: %v", err)
	}
	if _, err := s.GetButton(ctx, "prj_A", codex.NewID(codex.ButtonIDPrefix)); !codex.IsNotFound(err) {
		t.Fatalf("unknown button: %v", err)
	}

	list, err := s.ListButtons(ctx, "prj_A")
	if err != nil {
		t.Fatal(err)
	}
	newer, older := second, same
	if same.ID > second.ID {
		newer, older = same, second
	}
	if want := []codex.Button{newer, older, first}; !reflect.DeepEqual(list, want) {
		t.Fatalf("list\n%+v\nwant newest first\n%+v", list, want)
	}
	if empty, err := s.ListButtons(ctx, "prj_C"); err != nil || empty == nil || len(empty) != 0 {
		t.Fatalf("no buttons: %#v, %v; want an empty, non-nil list", empty, err)
	}

	// Archiving: only the project's own active button, once.
	if err := s.ArchiveButton(ctx, "prj_A", other.ID, t0); !codex.IsNotFound(err) {
		t.Fatalf("prj_A archived prj_B's button: %v", err)
	}
	if err := s.ArchiveButton(ctx, "prj_A", codex.NewID(codex.ButtonIDPrefix), t0); !codex.IsNotFound(err) {
		t.Fatalf("archive unknown: %v", err)
	}
	if err := s.ArchiveButton(ctx, "prj_A", first.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.ArchiveButton(ctx, "prj_A", first.ID, t0.Add(time.Hour)); !codex.IsNotFound(err) {
		t.Fatalf("archive twice: %v, want NotFound", err)
	}
	archived, err := s.GetButton(ctx, "prj_A", first.ID)
	want := first
	want.Active = false
	if err != nil || !reflect.DeepEqual(archived, want) {
		t.Fatalf("archived button %+v, %v; want %+v", archived, err, want)
	}
	if got, err := s.GetButton(ctx, "prj_B", other.ID); err != nil || !got.Active {
		t.Fatalf("prj_B's button was touched: %+v, %v", got, err)
	}
	// The archived button is still listed, as archived; the id stays taken.
	if list, err := s.ListButtons(ctx, "prj_A"); err != nil || len(list) != 3 || list[2].Active {
		t.Fatalf("list after archive %+v, %v", list, err)
	}
	if err := s.CreateButton(ctx, first); err == nil {
		t.Fatal("an archived button's id was reused")
	}
}

// TestArchiveButtonRace: of concurrent archives of one button exactly one succeeds.
func TestArchiveButtonRace(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	b := testButton(t, "prj_A", t0)
	if err := s.CreateButton(ctx, b); err != nil {
		t.Fatal(err)
	}
	const n = 10
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.ArchiveButton(ctx, "prj_A", b.ID, t0) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !codex.IsNotFound(err):
			t.Fatalf("archive: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d archives succeeded, want exactly 1", ok)
	}
}

func TestFindCheckout(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	c := testCheckout(t, "prj_A", t0)
	if _, err := s.CreateCheckout(ctx, c, createdEvent(c), nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindCheckout(ctx, c.ID)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("found %+v, %v; want %+v", got, err, c)
	}
	if _, err := s.FindCheckout(ctx, codex.NewID(codex.CheckoutIDPrefix)); !codex.IsNotFound(err) {
		t.Fatalf("unknown checkout: %v", err)
	}
}
