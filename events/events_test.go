// Package events holds an event per function of template.yaml, for `sam local invoke <LogicalId>
// -e events/<name>.json` (see docs/sam-local.md): <name> is the function's directory under
// functions/, and <name>.expect.json beside it says what the function answers, {"status": N} for
// a route, {"result": ...} for any other function. The tests here run each event through its
// function's handler as the registry builds it, so that an event cannot go stale and a new
// function fails until it has one.
package events

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/aws/aws-lambda-go/lambda"

	"codex/infra/samtemplate"
	"codex/pkg/api"
	"codex/pkg/codex"
	"codex/pkg/codex/codextest"
	"codex/pkg/registry"
	"codex/pkg/secretscan"
	"codex/pkg/webhook"
)

// The world the events are written against: the user of the dashboard events' JWT claims, a
// project of theirs with one key, one active button, one open checkout and one that expired
// yesterday, which the sweeper's event finds due. The /v1 events carry the
// authorizer context of that key. The authorizer's event holds a well-formed key that exists
// nowhere, so it is denied (a key of a running make dev works in its place).
const (
	userID     = "6f1c2a0e-3b7d-4c55-9a8e-1d2f3a4b5c6d"
	projectID  = "prj_EXAMPLEPROJECTAAAAAAAAAAAA"
	keyID      = "key_EXAMPLEKEYAAAAAAAAAAAAAAAA"
	buttonID   = "btn_EXAMPLEBUTTONAAAAAAAAAAAAA"
	checkoutID = "chk_EXAMPLECHECKOUTAAAAAAAAAAA"
	overdueID  = "chk_EXAMPLEOVERDUEAAAAAAAAAAA"
	webhookID  = "we_EXAMPLEWEBHOOKAAAAAAAAAAAA"
	eventID    = "evt_EXAMPLEEVENTAAAAAAAAAAAAAA"
)

var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// store is every store interface of registry.Store, one codextest fake each.
type store struct {
	*codextest.ProjectStore
	*codextest.KeyStore
	*codextest.KeyLookup
	*codextest.AuditLog
	*codextest.ButtonStore
	*codextest.CheckoutStore
	*codextest.CheckoutFinder
	*codextest.CheckoutExpirer
	*codextest.EventStore
	*codextest.WebhookStore
	*codextest.ProjectFinder
	*codextest.PaymentStore
}

// emptyStore has no behaviour at all: any call panics, which api.Handler answers with a 500.
func emptyStore() store {
	return store{&codextest.ProjectStore{}, &codextest.KeyStore{}, &codextest.KeyLookup{}, &codextest.AuditLog{},
		&codextest.ButtonStore{}, &codextest.CheckoutStore{}, &codextest.CheckoutFinder{}, &codextest.CheckoutExpirer{},
		&codextest.EventStore{}, &codextest.WebhookStore{}, &codextest.ProjectFinder{}, &codextest.PaymentStore{}}
}

