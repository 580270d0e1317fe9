package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"codex/pkg/codex"
	"codex/pkg/codex/codextest"
)

// FuzzPublicCheckoutBody: whatever a browser sends, the answer is a client error or a checkout that
// charges exactly the button's name, unit amount and currency, for 1 to 100 of it; never a 500.
func FuzzPublicCheckoutBody(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"quantity":3}`, `{"quantity":100,"client_reference_id":"c"}`, `{"quantity":0}`,
		`{"unit_amount":1}`, `{"Quantity":2}`, `{"QUANTITY":2,"quantity":3}`, `{"quantity":1e2}`,
		`{"quantity":9223372036854775808}`, `{"client_reference_id":"\u0000"}`, `{"quantity":null}`,
		`{"client_reference_id":"a\u202eb"}`, "{\"client_reference_id\":\"\u200b\"}",
		`{"line_items":[{"name":"x","unit_amount":1,"quantity":1}]}`, `[]`, `"x"`, `{"a":{"b":{"c":1}}}`,
	} {
		f.Add(s)
	}
	amount := int64(2500)
	params, err := codex.ButtonParams{Name: "Poster", UnitAmount: &amount, Currency: "eur",
		SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/back"}.Validate()
	if err != nil {
		f.Fatal(err)
	}
	button := codex.NewButton(codex.NewID(codex.ProjectIDPrefix), "u", params, time.Now())
	// The button store holds one button; the checkout store records what is created: enough for
	// the public route's logic without DynamoDB.
	buttons := &codextest.ButtonStore{GetButtonFn: func(_ context.Context, pid, id string) (codex.Button, error) {
		if pid != button.ProjectID || id != button.ID {
			return codex.Button{}, codex.NotFound("button")
		}
		return button, nil
	}}
	f.Fuzz(func(t *testing.T, body string) {
		var created []codex.Checkout
		store := &codextest.CheckoutStore{CreateCheckoutFn: func(_ context.Context, c codex.Checkout, _ codex.Event, _ *codex.IdempotencyRecord) (*codex.IdempotencyRecord, error) {
			created = append(created, c)
			return nil, nil
		}}
		h := Handler(discardLog(), PublicCreateCheckout{Buttons: buttons, Checkouts: store, Now: time.Now, PageURL: testPageURL})
		req := fixtureRequest(t, "public-request.json")
		req.PathParameters = map[string]string{"project_id": button.ProjectID, "button_id": button.ID}
		req.Body = body
		resp, err := h(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case resp.StatusCode == http.StatusCreated:
			if len(created) != 1 {
				t.Fatalf("201 with %d checkouts stored", len(created))
			}
			c := created[0]
			if len(c.LineItems) != 1 || c.LineItems[0].Name != button.Name || c.LineItems[0].UnitAmount != button.UnitAmount ||
				c.Currency != button.Currency || c.LineItems[0].Quantity < 1 || c.LineItems[0].Quantity > codex.MaxButtonQuantity ||
				c.AmountTotal != button.UnitAmount*c.LineItems[0].Quantity || c.ProjectID != button.ProjectID ||
				c.SuccessURL != button.SuccessURL || c.CancelURL != button.CancelURL || len(c.Metadata) != 0 || c.ButtonID != button.ID {
				t.Fatalf("body %q made checkout %+v", body, c)
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &v); err != nil || v["amount_total"] != float64(c.AmountTotal) {
				t.Fatalf("answer %s for %+v", resp.Body, c)
			}
		case resp.StatusCode >= 400 && resp.StatusCode < 500:
			if len(created) != 0 {
				t.Fatalf("%d for %q, yet a checkout was stored", resp.StatusCode, body)
			}
		default:
			t.Fatalf("body %q: %d %s", body, resp.StatusCode, resp.Body)
		}
	})
}

// TestPublicCheckoutURLFromRequest: with no configured page (the deployed default), a button's
// checkout url is the /c page of the API the request came to, which serves the page too.
func TestPublicCheckoutURLFromRequest(t *testing.T) {
	amount := int64(2500)
	params, err := codex.ButtonParams{Name: "Poster", UnitAmount: &amount, Currency: "eur",
		SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/back"}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	button := codex.NewButton(codex.NewID(codex.ProjectIDPrefix), "u", params, time.Now())
	buttons := &codextest.ButtonStore{GetButtonFn: func(context.Context, string, string) (codex.Button, error) { return button, nil }}
	store := &codextest.CheckoutStore{CreateCheckoutFn: func(context.Context, codex.Checkout, codex.Event, *codex.IdempotencyRecord) (*codex.IdempotencyRecord, error) {
		return nil, nil
	}}
	req := fixtureRequest(t, "public-request.json")
	req.PathParameters = map[string]string{"project_id": button.ProjectID, "button_id": button.ID}
	req.Body = `{}`
	resp, _ := Handler(discardLog(), PublicCreateCheckout{Buttons: buttons, Checkouts: store, Now: time.Now})(context.Background(), req)
	v := decodeInto[publicCheckoutCreated](t, resp)
	if want := "https://" + req.RequestContext.DomainName + "/c/" + v.ID; v.URL != want {
		t.Errorf("url %q, want %q", v.URL, want)
	}
}
