package api

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"time"

	"codex/pkg/codex"
)

// eventView is an event on the wire, in the documented field order. It is rendered once, when the
// change it records is made, and stored as bytes: GET /v1/events and every webhook delivery show
// those bytes, so a receiver can compare what it was sent with what the API says.
type eventView struct {
	ID        string    `json:"id"`
	Object    string    `json:"object"`
	Type      string    `json:"type"`
	CreatedAt string    `json:"created_at"`
	Livemode  bool      `json:"livemode"`
	Data      eventData `json:"data"`
}

type eventData struct {
	Object any `json:"object"`
}

// Event builds the event of type typ that records c's change at now: data.object is c as GET
// /v1/checkouts/{id} shows it at that moment. Every status change of a checkout calls it with the
// checkout as it will be after the change, and hands the event to the store method that makes the
// change, which writes both in one transaction (pkg/dynamo, events.go).
func (h Checkouts) Event(typ codex.EventType, c codex.Checkout, now time.Time) (codex.Event, error) {
	now = now.UTC().Truncate(time.Millisecond)
	ev := codex.Event{ID: codex.NewID(codex.EventIDPrefix), ProjectID: c.ProjectID, Type: typ, CreatedAt: now}
	b, err := encodeJSON(eventView{
		ID: ev.ID, Object: "event", Type: string(typ), CreatedAt: codex.FormatTime(now),
		Data: eventData{Object: h.view(c, now)},
	})
	if err != nil {
		return codex.Event{}, err
	}
	ev.JSON = b
	return ev, ev.Check()
}

// Events holds what the event routes share.
type Events struct {
	Store codex.EventStore
	Now   codex.Clock
}

// GetEvent is GET /v1/events/{event_id}.
type GetEvent struct{ Events }

func (h GetEvent) Serve(ctx context.Context, req *Request) (Response, error) {
	p, err := Principal(req)
	if err != nil {
		return Response{}, err
	}
	id := req.PathParameters["event_id"]
	if !codex.ValidID(codex.EventIDPrefix, id) {
		return Response{}, codex.NotFound("event")
	}
	ev, err := h.Store.GetEvent(ctx, p.ProjectID, id, h.Now())
	if err != nil {
		return Response{}, err
	}
	// The stored bytes as they are: the very body the webhooks sign.
	return Response{StatusCode: http.StatusOK, Headers: map[string]string{"content-type": "application/json"}, Body: string(ev.JSON)}, nil
}

// ListEvents is GET /v1/events?limit=&starting_after=&type=: a project's events of the last 30
// days, newest first, paginated exactly as GET /v1/checkouts.
type ListEvents struct{ Events }

func (h ListEvents) Serve(ctx context.Context, req *Request) (Response, error) {
	p, err := Principal(req)
	if err != nil {
		return Response{}, err
	}
	return h.list(ctx, p.ProjectID, req)
}

// ListProjectEvents is GET /projects/{project_id}/events?limit=&starting_after=&type=: the same
// list for a member of the project, with a Cognito token (the dashboard's Events tab).
type ListProjectEvents struct {
	Events
	Projects codex.ProjectStore
}

func (h ListProjectEvents) Serve(ctx context.Context, req *Request) (Response, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	return h.list(ctx, m.Project.ID, req)
}

// list answers a page of project's events, newest first.
func (h Events) list(ctx context.Context, project string, req *Request) (Response, error) {
	limit, after, typ, err := eventListParams(req.QueryStringParameters)
	if err != nil {
		return Response{}, err
	}
	events, hasMore, err := h.Store.ListEvents(ctx, project, typ, limit, after, h.Now())
	if codex.IsNotFound(err) && after != "" {
		// Another project's event is answered exactly like one that does not exist.
		return Response{}, codex.Invalid("starting_after", "no such event: %s", after)
	}
	if err != nil {
		return Response{}, err
	}
	out := Page[json.RawMessage]{Data: make([]json.RawMessage, 0, len(events)), HasMore: hasMore}
	size := 0
	for i, ev := range events {
		// Counted as Lambda's response payload carries it, as in ListCheckouts.
		inPayload, err := json.Marshal(string(ev.JSON))
		if err != nil {
			return Response{}, err
		}
		if size += len(inPayload) - 1; size > MaxPageBytes && i > 0 {
			out.HasMore = true
			break
		}
		out.Data = append(out.Data, ev.JSON)
	}
	return JSON(http.StatusOK, out), nil
}

// eventListParams reads limit and starting_after as listParams does for checkouts, and type, one of
// the event types.
func eventListParams(q map[string]string) (limit int, after string, typ codex.EventType, err error) {
	rest := maps.Clone(q)
	delete(rest, "type")
	delete(rest, "starting_after")
	if limit, _, err = listParams(rest); err != nil {
		return 0, "", "", err
	}
	if s, ok := q["starting_after"]; ok {
		if !codex.ValidID(codex.EventIDPrefix, s) {
			return 0, "", "", codex.Invalid("starting_after", "starting_after must be an event id (evt_...)")
		}
		after = s
	}
	if s, ok := q["type"]; ok {
		if typ = codex.EventType(s); !typ.Known() {
			names := make([]string, len(codex.EventTypes))
			for i, t := range codex.EventTypes {
				names[i] = string(t)
			}
			return 0, "", "", codex.Invalid("type", "type must be one of %s", strings.Join(names, ", "))
		}
	}
	return limit, after, typ, nil
}
