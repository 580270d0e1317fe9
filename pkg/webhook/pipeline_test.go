package webhook_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"codex/infra/localaws/localawstest"
	"codex/pkg/codex"
	"codex/pkg/dynamo"
	"codex/pkg/kmsseal"
	"codex/pkg/sqsqueue"
	"codex/pkg/webhook"
)

var (
	testEnv *localawstest.Env
	sqsAPI  *sqs.Client
	kmsAPI  *kms.Client
)

func TestMain(m *testing.M) {
	env, cleanup, err := localawstest.Setup(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEnv = env
	endpoint := env.DynamoDBEndpoint
	if env.Moto != nil {
		endpoint = env.Moto.Endpoint()
	}
	opts := func(e string) *string { return aws.String(e) }
	sqsAPI = sqs.New(sqs.Options{Region: env.Region, BaseEndpoint: opts(endpoint), Credentials: env.DynamoDB.Options().Credentials})
	kmsAPI = kms.New(kms.Options{Region: env.Region, BaseEndpoint: opts(endpoint), Credentials: env.DynamoDB.Options().Credentials})
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// world is one test's AWS: its own tables, queue and KMS key, and a loopback receiver.
type world struct {
	store  *dynamo.Store
	sealer *kmsseal.Sealer
	queue  *sqsqueue.Queue
	url    string // the queue's
	keyID  string // the KMS key's
	now    time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	names := testEnv.NewTables(t)
	q, err := sqsAPI.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(strings.ReplaceAll(names["AppTable"], ".", "-") + "-webhooks")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = sqsAPI.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}) })
	key, err := kmsAPI.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	return &world{
		store:  dynamo.New(testEnv.DynamoDB, dynamo.Tables{Keys: names["KeysTable"], App: names["AppTable"]}),
		sealer: kmsseal.New(kmsAPI, *key.KeyMetadata.KeyId),
		queue:  sqsqueue.New(sqsAPI, *q.QueueUrl),
		url:    *q.QueueUrl,
		keyID:  *key.KeyMetadata.KeyId,
		now:    time.Now().UTC().Truncate(time.Millisecond),
	}
}

// endpoint creates an endpoint of project to url and returns it with its secret's text.
func (w *world) endpoint(t *testing.T, project, url string, eventTypes ...string) (codex.WebhookEndpoint, string) {
	t.Helper()
	key, text := webhook.NewSecret()
	e := codex.WebhookEndpoint{ID: codex.NewID(codex.WebhookIDPrefix), ProjectID: project, URL: url, Events: eventTypes,
		CreatedAt: w.now, UpdatedAt: w.now}
	var err error
	if e.Secret, err = w.sealer.Seal(context.Background(), project, e.ID, key); err != nil {
		t.Fatal(err)
	}
	if err := w.store.CreateWebhook(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return e, text
}

// receiver verifies each request with the official library and answers with the next status of
// its script (the last one repeats).
type receiver struct {
	t       *testing.T
	secrets []string
	script  []int
	delay   time.Duration

	mu       sync.Mutex
	got      []delivered
	requests atomic.Int32
}

type delivered struct {
	id, body string
	verified bool
}

func newReceiver(t *testing.T, secret string, script ...int) (*receiver, string) {
	r := &receiver{t: t, secrets: []string{secret}, script: script}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.URL + "/hooks"
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	n := int(r.requests.Add(1))
	ok := true
	for _, s := range r.secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil || wh.Verify(body, req.Header) != nil {
			ok = false
		}
	}
	r.mu.Lock()
	r.got = append(r.got, delivered{req.Header.Get("webhook-id"), string(body), ok})
	r.mu.Unlock()
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	status := r.script[min(n, len(r.script))-1]
	w.WriteHeader(status)
	fmt.Fprintf(w, "answer %d", n)
}

