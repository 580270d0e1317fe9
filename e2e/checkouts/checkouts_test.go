package checkouts

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"codex/e2e/e2etest"
)

const order = `{"line_items":[{"name":"Poster A2","unit_amount":2500,"quantity":2},{"name":"Frame","unit_amount":1200,"quantity":1}],
"currency":"EUR","success_url":"https://shop.example/thanks","cancel_url":"https://shop.example/cart",
"client_reference_id":"order-1042","metadata":{"cart":"c-77"}}`

// The same request with other spacing, key order and currency case: a retry, not a new request.
const orderRespelt = `{"metadata":{"cart":"c-77"},"client_reference_id":"order-1042","currency":"eur",
"cancel_url":"https://shop.example/cart","success_url":"https://shop.example/thanks",
"line_items":[{"quantity":2,"unit_amount":2500,"name":"Poster A2"},{"name":"Frame","quantity":1,"unit_amount":1200}]}`

type checkout struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	AmountTotal int64  `json:"amount_total"`
	Currency    string `json:"currency"`
	URL         string `json:"url"`
}

type page struct {
	Data    []checkout `json:"data"`
	HasMore bool       `json:"has_more"`
}

// TestCheckoutFlowOverHTTP is a merchant's server using the checkout API through the local gateway:
// create with an Idempotency-Key, retry, misuse the key, poll, list, page, and a second merchant who
// can see none of it.
func TestCheckoutFlowOverHTTP(t *testing.T) {
	a, b := newMerchant(t, "e2e-checkouts-a"), newMerchant(t, "e2e-checkouts-b")

	// No key at all is refused by the authorizer before any function runs.
	e2etest.Want(t, call(t, "GET", "/v1/checkouts", nil, ""), http.StatusUnauthorized)

	created := call(t, "POST", "/v1/checkouts", e2etest.Bearer(a.key, "Idempotency-Key", "order-1042"), order)
	e2etest.Want(t, created, http.StatusCreated)
	c := e2etest.Decode[checkout](t, created)
	if !strings.HasPrefix(c.ID, "chk_") || c.Status != "open" || c.AmountTotal != 6200 || c.Currency != "eur" || !strings.HasSuffix(c.URL, "/"+c.ID) {
		t.Fatalf("created %s", created)
	}
	if created.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("the first answer is marked replayed")
	}

	// The retry gets the first answer, byte for byte, marked as a replay.
	replay := call(t, "POST", "/v1/checkouts", e2etest.Bearer(a.key, "Idempotency-Key", "order-1042"), orderRespelt)
	e2etest.Want(t, replay, http.StatusCreated)
	if !bytes.Equal(replay.Body, created.Body) || replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %v %s", replay.Header, replay)
	}
	// The key with another request: 422. Another merchant may use the same key.
	e2etest.WantError(t, call(t, "POST", "/v1/checkouts", e2etest.Bearer(a.key, "Idempotency-Key", "order-1042"),
		strings.Replace(order, `"quantity":2`, `"quantity":3`, 1)), http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key")
	inB := call(t, "POST", "/v1/checkouts", e2etest.Bearer(b.key, "Idempotency-Key", "order-1042"), order)
	e2etest.Want(t, inB, http.StatusCreated)
	if e2etest.Decode[checkout](t, inB).ID == c.ID {
		t.Fatal("merchant B got merchant A's checkout")
	}

	// Validation names the parameter, down to the line item.
	e2etest.WantError(t, call(t, "POST", "/v1/checkouts", e2etest.Bearer(a.key),
		strings.Replace(order, `"unit_amount":1200`, `"unit_amount":"12.00"`, 1)), http.StatusBadRequest, "parameter_invalid", "line_items[1].unit_amount")
	e2etest.WantError(t, call(t, "POST", "/v1/checkouts", e2etest.Bearer(a.key),
		strings.Replace(order, `"currency":"EUR"`, `"currency":"EUR","project_id":"`+b.project+`"`, 1)), http.StatusBadRequest, "parameter_unknown", "project_id")

	// Polling by id answers the same object.
	got := call(t, "GET", "/v1/checkouts/"+c.ID, e2etest.Bearer(a.key), "")
	e2etest.Want(t, got, http.StatusOK)
	if !bytes.Equal(got.Body, created.Body) {
		t.Fatalf("GET %s\nPOST %s", got, created)
	}

	// Merchant B can neither read nor list nor page from A's checkout.
	e2etest.WantError(t, call(t, "GET", "/v1/checkouts/"+c.ID, e2etest.Bearer(b.key), ""), http.StatusNotFound, "resource_missing", "")
	for _, ck := range e2etest.Decode[page](t, call(t, "GET", "/v1/checkouts?limit=100", e2etest.Bearer(b.key), "")).Data {
		if ck.ID == c.ID {
			t.Fatal("merchant B lists merchant A's checkout")
		}
	}
	e2etest.WantError(t, call(t, "GET", "/v1/checkouts?starting_after="+c.ID, e2etest.Bearer(b.key), ""), http.StatusBadRequest, "parameter_invalid", "starting_after")

	// Four more checkouts for A, then every page of two: all five once each, newest first.
	ids := map[string]bool{c.ID: true}
	newestFirst := []string{c.ID}
	for range 4 {
		r := call(t, "POST", "/v1/checkouts", e2etest.Bearer(a.key), order)
		e2etest.Want(t, r, http.StatusCreated)
		id := e2etest.Decode[checkout](t, r).ID
		ids[id] = true
		newestFirst = append([]string{id}, newestFirst...)
	}
	seen := map[string]bool{}
	var listed []string
	path, pages := "/v1/checkouts?limit=2", 0
	for {
		r := call(t, "GET", path, e2etest.Bearer(a.key), "")
		e2etest.Want(t, r, http.StatusOK)
		p := e2etest.Decode[page](t, r)
		pages++
		for _, ck := range p.Data {
			if !ids[ck.ID] || seen[ck.ID] {
				t.Fatalf("page %d: unexpected or repeated %s", pages, ck.ID)
			}
			seen[ck.ID] = true
			listed = append(listed, ck.ID)
		}
		if !p.HasMore {
			break
		}
		path = "/v1/checkouts?limit=2&starting_after=" + p.Data[len(p.Data)-1].ID
	}
	if len(seen) != 5 || pages != 3 {
		t.Fatalf("listed %d of 5 checkouts in %d pages", len(seen), pages)
	}
	// One request after another, each more than a millisecond: creation order is created_at order.
	if !slices.Equal(listed, newestFirst) {
		t.Fatalf("listed %v, want newest first %v", listed, newestFirst)
	}
}
