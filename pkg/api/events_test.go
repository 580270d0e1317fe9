package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"codex/pkg/codex"
	"codex/pkg/codex/codextest"
)

// wireEvent is the documented event object, decoded strictly.
type wireEvent struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Type      string `json:"type"`
	CreatedAt string `json:"created_at"`
	Livemode  bool   `json:"livemode"`
	Data      struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// TestCheckoutCreationEvents: every checkout made, by the merchant API (with or without an
// Idempotency-Key) or by a buy button, has exactly one checkout.created event whose data.object is
// the checkout exactly as the API showed it at creation; GET /v1/events/{id} and the list show the
// same bytes; a replay makes no event; another project sees none of them.
func TestCheckoutCreationEvents(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	other := w.project("bob", "Other")
	body := `{"line_items":[{"name":"Tea <b>&</b>","unit_amount":450,"quantity":2}],"currency":"usd",` +
		`"success_url":"https://shop.example/ok","cancel_url":"https://shop.example/cart","metadata":{"cart":"c-1"}}`

	plain := w.merchant(project, "POST /v1/checkouts", nil, nil, body)
	wantStatus(t, plain, http.StatusCreated)
	req := fixtureRequest(t, "merchant-request.json")
	req.RouteKey, req.Body = "POST /v1/checkouts", body
	req.Headers["content-type"] = "application/json"
	req.Headers["idempotency-key"] = "order-1"
	req.RequestContext.Authorizer.Lambda = map[string]any{"project_id": project, "key_id": "key_x"}
	keyed := w.call(req)
	wantStatus(t, keyed, http.StatusCreated)
	if replay := w.call(req); replay.Headers["idempotent-replayed"] != "true" {
		t.Fatalf("replay: %d %v", replay.StatusCode, replay.Headers)
	}
	b := w.button("alice", project, buttonBody)
	public := w.public(rkPublicCheckout, map[string]string{"project_id": project, "button_id": b.ID}, `{"quantity":2}`)
	wantStatus(t, public, http.StatusCreated)
	publicID := decodeInto[publicCheckoutCreated](t, public).ID
	// The public answer is the buyer's view; the event holds the merchant's, as GET shows it.
	publicView := w.merchant(project, "GET /v1/checkouts/{checkout_id}", map[string]string{"checkout_id": publicID}, nil, "")

	list := w.merchant(project, "GET /v1/events", nil, nil, "")
	wantStatus(t, list, http.StatusOK)
	var page struct {
		Data    []json.RawMessage `json:"data"`
		HasMore bool              `json:"has_more"`
	}
	decodeStrict(t, list.Body, &page)
	if len(page.Data) != 3 || page.HasMore {
		t.Fatalf("%d events (more %v), want 3: %s", len(page.Data), page.HasMore, list.Body)
	}
	// Newest first: the button's checkout, the keyed one, the plain one.
	for i, made := range []string{publicView.Body, keyed.Body, plain.Body} {
		var ev wireEvent
		decodeStrict(t, string(page.Data[i]), &ev)
		checkout := decodeInto[wireCheckout](t, Response{Body: made})
		if ev.Object != "event" || ev.Type != "checkout.created" || ev.Livemode || !codex.ValidID(codex.EventIDPrefix, ev.ID) || ev.CreatedAt != checkout.CreatedAt {
			t.Errorf("event %d: %+v", i, ev)
		}
		if string(ev.Data.Object) != made {
			t.Errorf("event %d data.object\n%s\nwant the checkout as the API showed it\n%s", i, ev.Data.Object, made)
		}
		got := w.merchant(project, "GET /v1/events/{event_id}", map[string]string{"event_id": ev.ID}, nil, "")
		if got.StatusCode != http.StatusOK || got.Body != string(page.Data[i]) {
			t.Errorf("GET /v1/events/%s: %d %s, want the listed bytes", ev.ID, got.StatusCode, got.Body)
		}
		wantError(t, w.merchant(other, "GET /v1/events/{event_id}", map[string]string{"event_id": ev.ID}, nil, ""), http.StatusNotFound, codex.CodeNotFound, "")
	}
	var newest wireEvent
	decodeStrict(t, string(page.Data[0]), &newest)

	// Paging and filtering.
	first := decodeInto[Page[wireEvent]](t, w.merchant(project, "GET /v1/events", nil, map[string]string{"limit": "2"}, ""))
	rest := decodeInto[Page[wireEvent]](t, w.merchant(project, "GET /v1/events", nil, map[string]string{"limit": "2", "starting_after": first.Data[1].ID}, ""))
	if len(first.Data) != 2 || !first.HasMore || len(rest.Data) != 1 || rest.HasMore || first.Data[0].ID != newest.ID {
		t.Fatalf("pages: %+v then %+v", first, rest)
	}
	for typ, n := range map[string]int{"checkout.created": 3, "checkout.completed": 0, "checkout.expired": 0, "checkout.payment_failed": 0} {
		got := decodeInto[Page[wireEvent]](t, w.merchant(project, "GET /v1/events", nil, map[string]string{"type": typ}, ""))
		if len(got.Data) != n || got.HasMore {
			t.Errorf("type=%s: %d events, want %d", typ, len(got.Data), n)
		}
	}
	if got := decodeInto[Page[wireEvent]](t, w.merchant(other, "GET /v1/events", nil, nil, "")); len(got.Data) != 0 {
		t.Errorf("another project lists %d events", len(got.Data))
	}

	// Bad requests answer 400 naming the parameter, unknown ids 404.
	for _, tc := range []struct {
		query map[string]string
		code  codex.Code
		param string
	}{
		{map[string]string{"type": "checkout.paid"}, codex.CodeParameterInvalid, "type"},
		{map[string]string{"type": ""}, codex.CodeParameterInvalid, "type"},
		{map[string]string{"starting_after": "chk_AAAAAAAAAAAAAAAAAAAAAAAAAA"}, codex.CodeParameterInvalid, "starting_after"},
		{map[string]string{"starting_after": codex.NewID(codex.EventIDPrefix)}, codex.CodeParameterInvalid, "starting_after"},
		// Another project's event is no cursor: answered like one that does not exist.
		{map[string]string{"starting_after": newest.ID}, codex.CodeParameterInvalid, "starting_after"},
		{map[string]string{"limit": "101"}, codex.CodeParameterInvalid, "limit"},
		{map[string]string{"types": "checkout.created"}, codex.CodeParameterUnknown, "types"},
	} {
		wantError(t, w.merchant(other, "GET /v1/events", nil, tc.query, ""), http.StatusBadRequest, tc.code, tc.param)
	}
	for _, id := range []string{"evt_x", "chk_AAAAAAAAAAAAAAAAAAAAAAAAAA", codex.NewID(codex.EventIDPrefix)} {
		wantError(t, w.merchant(project, "GET /v1/events/{event_id}", map[string]string{"event_id": id}, nil, ""), http.StatusNotFound, codex.CodeNotFound, "")
	}

	// Kept 30 days.
	w.clock.Add(codex.EventRetention)
	wantError(t, w.merchant(project, "GET /v1/events/{event_id}", map[string]string{"event_id": newest.ID}, nil, ""), http.StatusNotFound, codex.CodeNotFound, "")
	if got := decodeInto[Page[wireEvent]](t, w.merchant(project, "GET /v1/events", nil, nil, "")); len(got.Data) != 0 {
		t.Errorf("after 30 days: %d events listed", len(got.Data))
	}
}

