package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"codex/pkg/codex"
)

// Message is one delivery of one event to one endpoint, as it sits in the webhook queue. The
// event travels in it, exactly as the events table holds it, so the delivery function reads
// nothing but the endpoint.
type Message struct {
	ProjectID  string `json:"project_id"`
	EndpointID string `json:"endpoint_id"`
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	EventJSON  string `json:"event_json"`
	// Attempt is the number of the attempt this message is for, from 1.
	Attempt int `json:"attempt"`
	// DueAt is when the attempt is due, for waits longer than one SQS delay; "" means now.
	DueAt string `json:"due_at,omitempty"`
	// Once marks a test event or a redelivery asked for in the dashboard: one attempt, no retry.
	Once bool `json:"once,omitempty"`
}

// Queue sends messages to the webhook queue, visible after delay (at most MaxQueueDelay).
type Queue interface {
	Send(ctx context.Context, m Message, delay time.Duration) error
}

// Poster sends one attempt; *Sender is the real one.
type Poster interface {
	Send(ctx context.Context, url string, headers map[string]string, body []byte) Result
}

// EndpointLister lists a project's endpoints: what the fan-out reads.
type EndpointLister interface {
	ListWebhooks(ctx context.Context, projectID string) ([]codex.WebhookEndpoint, error)
}

// Fanout is the table stream's consumer: for each new event item, one message per enabled
// endpoint of its project subscribed to its type. A record whose messages cannot all be sent is
// reported as the batch's first failure, so Lambda retries from it: an endpoint may then get an
// event twice (with the same webhook-id), never zero times.
type Fanout struct {
	Endpoints EndpointLister
	Queue     Queue
	Log       *slog.Logger
}

// Handle is the function's handler (DynamoDB stream, ReportBatchItemFailures).
func (f Fanout) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	f.Log = withRequestID(ctx, f.Log)
	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	endpoints := map[string][]codex.WebhookEndpoint{} // per project, for this batch
	for _, r := range ev.Records {
		if err := f.record(ctx, r, endpoints); err != nil {
			f.Log.ErrorContext(ctx, "fan-out failed", "sequence_number", r.Change.SequenceNumber, "error", err.Error())
			resp.BatchItemFailures = []events.DynamoDBBatchItemFailure{{ItemIdentifier: r.Change.SequenceNumber}}
			return resp, nil
		}
	}
	return resp, nil
}

func (f Fanout) record(ctx context.Context, r events.DynamoDBEventRecord, cache map[string][]codex.WebhookEndpoint) error {
	img := r.Change.NewImage
	str := func(k string) string {
		if v, ok := img[k]; ok && v.DataType() == events.DataTypeString {
			return v.String()
		}
		return ""
	}
	if r.EventName != "INSERT" || str("kind") != "event" {
		return nil // the filter lets only new events through; anything else is not ours
	}
	m := Message{ProjectID: str("project_id"), EventID: str("event_id"), EventType: str("event_type"), EventJSON: str("event_json"), Attempt: 1}
	if m.ProjectID == "" || m.EventID == "" || m.EventType == "" || m.EventJSON == "" {
		f.Log.ErrorContext(ctx, "event item without project_id, event_id, event_type or event_json: skipped", "sequence_number", r.Change.SequenceNumber)
		return nil
	}
	eps, ok := cache[m.ProjectID]
	if !ok {
		var err error
		if eps, err = f.Endpoints.ListWebhooks(ctx, m.ProjectID); err != nil {
			return err
		}
		cache[m.ProjectID] = eps
	}
	sent := 0
	for _, e := range eps {
		if e.Disabled || !e.Subscribed(m.EventType) {
			continue
		}
		m.EndpointID = e.ID
		if err := f.Queue.Send(ctx, m, 0); err != nil {
			return fmt.Errorf("enqueue %s for %s: %w", m.EventID, e.ID, err)
		}
		sent++
	}
	f.Log.InfoContext(ctx, "event fanned out", "event_id", m.EventID, "event_type", m.EventType, "project_id", m.ProjectID, "endpoints", sent)
	return nil
}

