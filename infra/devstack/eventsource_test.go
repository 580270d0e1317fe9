package devstack

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestEventSources starts testdata/events, a stack whose table's stream feeds a function that
// queues work on an SQS queue consumed by another function, with real bootstraps under the
// emulator: the stream and queue events run as Lambda's event source mappings do, the functions
// reach the local SQS, KMS and DynamoDB through the endpoints they are given and resolve the
// queue's !Ref, the KMS key's alias and the stream's !GetAtt, and a message the function keeps
// failing ends in the dead-letter queue.
func TestEventSources(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a whole stack")
	}
	root, err := filepath.Abs("testdata/events")
	if err != nil {
		t.Fatal(err)
	}
	cache, err := filepath.Abs("../../.dev/bin")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{Root: root, Addr: "127.0.0.1:0", CacheDir: cache, StateDir: t.TempDir(),
		Registered: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Queues["Work"].URL == "" || s.Queues["Dead"].ARN == "" || s.Streams["Table"] == "" {
		t.Fatalf("state: queues %v, streams %v", s.Queues, s.Streams)
	}
	resp, err := http.Get(s.URL + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "pong" {
		t.Fatalf("ping: %s", body)
	}

	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	db := dynamodb.New(dynamodb.Options{Region: s.Region, BaseEndpoint: aws.String(s.Endpoint), Credentials: creds})
	queue := sqs.New(sqs.Options{Region: s.Region, BaseEndpoint: aws.String(s.Endpoint), Credentials: creds})
	table := aws.String(s.Tables["Table"])
	for _, id := range []string{"a", "fail-b", "c"} {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: map[string]ddb.AttributeValue{
			"PK": &ddb.AttributeValueMemberS{Value: id}, "kind": &ddb.AttributeValueMemberS{Value: "event"},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	// Not an event: the filter keeps it from the stream's function.
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: map[string]ddb.AttributeValue{
		"PK": &ddb.AttributeValueMemberS{Value: "other"}, "kind": &ddb.AttributeValueMemberS{Value: "checkout"},
	}}); err != nil {
		t.Fatal(err)
	}

	done := func(id string) bool {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, ConsistentRead: aws.Bool(true),
			Key: map[string]ddb.AttributeValue{"PK": &ddb.AttributeValueMemberS{Value: "done#" + id}}})
		return err == nil && out.Item != nil
	}
	var dead []string
	for deadline := time.Now().Add(90 * time.Second); ; {
		out, err := queue.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.Queues["Dead"].URL), WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			dead = append(dead, aws.ToString(m.Body))
		}
		if done("a") && done("c") && len(dead) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a done %v, c done %v, dead-letter queue %v", done("a"), done("c"), dead)
		}
	}
	if len(dead) != 1 || dead[0] != "fail-b" || done("fail-b") || done("other") {
		t.Fatalf("dead-letter queue %v; fail-b done %v; other done %v", dead, done("fail-b"), done("other"))
	}
}
