package dynamo

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"codex/pkg/codex"
)

func newWebhook(t *testing.T, s *Store, projectID string, at time.Time) codex.WebhookEndpoint {
	t.Helper()
	e := codex.WebhookEndpoint{
		ID: codex.NewID(codex.WebhookIDPrefix), ProjectID: projectID, URL: "https://shop.example.com/hooks",
		Events: []string{"checkout.completed"}, Description: "orders", CreatedAt: at, UpdatedAt: at,
		Secret: []byte("sealed-1"),
	}
	if err := s.CreateWebhook(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestWebhookEndpoints(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	p := newProject(t, s, "user-a", "Shop", t0)
	other := newProject(t, s, "user-b", "Other", t0)
	older := newWebhook(t, s, p.ID, t0)
	newer := newWebhook(t, s, p.ID, t0.Add(time.Second))
	newWebhook(t, s, other.ID, t0)

	list, err := s.ListWebhooks(ctx, p.ID)
	if err != nil || len(list) != 2 || list[0].ID != newer.ID || list[1].ID != older.ID {
		t.Fatalf("ListWebhooks = %+v, %v", list, err)
	}
	got, err := s.GetWebhook(ctx, p.ID, older.ID)
	if err != nil || got.URL != older.URL || !bytes.Equal(got.Secret, []byte("sealed-1")) || got.Events[0] != "checkout.completed" {
		t.Fatalf("GetWebhook = %+v, %v", got, err)
	}
	if _, err := s.GetWebhook(ctx, other.ID, older.ID); !codex.IsNotFound(err) {
		t.Fatalf("another project's endpoint: %v", err)
	}

	// Failing, then disabled with a reason, then enabled again: a fresh start.
	since, err := s.WebhookFailed(ctx, p.ID, older.ID, t0.Add(time.Hour))
	if err != nil || !since.Equal(t0.Add(time.Hour)) {
		t.Fatalf("WebhookFailed = %v, %v", since, err)
	}
	if since, _ = s.WebhookFailed(ctx, p.ID, older.ID, t0.Add(2*time.Hour)); !since.Equal(t0.Add(time.Hour)) {
		t.Fatalf("a second failure moved failing_since to %v", since)
	}
	yes, no := true, false
	e, err := s.UpdateWebhook(ctx, p.ID, older.ID, codex.WebhookChanges{Disabled: &yes, DisabledReason: codex.DisabledFailing, At: t0.Add(3 * time.Hour)})
	if err != nil || !e.Disabled || e.DisabledReason != codex.DisabledFailing || e.FailingSince.IsZero() {
		t.Fatalf("disable: %+v, %v", e, err)
	}
	url := "https://shop.example.com/v2"
	e, err = s.UpdateWebhook(ctx, p.ID, older.ID, codex.WebhookChanges{Disabled: &no, URL: &url, Events: []string{"*"}, At: t0.Add(4 * time.Hour)})
	if err != nil || e.Disabled || e.DisabledReason != "" || !e.FailingSince.IsZero() || e.URL != url || e.Events[0] != "*" ||
		!e.UpdatedAt.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("enable: %+v, %v", e, err)
	}
	if _, err := s.UpdateWebhook(ctx, other.ID, older.ID, codex.WebhookChanges{URL: &url, At: t0}); !codex.IsNotFound(err) {
		t.Fatalf("update through another project: %v", err)
	}

	// Rotation is conditional on the key the caller read.
	until := t0.Add(24 * time.Hour)
	if err := s.RotateWebhookSecret(ctx, p.ID, older.ID, []byte("sealed-1"), []byte("sealed-2"), until, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateWebhookSecret(ctx, p.ID, older.ID, []byte("sealed-1"), []byte("sealed-3"), until, t0); !codex.IsNotFound(err) {
		t.Fatalf("a rotation from a stale key: %v", err)
	}
	got, _ = s.GetWebhook(ctx, p.ID, older.ID)
	if keys := got.SealedSecrets(t0); len(keys) != 2 || string(keys[0]) != "sealed-2" || string(keys[1]) != "sealed-1" {
		t.Fatalf("during the overlap: %q", keys)
	}
	if keys := got.SealedSecrets(until); len(keys) != 1 || string(keys[0]) != "sealed-2" {
		t.Fatalf("after the overlap: %q", keys)
	}

	if err := s.DeleteWebhook(ctx, p.ID, older.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, p.ID, older.ID); !codex.IsNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.WebhookFailed(ctx, p.ID, older.ID, t0); !codex.IsNotFound(err) {
		t.Fatalf("WebhookFailed on a deleted endpoint: %v", err)
	}
}

func TestWebhookAttemptsNewestFirst(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	ep := codex.NewID(codex.WebhookIDPrefix)
	for i := range 5 {
		a := codex.WebhookAttempt{EndpointID: ep, EventID: fmt.Sprintf("evt_%d", i), EventType: "checkout.created", Attempt: 1,
			At: t0.Add(time.Duration(i) * time.Minute), Status: 500, Latency: 12 * time.Millisecond, ResponseBody: "boom",
			NextRetryAt: t0.Add(time.Hour), Outcome: codex.AttemptRetrying}
		d := codex.WebhookDelivery{EndpointID: ep, EventID: a.EventID, EventType: a.EventType, EventJSON: `{"id":"` + a.EventID + `"}`}
		if err := s.RecordWebhookAttempt(ctx, a, d); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		as, next, err := s.ListWebhookAttempts(ctx, ep, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			seen = append(seen, a.EventID)
			if a.Status != 500 || a.Latency != 12*time.Millisecond || a.ResponseBody != "boom" || !a.NextRetryAt.Equal(t0.Add(time.Hour)) {
				t.Fatalf("attempt read back as %+v", a)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(seen) != "[evt_4 evt_3 evt_2 evt_1 evt_0]" {
		t.Fatalf("attempts in order %v", seen)
	}
	if _, _, err := s.ListWebhookAttempts(ctx, ep, 2, "bm90LWEtY3Vyc29y"); codex.ErrorCode(err) != codex.CodeParameterInvalid {
		t.Fatalf("a forged cursor: %v", err)
	}
	d, err := s.GetWebhookDelivery(ctx, ep, "evt_3")
	if err != nil || d.EventJSON != `{"id":"evt_3"}` {
		t.Fatalf("GetWebhookDelivery = %+v, %v", d, err)
	}
	if _, err := s.GetWebhookDelivery(ctx, ep, "evt_9"); !codex.IsNotFound(err) {
		t.Fatalf("an event never sent: %v", err)
	}
}
