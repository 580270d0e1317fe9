package codextest

import (
	"context"
	"errors"
	"time"

	"codex/pkg/codex"
	"codex/pkg/webhook"
)

var (
	_ codex.WebhookStore = (*WebhookStore)(nil)
	_ codex.Sealer       = Sealer{}
	_ webhook.Queue      = (*Queue)(nil)
)

// WebhookStore is a fake codex.WebhookStore.
type WebhookStore struct {
	CreateWebhookFn        func(ctx context.Context, e codex.WebhookEndpoint) error
	GetWebhookFn           func(ctx context.Context, projectID, id string) (codex.WebhookEndpoint, error)
	ListWebhooksFn         func(ctx context.Context, projectID string) ([]codex.WebhookEndpoint, error)
	UpdateWebhookFn        func(ctx context.Context, projectID, id string, c codex.WebhookChanges) (codex.WebhookEndpoint, error)
	DeleteWebhookFn        func(ctx context.Context, projectID, id string) error
	RotateWebhookSecretFn  func(ctx context.Context, projectID, id string, current, next []byte, until, at time.Time) error
	RecordWebhookAttemptFn func(ctx context.Context, a codex.WebhookAttempt, d codex.WebhookDelivery) error
	ListWebhookAttemptsFn  func(ctx context.Context, endpointID string, limit int, cursor string) ([]codex.WebhookAttempt, string, error)
	GetWebhookDeliveryFn   func(ctx context.Context, endpointID, eventID string) (codex.WebhookDelivery, error)
	WebhookFailedFn        func(ctx context.Context, projectID, id string, at time.Time) (time.Time, error)
	WebhookSucceededFn     func(ctx context.Context, projectID, id string) error
}

func (s *WebhookStore) CreateWebhook(ctx context.Context, e codex.WebhookEndpoint) error {
	return s.CreateWebhookFn(ctx, e)
}

func (s *WebhookStore) GetWebhook(ctx context.Context, projectID, id string) (codex.WebhookEndpoint, error) {
	return s.GetWebhookFn(ctx, projectID, id)
}

func (s *WebhookStore) ListWebhooks(ctx context.Context, projectID string) ([]codex.WebhookEndpoint, error) {
	return s.ListWebhooksFn(ctx, projectID)
}

func (s *WebhookStore) UpdateWebhook(ctx context.Context, projectID, id string, c codex.WebhookChanges) (codex.WebhookEndpoint, error) {
	return s.UpdateWebhookFn(ctx, projectID, id, c)
}

func (s *WebhookStore) DeleteWebhook(ctx context.Context, projectID, id string) error {
	return s.DeleteWebhookFn(ctx, projectID, id)
}

func (s *WebhookStore) RotateWebhookSecret(ctx context.Context, projectID, id string, current, next []byte, until, at time.Time) error {
	return s.RotateWebhookSecretFn(ctx, projectID, id, current, next, until, at)
}

func (s *WebhookStore) RecordWebhookAttempt(ctx context.Context, a codex.WebhookAttempt, d codex.WebhookDelivery) error {
	return s.RecordWebhookAttemptFn(ctx, a, d)
}

func (s *WebhookStore) ListWebhookAttempts(ctx context.Context, endpointID string, limit int, cursor string) ([]codex.WebhookAttempt, string, error) {
	return s.ListWebhookAttemptsFn(ctx, endpointID, limit, cursor)
}

func (s *WebhookStore) GetWebhookDelivery(ctx context.Context, endpointID, eventID string) (codex.WebhookDelivery, error) {
	return s.GetWebhookDeliveryFn(ctx, endpointID, eventID)
}

func (s *WebhookStore) WebhookFailed(ctx context.Context, projectID, id string, at time.Time) (time.Time, error) {
	return s.WebhookFailedFn(ctx, projectID, id, at)
}

func (s *WebhookStore) WebhookSucceeded(ctx context.Context, projectID, id string) error {
	return s.WebhookSucceededFn(ctx, projectID, id)
}

// Sealer is a stand-in for KMS that keeps KMS's one property tests rely on: a key sealed for
// one endpoint does not open for another. It is not encryption: tests only.
type Sealer struct{}

func (Sealer) Seal(_ context.Context, projectID, endpointID string, key []byte) ([]byte, error) {
	return append([]byte("sealed:"+projectID+"/"+endpointID+":"), key...), nil
}

func (Sealer) Open(_ context.Context, projectID, endpointID string, sealed []byte) ([]byte, error) {
	prefix := "sealed:" + projectID + "/" + endpointID + ":"
	if len(sealed) < len(prefix) || string(sealed[:len(prefix)]) != prefix {
		return nil, errors.New("sealed for another endpoint")
	}
	return sealed[len(prefix):], nil
}

// Queue is a fake webhook.Queue.
type Queue struct {
	SendFn func(ctx context.Context, m webhook.Message, delay time.Duration) error
}

func (q *Queue) Send(ctx context.Context, m webhook.Message, delay time.Duration) error {
	return q.SendFn(ctx, m, delay)
}