// TestListEventsPageFitsALambdaResponse: as for checkouts, 100 events of the largest checkouts a
// request can make come to more than Lambda's 6 MB response limit, so a page ends early with
// has_more and starting_after goes on with no event missed or repeated.
func TestListEventsPageFitsALambdaResponse(t *testing.T) {
	raw := codex.CheckoutParams{Currency: "usd", SuccessURL: "https://shop.example/done", CancelURL: "https://shop.example/cart", Metadata: map[string]string{}}
	for i := range codex.MaxLineItems {
		raw.LineItems = append(raw.LineItems, codex.LineItem{Name: strings.Repeat([]string{`"`, `\`, "<", "é"}[i%4], codex.MaxLineItemName), UnitAmount: 1, Quantity: 1})
	}
	for i := range 10 {
		raw.Metadata[fmt.Sprint(i)] = strings.Repeat(`"\<&>`, codex.MaxMetadataValue/5)
	}
	params, err := raw.Validate()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	var all []codex.Event
	for range MaxListLimit + 20 {
		ev, err := Checkouts{PageURL: testPageURL}.Event(codex.EventCheckoutCreated, codex.NewCheckout("prj_A", params, now), now)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ev)
	}
	store := &codextest.EventStore{ListEventsFn: func(_ context.Context, _ string, _ codex.EventType, limit int, after string, _ time.Time) ([]codex.Event, bool, error) {
		start := 0
		if after != "" {
			start = slices.IndexFunc(all, func(e codex.Event) bool { return e.ID == after }) + 1
		}
		end := min(start+limit, len(all))
		return all[start:end], end < len(all), nil
	}}
	list := Handler(discardLog(), ListEvents{Events{Store: store, Now: func() time.Time { return now }}})
	var seen []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > len(all) {
			t.Fatal("pagination does not end")
		}
		req := merchantRequest("", nil)
		req.QueryStringParameters = map[string]string{"limit": strconv.Itoa(MaxListLimit)}
		if after != "" {
			req.QueryStringParameters["starting_after"] = after
		}
		resp, err := list(context.Background(), req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("page %d: %d %v %.200s", pages, resp.StatusCode, err, resp.Body)
		}
		if payload, _ := json.Marshal(resp); len(payload) > lambdaMaxResponse {
			t.Fatalf("page %d is a %d-byte Lambda response: over the %d Lambda allows", pages, len(payload), lambdaMaxResponse)
		}
		page := decodeInto[Page[wireEvent]](t, resp)
		if pages == 0 && (len(page.Data) == MaxListLimit || !page.HasMore) {
			t.Fatalf("first page: %d events, has_more %v; want it cut short by size", len(page.Data), page.HasMore)
		}
		for _, e := range page.Data {
			seen = append(seen, e.ID)
		}
		if !page.HasMore {
			break
		}
		after = page.Data[len(page.Data)-1].ID
	}
	var want []string
	for _, e := range all {
		want = append(want, e.ID)
	}
	if !slices.Equal(seen, want) {
		t.Errorf("pages returned %d events, want all %d in order, once each", len(seen), len(all))
	}
}

// TestExpireEvent: POST /v1/checkouts/{id}/expire writes the checkout.expired event with the
// change: its data.object is the checkout the route answered (as GET shows it from then on); a
// refused expiry writes none.
func TestExpireEvent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	body := `{"line_items":[{"name":"Tea","unit_amount":450,"quantity":2}],"currency":"usd",` +
		`"success_url":"https://shop.example/ok","cancel_url":"https://shop.example/cart"}`
	created := w.merchant(project, "POST /v1/checkouts", nil, nil, body)
	wantStatus(t, created, http.StatusCreated)
	id := map[string]string{"checkout_id": decodeInto[wireCheckout](t, created).ID}
	expired := w.merchant(project, rkExpire, id, nil, "")
	wantStatus(t, expired, http.StatusOK)
	wantError(t, w.merchant(project, rkExpire, id, nil, ""), http.StatusConflict, codex.CodeCheckoutNotOpen, "")

	page := decodeInto[Page[wireEvent]](t, w.merchant(project, "GET /v1/events", nil, map[string]string{"type": "checkout.expired"}, ""))
	if len(page.Data) != 1 {
		t.Fatalf("%d checkout.expired events, want 1", len(page.Data))
	}
	if ev := page.Data[0]; string(ev.Data.Object) != expired.Body || ev.Type != "checkout.expired" {
		t.Errorf("event %s %s\nwant data.object %s", ev.Type, ev.Data.Object, expired.Body)
	}
	if all := decodeInto[Page[wireEvent]](t, w.merchant(project, "GET /v1/events", nil, nil, "")); len(all.Data) != 2 || all.Data[0].Type != "checkout.expired" {
		t.Errorf("events %+v, want the expired then the created one", all.Data)
	}
}
