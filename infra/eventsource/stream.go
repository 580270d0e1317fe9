package eventsource

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	st "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"

	"codex/infra/eventpattern"
	"codex/infra/gateway"
)

type streamPoller struct {
	src     Stream
	opts    Options
	invoke  gateway.Invoker
	filters []*eventpattern.Pattern
	log     *slog.Logger
}

// run finds the stream's shards and polls each; it returns when ctx ends. moto's stream has one
// shard that never closes, so shards DynamoDB would open later (it rolls them every few hours)
// are not looked for.
func (p *streamPoller) run(ctx context.Context) {
	var shards []st.Shard
	for ctx.Err() == nil {
		out, err := p.opts.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.src.StreamARN)})
		if err == nil {
			shards = out.StreamDescription.Shards
			break
		}
		p.log.Warn("describe stream failed; retrying", "error", err.Error())
		sleep(ctx, time.Second)
	}
	done := make(chan struct{}, len(shards))
	for _, sh := range shards {
		go func() {
			defer func() { done <- struct{}{} }()
			p.shard(ctx, aws.ToString(sh.ShardId))
		}()
	}
	for range shards {
		<-done
	}
}

// shard polls one shard: batches in order, each until it succeeds or is given up.
func (p *streamPoller) shard(ctx context.Context, shardID string) {
	log := p.log.With("shard", shardID)
	var iterator *string
	for iterator == nil && ctx.Err() == nil {
		out, err := p.opts.Streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
			StreamArn: aws.String(p.src.StreamARN), ShardId: aws.String(shardID),
			ShardIteratorType: st.ShardIteratorType(p.src.Event.StartingPosition),
		})
		if err != nil {
			log.Warn("get shard iterator failed; retrying", "error", err.Error())
			sleep(ctx, time.Second)
			continue
		}
		iterator = out.ShardIterator
	}
	for ctx.Err() == nil && iterator != nil {
		var batch []events.DynamoDBEventRecord
		var err error
		batch, iterator, err = p.collect(ctx, shardID, iterator)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("get records failed; retrying", "error", err.Error())
				sleep(ctx, time.Second)
			}
			continue
		}
		if len(batch) == 0 {
			sleep(ctx, p.opts.PollInterval)
			continue
		}
		p.process(ctx, log, shardID, batch)
	}
}

// collect reads up to BatchSize records matching the filters, for up to the batching window once
// one has arrived, within Lambda's payload limit. It returns the iterator to continue from.
func (p *streamPoller) collect(ctx context.Context, shardID string, iterator *string) ([]events.DynamoDBEventRecord, *string, error) {
	ev := p.src.Event
	var batch []events.DynamoDBEventRecord
	size := 0
	var deadline time.Time
	for {
		limit := min(ev.BatchSize-len(batch), 1000)
		out, err := p.opts.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iterator, Limit: aws.Int32(int32(limit))})
		if err != nil {
			return batch, iterator, err
		}
		next := out.NextShardIterator
		for _, r := range out.Records {
			rec := lambdaRecord(r, p.src.StreamARN)
			b, err := json.Marshal(rec)
			if err != nil {
				return batch, iterator, err
			}
			if ok, err := eventpattern.Any(p.filters, b); err != nil || !ok {
				continue // filtered out: skipped, as Lambda does
			}
			if size+len(b) > maxPayloadBytes && len(batch) > 0 {
				// This record starts the next batch: resume right before it.
				at, err := p.opts.Streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
					StreamArn: aws.String(p.src.StreamARN), ShardId: aws.String(shardID),
					ShardIteratorType: st.ShardIteratorTypeAtSequenceNumber, SequenceNumber: r.Dynamodb.SequenceNumber,
				})
				if err != nil {
					return nil, iterator, err
				}
				return batch, at.ShardIterator, nil
			}
			size += len(b)
			batch = append(batch, rec)
		}
		// An empty answer's next iterator is the same position: keeping the one in hand saves
		// moto, which keeps every iterator it hands out, from growing with each idle poll.
		if len(out.Records) > 0 || next == nil {
			iterator = next
		}
		if len(batch) >= ev.BatchSize || iterator == nil || len(batch) == 0 && len(out.Records) == 0 {
			return batch, iterator, nil
		}
		if deadline.IsZero() && len(batch) > 0 {
			deadline = time.Now().Add(time.Duration(ev.MaximumBatchingWindowInSeconds) * time.Second)
		}
		if !time.Now().Before(deadline) {
			return batch, iterator, nil
		}
		if len(out.Records) == 0 {
			sleep(ctx, min(p.opts.PollInterval, time.Until(deadline)))
		}
	}
}