func (r *receiver) deliveries() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// eventRecord is a stream record of an event item as the events side writes it.
func eventRecord(seq, project, id, typ string) (events.DynamoDBEventRecord, string) {
	body := fmt.Sprintf(`{"id":"%s","object":"event","type":"%s","created_at":"2026-01-01T00:00:00.000Z","livemode":false,"data":{"object":{"id":"chk_1","name":"Café ☕ <b>"}}}`, id, typ)
	s := events.NewStringAttribute
	return events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: seq,
		NewImage: map[string]events.DynamoDBAttributeValue{
			"kind": s("event"), "project_id": s(project), "event_id": s(id), "event_type": s(typ),
			"created_at": s("2026-01-01T00:00:00.000Z"), "event_json": s(body),
		}}}, body
}

var quiet = slog.New(slog.DiscardHandler)

// pump plays Lambda's SQS event source: it receives batches, runs the handler, deletes what it
// did not report as failed and makes the failed ones visible again at once, until the queue has
// been empty for a moment or the deadline passes.
func (w *world) pump(t *testing.T, d webhook.Deliver, deadline time.Duration) (batches int) {
	t.Helper()
	ctx := context.Background()
	end := time.Now().Add(deadline)
	empty := 0
	for time.Now().Before(end) && empty < 3 {
		out, err := sqsAPI.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &w.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			empty++
			continue
		}
		empty = 0
		batches++
		ev := events.SQSEvent{}
		for _, m := range out.Messages {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: *m.MessageId, Body: *m.Body, ReceiptHandle: *m.ReceiptHandle})
		}
		resp, err := d.Handle(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			failed := slices.ContainsFunc(resp.BatchItemFailures, func(f events.SQSBatchItemFailure) bool { return f.ItemIdentifier == *m.MessageId })
			if failed {
				_, err = sqsAPI.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &w.url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
			} else {
				_, err = sqsAPI.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &w.url, ReceiptHandle: m.ReceiptHandle})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return batches
}

func (w *world) deliver(store webhook.DeliverStore, poster webhook.Poster) webhook.Deliver {
	return webhook.Deliver{Store: store, Sealer: w.sealer, Queue: w.queue, Poster: poster, Now: func() time.Time { return time.Now().UTC() },
		Log: quiet, Schedule: []time.Duration{0, 0, 0, 0}, Jitter: func(int64) int64 { return 0 }}
}

var local = webhook.NewSender(webhook.SenderOptions{AllowLoopback: true})

// TestFanoutAndDeliver: an event item on the stream reaches exactly the enabled, subscribed
// endpoints of its project; a receiver that answers 500 twice then 200 gets the event three
// times, every time verified by the official library, with the same webhook-id and the body
// byte for byte the event's JSON; the deliveries list tells the story newest first.
func TestFanoutAndDeliver(t *testing.T) {
	t.Parallel()
	w, ctx := newWorld(t), context.Background()
	_, secretProbe := webhook.NewSecret()
	recv, url := newReceiver(t, secretProbe, 500, 500, 200)
	ep, secret := w.endpoint(t, "prj_A", url, "checkout.completed")
	recv.secrets = []string{secret}
	other, _ := newReceiver(t, secretProbe, 200)
	w.endpoint(t, "prj_A", url+"?unsubscribed", "checkout.created")
	off, _ := w.endpoint(t, "prj_A", url+"?disabled", "*")
	yes := true
	if _, err := w.store.UpdateWebhook(ctx, "prj_A", off.ID, codex.WebhookChanges{Disabled: &yes, DisabledReason: codex.DisabledByUser, At: w.now}); err != nil {
		t.Fatal(err)
	}
	w.endpoint(t, "prj_B", url+"?other-project", "*")

	rec, body := eventRecord("100", "prj_A", "evt_1", "checkout.completed")
	notEvent := events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: "101",
		NewImage: map[string]events.DynamoDBAttributeValue{"PK": events.NewStringAttribute("PROJECT#prj_A")}}}
	resp, err := webhook.Fanout{Endpoints: w.store, Queue: w.queue, Log: quiet}.Handle(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec, notEvent}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Fanout = %+v, %v", resp, err)
	}
	w.pump(t, w.deliver(w.store, local), 20*time.Second)

	got := recv.deliveries()
	if len(got) != 3 || other.requests.Load() != 0 {
		t.Fatalf("receiver got %d requests (want 3), the other %d", len(got), other.requests.Load())
	}
	for _, d := range got {
		if d.id != "evt_1" || d.body != body || !d.verified {
			t.Errorf("delivery %+v: want webhook-id evt_1, the event's bytes, a valid signature", d)
		}
	}
	attempts, _, err := w.store.ListWebhookAttempts(ctx, ep.ID, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	var story []string
	for _, a := range attempts {
		story = append(story, fmt.Sprintf("%d:%d:%s", a.Attempt, a.Status, a.Outcome))
		if a.Outcome == codex.AttemptRetrying && a.NextRetryAt.IsZero() || !strings.HasPrefix(a.ResponseBody, "answer ") {
			t.Errorf("attempt %+v", a)
		}
	}
	if want := "[3:200:succeeded 2:500:retrying 1:500:retrying]"; fmt.Sprint(story) != want {
		t.Errorf("attempts %v, want %s", story, want)
	}
	if e, _ := w.store.GetWebhook(ctx, "prj_A", ep.ID); !e.FailingSince.IsZero() || e.Disabled {
		t.Errorf("after a success the endpoint is %+v", e)
	}
}