// world is a store holding the world above; writes succeed and change nothing.
func world() store {
	project := codex.Project{ID: projectID, Name: "Example shop", CreatedAt: now, CreatedBy: userID}
	key := codex.APIKey{ID: keyID, ProjectID: projectID, Name: "production", Prefix: "cmk_0000", CreatedAt: now, CreatedBy: userID}
	button := codex.Button{ID: buttonID, ProjectID: projectID, Name: "T-shirt", UnitAmount: 2500, Currency: "eur",
		SuccessURL: "https://shop.example.com/thanks", CancelURL: "https://shop.example.com/cart", Active: true, CreatedAt: now, CreatedBy: userID}
	checkout := codex.Checkout{ID: checkoutID, ProjectID: projectID, Status: codex.CheckoutOpen, PaymentStatus: codex.PaymentUnpaid,
		Currency: "eur", LineItems: []codex.LineItem{{Name: "T-shirt", UnitAmount: 2500, Quantity: 2}}, AmountTotal: 5000,
		SuccessURL: "https://shop.example.com/thanks", CancelURL: "https://shop.example.com/cart", CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	overdue := checkout
	overdue.ID, overdue.CreatedAt, overdue.ExpiresAt = overdueID, now.Add(-48*time.Hour), now.Add(-24*time.Hour)

	s := emptyStore()
	s.CreateProjectFn = func(context.Context, codex.Project) error { return nil }
	s.ListProjectsFn = func(_ context.Context, user string) ([]codex.Project, error) {
		if user == userID {
			return []codex.Project{project}, nil
		}
		return nil, nil
	}
	s.MembershipFn = func(_ context.Context, user, id string) (codex.Membership, error) {
		if user == userID && id == projectID {
			return codex.Membership{UserID: user, Role: codex.RoleOwner, Project: project}, nil
		}
		return codex.Membership{}, codex.NotFound("project")
	}
	s.CreateKeyFn = func(context.Context, codex.APIKey, string, int, codex.AuditEvent) error { return nil }
	s.ListKeysFn = func(_ context.Context, id string) ([]codex.APIKey, error) {
		if id == projectID {
			return []codex.APIKey{key}, nil
		}
		return nil, nil
	}
	s.DeleteKeyFn = func(_ context.Context, project, id string, _ codex.AuditEvent) error {
		if project == projectID && id == keyID {
			return nil
		}
		return codex.NotFound("key")
	}
	s.RollKeyFn = func(_ context.Context, r codex.RollKey) (codex.APIKey, error) {
		if r.ProjectID == projectID && r.OldKeyID == keyID {
			k := r.New
			k.Name = key.Name
			return k, nil
		}
		return codex.APIKey{}, codex.NotFound("key")
	}
	s.RevokeLeakedKeyFn = func(context.Context, string, codex.AuditEvent) (bool, error) {
		return false, codex.NotFound("key")
	}
	s.ListAuditFn = func(_ context.Context, id string, _ time.Time, _ int, _ string) ([]codex.AuditEvent, string, error) {
		if id == projectID {
			return []codex.AuditEvent{{ID: "aud_EXAMPLEEVENTAAAAAAAAAAAAAA", ProjectID: projectID, Action: codex.AuditKeyCreated,
				KeyID: keyID, Actor: codex.Actor{UserID: userID, Email: "alice@example.com"}, At: now}}, "", nil
		}
		return nil, "", nil
	}
	s.LookupKeyFn = func(context.Context, string) (codex.KeyGrant, error) {
		return codex.KeyGrant{}, codex.NotFound("key")
	}
	s.CreateButtonFn = func(context.Context, codex.Button) error { return nil }
	s.ListButtonsFn = func(_ context.Context, id string) ([]codex.Button, error) {
		if id == projectID {
			return []codex.Button{button}, nil
		}
		return nil, nil
	}
	s.GetButtonFn = func(_ context.Context, project, id string) (codex.Button, error) {
		if project == projectID && id == buttonID {
			return button, nil
		}
		return codex.Button{}, codex.NotFound("button")
	}
	s.ArchiveButtonFn = func(_ context.Context, project, id string, _ time.Time) error {
		if project == projectID && id == buttonID {
			return nil
		}
		return codex.NotFound("button")
	}
	s.CreateCheckoutFn = func(context.Context, codex.Checkout, codex.Event, *codex.IdempotencyRecord) (*codex.IdempotencyRecord, error) {
		return nil, nil
	}
	s.FindProjectFn = func(_ context.Context, id string) (codex.Project, error) {
		if id == projectID {
			return project, nil
		}
		return codex.Project{}, codex.NotFound("project")
	}
	s.ClaimPaymentFn = func(_ context.Context, id, _ string, _, _ time.Time) (codex.Checkout, error) {
		if id == checkoutID {
			return checkout, nil
		}
		return codex.Checkout{}, codex.NotFound("checkout")
	}
	s.CompletePaymentFn = func(context.Context, string, string, codex.Completion, codex.Event) error { return nil }
	s.FailPaymentFn = func(context.Context, string, string, codex.PaymentError, time.Time, codex.Event) error { return nil }
	s.GetCheckoutFn = func(_ context.Context, project, id string) (codex.Checkout, error) {
		if project == projectID && id == checkoutID {
			return checkout, nil
		}
		return codex.Checkout{}, codex.NotFound("checkout")
	}
	s.ListCheckoutsFn = func(_ context.Context, project string, _ int, _ string) ([]codex.Checkout, bool, error) {
		if project == projectID {
			return []codex.Checkout{checkout}, false, nil
		}
		return nil, false, nil
	}
	s.FindCheckoutFn = func(_ context.Context, id string) (codex.Checkout, error) {
		switch id {
		case checkoutID:
			return checkout, nil
		case overdueID:
			return overdue, nil
		}
		return codex.Checkout{}, codex.NotFound("checkout")
	}
	s.ExpireCheckoutFn = func(_ context.Context, c codex.Checkout, _ codex.Event, _ time.Time) (codex.Checkout, error) {
		c.Status = codex.CheckoutExpired
		return c, nil
	}
	s.OpenShardsFn = func() int { return 8 }
	s.DueCheckoutsFn = func(_ context.Context, shard int, at time.Time, _ int, _ string) ([]string, string, error) {
		if shard == 0 && !at.Before(overdue.ExpiresAt) {
			return []string{overdueID}, "", nil
		}
		return nil, "", nil
	}
	event := codex.Event{ID: eventID, ProjectID: projectID, Type: codex.EventCheckoutCreated, CreatedAt: now,
		JSON: []byte(`{"id":"` + eventID + `","object":"event","type":"checkout.created","created_at":"2026-01-01T00:00:00.000Z","livemode":false,"data":{"object":{"id":"` + checkoutID + `","object":"checkout"}}}`)}
	s.GetEventFn = func(_ context.Context, project, id string, _ time.Time) (codex.Event, error) {
		if project == projectID && id == eventID {
			return event, nil
		}
		return codex.Event{}, codex.NotFound("event")
	}
	s.ListEventsFn = func(_ context.Context, project string, _ codex.EventType, _ int, _ string, _ time.Time) ([]codex.Event, bool, error) {
		if project == projectID {
			return []codex.Event{event}, false, nil
		}
		return nil, false, nil
	}
	hook := codex.WebhookEndpoint{ID: webhookID, ProjectID: projectID, URL: "https://shop.example.com/webhooks",
		Events: []string{"checkout.completed"}, CreatedAt: now, UpdatedAt: now, Secret: []byte("sealed:" + projectID + "/" + webhookID + ":key")}
	findHook := func(project, id string) (codex.WebhookEndpoint, error) {
		if project == projectID && id == webhookID {
			return hook, nil
		}
		return codex.WebhookEndpoint{}, codex.NotFound("webhook endpoint")
	}
	s.CreateWebhookFn = func(context.Context, codex.WebhookEndpoint) error { return nil }
	s.ListWebhooksFn = func(_ context.Context, id string) ([]codex.WebhookEndpoint, error) {
		if id == projectID {
			return []codex.WebhookEndpoint{hook}, nil
		}
		return nil, nil
	}
	s.GetWebhookFn = func(_ context.Context, project, id string) (codex.WebhookEndpoint, error) {
		return findHook(project, id)
	}
	s.UpdateWebhookFn = func(_ context.Context, project, id string, _ codex.WebhookChanges) (codex.WebhookEndpoint, error) {
		return findHook(project, id)
	}
	s.DeleteWebhookFn = func(_ context.Context, project, id string) error { _, err := findHook(project, id); return err }
	s.RotateWebhookSecretFn = func(_ context.Context, project, id string, _, _ []byte, _, _ time.Time) error {
		_, err := findHook(project, id)
		return err
	}
	s.ListWebhookAttemptsFn = func(context.Context, string, int, string) ([]codex.WebhookAttempt, string, error) {
		return []codex.WebhookAttempt{{EndpointID: webhookID, EventID: eventID, EventType: "checkout.completed", Attempt: 1, At: now,
			Status: 200, Outcome: codex.AttemptSucceeded}}, "", nil
	}
	s.GetWebhookDeliveryFn = func(_ context.Context, endpoint, id string) (codex.WebhookDelivery, error) {
		if endpoint == webhookID && id == eventID {
			return codex.WebhookDelivery{EndpointID: webhookID, EventID: eventID, EventType: "checkout.completed", EventJSON: "{}"}, nil
		}
		return codex.WebhookDelivery{}, codex.NotFound("delivery")
	}
	s.RecordWebhookAttemptFn = func(context.Context, codex.WebhookAttempt, codex.WebhookDelivery) error { return nil }
	return s
}

// accepting is the receiver of the delivery function's event: it answers 200 to everything.
type accepting struct{}

func (accepting) Send(context.Context, string, map[string]string, []byte) webhook.Result {
	return webhook.Result{Status: 200}
}

// fileName is a function's event file name: its directory under functions/, its logical id
// without "Function" in kebab case (CreateKeyFunction: create-key).
func fileName(id string) string {
	var b strings.Builder
	for i, r := range strings.TrimSuffix(id, "Function") {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// invoke runs payload through f's handler as Lambda's Go runtime does (JSON in, JSON out).
func invoke(t *testing.T, f registry.Function, s store, payload []byte) ([]byte, error) {
	t.Helper()
	// GitHub's secret scanning event is the example of its partner documentation, signed with the
	// documented key.
	github, err := secretscan.ParsePublicKey(secretscan.GitHubExample.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	d := registry.Deps{Store: s, Now: func() time.Time { return now }, PageURL: "https://checkout.codex.example/c",
		Log:        slog.New(slog.DiscardHandler),
		GitHubKeys: secretscan.StaticKeySet(map[string]*ecdsa.PublicKey{secretscan.GitHubExample.KeyID: github}),
		Sealer:     codextest.Sealer{}, Poster: accepting{},
		Queue: &codextest.Queue{SendFn: func(context.Context, webhook.Message, time.Duration) error { return nil }}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return lambda.NewHandler(f.Handler(d)).Invoke(ctx, payload)
}

type expectation struct {
	Status *int            `json:"status"`
	Result json.RawMessage `json:"result"`
}

// TestEveryFunctionHasAnEvent runs every function's event through its handler and checks what
// is written beside it.
func TestEveryFunctionHasAnEvent(t *testing.T) {
	known := map[string]bool{}
	for _, f := range registry.All() {
		name := fileName(f.ID)
		known[name+".json"], known[name+".expect.json"] = true, true
		t.Run(f.ID, func(t *testing.T) {
			payload, err := os.ReadFile(name + ".json")
			if err != nil {
				t.Fatalf("%s has no event: add events/%s.json and events/%s.expect.json (%v)", f.ID, name, name, err)
			}
			b, err := os.ReadFile(name + ".expect.json")
			if err != nil {
				t.Fatalf("%s: events/%s.json has nothing beside it saying what it answers: add events/%s.expect.json", f.ID, name, name)
			}
			var want expectation
			if err := json.Unmarshal(b, &want); err != nil || (want.Status == nil) == (want.Result == nil) {
				t.Fatalf("events/%s.expect.json must be {\"status\": N} or {\"result\": ...} (%v)", name, err)
			}
			if want.Status != nil && f.RouteKey == "" || want.Result != nil && f.RouteKey != "" {
				t.Fatalf("events/%s.expect.json: status is for routes, result for other functions", name)
			}
			out, err := invoke(t, f, world(), payload)
			if err != nil {
				t.Fatalf("%s returned an error: %v", f.ID, err)
			}
			if want.Result != nil {
				if !jsonEqual(t, out, want.Result) {
					t.Errorf("%s answered %s, want %s", f.ID, out, want.Result)
				}
				return
			}
			var req api.Request
			if err := json.Unmarshal(payload, &req); err != nil {
				t.Fatal(err)
			}
			if req.RouteKey != f.RouteKey || req.RequestContext.RouteKey != f.RouteKey {
				t.Errorf("events/%s.json is for route %q (requestContext %q), the function serves %q", name, req.RouteKey, req.RequestContext.RouteKey, f.RouteKey)
			}
			var resp api.Response
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("%s answered %s: %v", f.ID, out, err)
			}
			if resp.StatusCode != *want.Status {
				// Only an error's body: a success may hold a new key's secret.
				body := ""
				if resp.StatusCode >= 400 {
					body = resp.Body
				}
				t.Errorf("%s answered %d %s, want %d", f.ID, resp.StatusCode, body, *want.Status)
			}
		})
	}
	files, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if !known[file] {
			t.Errorf("events/%s belongs to no function of the registry: remove or rename it", file)
		}
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return fmt.Sprint(x) == fmt.Sprint(y)
}

// TestDashboardRoutesWithoutClaims: sam local start-api mounts the JWT-authorized routes with no
// authorizer (aws-sam-cli#5209, #6550), so their requests carry no claims. Each dashboard route,
// sent its event without requestContext.authorizer, answers 401 in the error envelope, before it
// touches the store (any store call here panics, which would be a 500).
func TestDashboardRoutesWithoutClaims(t *testing.T) {
	tpl, err := samtemplate.Load("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dashboard := map[string]bool{}
	for _, r := range tpl.Routes() {
		if a := tpl.HTTPAPIs[r.API].Authorizers[r.Authorizer]; a != nil && a.JWT != nil {
			dashboard[r.Function] = true
		}
	}
	if len(dashboard) == 0 {
		t.Fatal("template.yaml has no JWT-authorized route")
	}
	for _, id := range slices.Sorted(maps.Keys(dashboard)) {
		t.Run(id, func(t *testing.T) {
			f, ok := registry.Lookup(id)
			if !ok {
				t.Fatalf("%s is not in the registry", id)
			}
			payload, err := os.ReadFile(fileName(id) + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var event map[string]any
			if err := json.Unmarshal(payload, &event); err != nil {
				t.Fatal(err)
			}
			rc, _ := event["requestContext"].(map[string]any)
			if rc["authorizer"] == nil {
				t.Fatalf("events/%s.json carries no JWT claims to remove", fileName(id))
			}
			delete(rc, "authorizer")
			payload, _ = json.Marshal(event)

			out, err := invoke(t, f, emptyStore(), payload)
			if err != nil {
				t.Fatalf("returned an error: %v", err)
			}
			var resp api.Response
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			var body struct {
				Error struct {
					Type, Code, Message string
				} `json:"error"`
				RequestID string `json:"request_id"`
			}
			dec := json.NewDecoder(bytes.NewReader([]byte(resp.Body)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil {
				t.Fatalf("answered %d %q, not the error envelope: %v", resp.StatusCode, resp.Body, err)
			}
			if resp.StatusCode != 401 || body.Error.Type != "authentication_error" || body.Error.Code == "" || body.Error.Message == "" ||
				body.RequestID != "EXAMPLEreqid=" {
				t.Errorf("answered %d %s, want 401 with an authentication_error envelope", resp.StatusCode, resp.Body)
			}
		})
	}
}
