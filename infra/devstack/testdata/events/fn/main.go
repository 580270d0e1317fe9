// Command fn is every function of devstack's event source fixture: it tells the events it gets
// apart by their records' eventSource, as a real function's handler type would.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"codex/pkg/awsenv"
)

func main() {
	cfg, err := awsenv.Config()
	if err != nil {
		panic(err)
	}
	db, queue, keys := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg), kms.NewFromConfig(cfg)
	lambda.Start(func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Records []struct {
				EventSource string `json:"eventSource"`
			}
		}
		_ = json.Unmarshal(raw, &probe)
		if len(probe.Records) == 0 {
			return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "pong"}, nil
		}
		switch probe.Records[0].EventSource {
		case "aws:dynamodb":
			var ev events.DynamoDBEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, err
			}
			var resp events.DynamoDBEventResponse
			for _, r := range ev.Records {
				if r.EventSourceArn != os.Getenv("STREAM_ARN") {
					return nil, fmt.Errorf("record of %s, want %s", r.EventSourceArn, os.Getenv("STREAM_ARN"))
				}
				_, err := queue.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(os.Getenv("WORK_QUEUE")),
					MessageBody: aws.String(r.Change.NewImage["PK"].String())})
				if err != nil {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
				}
			}
			return resp, nil
		case "aws:sqs":
			var ev events.SQSEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, err
			}
			var resp events.SQSEventResponse
			for _, m := range ev.Records {
				if m.EventSourceARN != os.Getenv("WORK_QUEUE_ARN") || strings.HasPrefix(m.Body, "fail") {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
					continue
				}
				sealed, err := keys.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(os.Getenv("KEY_ID")), Plaintext: []byte(m.Body)})
				if err != nil {
					return nil, err
				}
				opened, err := keys.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: sealed.CiphertextBlob})
				if err != nil {
					return nil, err
				}
				_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(os.Getenv("TABLE")), Item: map[string]ddb.AttributeValue{
					"PK":       &ddb.AttributeValueMemberS{Value: "done#" + string(opened.Plaintext)},
					"kind":     &ddb.AttributeValueMemberS{Value: "done"},
					"receives": &ddb.AttributeValueMemberS{Value: m.Attributes["ApproximateReceiveCount"]},
				}})
				if err != nil {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				}
			}
			return resp, nil
		}
		return nil, fmt.Errorf("unknown event source %q", probe.Records[0].EventSource)
	})
}