func TestDeliveryGivesUpDisablesAndTimesOut(t *testing.T) {
	t.Parallel()
	w, ctx := newWorld(t), context.Background()
	send := func(ep codex.WebhookEndpoint, id string) {
		t.Helper()
		rec, _ := eventRecord("1", ep.ProjectID, id, "checkout.created")
		if _, err := (webhook.Fanout{Endpoints: w.store, Queue: w.queue, Log: quiet}).Handle(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}}); err != nil {
			t.Fatal(err)
		}
	}
	_, probe := webhook.NewSecret()

	// Always 500: MaxAttempts of the (shortened) schedule, then failed; nothing left queued.
	down, downURL := newReceiver(t, probe, 500)
	epDown, _ := w.endpoint(t, "prj_down", downURL, "*")
	send(epDown, "evt_down")
	// 410: disabled at once, with the reason.
	gone, goneURL := newReceiver(t, probe, 410)
	epGone, _ := w.endpoint(t, "prj_gone", goneURL, "*")
	send(epGone, "evt_gone")
	// Slow (over the sender's limit): a failure like any other.
	slow, slowURL := newReceiver(t, probe, 200)
	slow.delay = 2 * time.Second
	epSlow, _ := w.endpoint(t, "prj_slow", slowURL, "*")
	send(epSlow, "evt_slow")
	// Failing for more than five days already: the next failure disables it.
	old, oldURL := newReceiver(t, probe, 503)
	epOld, _ := w.endpoint(t, "prj_old", oldURL, "*")
	if _, err := w.store.WebhookFailed(ctx, "prj_old", epOld.ID, time.Now().Add(-5*24*time.Hour-time.Minute)); err != nil {
		t.Fatal(err)
	}
	send(epOld, "evt_old")

	poster := webhook.NewSender(webhook.SenderOptions{AllowLoopback: true, Timeout: 500 * time.Millisecond})
	w.pump(t, w.deliver(w.store, poster), 30*time.Second)

	if n := down.requests.Load(); n != 5 {
		t.Errorf("a receiver always down got %d attempts, want 5", n)
	}
	last, _, _ := w.store.ListWebhookAttempts(ctx, epDown.ID, 1, "")
	if len(last) != 1 || last[0].Outcome != codex.AttemptFailed || last[0].Attempt != 5 || !last[0].NextRetryAt.IsZero() {
		t.Errorf("last attempt %+v, want attempt 5 failed with no next retry", last)
	}
	if n := gone.requests.Load(); n != 1 {
		t.Errorf("410 receiver got %d requests, want 1", n)
	}
	if e, _ := w.store.GetWebhook(ctx, "prj_gone", epGone.ID); !e.Disabled || e.DisabledReason != codex.DisabledGone {
		t.Errorf("after 410: %+v", e)
	}
	if e, _ := w.store.GetWebhook(ctx, "prj_down", epDown.ID); e.Disabled || e.FailingSince.IsZero() {
		t.Errorf("failing for seconds: %+v, want enabled and failing", e)
	}
	slowAttempts, _, _ := w.store.ListWebhookAttempts(ctx, epSlow.ID, 10, "")
	if len(slowAttempts) != 5 || !strings.HasPrefix(slowAttempts[0].Error, "timeout") {
		t.Errorf("slow receiver: %d attempts, last %+v", len(slowAttempts), slowAttempts[0])
	}
	if e, _ := w.store.GetWebhook(ctx, "prj_old", epOld.ID); !e.Disabled || e.DisabledReason != codex.DisabledFailing {
		t.Errorf("failing for 5 days: %+v", e)
	}
	if n := old.requests.Load(); n != 1 {
		t.Errorf("an endpoint disabled after its failure got %d requests, want 1 (no retry once disabled)", n)
	}
}

