package eventsource

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"codex/infra/gateway"
	"codex/infra/localaws"
	"codex/infra/samtemplate"
)

// The pollers run against moto with a function stood in by Go code (invoker), so that each test
// can decide what every invocation answers and see exactly what it was sent. devstack's test runs
// a real bootstrap under the emulator behind them.

var (
	moto   *localaws.Server
	region = "us-east-1"
)

func TestMain(m *testing.M) {
	srv, err := localaws.StartMoto(context.Background(), localaws.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	moto = srv
	code := m.Run()
	_ = srv.Stop()
	os.Exit(code)
}

func clients() (*dynamodb.Client, *dynamodbstreams.Client, *sqs.Client) {
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	ep := aws.String(moto.Endpoint())
	return dynamodb.New(dynamodb.Options{Region: region, BaseEndpoint: ep, Credentials: creds}),
		dynamodbstreams.New(dynamodbstreams.Options{Region: region, BaseEndpoint: ep, Credentials: creds}),
		sqs.New(sqs.Options{Region: region, BaseEndpoint: ep, Credentials: creds})
}

const fixture = `
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: PK, AttributeType: S}]
      KeySchema: [{AttributeName: PK, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 1
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dead.Arn, maxReceiveCount: 2}
  Dead:
    Type: AWS::SQS::Queue
  Failed:
    Type: AWS::SQS::Queue
`

var worlds atomic.Int64

// world is a fresh table with a stream and fresh queues, named after the test.
type world struct {
	tpl    *samtemplate.Template
	db     *dynamodb.Client
	sqs    *sqs.Client
	opts   Options
	table  string
	stream string
	queues map[string]localaws.Queue
}

func newWorld(t *testing.T) *world {
	t.Helper()
	tpl, err := samtemplate.Parse([]byte(fixture))
	if err != nil {
		t.Fatal(err)
	}
	if err := tpl.Validate(); err != nil {
		t.Fatal(err)
	}
	db, streams, q := clients()
	// Unique per world, so that -count=N runs do not meet the tables of an earlier run.
	prefix := fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), worlds.Add(1))
	names := map[string]string{"Table": prefix + "-table", "Work": prefix + "-work", "Dead": prefix + "-dead", "Failed": prefix + "-failed"}
	ctx := t.Context()
	if err := localaws.CreateTables(ctx, db, tpl, names); err != nil {
		t.Fatal(err)
	}
	arns, err := localaws.StreamARNs(ctx, db, tpl, names)
	if err != nil {
		t.Fatal(err)
	}
	queues, err := localaws.CreateQueues(ctx, q, tpl, names)
	if err != nil {
		t.Fatal(err)
	}
	return &world{tpl: tpl, db: db, sqs: q, table: names["Table"], stream: arns["Table"], queues: queues,
		opts: Options{Region: region, Streams: streams, SQS: q, PollInterval: 20 * time.Millisecond, RetryDelay: 20 * time.Millisecond, QueueWait: 1}}
}

