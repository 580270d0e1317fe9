// Package sqsqueue is the webhook queue on SQS: the one place that knows its URL and the SQS API.
package sqsqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"codex/pkg/awsenv"
	"codex/pkg/webhook"
)

// API is the part of the SQS client the queue uses.
type API interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ webhook.Queue = (*Queue)(nil)

// Queue sends webhook.Messages to one SQS queue.
type Queue struct {
	sqs API
	url string
}

// New returns the queue at url.
func New(api API, url string) *Queue { return &Queue{sqs: api, url: url} }

// Open builds the queue from the function's environment: WEBHOOK_QUEUE_URL, which template.yaml
// sets to the stack's WebhookQueue, and the AWS configuration of package awsenv.
func Open() (*Queue, error) {
	url := os.Getenv("WEBHOOK_QUEUE_URL")
	if url == "" {
		return nil, errors.New("WEBHOOK_QUEUE_URL must be set")
	}
	cfg, err := awsenv.Config()
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return New(sqs.NewFromConfig(cfg), url), nil
}

// Send sends m, hidden for delay (rounded up to the second, at most webhook.MaxQueueDelay).
func (q *Queue) Send(ctx context.Context, m webhook.Message, delay time.Duration) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	secs := int32((min(delay, webhook.MaxQueueDelay) + time.Second - 1) / time.Second)
	_, err = q.sqs.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: &q.url, MessageBody: aws.String(string(body)), DelaySeconds: secs,
	})
	if err != nil {
		return fmt.Errorf("send to webhook queue: %w", err)
	}
	return nil
}