// flaky fails the first n calls of RecordWebhookAttempt, as DynamoDB failing for a while would.
type flaky struct {
	webhook.DeliverStore
	left atomic.Int32
}

func (f *flaky) RecordWebhookAttempt(ctx context.Context, a codex.WebhookAttempt, d codex.WebhookDelivery) error {
	if f.left.Add(-1) >= 0 {
		return errors.New("injected: DynamoDB unavailable")
	}
	return f.DeliverStore.RecordWebhookAttempt(ctx, a, d)
}

// flakyQueue fails the first n sends, as SQS failing for a while would.
type flakyQueue struct {
	webhook.Queue
	left atomic.Int32
}

func (f *flakyQueue) Send(ctx context.Context, m webhook.Message, d time.Duration) error {
	if f.left.Add(-1) >= 0 {
		return errors.New("injected: SQS unavailable")
	}
	return f.Queue.Send(ctx, m, d)
}

// TestNothingLostWhenDependenciesFail: DynamoDB fails the first records and SQS the first
// retries; every event still arrives, and its repeats carry the same webhook-id.
func TestNothingLostWhenDependenciesFail(t *testing.T) {
	t.Parallel()
	w, ctx := newWorld(t), context.Background()
	_, probe := webhook.NewSecret()
	recv, url := newReceiver(t, probe, 500, 200)
	ep, secret := w.endpoint(t, "prj_F", url, "*")
	recv.secrets = []string{secret}
	var recs []events.DynamoDBEventRecord
	for i := range 6 {
		r, _ := eventRecord(fmt.Sprint(i), "prj_F", fmt.Sprintf("evt_%d", i), "checkout.created")
		recs = append(recs, r)
	}
	// The fan-out's queue fails once: the batch reports its first record, and Lambda retries.
	fq := &flakyQueue{Queue: w.queue}
	fq.left.Store(1)
	fan := webhook.Fanout{Endpoints: w.store, Queue: fq, Log: quiet}
	resp, _ := fan.Handle(ctx, events.DynamoDBEvent{Records: recs})
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "0" {
		t.Fatalf("fan-out with SQS down: %+v", resp)
	}
	if resp, _ = fan.Handle(ctx, events.DynamoDBEvent{Records: recs}); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("retry: %+v", resp)
	}

	store := &flaky{DeliverStore: w.store}
	store.left.Store(4)
	dq := &flakyQueue{Queue: w.queue}
	dq.left.Store(2)
	d := w.deliver(store, local)
	d.Queue = dq
	w.pump(t, d, 30*time.Second)

	seen := map[string]int{}
	for _, g := range recv.deliveries() {
		if !g.verified {
			t.Errorf("unverified delivery %+v", g)
		}
		seen[g.id]++
	}
	total := 0
	for i := range 6 {
		n := seen[fmt.Sprintf("evt_%d", i)]
		total += n
		if n == 0 {
			t.Errorf("evt_%d never arrived", i)
		}
	}
	// 6 events, one 500 answered, and 4 attempts sent but not recorded, so sent again.
	if total < 6+1+4 || len(seen) != 6 {
		t.Errorf("%d requests for %d webhook-ids, want repeats of the same 6 ids", total, len(seen))
	}
	attempts, _, _ := w.store.ListWebhookAttempts(ctx, ep.ID, 100, "")
	ok := map[string]bool{}
	for _, a := range attempts {
		if a.Outcome == codex.AttemptSucceeded {
			ok[a.EventID] = true
		}
	}
	if len(ok) != 6 {
		t.Errorf("%d events recorded as delivered, want 6", len(ok))
	}
}