func (w *world) put(t *testing.T, pk, kind string) {
	t.Helper()
	_, err := w.db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(w.table), Item: map[string]ddb.AttributeValue{
		"PK": &ddb.AttributeValueMemberS{Value: pk}, "kind": &ddb.AttributeValueMemberS{Value: kind},
		"n": &ddb.AttributeValueMemberN{Value: "7"}, "tags": &ddb.AttributeValueMemberL{Value: []ddb.AttributeValue{&ddb.AttributeValueMemberS{Value: "x"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

// invoker stands in for a function: answer decides each invocation's outcome; every payload is kept.
type invoker struct {
	mu       sync.Mutex
	payloads [][]byte
	answer   func(n int, payload []byte) (gateway.Invocation, error)
	inFlight atomic.Int32
	peak     atomic.Int32
	delay    time.Duration
}

func (f *invoker) Invoke(ctx context.Context, payload []byte) (gateway.Invocation, error) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for p := f.peak.Load(); n > p && !f.peak.CompareAndSwap(p, n); p = f.peak.Load() {
	}
	f.mu.Lock()
	f.payloads = append(f.payloads, payload)
	i := len(f.payloads)
	f.mu.Unlock()
	sleep(ctx, f.delay)
	if f.answer == nil {
		return gateway.Invocation{Payload: []byte("null")}, nil
	}
	return f.answer(i, payload)
}

func (f *invoker) calls() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.payloads)
}

func streamKeys(t *testing.T, payload []byte) []string {
	t.Helper()
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range ev.Records {
		keys = append(keys, r.Change.Keys["PK"].String())
	}
	return keys
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func start(t *testing.T, w *world, inv *invoker, streams []Stream, queues []Queue) {
	t.Helper()
	w.opts.Functions = map[string]gateway.Invoker{"Fn": inv}
	s, err := Start(streams, queues, w.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
}

func streamEvent(mutate func(*samtemplate.StreamEvent)) samtemplate.StreamEvent {
	e := samtemplate.StreamEvent{Name: "Stream", Table: "Table", StartingPosition: "TRIM_HORIZON", BatchSize: 2,
		MaximumRetryAttempts: -1, MaximumRecordAgeInSeconds: -1, Enabled: true,
		Filters: []string{`{"eventName":["INSERT"],"dynamodb":{"NewImage":{"kind":{"S":["event"]}}}}`}}
	if mutate != nil {
		mutate(&e)
	}
	return e
}

// TestStreamInOrderFilteredBatched: the records that match the filter reach the function in
// order, in batches of at most BatchSize, in Lambda's DynamoDBEvent shape.
func TestStreamInOrderFilteredBatched(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	inv := &invoker{}
	for i, kind := range []string{"event", "checkout", "event", "event", "checkout", "event", "event"} {
		w.put(t, fmt.Sprintf("k%d", i), kind)
	}
	start(t, w, inv, []Stream{{Function: "Fn", Event: streamEvent(nil), StreamARN: w.stream}}, nil)
	var got []string
	eventually(t, "five records", func() bool {
		got = nil
		for _, p := range inv.calls() {
			got = append(got, streamKeys(t, p)...)
		}
		return len(got) >= 5
	})
	if want := []string{"k0", "k2", "k3", "k5", "k6"}; !slices.Equal(got, want) {
		t.Fatalf("records %v, want %v", got, want)
	}
	var ev events.DynamoDBEvent
	for _, p := range inv.calls() {
		if err := json.Unmarshal(p, &ev); err != nil || len(ev.Records) > 2 {
			t.Fatalf("batch of %d: %s", len(ev.Records), p)
		}
	}
	r := ev.Records[0]
	if r.EventName != "INSERT" || r.EventSource != "aws:dynamodb" || r.EventSourceArn != w.stream || r.AWSRegion != region ||
		r.Change.NewImage["kind"].String() != "event" || r.Change.NewImage["n"].Number() != "7" ||
		r.Change.NewImage["tags"].List()[0].String() != "x" || r.Change.SequenceNumber == "" || r.Change.StreamViewType != "NEW_IMAGE" {
		t.Fatalf("record %+v", r)
	}
	// Only new records: a LATEST mapping started now sees none of these.
	late := &invoker{}
	w.opts.Functions = map[string]gateway.Invoker{"Fn": late}
	s, err := Start([]Stream{{Function: "Fn", Event: streamEvent(func(e *samtemplate.StreamEvent) { e.StartingPosition = "LATEST" }), StreamARN: w.stream}}, nil, w.opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Records keep coming until the new mapping has its position and sees one: none of those
	// written before it started may reach it.
	n := 7
	eventually(t, "a new record", func() bool {
		w.put(t, fmt.Sprintf("k%d", n), "event")
		n++
		return len(late.calls()) > 0
	})
	for _, p := range late.calls() {
		for _, k := range streamKeys(t, p) {
			var i int
			if _, err := fmt.Sscanf(k, "k%d", &i); err != nil || i < 7 {
				t.Fatalf("LATEST got %s, written before it started", k)
			}
		}
	}
}

// TestStreamRetries: a partial failure retries from the lowest failed record; a batch that keeps
// failing is retried MaximumRetryAttempts times, then skipped and described to the on-failure
// queue; the shard goes on after it.
func TestStreamRetries(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for i := range 4 {
		w.put(t, fmt.Sprintf("k%d", i), "event")
	}
	var seqOf sync.Map // key → sequence number
	inv := &invoker{answer: func(n int, payload []byte) (gateway.Invocation, error) {
		var ev events.DynamoDBEvent
		_ = json.Unmarshal(payload, &ev)
		for _, r := range ev.Records {
			seqOf.Store(r.Change.Keys["PK"].String(), r.Change.SequenceNumber)
		}
		switch n {
		case 1: // [k0 k1]: k1 failed
			return gateway.Invocation{Payload: fmt.Appendf(nil, `{"batchItemFailures":[{"itemIdentifier":%q}]}`, ev.Records[1].Change.SequenceNumber)}, nil
		case 2: // [k1]: an identifier not in the batch makes the whole response invalid
			return gateway.Invocation{Payload: []byte(`{"batchItemFailures":[{"itemIdentifier":"1"}]}`)}, nil
		case 3: // [k1] again: fine
			return gateway.Invocation{Payload: []byte(`{"batchItemFailures":[]}`)}, nil
		}
		if ev.Records[0].Change.Keys["PK"].String() == "k2" { // [k2 k3] always fails
			return gateway.Invocation{Payload: []byte(`{"errorMessage":"boom","errorType":"errorString"}`), FunctionError: "Unhandled"}, nil
		}
		return gateway.Invocation{Payload: []byte("null")}, nil
	}}
	ev := streamEvent(func(e *samtemplate.StreamEvent) {
		e.ReportBatchItemFailures, e.MaximumRetryAttempts, e.OnFailure = true, 2, "Failed"
	})
	start(t, w, inv, []Stream{{Function: "Fn", Event: ev, StreamARN: w.stream, OnFailureURL: w.queues["Failed"].URL}}, nil)
	eventually(t, "the batch to be given up", func() bool { return len(inv.calls()) >= 6 })
	w.put(t, "k4", "event")
	eventually(t, "the record after it", func() bool { return len(inv.calls()) >= 7 })

	var batches [][]string
	for _, p := range inv.calls() {
		batches = append(batches, streamKeys(t, p))
	}
	want := [][]string{{"k0", "k1"}, {"k1"}, {"k1"}, {"k2", "k3"}, {"k2", "k3"}, {"k2", "k3"}, {"k4"}}
	if fmt.Sprint(batches) != fmt.Sprint(want) {
		t.Fatalf("batches %v, want %v", batches, want)
	}
	out, err := w.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.queues["Failed"].URL), WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("on-failure queue: %v, %v", out, err)
	}
	var rec struct {
		RequestContext struct {
			Condition              string `json:"condition"`
			ApproximateInvokeCount int    `json:"approximateInvokeCount"`
			FunctionArn            string `json:"functionArn"`
		} `json:"requestContext"`
		ResponseContext struct {
			FunctionError string `json:"functionError"`
		} `json:"responseContext"`
		Info struct {
			Start     string `json:"startSequenceNumber"`
			End       string `json:"endSequenceNumber"`
			BatchSize int    `json:"batchSize"`
			StreamArn string `json:"streamArn"`
		} `json:"DDBStreamBatchInfo"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &rec); err != nil {
		t.Fatal(err)
	}
	k2, _ := seqOf.Load("k2")
	k3, _ := seqOf.Load("k3")
	if rec.RequestContext.Condition != "RetryAttemptsExhausted" || rec.RequestContext.ApproximateInvokeCount != 3 ||
		!strings.HasSuffix(rec.RequestContext.FunctionArn, ":function:Fn") || rec.ResponseContext.FunctionError != "Unhandled" ||
		rec.Info.Start != k2 || rec.Info.End != k3 || rec.Info.BatchSize != 2 || rec.Info.StreamArn != w.stream {
		t.Fatalf("on-failure record %s", aws.ToString(out.Messages[0].Body))
	}
}

func (w *world) send(t *testing.T, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if _, err := w.sqs.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(w.queues["Work"].URL), MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
}

func (w *world) depth(t *testing.T, queue string) int {
	t.Helper()
	out, err := w.sqs.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(w.queues[queue].URL),
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, v := range out.Attributes {
		var x int
		fmt.Sscan(v, &x)
		n += x
	}
	return n
}

// TestQueue: handled messages are deleted, those reported failed come back after the visibility
// timeout and go to the dead-letter queue after maxReceiveCount receives; filtered-out messages
// are deleted without an invocation; a function error deletes nothing; records are Lambda's
// SQSEvent.
func TestQueue(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var mu sync.Mutex
	seen := map[string]int{}
	inv := &invoker{answer: func(n int, payload []byte) (gateway.Invocation, error) {
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return gateway.Invocation{}, err
		}
		mu.Lock()
		defer mu.Unlock()
		var failed []string
		for _, r := range ev.Records {
			seen[r.Body]++
			if r.EventSource != "aws:sqs" || r.EventSourceARN != w.queues["Work"].ARN || r.AWSRegion != region || r.Attributes["ApproximateReceiveCount"] == "" || r.ReceiptHandle == "" {
				return gateway.Invocation{}, fmt.Errorf("record %+v", r)
			}
			var body struct{ Kind string }
			_ = json.Unmarshal([]byte(r.Body), &body)
			if body.Kind == "bad" {
				failed = append(failed, fmt.Sprintf(`{"itemIdentifier":%q}`, r.MessageId))
			}
			if body.Kind == "crash" && seen[r.Body] == 1 {
				return gateway.Invocation{Payload: []byte(`{"errorMessage":"x","errorType":"y"}`), FunctionError: "Unhandled"}, nil
			}
		}
		return gateway.Invocation{Payload: []byte(`{"batchItemFailures":[` + strings.Join(failed, ",") + `]}`)}, nil
	}}
	ev := samtemplate.QueueEvent{Name: "Queue", Queue: "Work", BatchSize: 10, ReportBatchItemFailures: true, Enabled: true,
		Filters: []string{`{"body":{"kind":[{"anything-but":"skip"}]}}`}}
	w.send(t, `{"kind":"ok","n":1}`, `{"kind":"bad"}`, `{"kind":"skip"}`, `{"kind":"crash"}`, `{"kind":"ok","n":2}`)
	start(t, w, inv, nil, []Queue{{Function: "Fn", Event: ev, URL: w.queues["Work"].URL, ARN: w.queues["Work"].ARN}})

	eventually(t, "the failing message in the dead-letter queue and the rest handled", func() bool {
		return w.depth(t, "Dead") == 1 && w.depth(t, "Work") == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if seen[`{"kind":"skip"}`] != 0 {
		t.Error("a filtered-out message reached the function")
	}
	if seen[`{"kind":"bad"}`] != 2 {
		t.Errorf("the failing message was received %d times, want maxReceiveCount (2)", seen[`{"kind":"bad"}`])
	}
	if seen[`{"kind":"crash"}`] != 2 {
		t.Errorf("the message of a failed invocation was received %d times, want 2 (back after its visibility timeout)", seen[`{"kind":"crash"}`])
	}
	if seen[`{"kind":"ok","n":1}`] < 1 || seen[`{"kind":"ok","n":2}`] < 1 {
		t.Errorf("seen %v", seen)
	}
	out, _ := w.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.queues["Dead"].URL)})
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != `{"kind":"bad"}` {
		t.Errorf("dead-letter queue holds %v", out.Messages)
	}
}

// TestQueueConcurrency: MaximumConcurrency bounds the invocations in flight, and is reached.
func TestQueueConcurrency(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	inv := &invoker{delay: 300 * time.Millisecond}
	for i := range 12 {
		w.send(t, fmt.Sprint(i))
	}
	ev := samtemplate.QueueEvent{Name: "Queue", Queue: "Work", BatchSize: 1, MaximumConcurrency: 3, Enabled: true}
	start(t, w, inv, nil, []Queue{{Function: "Fn", Event: ev, URL: w.queues["Work"].URL, ARN: w.queues["Work"].ARN}})
	eventually(t, "every message handled", func() bool { return w.depth(t, "Work") == 0 })
	if p := inv.peak.Load(); p != 3 {
		t.Errorf("peak concurrency %d, want 3", p)
	}
}

// TestStreamInvocationThatNeverReturns: an invocation that does not come back (a wedged emulator,
// a runtime killed mid-batch) is abandoned once the function's timeout (and its margin) has
// passed, and the batch is retried: the shard keeps being processed, as Lambda's does.
func TestStreamInvocationThatNeverReturns(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.put(t, "k0", "event")
	var bound atomic.Int64
	inv := &invoker{}
	hang := &hangingInvoker{invoker: inv, bound: &bound}
	w.opts.Functions = map[string]gateway.Invoker{"Fn": hang}
	s, err := Start([]Stream{{Function: "Fn", Event: streamEvent(nil), StreamARN: w.stream, Timeout: 200 * time.Millisecond}}, nil, w.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	eventually(t, "the batch retried after the invocation that never returned", func() bool { return len(inv.calls()) >= 2 })
	if b := time.Duration(bound.Load()); b <= 200*time.Millisecond || b > 400*time.Millisecond {
		t.Errorf("the first invocation was allowed %s, want the 200 ms timeout plus its margin", b)
	}
	w.put(t, "k1", "event")
	eventually(t, "the next record", func() bool { return len(inv.calls()) >= 3 })
	if got := streamKeys(t, inv.calls()[2]); fmt.Sprint(got) != "[k1]" {
		t.Errorf("third batch %v, want [k1]", got)
	}
}

// hangingInvoker's first invocation never returns on its own: it waits for its context to end.
type hangingInvoker struct {
	*invoker
	bound *atomic.Int64 // how long the first invocation was allowed
	once  sync.Once
}

func (h *hangingInvoker) Invoke(ctx context.Context, payload []byte) (gateway.Invocation, error) {
	first := false
	h.once.Do(func() { first = true })
	if !first {
		return h.invoker.Invoke(ctx, payload)
	}
	h.invoker.mu.Lock()
	h.invoker.payloads = append(h.invoker.payloads, payload)
	h.invoker.mu.Unlock()
	if d, ok := ctx.Deadline(); ok {
		h.bound.Store(int64(time.Until(d)))
	}
	<-ctx.Done()
	return gateway.Invocation{}, ctx.Err()
}
