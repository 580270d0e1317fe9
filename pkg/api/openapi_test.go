package api

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"codex/api/openapi"
	"codex/pkg/codex"
)

// TestResponsesMatchOpenAPI drives every route of template.yaml through its handler against DynamoDB
// (moto) and validates each response, success and error alike, against api/openapi/openapi.yaml
// (world.call does the validating). It fails if any documented operation was never answered with
// a success, so a route cannot be added to the document without being checked here.
func TestResponsesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	pp := map[string]string{"project_id": project}

	// Dashboard.
	wantStatus(t, w.dashboard("alice", "GET /projects", nil, ""), http.StatusOK)
	key := decodeInto[keyView](t, w.dashboard("alice", "POST /projects/{project_id}/keys", pp, `{"name":"Server"}`))
	expiring := decodeInto[keyView](t, w.dashboard("alice", "POST /projects/{project_id}/keys", pp, `{"name":"Expiring","expires_in":3600}`))
	rolled := w.dashboard("alice", "POST /projects/{project_id}/keys/{key_id}/roll", map[string]string{"project_id": project, "key_id": expiring.ID}, `{"expires_in":0}`)
	wantStatus(t, rolled, http.StatusCreated)
	wantError(t, w.dashboard("alice", "POST /projects/{project_id}/keys/{key_id}/roll", map[string]string{"project_id": project, "key_id": expiring.ID}, `{"expires_in":60}`),
		http.StatusConflict, codex.CodeKeyExpired, "")
	wantStatus(t, w.dashboard("alice", "GET /projects/{project_id}/keys", pp, ""), http.StatusOK)
	leaked := decodeInto[keyView](t, rolled).Secret
	report := `[{"token":"` + leaked + `","type":"codex_secret_key","url":"https://github.com/octo/shop/blob/main/.env","source":"content"}]`
	wantStatus(t, w.github(report, githubSign(t, report)), http.StatusOK)
	wantError(t, w.github(report, githubSign(t, report+" ")), http.StatusBadRequest, codex.CodeSignatureInvalid, "")
	wantStatus(t, w.dashboard("alice", "DELETE /projects/{project_id}/keys/{key_id}", map[string]string{"project_id": project, "key_id": key.ID}, ""), http.StatusNoContent)
	wantStatus(t, w.dashboard("alice", "GET /projects/{project_id}/audit-log", pp, ""), http.StatusOK)
	wantError(t, w.dashboard("alice", "GET /projects/{project_id}/audit-log", pp, "", "cursor", "bm90IGEgY3Vyc29y"), http.StatusBadRequest, codex.CodeParameterInvalid, "cursor")
	b := w.button("alice", project, buttonBody)
	wantStatus(t, w.dashboard("alice", rkListButtons, pp, ""), http.StatusOK)

	// Webhook endpoints.
	hook := decodeInto[webhookView](t, w.dashboard("alice", "POST /projects/{project_id}/webhooks", pp,
		`{"url":"https://shop.example/hooks","events":["checkout.completed"],"description":"orders"}`))
	hp := map[string]string{"project_id": project, "webhook_id": hook.ID}
	wantStatus(t, w.dashboard("alice", "GET /projects/{project_id}/webhooks", pp, ""), http.StatusOK)
	wantStatus(t, w.dashboard("alice", "GET /projects/{project_id}/webhooks/{webhook_id}", hp, ""), http.StatusOK)
	wantStatus(t, w.dashboard("alice", "PATCH /projects/{project_id}/webhooks/{webhook_id}", hp, `{"disabled":true}`), http.StatusOK)
	wantStatus(t, w.dashboard("alice", "POST /projects/{project_id}/webhooks/{webhook_id}/rotate-secret", hp, ""), http.StatusOK)
	wantStatus(t, w.dashboard("alice", "POST /projects/{project_id}/webhooks/{webhook_id}/test", hp, ""), http.StatusAccepted)
	sent := codex.WebhookAttempt{EndpointID: hook.ID, EventID: "evt_1", EventType: "checkout.completed", Attempt: 1, At: w.tick(),
		Status: 500, ResponseBody: "down", NextRetryAt: w.tick().Add(time.Minute), Outcome: codex.AttemptRetrying}
	if err := w.store.RecordWebhookAttempt(context.Background(), sent, codex.WebhookDelivery{EndpointID: hook.ID, EventID: "evt_1",
		EventType: "checkout.completed", EventJSON: `{"id":"evt_1"}`}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, w.dashboard("alice", "GET /projects/{project_id}/webhooks/{webhook_id}/deliveries", hp, ""), http.StatusOK)
	wantStatus(t, w.dashboard("alice", "POST /projects/{project_id}/webhooks/{webhook_id}/deliveries/{event_id}/redeliver",
		map[string]string{"project_id": project, "webhook_id": hook.ID, "event_id": "evt_1"}, ""), http.StatusAccepted)
	wantError(t, w.dashboard("alice", "POST /projects/{project_id}/webhooks", pp, `{"url":"https://169.254.169.254/","events":["*"]}`),
		http.StatusBadRequest, codex.CodeParameterInvalid, "url")
	wantStatus(t, w.dashboard("alice", "DELETE /projects/{project_id}/webhooks/{webhook_id}", hp, ""), http.StatusNoContent)

	// Merchant API.
	wantStatus(t, w.merchant(project, "GET /v1/whoami", nil, nil, ""), http.StatusOK)
	body := `{"line_items":[{"name":"Tea","unit_amount":450,"quantity":2}],"currency":"usd",` +
		`"success_url":"https://shop.example/ok","cancel_url":"https://shop.example/cart","metadata":{"cart":"c-1"},"expires_in":3600}`
	req := fixtureRequest(t, "merchant-request.json")
	req.RouteKey, req.Body = "POST /v1/checkouts", body
	req.Headers["content-type"] = "application/json"
	req.Headers["idempotency-key"] = "order-1"
	req.RequestContext.Authorizer.Lambda = map[string]any{"project_id": project, "key_id": key.ID}
	first := w.call(req)
	wantStatus(t, first, http.StatusCreated)
	if replay := w.call(req); replay.StatusCode != http.StatusCreated || replay.Headers["idempotent-replayed"] != "true" {
		t.Fatalf("replay: %d %v", replay.StatusCode, replay.Headers)
	}
	req.Body = strings.Replace(body, `"quantity":2`, `"quantity":3`, 1)
	wantError(t, w.call(req), http.StatusUnprocessableEntity, codex.CodeIdempotencyReused, IdempotencyKeyHeader)
	checkout := decodeInto[wireCheckout](t, first).ID
	wantStatus(t, w.merchant(project, "GET /v1/checkouts/{checkout_id}", map[string]string{"checkout_id": checkout}, nil, ""), http.StatusOK)
	wantStatus(t, w.merchant(project, "GET /v1/checkouts", nil, map[string]string{"limit": "1"}, ""), http.StatusOK)
	wantError(t, w.merchant(project, "GET /v1/checkouts", nil, map[string]string{"limit": "0"}, ""), http.StatusBadRequest, codex.CodeParameterInvalid, "limit")
	expire := map[string]string{"checkout_id": checkout}
	wantStatus(t, w.merchant(project, "POST /v1/checkouts/{checkout_id}/expire", expire, nil, ""), http.StatusOK)
	wantError(t, w.merchant(project, "POST /v1/checkouts/{checkout_id}/expire", expire, nil, ""), http.StatusConflict, codex.CodeCheckoutNotOpen, "")
	wantStatus(t, w.dashboardQuery("alice", rkProjectCheckouts, pp, map[string]string{"limit": "1"}), http.StatusOK)
	wantStatus(t, w.dashboardQuery("alice", rkProjectEvents, pp, map[string]string{"type": "checkout.created"}), http.StatusOK)
	events := decodeInto[Page[wireEvent]](t, w.merchant(project, "GET /v1/events", nil, map[string]string{"type": "checkout.created"}, ""))
	if len(events.Data) != 1 {
		t.Fatalf("events: %+v", events)
	}
	wantStatus(t, w.merchant(project, "GET /v1/events/{event_id}", map[string]string{"event_id": events.Data[0].ID}, nil, ""), http.StatusOK)
	wantError(t, w.merchant(project, "GET /v1/events", nil, map[string]string{"type": "checkout.paid"}, ""), http.StatusBadRequest, codex.CodeParameterInvalid, "type")

	// Public.
	bp := map[string]string{"project_id": project, "button_id": b.ID}
	wantStatus(t, w.public(rkPublicButton, bp, ""), http.StatusOK)
	created := w.public(rkPublicCheckout, bp, `{"quantity":2}`)
	wantStatus(t, created, http.StatusCreated)
	cp := map[string]string{"checkout_id": decodeInto[publicCheckoutCreated](t, created).ID}
	wantStatus(t, w.public(rkBuyerView, cp, ""), http.StatusOK)

	// The hosted page: the form, a decline, a payment, the paid page, a second payment.
	wantStatus(t, w.page(rkCheckoutPage, cp, nil), http.StatusOK)
	wantStatus(t, w.page(rkPay, cp, cardForm("4000 0000 0000 0002")), http.StatusPaymentRequired)
	wantStatus(t, w.page(rkPay, cp, cardForm("4242 4242 4242 4242")), http.StatusSeeOther)
	wantStatus(t, w.page(rkCheckoutPage, cp, nil), http.StatusOK)
	wantStatus(t, w.page(rkPay, cp, cardForm("4242 4242 4242 4242")), http.StatusConflict)
	wantStatus(t, w.page(rkPay, map[string]string{"checkout_id": "chk_NOPE"}, cardForm("4242 4242 4242 4242")), http.StatusNotFound)
	wantStatus(t, w.public(rkButtonPage, bp, ""), http.StatusOK)
	wantStatus(t, w.public(rkButtonPageCheckout, bp, ""), http.StatusSeeOther)
	wantStatus(t, w.call(Request{RouteKey: rkButtonScript, Headers: map[string]string{"accept-encoding": "gzip"}}), http.StatusOK)
	wantStatus(t, w.dashboard("alice", rkDeleteButton, bp, ""), http.StatusNoContent)
	wantStatus(t, w.public(rkButtonPage, bp, ""), http.StatusNotFound)

	// Error answers the functions produce: each is validated as the envelope of its status.
	wantError(t, w.public(rkPublicButton, bp, ""), http.StatusNotFound, codex.CodeNotFound, "")
	wantError(t, w.dashboard("alice", "POST /projects", nil, `{"name":"`+strings.Repeat("x", MaxBodyBytes)+`"}`), http.StatusRequestEntityTooLarge, codex.CodeBodyTooLarge, "")
	ct := fixtureRequest(t, "dashboard-request.json")
	ct.RouteKey, ct.PathParameters, ct.Body = rkCreateButton, pp, buttonBody
	ct.Headers["content-type"] = "text/plain"
	ct.RequestContext.Authorizer.JWT.Claims["sub"] = "alice"
	wantError(t, w.call(ct), http.StatusUnsupportedMediaType, codex.CodeUnsupportedMedia, "")
	// A function deployed without its authorizer refuses with the envelope's 401.
	noAuth := fixtureRequest(t, "merchant-request.json")
	noAuth.RequestContext.Authorizer = nil
	wantError(t, w.call(noAuth), http.StatusUnauthorized, codex.CodeUnauthenticated, "")

	if missing := w.spec.Unexercised(); len(missing) > 0 {
		t.Fatalf("operations of openapi.yaml never answered with a success here: %v", missing)
	}
}

// TestErrorTableMatchesOpenAPI: the Error schema's code and type enums are exactly the codes and
// types of the error table, so a new code cannot ship undocumented.
func TestErrorTableMatchesOpenAPI(t *testing.T) {
	v, err := openapi.NewValidator(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	errSchema := v.Doc().Components.Schemas["Error"].Value.Properties["error"].Value
	enum := func(prop string) []string {
		var out []string
		for _, e := range errSchema.Properties[prop].Value.Enum {
			out = append(out, e.(string))
		}
		slices.Sort(out)
		return out
	}
	var codes []string
	types := map[string]bool{}
	for c, k := range errorKinds {
		codes = append(codes, string(c))
		types[k.typ] = true
	}
	slices.Sort(codes)
	if got := enum("code"); !slices.Equal(got, codes) {
		t.Errorf("openapi.yaml error codes %v, the error table has %v", got, codes)
	}
	if got, want := enum("type"), slices.Sorted(maps.Keys(types)); !slices.Equal(got, want) {
		t.Errorf("openapi.yaml error types %v, the error table has %v", got, want)
	}
}