// process invokes the function with batch until it succeeds, or gives the batch up after the
// retries the event allows.
func (p *streamPoller) process(ctx context.Context, log *slog.Logger, shardID string, batch []events.DynamoDBEventRecord) {
	ev := p.src.Event
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if ev.MaximumRecordAgeInSeconds >= 0 {
			oldest := batch[0].Change.ApproximateCreationDateTime.Time
			if time.Since(oldest) > time.Duration(ev.MaximumRecordAgeInSeconds)*time.Second {
				p.giveUp(ctx, log, shardID, batch, attempt, "RecordAgeExceeded", nil)
				return
			}
		}
		payload, err := json.Marshal(events.DynamoDBEvent{Records: batch})
		if err != nil {
			log.Error("encode batch", "error", err.Error())
			return
		}
		ictx, cancel := context.WithTimeout(ctx, invokeTimeout(p.src.Timeout))
		inv, err := p.invoke.Invoke(ictx, payload)
		cancel()
		if ctx.Err() != nil {
			return
		}
		failedAt := 0 // the index the retry starts from
		switch {
		case err != nil:
			log.Warn("invocation failed", "error", err.Error(), "records", len(batch), "attempt", attempt+1)
		case inv.FunctionError != "":
			log.Warn("function error", "error", string(inv.Payload), "records", len(batch), "attempt", attempt+1)
		case !ev.ReportBatchItemFailures:
			return
		default:
			seqs := map[string]int{}
			for i, r := range batch {
				seqs[r.Change.SequenceNumber] = i
			}
			failed, all := failedItems(inv.Payload, func(id string) bool { _, ok := seqs[id]; return ok })
			if all {
				log.Warn("invalid batchItemFailures: the whole batch is retried", "response", string(inv.Payload), "attempt", attempt+1)
				break
			}
			if len(failed) == 0 {
				return
			}
			// The checkpoint is the lowest failed sequence number: it and everything after it are
			// retried.
			failedAt = len(batch)
			for _, id := range failed {
				failedAt = min(failedAt, seqs[id])
			}
			log.Info("partial batch failure", "failed", len(failed), "records", len(batch), "retrying_from", batch[failedAt].Change.SequenceNumber)
		}
		batch = batch[failedAt:]
		if ev.MaximumRetryAttempts >= 0 && attempt >= ev.MaximumRetryAttempts {
			p.giveUp(ctx, log, shardID, batch, attempt+1, "RetryAttemptsExhausted", &inv)
			return
		}
		sleep(ctx, min(p.opts.RetryDelay<<min(attempt, 6), time.Minute))
	}
}

// giveUp skips batch and, with an on-failure destination, sends it Lambda's invocation record.
func (p *streamPoller) giveUp(ctx context.Context, log *slog.Logger, shardID string, batch []events.DynamoDBEventRecord, invokes int, condition string, inv *gateway.Invocation) {
	first, last := batch[0], batch[len(batch)-1]
	log.Warn("batch given up", "condition", condition, "records", len(batch),
		"first_sequence_number", first.Change.SequenceNumber, "last_sequence_number", last.Change.SequenceNumber)
	if p.src.OnFailureURL == "" {
		return
	}
	rec := map[string]any{
		"requestContext": map[string]any{
			"requestId":              uuid.NewString(),
			"functionArn":            fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", p.opts.Region, p.opts.AccountID, p.src.Function),
			"condition":              condition,
			"approximateInvokeCount": invokes,
		},
		"version":   "1.0",
		"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"DDBStreamBatchInfo": map[string]any{
			"shardId":                         shardID,
			"startSequenceNumber":             first.Change.SequenceNumber,
			"endSequenceNumber":               last.Change.SequenceNumber,
			"approximateArrivalOfFirstRecord": first.Change.ApproximateCreationDateTime.UTC().Format("2006-01-02T15:04:05Z"),
			"approximateArrivalOfLastRecord":  last.Change.ApproximateCreationDateTime.UTC().Format("2006-01-02T15:04:05Z"),
			"batchSize":                       len(batch),
			"streamArn":                       p.src.StreamARN,
		},
	}
	if inv != nil {
		rc := map[string]any{"statusCode": 200, "executedVersion": "$LATEST"}
		if inv.FunctionError != "" {
			rc["functionError"] = inv.FunctionError
		}
		rec["responseContext"] = rc
	}
	b, _ := json.Marshal(rec)
	if _, err := p.opts.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(p.src.OnFailureURL), MessageBody: aws.String(string(b))}); err != nil {
		log.Error("sending the failed batch to its on-failure destination", "error", err.Error())
	}
}

// lambdaRecord is a stream record as Lambda hands it to a function (events.DynamoDBEventRecord).
func lambdaRecord(r st.Record, streamARN string) events.DynamoDBEventRecord {
	rec := events.DynamoDBEventRecord{
		AWSRegion: aws.ToString(r.AwsRegion), EventID: aws.ToString(r.EventID), EventName: string(r.EventName),
		EventSource: aws.ToString(r.EventSource), EventVersion: aws.ToString(r.EventVersion), EventSourceArn: streamARN,
	}
	if rec.EventSource == "" {
		rec.EventSource = "aws:dynamodb"
	}
	if u := r.UserIdentity; u != nil {
		rec.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(u.Type), PrincipalID: aws.ToString(u.PrincipalId)}
	}
	if d := r.Dynamodb; d != nil {
		rec.Change = events.DynamoDBStreamRecord{
			Keys: attributes(d.Keys), NewImage: attributes(d.NewImage), OldImage: attributes(d.OldImage),
			SequenceNumber: aws.ToString(d.SequenceNumber), SizeBytes: aws.ToInt64(d.SizeBytes), StreamViewType: string(d.StreamViewType),
		}
		if d.ApproximateCreationDateTime != nil {
			rec.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
		}
	}
	return rec
}

func attributes(m map[string]st.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = attribute(v)
	}
	return out
}

func attribute(v st.AttributeValue) events.DynamoDBAttributeValue {
	switch a := v.(type) {
	case *st.AttributeValueMemberS:
		return events.NewStringAttribute(a.Value)
	case *st.AttributeValueMemberN:
		return events.NewNumberAttribute(a.Value)
	case *st.AttributeValueMemberB:
		return events.NewBinaryAttribute(a.Value)
	case *st.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(a.Value)
	case *st.AttributeValueMemberNULL:
		return events.NewNullAttribute()
	case *st.AttributeValueMemberSS:
		return events.NewStringSetAttribute(a.Value)
	case *st.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(a.Value)
	case *st.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(a.Value)
	case *st.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(a.Value))
		for i, e := range a.Value {
			l[i] = attribute(e)
		}
		return events.NewListAttribute(l)
	case *st.AttributeValueMemberM:
		return events.NewMapAttribute(attributes(a.Value))
	}
	return events.NewNullAttribute()
}
