// Package eventsource runs the template's DynamoDB-stream and SQS event sources against the local
// AWS the way Lambda's event source mappings do, so that `make dev` and the end-to-end tests
// exercise the functions behind them as deployed:
//
//   - A stream source polls each shard of the table's stream (DynamoDB Streams API), from
//     TRIM_HORIZON or LATEST, and invokes the function with batches of up to BatchSize records
//     (gathered for up to MaximumBatchingWindowInSeconds) as an events.DynamoDBEvent, in order,
//     one batch per shard at a time. Records that match none of the FilterCriteria are skipped.
//     A failed invocation is retried, the shard waiting meanwhile; with ReportBatchItemFailures
//     the retry starts at the lowest failed sequence number. After MaximumRetryAttempts (or once a
//     record is older than MaximumRecordAgeInSeconds) the batch is skipped and, with an on-failure
//     destination, described to that queue in Lambda's invocation record.
//   - A queue source runs up to ScalingConfig.MaximumConcurrency pollers (Lambda's default of 5
//     without it), each receiving batches of up to BatchSize messages (long polling) and invoking
//     the function with an events.SQSEvent. A successful invocation deletes the batch; with
//     ReportBatchItemFailures, all but the failed messages; a failed invocation deletes nothing,
//     so the messages come back after the queue's visibility timeout and SQS moves them to the
//     dead-letter queue after maxReceiveCount receives. Messages that match none of the filters
//     are deleted without an invocation, as Lambda does.
//
// What the template may configure is checked by infra/samtemplate, which refuses the rest.
package eventsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"codex/infra/eventpattern"
	"codex/infra/gateway"
	"codex/infra/samtemplate"
)

// Stream is a DynamoDB event of a function with its physical names resolved.
type Stream struct {
	Function  string // logical id
	Event     samtemplate.StreamEvent
	StreamARN string
	// OnFailureURL is the URL of the queue of DestinationConfig.OnFailure, "" for none.
	OnFailureURL string
	// Timeout is the function's (see invokeTimeout).
	Timeout time.Duration
}

// Queue is an SQS event of a function with its physical names resolved.
type Queue struct {
	Function string // logical id
	Event    samtemplate.QueueEvent
	URL, ARN string
	// Timeout is the function's (see invokeTimeout).
	Timeout time.Duration
}

// Options configures Start.
type Options struct {
	Region    string // the local region; default us-east-1
	AccountID string // in function ARNs; default 123456789012
	// Streams and SQS are clients of the local AWS, as Lambda's pollers reach the services.
	Streams *dynamodbstreams.Client
	SQS     *sqs.Client
	// Functions invokes each function by logical id.
	Functions map[string]gateway.Invoker
	// PollInterval is how long a stream shard with no new records waits before asking again;
	// default 250 ms (Lambda polls a shard four times a second).
	PollInterval time.Duration
	// RetryDelay is the wait before the first retry of a failed stream batch, doubled for each
	// further one up to 64 times itself or a minute; default one second. Tests shorten it.
	RetryDelay time.Duration
	// QueueWait is the long-polling wait of a queue receive, in seconds; default 20 (Lambda's).
	QueueWait int32
	Log       *slog.Logger
}

// Sources is the running event sources.
type Sources struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start starts a poller for every enabled source and returns at once; the pollers run until Close.
// A source whose function has no invoker, or whose filters do not compile, is an error and nothing
// starts.
func Start(streams []Stream, queues []Queue, opts Options) (*Sources, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = time.Second
	}
	if opts.QueueWait <= 0 {
		opts.QueueWait = 20
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	var runs []func(context.Context)
	var problems []error
	for _, s := range streams {
		inv, filters, err := prepare(opts, s.Function, s.Event.Filters)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s event %s: %w", s.Function, s.Event.Name, err))
			continue
		}
		if !s.Event.Enabled {
			continue
		}
		p := &streamPoller{src: s, opts: opts, invoke: inv, filters: filters,
			log: opts.Log.With("function", s.Function, "event", s.Event.Name, "source", "dynamodb")}
		runs = append(runs, p.run)
	}
	for _, q := range queues {
		inv, filters, err := prepare(opts, q.Function, q.Event.Filters)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s event %s: %w", q.Function, q.Event.Name, err))
			continue
		}
		if !q.Event.Enabled {
			continue
		}
		p := &queuePoller{src: q, opts: opts, invoke: inv, filters: filters,
			log: opts.Log.With("function", q.Function, "event", q.Event.Name, "source", "sqs")}
		n := q.Event.MaximumConcurrency
		if n == 0 {
			n = defaultQueuePollers
		}
		for range n {
			runs = append(runs, p.run)
		}
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sources{cancel: cancel}
	for _, run := range runs {
		s.wg.Go(func() { run(ctx) })
	}
	return s, nil
}

// defaultQueuePollers is how many batches of one queue Lambda processes at once when
// ScalingConfig does not say: it starts with five pollers.
const defaultQueuePollers = 5

func prepare(opts Options, function string, patterns []string) (gateway.Invoker, []*eventpattern.Pattern, error) {
	inv := opts.Functions[function]
	if inv == nil {
		return nil, nil, fmt.Errorf("no function %s to invoke", function)
	}
	var filters []*eventpattern.Pattern
	for _, src := range patterns {
		p, err := eventpattern.Compile(src)
		if err != nil {
			return nil, nil, err
		}
		filters = append(filters, p)
	}
	return inv, filters, nil
}

// invokeTimeout bounds one invocation of a function whose Timeout is timeout (0: Lambda's default,
// 3 s). Lambda never waits longer than the function's timeout: past it the invocation is a
// Sandbox.Timedout error, the batch is retried and the poller moves on. An invocation that does not
// come back (an emulator wedged, its runtime killed mid-batch) would otherwise hold its shard or
// queue poller for good. The margin (as long as the timeout, at most 5 s) leaves the emulator time
// to report the timeout itself.
func invokeTimeout(timeout time.Duration) time.Duration {
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	return timeout + min(timeout, 5*time.Second)
}

// Close stops every poller and waits for them; an invocation in flight is abandoned.
func (s *Sources) Close() {
	if s == nil {
		return
	}
	s.cancel()
	s.wg.Wait()
}

// batchResponse is what a function returns with ReportBatchItemFailures, in Lambda's shape
// (events.DynamoDBEventResponse, events.SQSEventResponse).
type batchResponse struct {
	BatchItemFailures []struct {
		ItemIdentifier *string `json:"itemIdentifier"`
	} `json:"batchItemFailures"`
}

// failedItems reads a partial-batch response. all is true when the whole batch counts as failed:
// an identifier that is missing, empty or not in the batch makes Lambda treat the response as
// invalid. A null or empty response, or one without batchItemFailures, is complete success.
func failedItems(payload []byte, inBatch func(string) bool) (failed []string, all bool) {
	var r *batchResponse
	if err := json.Unmarshal(payload, &r); err != nil {
		return nil, true
	}
	if r == nil {
		return nil, false
	}
	for _, f := range r.BatchItemFailures {
		if f.ItemIdentifier == nil || *f.ItemIdentifier == "" || !inBatch(*f.ItemIdentifier) {
			return nil, true
		}
		failed = append(failed, *f.ItemIdentifier)
	}
	return failed, false
}

// sleep waits for d or until ctx ends, reporting whether it waited all of d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// maxPayloadBytes is Lambda's limit on a synchronous invocation's payload; a batch stops growing
// before it.
const maxPayloadBytes = 6 << 20
