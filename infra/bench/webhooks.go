package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"codex/infra/devstack"
	"codex/pkg/codex"
	"codex/pkg/dynamo"
)

// webhookResult is the pipeline's figures: commit → delivery latency and sustained deliveries per
// second, each with its floor.
type webhookResult struct {
	latency, floorLatency []time.Duration
	// deliveries is how many deliveries the throughput phase timed (the same number on both sides).
	deliveries      int
	rate, floorRate float64 // deliveries per second, first to last arrival
	endpoints       int
}

// streamPollInterval is how often the floor asks an empty stream shard again: the local event
// source's interval (infra/eventsource), which is Lambda's four polls a second per shard.
const streamPollInterval = 250 * time.Millisecond

// throughputEndpoints is how many endpoints the throughput phase registers: a project's maximum
// (docs/webhooks.md), so that one checkout fans out to that many deliveries.
const throughputEndpoints = 16

// arrival is one request the receiver got.
type arrival struct {
	path       string
	checkoutID string
	at         time.Time
}

// receiver is the local webhook endpoint: it verifies each signed delivery with the official
// Standard Webhooks library and the secret of the endpoint its path belongs to, and reports when
// it arrived. Floor deliveries (path /floor) are unsigned.
type receiver struct {
	url     string
	mu      sync.Mutex
	secrets map[string]*standardwebhooks.Webhook // path → verifier
	got     chan arrival
	bad     chan error
	srv     *http.Server
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String(), secrets: map[string]*standardwebhooks.Webhook{},
		got: make(chan arrival, 4096), bad: make(chan error, 16)}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln) //nolint:errcheck // Close ends it
	return r, nil
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	if req.URL.Path != "/floor" {
		r.mu.Lock()
		wh := r.secrets[req.URL.Path]
		r.mu.Unlock()
		if wh == nil || wh.Verify(body, req.Header) != nil {
			select {
			case r.bad <- fmt.Errorf("the receiver got a delivery on %s that does not verify", req.URL.Path):
			default:
			}
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
	}
	var ev struct {
		Data struct {
			Object struct {
				ID string `json:"id"`
			} `json:"object"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &ev)
	r.got <- arrival{path: req.URL.Path, checkoutID: ev.Data.Object.ID, at: at}
	w.WriteHeader(http.StatusNoContent)
}

// wait is the next arrival, or an error after timeout.
func (r *receiver) wait(ctx context.Context, timeout time.Duration) (arrival, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case a := <-r.got:
		return a, nil
	case err := <-r.bad:
		return arrival{}, err
	case <-t.C:
		return arrival{}, fmt.Errorf("no delivery reached the receiver within %s", timeout)
	case <-ctx.Done():
		return arrival{}, ctx.Err()
	}
}

// waitFor is the arrival of checkoutID's delivery on path, skipping others.
func (r *receiver) waitFor(ctx context.Context, path, checkoutID string) (arrival, error) {
	for {
		a, err := r.wait(ctx, 30*time.Second)
		if err != nil {
			return a, fmt.Errorf("%s for checkout %s: %w", path, checkoutID, err)
		}
		if a.path == path && a.checkoutID == checkoutID {
			return a, nil
		}
	}
}

// measureWebhooks registers a local receiver as a webhook endpoint of a new project and measures,
// over the stack's own pipeline (the table's stream, the fan-out function, WebhookQueue, the
// delivery function):
//   - n times, the time from a POST /v1/checkouts returning (its transaction committed) to the
//     receiver getting the signed checkout.created, against a floor that commits the same
//     transaction directly, reads it from the stream with the same calls (polled as the local event
//     source polls), sends and receives it through an SQS queue and POSTs it to the receiver;
//   - with 16 endpoints, deliveries per second from the first arrival to the last of `rounds`
//     checkouts' deliveries, against a floor that queues as many messages and receives, POSTs and
//     deletes them with as many pollers as the local event source runs.
func measureWebhooks(ctx context.Context, stack *devstack.Stack, n, rounds int) (*webhookResult, error) {
	api := stack.APIs["HttpApi"]
	recv, err := startReceiver()
	if err != nil {
		return nil, err
	}
	defer recv.srv.Close()
	token, err := stack.Token(ctx, stack.Cognito(), "bench-webhooks")
	if err != nil {
		return nil, err
	}
	post := func(url, credential, body string, into any) error {
		status, b, err := send(ctx, http.MethodPost, url, bearer(credential), body)
		if err != nil {
			return err
		}
		if status != http.StatusCreated {
			return fmt.Errorf("POST %s: %d %s", url, status, b)
		}
		return json.Unmarshal(b, into)
	}
	var project, key struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	if err := post(api+"/projects", token, `{"name":"Bench webhooks"}`, &project); err != nil {
		return nil, err
	}
	if err := post(api+"/projects/"+project.ID+"/keys", token, `{"name":"bench"}`, &key); err != nil {
		return nil, err
	}
	register := func(i int) (string, error) {
		path := fmt.Sprintf("/hook/%d", i)
		var ep struct {
			Secret string `json:"secret"`
		}
		body := fmt.Sprintf(`{"url":%q,"events":["checkout.created"],"description":"bench"}`, recv.url+path)
		if err := post(api+"/projects/"+project.ID+"/webhooks", token, body, &ep); err != nil {
			return "", err
		}
		wh, err := standardwebhooks.NewWebhook(ep.Secret)
		if err != nil {
			return "", err
		}
		recv.mu.Lock()
		recv.secrets[path] = wh
		recv.mu.Unlock()
		return path, nil
	}
	first, err := register(0)
	if err != nil {
		return nil, err
	}
	createCheckout := func() (string, error) {
		var c struct {
			ID string `json:"id"`
		}
		return c.ID, post(api+"/v1/checkouts", key.Key, checkoutBody, &c)
	}

	// The floor's clients, configured like the stack's own.
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	db := dynamodb.New(dynamodb.Options{Region: stack.Region, BaseEndpoint: aws.String(stack.Endpoint), Credentials: creds})
	store := dynamo.New(db, dynamo.Tables{Keys: stack.Tables["KeysTable"], App: stack.Tables["AppTable"]})
	streams := dynamodbstreams.New(dynamodbstreams.Options{Region: stack.Region, BaseEndpoint: aws.String(stack.Endpoint), Credentials: creds})
	queues := sqs.New(sqs.Options{Region: stack.Region, BaseEndpoint: aws.String(stack.Endpoint), Credentials: creds})
	q, err := queues.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench-webhook-floor")})
	if err != nil {
		return nil, fmt.Errorf("the floor's queue: %w", err)
	}
	queueURL := q.QueueUrl
	var params codex.CheckoutParams
	if err := json.Unmarshal([]byte(checkoutBody), &params); err != nil {
		return nil, err
	}
	if params, err = params.Validate(); err != nil {
		return nil, err
	}
	// The floor's checkouts belong to a project without endpoints, so that the pipeline has
	// nothing to deliver while the floor is timed.
	floorProject := project.ID + "floor"
	streamARN := stack.Streams["AppTable"]
	if streamARN == "" {
		return nil, fmt.Errorf("the stack has no AppTable stream: %v", stack.Streams)
	}
	deliverDirect := func(body string) error {
		status, b, err := send(ctx, http.MethodPost, recv.url+"/floor", nil, body)
		if err == nil && status/100 != 2 {
			err = fmt.Errorf("the receiver answered %d: %s", status, b)
		}
		return err
	}
	// floorLatency commits a checkout and its event, then carries the event from the stream to the
	// receiver with direct calls; the time runs from the commit to the arrival.
	floorLatency := func() (time.Duration, error) {
		desc, err := streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(streamARN)})
		if err != nil {
			return 0, err
		}
		var iters []*string
		for _, sh := range desc.StreamDescription.Shards {
			if sh.SequenceNumberRange != nil && sh.SequenceNumberRange.EndingSequenceNumber != nil {
				continue
			}
			it, err := streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(streamARN),
				ShardId: sh.ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeLatest})
			if err != nil {
				return 0, err
			}
			iters = append(iters, it.ShardIterator)
		}
		c := codex.NewCheckout(floorProject, params, time.Now())
		ev, err := createdEvent(c)
		if err != nil {
			return 0, err
		}
		if _, err := store.CreateCheckout(ctx, c, ev, nil); err != nil {
			return 0, err
		}
		committed := time.Now()
		deadline := committed.Add(30 * time.Second)
		for found := false; !found; {
			if time.Now().After(deadline) {
				return 0, errors.New("the floor's event never appeared on the stream")
			}
			for i, it := range iters {
				out, err := streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it})
				if err != nil {
					return 0, err
				}
				iters[i] = out.NextShardIterator
				for _, rec := range out.Records {
					if rec.Dynamodb != nil && hasString(rec.Dynamodb.NewImage, ev.ID) {
						found = true
					}
				}
			}
			if !found {
				time.Sleep(streamPollInterval)
			}
		}
		if _, err := queues.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: queueURL, MessageBody: aws.String(string(ev.JSON))}); err != nil {
			return 0, err
		}
		var body string
		for body == "" {
			out, err := queues.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queueURL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			if err != nil {
				return 0, err
			}
			for _, m := range out.Messages {
				body = aws.ToString(m.Body)
				if _, err := queues.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: queueURL, ReceiptHandle: m.ReceiptHandle}); err != nil {
					return 0, err
				}
			}
		}
		if err := deliverDirect(body); err != nil {
			return 0, err
		}
		a, err := recv.waitFor(ctx, "/floor", c.ID)
		if err != nil {
			return 0, err
		}
		return a.at.Sub(committed), nil
	}

	res := &webhookResult{endpoints: throughputEndpoints}
	progress("webhooks: %d checkouts, each timed from its POST's answer to its signed delivery, each followed by its floor", n)
	// One untimed round each first: the pipeline's functions and the floor's connections warm.
	for i := range n + 1 {
		id, err := createCheckout()
		if err != nil {
			return nil, err
		}
		returned := time.Now()
		a, err := recv.waitFor(ctx, first, id)
		if err != nil {
			return nil, err
		}
		fd, err := floorLatency()
		if err != nil {
			return nil, fmt.Errorf("webhook latency floor: %w", err)
		}
		if i > 0 {
			res.latency = append(res.latency, a.at.Sub(returned))
			res.floorLatency = append(res.floorLatency, fd)
		}
	}

	progress("webhooks: %d endpoints, %d checkouts back to back, deliveries per second; then the floor", throughputEndpoints, rounds)
	for i := 1; i < throughputEndpoints; i++ {
		if _, err := register(i); err != nil {
			return nil, err
		}
	}
	total := throughputEndpoints * rounds
	res.deliveries = total
	for range rounds {
		if _, err := createCheckout(); err != nil {
			return nil, err
		}
	}
	span := func(timeout time.Duration) (float64, error) {
		var firstAt, lastAt time.Time
		for i := range total {
			a, err := recv.wait(ctx, timeout)
			if err != nil {
				return 0, fmt.Errorf("delivery %d of %d: %w", i+1, total, err)
			}
			if i == 0 {
				firstAt = a.at
			}
			lastAt = a.at
		}
		if d := lastAt.Sub(firstAt); d > 0 {
			return float64(total-1) / d.Seconds(), nil
		}
		return 0, nil
	}
	if res.rate, err = span(60 * time.Second); err != nil {
		return nil, err
	}
	// The floor: as many messages as deliveries, queued first (untimed, as the fan-out queued
	// the pipeline's), then received, POSTed and deleted by as many pollers as the event source runs.
	for range total {
		c := codex.NewCheckout(floorProject, params, time.Now())
		ev, err := createdEvent(c)
		if err != nil {
			return nil, err
		}
		if _, err := queues.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: queueURL, MessageBody: aws.String(string(ev.JSON))}); err != nil {
			return nil, err
		}
	}
	pollCtx, stopPolling := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range floorPollers {
		wg.Go(func() {
			for pollCtx.Err() == nil {
				out, err := queues.ReceiveMessage(pollCtx, &sqs.ReceiveMessageInput{QueueUrl: queueURL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
				if err != nil {
					continue
				}
				for _, m := range out.Messages {
					if deliverDirect(aws.ToString(m.Body)) == nil {
						_, _ = queues.DeleteMessage(pollCtx, &sqs.DeleteMessageInput{QueueUrl: queueURL, ReceiptHandle: m.ReceiptHandle})
					}
				}
			}
		})
	}
	res.floorRate, err = span(60 * time.Second)
	stopPolling()
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("webhook throughput floor: %w", err)
	}
	return res, nil
}

// floorPollers is the local event source's pollers per queue (infra/eventsource), as many batches
// at once as Lambda starts with.
const floorPollers = 5

// hasString reports whether a stream image has a string attribute equal to s.
func hasString(image map[string]streamtypes.AttributeValue, s string) bool {
	for _, v := range image {
		if sv, ok := v.(*streamtypes.AttributeValueMemberS); ok && strings.Contains(sv.Value, s) {
			return true
		}
	}
	return false
}
