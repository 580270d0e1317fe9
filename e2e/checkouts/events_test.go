package checkouts

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"codex/e2e/e2etest"
)

type event struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Type      string `json:"type"`
	CreatedAt string `json:"created_at"`
	Livemode  bool   `json:"livemode"`
	Data      struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

type eventPage struct {
	Data    []json.RawMessage `json:"data"`
	HasMore bool              `json:"has_more"`
}

// TestEventsOverHTTP: each checkout a merchant makes over the local stack has its
// checkout.created event in GET /v1/events, newest first, whose data.object is the checkout as
// GET /v1/checkouts/{id} shows it; GET /v1/events/{id} answers the same bytes; pages and the type
// filter work through the gateway; a replayed create makes no event; another merchant sees none.
func TestEventsOverHTTP(t *testing.T) {
	a, b := newMerchant(t, "e2e-events-a"), newMerchant(t, "e2e-events-b")
	var ids []string
	for _, idem := range []string{"ev-1", "ev-2", "ev-2", "ev-3"} { // ev-2 twice: a replay
		r := call(t, "POST", "/v1/checkouts", e2etest.Bearer(a.key, "Idempotency-Key", idem), order)
		e2etest.Want(t, r, http.StatusCreated)
		if r.Header.Get("Idempotent-Replayed") == "" {
			ids = append(ids, e2etest.Decode[checkout](t, r).ID)
		}
	}

	r := call(t, "GET", "/v1/events", e2etest.Bearer(a.key), "")
	e2etest.Want(t, r, http.StatusOK)
	all := e2etest.Decode[eventPage](t, r)
	if len(all.Data) != 3 || all.HasMore {
		t.Fatalf("%d events (has_more %v), want one per checkout: %s", len(all.Data), all.HasMore, r)
	}
	for i, raw := range all.Data {
		var ev event
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		want := ids[len(ids)-1-i] // newest first
		var obj checkout
		_ = json.Unmarshal(ev.Data.Object, &obj)
		if ev.Type != "checkout.created" || ev.Object != "event" || ev.Livemode || obj.ID != want {
			t.Errorf("event %d: %s, want checkout.created of %s", i, raw, want)
		}
		got := call(t, "GET", "/v1/checkouts/"+want, e2etest.Bearer(a.key), "")
		if !bytes.Equal(ev.Data.Object, got.Body) {
			t.Errorf("event %d data.object\n%s\nGET /v1/checkouts/%s\n%s", i, ev.Data.Object, want, got.Body)
		}
		one := call(t, "GET", "/v1/events/"+ev.ID, e2etest.Bearer(a.key), "")
		e2etest.Want(t, one, http.StatusOK)
		if !bytes.Equal(one.Body, raw) {
			t.Errorf("GET /v1/events/%s: %s, want the listed bytes %s", ev.ID, one.Body, raw)
		}
		e2etest.Want(t, call(t, "GET", "/v1/events/"+ev.ID, e2etest.Bearer(b.key), ""), http.StatusNotFound)
	}

	var first event
	_ = json.Unmarshal(all.Data[0], &first)
	r = call(t, "GET", "/v1/events?limit=2&type=checkout.created", e2etest.Bearer(a.key), "")
	p1 := e2etest.Decode[eventPage](t, r)
	var last event
	_ = json.Unmarshal(p1.Data[len(p1.Data)-1], &last)
	p2 := e2etest.Decode[eventPage](t, call(t, "GET", "/v1/events?limit=2&starting_after="+last.ID, e2etest.Bearer(a.key), ""))
	if len(p1.Data) != 2 || !p1.HasMore || len(p2.Data) != 1 || p2.HasMore || !bytes.Equal(p1.Data[0], all.Data[0]) || !bytes.Equal(p2.Data[0], all.Data[2]) {
		t.Fatalf("pages %d (more %v) then %d (more %v)", len(p1.Data), p1.HasMore, len(p2.Data), p2.HasMore)
	}
	if none := e2etest.Decode[eventPage](t, call(t, "GET", "/v1/events?type=checkout.expired", e2etest.Bearer(a.key), "")); len(none.Data) != 0 {
		t.Errorf("type=checkout.expired lists %d events", len(none.Data))
	}
	e2etest.Want(t, call(t, "GET", "/v1/events?type=checkout.nope", e2etest.Bearer(a.key), ""), http.StatusBadRequest)
	e2etest.Want(t, call(t, "GET", "/v1/events?starting_after="+first.ID, e2etest.Bearer(b.key), ""), http.StatusBadRequest)
	if other := e2etest.Decode[eventPage](t, call(t, "GET", "/v1/events", e2etest.Bearer(b.key), "")); len(other.Data) != 0 {
		t.Errorf("another merchant lists %d events", len(other.Data))
	}
}