// DeliverStore is what the delivery function reads and writes.
type DeliverStore interface {
	GetWebhook(ctx context.Context, projectID, id string) (codex.WebhookEndpoint, error)
	UpdateWebhook(ctx context.Context, projectID, id string, c codex.WebhookChanges) (codex.WebhookEndpoint, error)
	RecordWebhookAttempt(ctx context.Context, a codex.WebhookAttempt, d codex.WebhookDelivery) error
	WebhookFailed(ctx context.Context, projectID, id string, at time.Time) (time.Time, error)
	WebhookSucceeded(ctx context.Context, projectID, id string) error
}

// Deliver is the webhook queue's consumer: it signs and sends each message's event, records the
// attempt, and on failure sends the message on with the next attempt's delay. A message is
// acknowledged only once all of that is done, so a crash or a failing dependency leaves it to SQS
// to bring back (the same event, the same webhook-id).
type Deliver struct {
	Store  DeliverStore
	Sealer codex.Sealer
	Queue  Queue
	Poster Poster
	Now    codex.Clock
	Log    *slog.Logger
	// Schedule is the retry schedule; nil is Schedule. Tests shorten it.
	Schedule []time.Duration
	// Jitter is rand.Int64N unless a test fixes it.
	Jitter func(n int64) int64
}

