package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"codex/pkg/codex"
	"codex/pkg/webhook"
)

const (
	rkCreateWebhook = "POST /projects/{project_id}/webhooks"
	rkListWebhooks  = "GET /projects/{project_id}/webhooks"
	rkGetWebhook    = "GET /projects/{project_id}/webhooks/{webhook_id}"
	rkPatchWebhook  = "PATCH /projects/{project_id}/webhooks/{webhook_id}"
	rkRotateWebhook = "POST /projects/{project_id}/webhooks/{webhook_id}/rotate-secret"
	rkDeliveries    = "GET /projects/{project_id}/webhooks/{webhook_id}/deliveries"
)

// TestWebhookRegistrationRefusesPrivateHosts: a URL whose host is written as a private,
// loopback, link-local or metadata address, in any spelling, is a 400 naming url, and nothing is
// stored.
func TestWebhookRegistrationRefusesPrivateHosts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pp := map[string]string{"project_id": w.project("alice", "Shop")}
	before := itemCount(t, w.tables)
	for _, u := range []string{
		"https://127.0.0.1/", "https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://169.254.169.254/latest/meta-data/",
		"https://[fd00::1]/", "https://10.1.2.3/", "https://172.16.0.1/", "https://192.168.1.1/", "https://0.0.0.0/",
		"https://2130706433/", "https://0177.0.0.1/", "https://0x7f.1/", "https://localhost/", "https://localhost:8443/",
		"http://shop.example/hooks", "ftp://shop.example/", "https://user:pw@shop.example/", "not a url",
	} {
		body := fmt.Sprintf(`{"url":%q,"events":["*"]}`, u)
		wantError(t, w.dashboard("alice", rkCreateWebhook, pp, body), http.StatusBadRequest, codex.CodeParameterInvalid, "url")
	}
	if after := itemCount(t, w.tables); after != before {
		t.Fatalf("refused registrations stored %d items", after-before)
	}
	for _, bad := range []string{`{"url":"https://shop.example/","events":[]}`, `{"url":"https://shop.example/","events":["*","checkout.created"]}`,
		`{"url":"https://shop.example/","events":["charge.succeeded"]}`, `{"url":"https://shop.example/","events":["checkout.created","checkout.created"]}`} {
		wantError(t, w.dashboard("alice", rkCreateWebhook, pp, bad), http.StatusBadRequest, codex.CodeParameterInvalid, "events")
	}
	wantError(t, w.dashboard("alice", rkCreateWebhook, pp, `{"events":["*"]}`), http.StatusBadRequest, codex.CodeParameterMissing, "url")
}

