package codex

import (
	"context"
	"errors"
	"slices"
	"time"
)

// EventIDPrefix starts every event id. A receiver deduplicates deliveries by it (it is the
// webhook-id header), so it is as unguessable as any other id.
const EventIDPrefix = "evt_"

// EventType names what happened. Types are part of the API contract: merchants subscribe to them.
type EventType string

// Event types.
const (
	EventCheckoutCreated       EventType = "checkout.created"
	EventCheckoutCompleted     EventType = "checkout.completed"
	EventCheckoutPaymentFailed EventType = "checkout.payment_failed"
	EventCheckoutExpired       EventType = "checkout.expired"
)

// EventTypes lists every event type, in the documented order.
var EventTypes = []EventType{EventCheckoutCreated, EventCheckoutCompleted, EventCheckoutPaymentFailed, EventCheckoutExpired}

// Known reports whether t is one of EventTypes.
func (t EventType) Known() bool { return slices.Contains(EventTypes, t) }

// EventRetention is how long an event is kept: GET /v1/events shows nothing older, and DynamoDB's
// TTL deletes it some time after.
const EventRetention = 30 * 24 * time.Hour

// Event is one state change of a project's object, written in the same transaction as the change
// (an outbox): there is never a change without its event nor an event without its change.
type Event struct {
	ID        string
	ProjectID string
	Type      EventType
	CreatedAt time.Time
	// JSON is the event object exactly as the API shows it and webhooks send it:
	// {"id","object":"event","type","created_at","livemode":false,"data":{"object":{...}}}. It is
	// rendered once, when the change is made, so every reader sees the same bytes.
	JSON []byte
}

// ExpiresAt is when the event stops being listed.
func (e Event) ExpiresAt() time.Time { return e.CreatedAt.Add(EventRetention) }

// Check reports an event that must not be stored: one without id, project, known type, time or
// body. Stores call it before writing, so a change can never commit with a half-built event.
func (e Event) Check() error {
	switch {
	case !ValidID(EventIDPrefix, e.ID):
		return errors.New("event has no valid id")
	case e.ProjectID == "":
		return errors.New("event " + e.ID + " has no project")
	case !e.Type.Known():
		return errors.New("event " + e.ID + " has unknown type " + string(e.Type))
	case e.CreatedAt.IsZero():
		return errors.New("event " + e.ID + " has no time")
	case len(e.JSON) == 0:
		return errors.New("event " + e.ID + " has no body")
	}
	return nil
}

// EventStore reads a project's events. Events are written only with the change they record (see
// CheckoutStore), never on their own.
type EventStore interface {
	// GetEvent returns a project's event; NotFound if there is none with that id in that project or
	// it is older than EventRetention as of now.
	GetEvent(ctx context.Context, projectID, id string, now time.Time) (Event, error)
	// ListEvents returns up to limit of a project's events, newest first, of type typ ("" for all),
	// starting after the event startingAfter ("" for the first page), and whether more follow.
	// Events older than EventRetention as of now are left out. A startingAfter that is not an event
	// of the project gives NotFound.
	ListEvents(ctx context.Context, projectID string, typ EventType, limit int, startingAfter string, now time.Time) (page []Event, hasMore bool, err error)
}