// Handle is the function's handler (SQS, ReportBatchItemFailures). The messages of a batch are
// sent concurrently: one slow receiver does not hold up the others beyond its 15 s.
func (d Deliver) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	d.Log = withRequestID(ctx, d.Log)
	var (
		mu   sync.Mutex
		resp = events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		wg   sync.WaitGroup
	)
	for _, msg := range ev.Records {
		wg.Go(func() {
			if err := d.message(ctx, msg.Body); err != nil {
				d.Log.ErrorContext(ctx, "delivery failed", "message_id", msg.MessageId, "error", err.Error())
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return resp, nil
}

func (d Deliver) schedule() []time.Duration {
	if d.Schedule != nil {
		return d.Schedule
	}
	return Schedule
}

func (d Deliver) message(ctx context.Context, body string) error {
	var m Message
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.EndpointID == "" || m.EventID == "" || m.Attempt < 1 {
		// Left to fail until the queue's redrive policy moves it to the dead-letter queue.
		return errors.New("malformed message")
	}
	now := d.Now()
	if m.DueAt != "" {
		due, err := codex.ParseTime(m.DueAt)
		if err != nil {
			return errors.New("malformed due_at")
		}
		if due.Sub(now) > time.Second {
			return d.Queue.Send(ctx, m, Hop(now, due)) // one more hop of a long wait
		}
	}
	e, err := d.Store.GetWebhook(ctx, m.ProjectID, m.EndpointID)
	if codex.IsNotFound(err) {
		d.Log.InfoContext(ctx, "endpoint deleted: delivery dropped", "endpoint_id", m.EndpointID, "event_id", m.EventID)
		return nil
	}
	if err != nil {
		return err
	}
	if e.Disabled && !m.Once {
		d.Log.InfoContext(ctx, "endpoint disabled: delivery dropped", "endpoint_id", m.EndpointID, "event_id", m.EventID)
		return nil
	}
	var keys [][]byte
	for _, sealed := range e.SealedSecrets(now) {
		k, err := d.Sealer.Open(ctx, e.ProjectID, e.ID, sealed)
		if err != nil {
			return fmt.Errorf("open signing key: %w", err)
		}
		keys = append(keys, k)
	}
	payload := []byte(m.EventJSON)
	res := d.Poster.Send(ctx, e.URL, Headers(m.EventID, now, payload, keys...), payload)

	a := codex.WebhookAttempt{
		EndpointID: e.ID, EventID: m.EventID, EventType: m.EventType, Attempt: m.Attempt, At: now,
		Status: res.Status, Latency: res.Latency, ResponseBody: res.Body, Error: res.Err,
	}
	switch {
	case res.OK():
		a.Outcome = codex.AttemptSucceeded
	case m.Once || res.Status == http.StatusGone || m.Attempt >= len(d.schedule())+1:
		a.Outcome = codex.AttemptFailed
	default:
		wait, _ := NextWait(d.schedule(), m.Attempt, RetryAfter(res.Status, res.RetryAfter, now), d.Jitter)
		a.Outcome, a.NextRetryAt = codex.AttemptRetrying, now.Add(wait).Truncate(time.Millisecond)
		next := m
		next.Attempt++
		next.DueAt = codex.FormatTime(a.NextRetryAt)
		// Sent before the attempt is recorded: a crash between the two repeats this attempt
		// (SQS brings the message back) rather than losing the next one.
		if err := d.Queue.Send(ctx, next, Hop(now, a.NextRetryAt)); err != nil {
			return fmt.Errorf("enqueue attempt %d: %w", next.Attempt, err)
		}
	}
	if err := d.Store.RecordWebhookAttempt(ctx, a, codex.WebhookDelivery{
		EndpointID: e.ID, EventID: m.EventID, EventType: m.EventType, EventJSON: m.EventJSON,
	}); err != nil {
		return err
	}
	d.Log.InfoContext(ctx, "webhook attempt", "endpoint_id", e.ID, "event_id", m.EventID, "attempt", m.Attempt,
		"status", res.Status, "outcome", a.Outcome, "latency_ms", res.Latency.Milliseconds())
	return d.endpointHealth(ctx, e, m, res, now)
}

// endpointHealth disables an endpoint that answered 410 Gone or whose every attempt has failed
// for WebhookFailingFor, and clears the failing state after a success. Test events and
// redeliveries do not count: only real traffic says whether an endpoint works.
func (d Deliver) endpointHealth(ctx context.Context, e codex.WebhookEndpoint, m Message, res Result, now time.Time) error {
	disable := func(reason string) error {
		yes := true
		_, err := d.Store.UpdateWebhook(ctx, e.ProjectID, e.ID, codex.WebhookChanges{Disabled: &yes, DisabledReason: reason, At: now})
		if err == nil {
			d.Log.WarnContext(ctx, "endpoint disabled", "endpoint_id", e.ID, "reason", reason)
		}
		return err
	}
	switch {
	case res.OK():
		if !e.FailingSince.IsZero() {
			return d.Store.WebhookSucceeded(ctx, e.ProjectID, e.ID)
		}
	case res.Status == http.StatusGone && !m.Once:
		return disable(codex.DisabledGone)
	case !m.Once:
		since, err := d.Store.WebhookFailed(ctx, e.ProjectID, e.ID, now)
		if codex.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if now.Sub(since) >= codex.WebhookFailingFor && !e.Disabled {
			return disable(codex.DisabledFailing)
		}
	}
	return nil
}

// withRequestID adds the invocation's request id to every line, the one key each function's
// lines of an invocation share.
func withRequestID(ctx context.Context, log *slog.Logger) *slog.Logger {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return log.With("request_id", lc.AwsRequestID)
	}
	return log
}

// NewPing returns a ping event for endpointID: what the dashboard's test button sends, shaped
// like every event (fields in the same order).
func NewPing(endpointID string, now time.Time) (id, body string) {
	type endpoint struct {
		Object string `json:"object"`
		ID     string `json:"id"`
	}
	type data struct {
		Object endpoint `json:"object"`
	}
	id = codex.NewID("evt_")
	b, _ := json.Marshal(struct {
		ID        string `json:"id"`
		Object    string `json:"object"`
		Type      string `json:"type"`
		CreatedAt string `json:"created_at"`
		Livemode  bool   `json:"livemode"`
		Data      data   `json:"data"`
	}{id, "event", "ping", codex.FormatTime(now), false, data{endpoint{"webhook_endpoint", endpointID}}})
	return id, string(b)
}