// TestWebhookSecretShownOnce: the secret is in the create and rotate responses only, never in a
// list or a read, and no stored item holds it in any encoding.
func TestWebhookSecretShownOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	pp := map[string]string{"project_id": project}
	created := w.dashboard("alice", rkCreateWebhook, pp, `{"url":"https://shop.example/hooks","events":["*"]}`)
	wantStatus(t, created, http.StatusCreated)
	if created.Headers["cache-control"] != "no-store" {
		t.Errorf("cache-control %q on the response holding the secret", created.Headers["cache-control"])
	}
	hook := decodeInto[webhookView](t, created)
	key, err := webhook.ParseSecret(hook.Secret)
	if err != nil || len(key) != 32 {
		t.Fatalf("secret %q: %v", hook.Secret, err)
	}
	hp := map[string]string{"project_id": project, "webhook_id": hook.ID}
	rotated := decodeInto[webhookView](t, w.dashboard("alice", rkRotateWebhook, hp, ""))
	newKey, _ := webhook.ParseSecret(rotated.Secret)
	if rotated.Secret == hook.Secret || rotated.PreviousSecretEnds == nil {
		t.Fatalf("rotation: %+v", rotated)
	}
	for _, rk := range []string{rkListWebhooks, rkGetWebhook} {
		resp := w.dashboard("alice", rk, hp, "")
		wantStatus(t, resp, http.StatusOK)
		if strings.Contains(resp.Body, "whsec_") || strings.Contains(resp.Body, `"secret"`) {
			t.Errorf("%s shows a secret: %s", rk, resp.Body)
		}
	}
	got := decodeInto[webhookView](t, w.dashboard("alice", rkGetWebhook, hp, ""))
	if got.PreviousSecretEnds == nil || *got.PreviousSecretEnds != *rotated.PreviousSecretEnds {
		t.Errorf("after a rotation GET says %v", got.PreviousSecretEnds)
	}

	out, err := localAWS(t).DynamoDB.Scan(context.Background(), &dynamodb.ScanInput{TableName: &w.tables.App, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var everything strings.Builder
	for _, item := range out.Items {
		var m map[string]any
		_ = attributevalue.UnmarshalMap(item, &m)
		fmt.Fprintf(&everything, "%v %q\n", m, m)
	}
	for _, k := range [][]byte{key, newKey} {
		for _, form := range []string{string(k), base64.StdEncoding.EncodeToString(k), fmt.Sprintf("%x", k), fmt.Sprint(k)} {
			if strings.Contains(everything.String(), form) {
				t.Fatalf("a stored item holds a signing key (%q)", form[:8])
			}
		}
	}
	if strings.Contains(w.logs.String(), "whsec_") || strings.Contains(w.logs.String(), base64.StdEncoding.EncodeToString(key)) {
		t.Fatal("a log line holds a secret")
	}
}

func TestWebhookRoutesForMembersOnly(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	hook := decodeInto[webhookView](t, w.dashboard("alice", rkCreateWebhook, map[string]string{"project_id": project},
		`{"url":"https://shop.example/hooks","events":["*"]}`))
	hp := map[string]string{"project_id": project, "webhook_id": hook.ID}
	for _, rk := range []string{rkGetWebhook, rkRotateWebhook, rkDeliveries} {
		wantError(t, w.dashboard("mallory", rk, hp, ""), http.StatusNotFound, codex.CodeNotFound, "")
	}
	wantError(t, w.dashboard("mallory", rkPatchWebhook, hp, `{"disabled":true}`), http.StatusNotFound, codex.CodeNotFound, "")
	// Another project's endpoint id under the caller's own project: not found either.
	mine := map[string]string{"project_id": w.project("mallory", "Mine"), "webhook_id": hook.ID}
	wantError(t, w.dashboard("mallory", rkGetWebhook, mine, ""), http.StatusNotFound, codex.CodeNotFound, "")
	wantError(t, w.dashboard("mallory", rkPatchWebhook, mine, `{"disabled":true}`), http.StatusNotFound, codex.CodeNotFound, "")

	// Disabling says why; enabling again clears it.
	off := decodeInto[webhookView](t, w.dashboard("alice", rkPatchWebhook, hp, `{"disabled":true,"description":"paused"}`))
	if !off.Disabled || off.DisabledReason == nil || *off.DisabledReason != codex.DisabledByUser || off.Description != "paused" {
		t.Fatalf("disabled: %+v", off)
	}
	on := decodeInto[webhookView](t, w.dashboard("alice", rkPatchWebhook, hp, `{"disabled":false}`))
	if on.Disabled || on.DisabledReason != nil {
		t.Fatalf("enabled: %+v", on)
	}
	wantError(t, w.dashboard("alice", rkPatchWebhook, hp, `{"url":"https://10.0.0.1/"}`), http.StatusBadRequest, codex.CodeParameterInvalid, "url")
	wantError(t, w.dashboard("alice", rkPatchWebhook, hp, `{"secret":"whsec_x"}`), http.StatusBadRequest, codex.CodeParameterUnknown, "secret")
}

func TestWebhookDeliveriesPages(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	hook := decodeInto[webhookView](t, w.dashboard("alice", rkCreateWebhook, map[string]string{"project_id": project},
		`{"url":"https://shop.example/hooks","events":["*"]}`))
	for i := range 3 {
		a := codex.WebhookAttempt{EndpointID: hook.ID, EventID: fmt.Sprintf("evt_%d", i), EventType: "checkout.created", Attempt: 1,
			At: w.tick(), Status: 200, Outcome: codex.AttemptSucceeded}
		if err := w.store.RecordWebhookAttempt(context.Background(), a, codex.WebhookDelivery{EndpointID: hook.ID, EventID: a.EventID, EventJSON: "{}"}); err != nil {
			t.Fatal(err)
		}
	}
	hp := map[string]string{"project_id": project, "webhook_id": hook.ID}
	var ids []string
	query := map[string]string{"limit": "2"}
	for range 3 {
		req := fixtureRequest(t, "dashboard-request.json")
		req.RouteKey, req.PathParameters, req.QueryStringParameters = rkDeliveries, hp, query
		req.RequestContext.Authorizer.JWT.Claims["sub"] = "alice"
		page := decodeInto[attemptPage](t, w.call(req))
		for _, a := range page.Data {
			ids = append(ids, a.EventID)
		}
		if page.NextCursor == nil {
			break
		}
		query = map[string]string{"limit": "2", "starting_after": *page.NextCursor}
	}
	if fmt.Sprint(ids) != "[evt_2 evt_1 evt_0]" {
		t.Fatalf("deliveries %v, want newest first", ids)
	}
}
