package eventsource

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"codex/infra/eventpattern"
	"codex/infra/gateway"
)

type queuePoller struct {
	src     Queue
	opts    Options
	invoke  gateway.Invoker
	filters []*eventpattern.Pattern
	log     *slog.Logger
}

// run is one poller: receive a batch, invoke, delete what was handled; until ctx ends.
func (p *queuePoller) run(ctx context.Context) {
	for ctx.Err() == nil {
		batch, err := p.collect(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("receive failed; retrying", "error", err.Error())
				sleep(ctx, time.Second)
			}
			continue
		}
		if len(batch) > 0 {
			p.process(ctx, batch)
		}
	}
}

// collect receives up to BatchSize messages: one long-polling receive, then more for up to the
// batching window. Messages that match no filter are deleted on the way, as Lambda does.
func (p *queuePoller) collect(ctx context.Context) ([]events.SQSMessage, error) {
	ev := p.src.Event
	var batch []events.SQSMessage
	size := 0
	var deadline time.Time
	for len(batch) < ev.BatchSize {
		wait := p.opts.QueueWait
		if len(batch) > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				break
			}
			wait = int32(min(left.Round(time.Second)/time.Second, time.Duration(wait)))
		}
		out, err := p.opts.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.src.URL),
			MaxNumberOfMessages:         int32(min(ev.BatchSize-len(batch), 10)),
			WaitTimeSeconds:             wait,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if len(batch) > 0 && ctx.Err() == nil {
				break // what was received is processed; the receive is retried after it
			}
			return nil, err
		}
		var skipped []types.Message
		for _, m := range out.Messages {
			rec := p.lambdaRecord(m)
			b, err := filterDoc(rec)
			if err != nil {
				return nil, err
			}
			if ok, err := eventpattern.Any(p.filters, b); err != nil || !ok {
				skipped = append(skipped, m)
				continue
			}
			size += len(b)
			batch = append(batch, rec)
		}
		p.delete(ctx, skipped)
		if len(batch) == 0 {
			continue
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(time.Duration(ev.MaximumBatchingWindowInSeconds) * time.Second)
		}
		if size > maxPayloadBytes/2 {
			break
		}
	}
	return batch, nil
}

// filterDoc is the record as filter patterns see it: its body parsed when it is JSON.
func filterDoc(rec events.SQSMessage) ([]byte, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	var body any
	if json.Unmarshal([]byte(rec.Body), &body) != nil {
		return b, nil
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	doc["body"] = body
	return json.Marshal(doc)
}

// process invokes the function with batch and deletes the messages it handled.
func (p *queuePoller) process(ctx context.Context, batch []events.SQSMessage) {
	payload, err := json.Marshal(events.SQSEvent{Records: batch})
	if err != nil {
		p.log.Error("encode batch", "error", err.Error())
		return
	}
	ictx, cancel := context.WithTimeout(ctx, invokeTimeout(p.src.Timeout))
	inv, err := p.invoke.Invoke(ictx, payload)
	cancel()
	if ctx.Err() != nil {
		return
	}
	switch {
	case err != nil:
		p.log.Warn("invocation failed: the batch comes back after its visibility timeout", "error", err.Error(), "messages", len(batch))
		return
	case inv.FunctionError != "":
		p.log.Warn("function error: the batch comes back after its visibility timeout", "error", string(inv.Payload), "messages", len(batch))
		return
	}
	handled := batch
	if p.src.Event.ReportBatchItemFailures {
		failed, all := failedItems(inv.Payload, func(id string) bool {
			return slices.ContainsFunc(batch, func(m events.SQSMessage) bool { return m.MessageId == id })
		})
		if all {
			p.log.Warn("invalid batchItemFailures: the whole batch comes back", "response", string(inv.Payload))
			return
		}
		if len(failed) > 0 {
			p.log.Info("partial batch failure", "failed", len(failed), "messages", len(batch))
		}
		handled = slices.DeleteFunc(slices.Clone(batch), func(m events.SQSMessage) bool { return slices.Contains(failed, m.MessageId) })
	}
	var ms []types.Message
	for _, m := range handled {
		ms = append(ms, types.Message{MessageId: aws.String(m.MessageId), ReceiptHandle: aws.String(m.ReceiptHandle)})
	}
	p.delete(ctx, ms)
}

// delete deletes messages by receipt handle, ten at a time.
func (p *queuePoller) delete(ctx context.Context, ms []types.Message) {
	for chunk := range slices.Chunk(ms, 10) {
		var entries []types.DeleteMessageBatchRequestEntry
		for i, m := range chunk {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		out, err := p.opts.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.src.URL), Entries: entries})
		if err != nil {
			p.log.Warn("delete failed: the messages come back after their visibility timeout", "error", err.Error())
			continue
		}
		for _, f := range out.Failed {
			p.log.Warn("delete failed: the message comes back after its visibility timeout", "error", aws.ToString(f.Message))
		}
	}
}

// lambdaRecord is a message as Lambda hands it to a function (events.SQSMessage).
func (p *queuePoller) lambdaRecord(m types.Message) events.SQSMessage {
	rec := events.SQSMessage{
		MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
		Md5OfBody: aws.ToString(m.MD5OfBody), Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
		Attributes: map[string]string{}, MessageAttributes: map[string]events.SQSMessageAttribute{},
		EventSourceARN: p.src.ARN, EventSource: "aws:sqs", AWSRegion: p.opts.Region,
	}
	for k, v := range m.Attributes {
		rec.Attributes[k] = v
	}
	for k, v := range m.MessageAttributes {
		rec.MessageAttributes[k] = events.SQSMessageAttribute{
			StringValue: v.StringValue, BinaryValue: v.BinaryValue, StringListValues: v.StringListValues,
			BinaryListValues: v.BinaryListValues, DataType: aws.ToString(v.DataType),
		}
	}
	return rec
}
