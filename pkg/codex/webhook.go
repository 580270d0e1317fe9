package codex

import (
	"context"
	"slices"
	"time"
)

// WebhookIDPrefix starts every webhook endpoint id.
const WebhookIDPrefix = "we_"

// WebhookEventTypes are the event types an endpoint can subscribe to; "*" subscribes to all, and
// the test route sends "ping", which no subscription names.
var WebhookEventTypes = []string{"checkout.created", "checkout.completed", "checkout.payment_failed", "checkout.expired"}

// WebhookAllEvents subscribes an endpoint to every event type, present and future.
const WebhookAllEvents = "*"

// MaxWebhooksPerProject bounds a project's endpoints: each event is sent to every one of them.
const MaxWebhooksPerProject = 16

// MaxWebhookDescription is the longest description, in characters.
const MaxWebhookDescription = 200

// Why an endpoint was disabled, as the dashboard API shows it.
const (
	DisabledByUser    = "disabled in the dashboard"
	DisabledGone      = "the endpoint answered 410 Gone"
	DisabledFailing   = "every delivery failed for 5 days"
	WebhookFailingFor = 5 * 24 * time.Hour
)

// WebhookRotationOverlap is how long the previous secret keeps signing after a rotation, so the
// merchant can deploy the new one without losing a delivery.
const WebhookRotationOverlap = 24 * time.Hour

// WebhookEndpoint is a merchant's receiver of events. Its signing keys are kept sealed (encrypted
// by a KMS key of the stack, bound to the endpoint): the plaintext exists only in the response
// that creates or rotates it and, briefly, in the delivery function's memory.
type WebhookEndpoint struct {
	ID          string
	ProjectID   string
	URL         string
	Events      []string
	Description string
	Disabled    bool
	// DisabledReason says why (one of the Disabled* constants); "" when enabled.
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// Secret is the current signing key, sealed. PreviousSecret (sealed) signs too until
	// PreviousUntil, after a rotation.
	Secret         []byte
	PreviousSecret []byte
	PreviousUntil  time.Time
	// FailingSince is the time of the first failed attempt since the last success; zero when the
	// last attempt succeeded.
	FailingSince time.Time
}

// Subscribed reports whether the endpoint wants events of type t.
func (e WebhookEndpoint) Subscribed(t string) bool {
	return slices.Contains(e.Events, WebhookAllEvents) || slices.Contains(e.Events, t)
}

// SealedSecrets are the sealed keys that sign a delivery at now: the current one, and the
// previous one during the rotation overlap.
func (e WebhookEndpoint) SealedSecrets(now time.Time) [][]byte {
	keys := [][]byte{e.Secret}
	if len(e.PreviousSecret) > 0 && now.Before(e.PreviousUntil) {
		keys = append(keys, e.PreviousSecret)
	}
	return keys
}

// ValidateWebhookEvents checks a subscription: known types without repeats, or ["*"] alone.
func ValidateWebhookEvents(param string, events []string) ([]string, error) {
	if len(events) == 0 {
		return nil, Invalid(param, `%s must list event types, or be ["*"] for all of them`, param)
	}
	seen := map[string]bool{}
	for _, e := range events {
		switch {
		case e == WebhookAllEvents && len(events) > 1:
			return nil, Invalid(param, `"*" subscribes to every event type and must be alone`)
		case e != WebhookAllEvents && !slices.Contains(WebhookEventTypes, e):
			return nil, Invalid(param, "unknown event type %q; known types: %v", Truncate(e, 64), WebhookEventTypes)
		case seen[e]:
			return nil, Invalid(param, "event type %q is listed twice", e)
		}
		seen[e] = true
	}
	return slices.Clone(events), nil
}

// ValidateWebhookDescription checks an optional description; "" is allowed.
func ValidateWebhookDescription(param, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	return ValidateLabel(param, s, MaxWebhookDescription)
}

// WebhookAttempt is one attempt to deliver an event to an endpoint.
type WebhookAttempt struct {
	EndpointID string
	EventID    string
	EventType  string
	Attempt    int
	At         time.Time
	// Status is the response's HTTP status, 0 when there was no response (Error says why).
	Status       int
	Latency      time.Duration
	ResponseBody string // the first KB
	Error        string
	// NextRetryAt is when the next attempt is due; zero when there is none.
	NextRetryAt time.Time
	// Outcome is "succeeded", "retrying" or "failed" (no attempt left, or none allowed).
	Outcome string
}

// Attempt outcomes.
const (
	AttemptSucceeded = "succeeded"
	AttemptRetrying  = "retrying"
	AttemptFailed    = "failed"
)

// WebhookDelivery is what redelivery needs of an event sent to an endpoint: the exact bytes.
type WebhookDelivery struct {
	EndpointID string
	EventID    string
	EventType  string
	EventJSON  string
}

// WebhookChanges are the fields a PATCH sets; nil leaves a field as it is.
type WebhookChanges struct {
	URL         *string
	Events      []string
	Description *string
	Disabled    *bool
	// DisabledReason goes with Disabled.
	DisabledReason string
	At             time.Time
}

// WebhookStore keeps endpoints and their deliveries.
type WebhookStore interface {
	// CreateWebhook stores a new endpoint; Invalid("url") when the project has
	// MaxWebhooksPerProject already.
	CreateWebhook(ctx context.Context, e WebhookEndpoint) error
	// GetWebhook returns an endpoint of projectID; NotFound otherwise.
	GetWebhook(ctx context.Context, projectID, id string) (WebhookEndpoint, error)
	// ListWebhooks returns a project's endpoints, newest first.
	ListWebhooks(ctx context.Context, projectID string) ([]WebhookEndpoint, error)
	// UpdateWebhook applies c and returns the endpoint as it now is; NotFound if it is gone.
	UpdateWebhook(ctx context.Context, projectID, id string, c WebhookChanges) (WebhookEndpoint, error)
	// DeleteWebhook removes an endpoint; NotFound if there is none.
	DeleteWebhook(ctx context.Context, projectID, id string) error
	// RotateWebhookSecret makes next the current key and the current one the previous until
	// until; NotFound if the endpoint is gone, or its current key is no longer current (a
	// concurrent rotation won).
	RotateWebhookSecret(ctx context.Context, projectID, id string, current, next []byte, until, at time.Time) error

	// RecordWebhookAttempt stores an attempt and the event it carried (for redelivery).
	RecordWebhookAttempt(ctx context.Context, a WebhookAttempt, d WebhookDelivery) error
	// ListWebhookAttempts returns an endpoint's attempts newest first, at most limit, and the
	// cursor of the next page ("" when there is none).
	ListWebhookAttempts(ctx context.Context, endpointID string, limit int, cursor string) ([]WebhookAttempt, string, error)
	// GetWebhookDelivery returns the event an endpoint was sent; NotFound if it never was.
	GetWebhookDelivery(ctx context.Context, endpointID, eventID string) (WebhookDelivery, error)
	// WebhookFailed notes a failed attempt at `at` and returns since when the endpoint has been
	// failing (at, if this is the first failure since a success).
	WebhookFailed(ctx context.Context, projectID, id string, at time.Time) (time.Time, error)
	// WebhookSucceeded clears the failing state.
	WebhookSucceeded(ctx context.Context, projectID, id string) error
}

// Sealer encrypts signing keys for storage, bound to the endpoint they belong to: a sealed key
// copied onto another endpoint's item does not open.
type Sealer interface {
	Seal(ctx context.Context, projectID, endpointID string, key []byte) ([]byte, error)
	Open(ctx context.Context, projectID, endpointID string, sealed []byte) ([]byte, error)
}
