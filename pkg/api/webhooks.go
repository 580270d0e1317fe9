package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"codex/pkg/codex"
	"codex/pkg/webhook"
)

// webhookView is an endpoint on the wire. Secret is set only in the responses that create the
// endpoint or rotate its secret: the only moments the plaintext leaves the delivery function.
type webhookView struct {
	ID                 string   `json:"id"`
	URL                string   `json:"url"`
	Events             []string `json:"events"`
	Description        string   `json:"description"`
	Disabled           bool     `json:"disabled"`
	DisabledReason     *string  `json:"disabled_reason"`
	FailingSince       *string  `json:"failing_since"`
	PreviousSecretEnds *string  `json:"previous_secret_expires_at"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          string   `json:"updated_at"`
	Secret             string   `json:"secret,omitempty"`
}

func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := codex.FormatTime(t)
	return &s
}

func viewWebhook(e codex.WebhookEndpoint, now time.Time) webhookView {
	v := webhookView{
		ID: e.ID, URL: e.URL, Events: e.Events, Description: e.Description, Disabled: e.Disabled,
		FailingSince: optTime(e.FailingSince), CreatedAt: codex.FormatTime(e.CreatedAt), UpdatedAt: codex.FormatTime(e.UpdatedAt),
	}
	if e.Disabled && e.DisabledReason != "" {
		v.DisabledReason = &e.DisabledReason
	}
	if len(e.PreviousSecret) > 0 && now.Before(e.PreviousUntil) {
		v.PreviousSecretEnds = optTime(e.PreviousUntil)
	}
	return v
}

// Webhooks are the dependencies of the webhook endpoint routes.
type Webhooks struct {
	Projects codex.ProjectStore
	Store    codex.WebhookStore
	Sealer   codex.Sealer
	Queue    webhook.Queue
	Now      codex.Clock
	// AllowLoopback accepts loopback URLs (make dev only; see webhook.SenderOptions).
	AllowLoopback bool
}

// endpoint finds the caller's project and its endpoint named by the path.
func (h Webhooks) endpoint(ctx context.Context, req *Request) (codex.Membership, codex.WebhookEndpoint, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return m, codex.WebhookEndpoint{}, err
	}
	id := req.PathParameters["webhook_id"]
	if !codex.ValidID(codex.WebhookIDPrefix, id) {
		return m, codex.WebhookEndpoint{}, codex.NotFound("webhook endpoint")
	}
	e, err := h.Store.GetWebhook(ctx, m.Project.ID, id)
	return m, e, err
}

func checkWebhookURL(raw string, allowLoopback bool) error {
	if raw == "" {
		return codex.Missing("url")
	}
	if err := webhook.CheckURL(raw, allowLoopback); err != nil {
		return codex.Invalid("url", "%s", err.Error())
	}
	return nil
}

// secretResponse is the one response that holds a secret: no cache may keep it.
func secretResponse(status int, v webhookView) Response {
	return withHeader(JSON(status, v), "cache-control", "no-store")
}

// CreateWebhook is POST /projects/{project_id}/webhooks.
type CreateWebhook struct{ Webhooks }

type createWebhookBody struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
}

func (h CreateWebhook) Serve(ctx context.Context, req *Request) (Response, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	var body createWebhookBody
	if err := DecodeJSON(req, &body); err != nil {
		return Response{}, err
	}
	if err := checkWebhookURL(body.URL, h.AllowLoopback); err != nil {
		return Response{}, err
	}
	events, err := codex.ValidateWebhookEvents("events", body.Events)
	if err != nil {
		return Response{}, err
	}
	desc, err := codex.ValidateWebhookDescription("description", body.Description)
	if err != nil {
		return Response{}, err
	}
	existing, err := h.Store.ListWebhooks(ctx, m.Project.ID)
	if err != nil {
		return Response{}, err
	}
	if len(existing) >= codex.MaxWebhooksPerProject {
		return Response{}, codex.Invalid("url", "a project has at most %d webhook endpoints; delete one first", codex.MaxWebhooksPerProject)
	}
	now := h.Now().UTC().Truncate(time.Millisecond)
	e := codex.WebhookEndpoint{
		ID: codex.NewID(codex.WebhookIDPrefix), ProjectID: m.Project.ID, URL: body.URL, Events: events,
		Description: desc, CreatedAt: now, UpdatedAt: now,
	}
	key, text := webhook.NewSecret()
	if e.Secret, err = h.Sealer.Seal(ctx, e.ProjectID, e.ID, key); err != nil {
		return Response{}, err
	}
	if err := h.Store.CreateWebhook(ctx, e); err != nil {
		return Response{}, err
	}
	v := viewWebhook(e, now)
	v.Secret = text
	return secretResponse(http.StatusCreated, v), nil
}

// ListWebhooks is GET /projects/{project_id}/webhooks: never a secret.
type ListWebhooks struct{ Webhooks }

func (h ListWebhooks) Serve(ctx context.Context, req *Request) (Response, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	eps, err := h.Store.ListWebhooks(ctx, m.Project.ID)
	if err != nil {
		return Response{}, err
	}
	now := h.Now()
	out := List[webhookView]{Data: make([]webhookView, 0, len(eps))}
	for _, e := range eps {
		out.Data = append(out.Data, viewWebhook(e, now))
	}
	return JSON(http.StatusOK, out), nil
}

// GetWebhook is GET /projects/{project_id}/webhooks/{webhook_id}.
type GetWebhook struct{ Webhooks }

func (h GetWebhook) Serve(ctx context.Context, req *Request) (Response, error) {
	_, e, err := h.endpoint(ctx, req)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, viewWebhook(e, h.Now())), nil
}

// UpdateWebhook is PATCH /projects/{project_id}/webhooks/{webhook_id}: url, events, description,
// disabled; what is absent stays.
type UpdateWebhook struct{ Webhooks }

type updateWebhookBody struct {
	URL         *string  `json:"url"`
	Events      []string `json:"events"`
	Description *string  `json:"description"`
	Disabled    *bool    `json:"disabled"`
}

func (h UpdateWebhook) Serve(ctx context.Context, req *Request) (Response, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	id := req.PathParameters["webhook_id"]
	if !codex.ValidID(codex.WebhookIDPrefix, id) {
		return Response{}, codex.NotFound("webhook endpoint")
	}
	var body updateWebhookBody
	if err := DecodeJSON(req, &body); err != nil {
		return Response{}, err
	}
	c := codex.WebhookChanges{URL: body.URL, Disabled: body.Disabled, At: h.Now().UTC().Truncate(time.Millisecond)}
	if body.URL != nil {
		if err := checkWebhookURL(*body.URL, h.AllowLoopback); err != nil {
			return Response{}, err
		}
	}
	if body.Events != nil {
		if c.Events, err = codex.ValidateWebhookEvents("events", body.Events); err != nil {
			return Response{}, err
		}
	}
	if body.Description != nil {
		d, err := codex.ValidateWebhookDescription("description", *body.Description)
		if err != nil {
			return Response{}, err
		}
		c.Description = &d
	}
	if c.Disabled != nil && *c.Disabled {
		c.DisabledReason = codex.DisabledByUser
	}
	e, err := h.Store.UpdateWebhook(ctx, m.Project.ID, id, c)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, viewWebhook(e, c.At)), nil
}

// DeleteWebhook is DELETE /projects/{project_id}/webhooks/{webhook_id}.
type DeleteWebhook struct{ Webhooks }

func (h DeleteWebhook) Serve(ctx context.Context, req *Request) (Response, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	id := req.PathParameters["webhook_id"]
	if !codex.ValidID(codex.WebhookIDPrefix, id) {
		return Response{}, codex.NotFound("webhook endpoint")
	}
	if err := h.Store.DeleteWebhook(ctx, m.Project.ID, id); err != nil {
		return Response{}, err
	}
	return NoContent(), nil
}

// RotateWebhookSecret is POST /projects/{project_id}/webhooks/{webhook_id}/rotate-secret: a new
// secret, shown once; the previous one signs too for codex.WebhookRotationOverlap.
type RotateWebhookSecret struct{ Webhooks }

func (h RotateWebhookSecret) Serve(ctx context.Context, req *Request) (Response, error) {
	_, e, err := h.endpoint(ctx, req)
	if err != nil {
		return Response{}, err
	}
	now := h.Now().UTC().Truncate(time.Millisecond)
	key, text := webhook.NewSecret()
	sealed, err := h.Sealer.Seal(ctx, e.ProjectID, e.ID, key)
	if err != nil {
		return Response{}, err
	}
	until := now.Add(codex.WebhookRotationOverlap)
	if err := h.Store.RotateWebhookSecret(ctx, e.ProjectID, e.ID, e.Secret, sealed, until, now); err != nil {
		return Response{}, err
	}
	e.PreviousSecret, e.Secret, e.PreviousUntil, e.UpdatedAt = e.Secret, sealed, until, now
	v := viewWebhook(e, now)
	v.Secret = text
	return secretResponse(http.StatusOK, v), nil
}

// TestWebhook is POST /projects/{project_id}/webhooks/{webhook_id}/test: a ping event, to this
// endpoint only, one attempt; its outcome shows in the deliveries list.
type TestWebhook struct{ Webhooks }

type queuedView struct {
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	Status    string `json:"status"`
}

func (h TestWebhook) Serve(ctx context.Context, req *Request) (Response, error) {
	_, e, err := h.endpoint(ctx, req)
	if err != nil {
		return Response{}, err
	}
	id, body := webhook.NewPing(e.ID, h.Now())
	m := webhook.Message{ProjectID: e.ProjectID, EndpointID: e.ID, EventID: id, EventType: "ping", EventJSON: body, Attempt: 1, Once: true}
	if err := h.Queue.Send(ctx, m, 0); err != nil {
		return Response{}, err
	}
	return JSON(http.StatusAccepted, queuedView{EventID: id, EventType: "ping", Status: "queued"}), nil
}

// RedeliverWebhook is POST /projects/{project_id}/webhooks/{webhook_id}/deliveries/{event_id}/redeliver:
// the event as it was first sent (same id, same bytes), one attempt.
type RedeliverWebhook struct{ Webhooks }

func (h RedeliverWebhook) Serve(ctx context.Context, req *Request) (Response, error) {
	_, e, err := h.endpoint(ctx, req)
	if err != nil {
		return Response{}, err
	}
	eventID := req.PathParameters["event_id"]
	if !strings.HasPrefix(eventID, "evt_") || len(eventID) > 64 {
		return Response{}, codex.NotFound("delivery")
	}
	d, err := h.Store.GetWebhookDelivery(ctx, e.ID, eventID)
	if err != nil {
		return Response{}, err
	}
	m := webhook.Message{ProjectID: e.ProjectID, EndpointID: e.ID, EventID: d.EventID, EventType: d.EventType, EventJSON: d.EventJSON, Attempt: 1, Once: true}
	if err := h.Queue.Send(ctx, m, 0); err != nil {
		return Response{}, err
	}
	return JSON(http.StatusAccepted, queuedView{EventID: d.EventID, EventType: d.EventType, Status: "queued"}), nil
}

// ListWebhookDeliveries is GET /projects/{project_id}/webhooks/{webhook_id}/deliveries?limit=&starting_after=:
// every attempt, newest first.
type ListWebhookDeliveries struct{ Webhooks }

type attemptView struct {
	EventID      string  `json:"event_id"`
	EventType    string  `json:"event_type"`
	Attempt      int     `json:"attempt"`
	CreatedAt    string  `json:"created_at"`
	Outcome      string  `json:"outcome"`
	Status       *int    `json:"response_status"`
	LatencyMS    int64   `json:"latency_ms"`
	ResponseBody string  `json:"response_body"`
	Error        *string `json:"error"`
	NextRetryAt  *string `json:"next_retry_at"`
}

type attemptPage struct {
	Data       []attemptView `json:"data"`
	HasMore    bool          `json:"has_more"`
	NextCursor *string       `json:"next_cursor"`
}

func (h ListWebhookDeliveries) Serve(ctx context.Context, req *Request) (Response, error) {
	_, e, err := h.endpoint(ctx, req)
	if err != nil {
		return Response{}, err
	}
	limit, cursor := DefaultListLimit, ""
	for k, v := range req.QueryStringParameters {
		switch k {
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || strings.ContainsAny(v, "+-") || n < 1 || n > MaxListLimit {
				return Response{}, codex.Invalid("limit", "limit must be an integer from 1 to %d", MaxListLimit)
			}
			limit = n
		case "starting_after":
			cursor = v
		default:
			return Response{}, unknownParam(k, "")
		}
	}
	attempts, next, err := h.Store.ListWebhookAttempts(ctx, e.ID, limit, cursor)
	if err != nil {
		return Response{}, err
	}
	out := attemptPage{Data: make([]attemptView, 0, len(attempts)), HasMore: next != ""}
	if next != "" {
		out.NextCursor = &next
	}
	for _, a := range attempts {
		v := attemptView{EventID: a.EventID, EventType: a.EventType, Attempt: a.Attempt, CreatedAt: codex.FormatTime(a.At),
			Outcome: a.Outcome, LatencyMS: a.Latency.Milliseconds(), ResponseBody: a.ResponseBody, NextRetryAt: optTime(a.NextRetryAt)}
		if a.Status != 0 {
			v.Status = &a.Status
		}
		if a.Error != "" {
			v.Error = &a.Error
		}
		out.Data = append(out.Data, v)
	}
	return JSON(http.StatusOK, out), nil
}