// TestRotationOverlap: during the overlap, each delivery verifies with the old and with the new
// secret; after it, only with the new one.
func TestRotationOverlap(t *testing.T) {
	t.Parallel()
	w, ctx := newWorld(t), context.Background()
	_, probe := webhook.NewSecret()
	recv, url := newReceiver(t, probe, 200)
	ep, oldSecret := w.endpoint(t, "prj_R", url, "*")
	newKey, newSecret := webhook.NewSecret()
	sealed, err := w.sealer.Seal(ctx, "prj_R", ep.ID, newKey)
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	if err := w.store.RotateWebhookSecret(ctx, "prj_R", ep.ID, ep.Secret, sealed, until, time.Now()); err != nil {
		t.Fatal(err)
	}
	rec, _ := eventRecord("1", "prj_R", "evt_during", "checkout.created")
	fan := webhook.Fanout{Endpoints: w.store, Queue: w.queue, Log: quiet}
	_, _ = fan.Handle(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}})
	recv.secrets = []string{oldSecret, newSecret} // verified only if both verify
	w.pump(t, w.deliver(w.store, local), 10*time.Second)

	d := w.deliver(w.store, local)
	d.Now = func() time.Time { return until.Add(time.Second) }
	rec, _ = eventRecord("2", "prj_R", "evt_after", "checkout.created")
	_, _ = fan.Handle(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}})
	// After the overlap the header holds one signature: the new secret's. The timestamp is in
	// the future for the library's tolerance, so check the header directly.
	var after *http.Header
	var afterBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		after = &h
		afterBody, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	if _, err := w.store.UpdateWebhook(ctx, "prj_R", ep.ID, codex.WebhookChanges{URL: aws.String(srv.URL), At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	w.pump(t, d, 10*time.Second)

	got := recv.deliveries()
	if len(got) != 1 || got[0].id != "evt_during" || !got[0].verified {
		t.Fatalf("during the overlap: %+v", got)
	}
	if after == nil {
		t.Fatal("nothing delivered after the overlap")
	}
	if sig := after.Get("webhook-signature"); strings.Count(sig, "v1,") != 1 {
		t.Errorf("after the overlap: %q, want one signature", sig)
	}
	oldWH, _ := standardwebhooks.NewWebhook(oldSecret)
	newWH, _ := standardwebhooks.NewWebhook(newSecret)
	if newWH.VerifyIgnoringTimestamp(afterBody, *after) != nil || oldWH.VerifyIgnoringTimestamp(afterBody, *after) == nil {
		t.Error("after the overlap, want the new secret to verify and the old one not")
	}
}

// TestSealedSecretIsBoundToItsEndpoint: the encryption context makes a sealed key open only for
// the endpoint it was sealed for.
func TestSealedSecretIsBoundToItsEndpoint(t *testing.T) {
	t.Parallel()
	w, ctx := newWorld(t), context.Background()
	key, _ := webhook.NewSecret()
	sealed, err := w.sealer.Seal(ctx, "prj_1", "we_1", key)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), string(key)) || strings.Contains(hex.EncodeToString(sealed), hex.EncodeToString(key)) {
		t.Fatal("the sealed form holds the key")
	}
	back, err := w.sealer.Open(ctx, "prj_1", "we_1", sealed)
	if err != nil || sha256.Sum256(back) != sha256.Sum256(key) {
		t.Fatalf("Open = %v", err)
	}
	fresh := kmsseal.New(kmsAPI, "unused") // no cache: KMS itself must refuse
	if _, err := fresh.Open(ctx, "prj_1", "we_2", sealed); err == nil {
		t.Error("a key sealed for we_1 opened for we_2")
	}
	if _, err := fresh.Open(ctx, "prj_2", "we_1", sealed); err == nil {
		t.Error("a key sealed for prj_1 opened for prj_2")
	}
}
