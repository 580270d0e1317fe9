package proof

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"codex/e2e/e2etest"
	"codex/pkg/dynamo"
	"codex/pkg/kmsseal"
	"codex/pkg/webhook"
)

// requester is TestIAMMatchesCalls's do: one request as fn, wanting status; the id of a 201.
type requester func(fn, api, method, path string, header http.Header, body string, status int) string

// webhookCalls requests every webhook endpoint route through the stack; the stack's
// DeliverWebhooksFunction (run by its SQS event source) delivers the test route's ping to a
// loopback receiver. The pipeline's paths that a ping does not take (the fan-out of a stream
// record, a failed attempt and the success after it) run in this process against the proxy,
// signed as their functions, with the code their bootstraps run (pkg/webhook over pkg/dynamo and
// KMS), independently of when the stack's stream poller gets to the table's records. Their SQS
// and KMS calls are proved by pkg/webhook's TestPipelineSQSAndKMSGrants: the proxy sees DynamoDB.
func webhookCalls(t *testing.T, m merchant, do requester, exercised map[string]bool) {
	t.Helper()
	var pings atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { pings.Add(1) }))
	defer receiver.Close()

	jwt, base := e2etest.Bearer(m.token), "/projects/"+m.project+"/webhooks"
	// checkout.expired: no request of this test makes one, so the stack's own fan-out sends this
	// endpoint nothing but what the test route queues.
	r := client.Call(t, "", "POST", base, jwt, fmt.Sprintf(`{"url":%q,"events":["checkout.expired"]}`, receiver.URL))
	e2etest.Want(t, r, http.StatusCreated)
	exercised["CreateWebhookFunction"] = true
	created := e2etest.Decode[struct{ ID, Secret string }](t, r)
	secrets.add(created.Secret)
	hook := base + "/" + created.ID
	do("ListWebhooksFunction", "", "GET", base, jwt, "", http.StatusOK)
	do("GetWebhookFunction", "", "GET", hook, jwt, "", http.StatusOK)
	do("UpdateWebhookFunction", "", "PATCH", hook, jwt, `{"description":"orders"}`, http.StatusOK)
	r = client.Call(t, "", "POST", hook+"/rotate-secret", jwt, "")
	e2etest.Want(t, r, http.StatusOK)
	exercised["RotateWebhookSecretFunction"] = true
	secrets.add(e2etest.Decode[struct{ Secret string }](t, r).Secret)
	do("TestWebhookFunction", "", "POST", hook+"/test", jwt, "", http.StatusAccepted)
	for end := time.Now().Add(30 * time.Second); pings.Load() == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the stack's DeliverWebhooksFunction did not deliver the ping")
		}
	}

	ctx := context.Background()
	logAs := func(fn string) *slog.Logger { return slog.New(slog.NewJSONHandler(logs, nil)).With("function", fn) }
	tables := dynamo.Tables{Keys: stack.Tables["KeysTable"], App: stack.Tables["AppTable"]}
	storeAs := func(fn string) *dynamo.Store {
		return dynamo.New(dynamodb.New(dynamodb.Options{Region: stack.Region, BaseEndpoint: aws.String(proxy.URL()),
			Credentials: credentials.NewStaticCredentialsProvider(fn, "test", "")}), tables)
	}
	var queued []webhook.Message
	queue := queueFunc(func(m webhook.Message) { queued = append(queued, m) })
	body := `{"id":"evt_IAM","object":"event","type":"checkout.expired","created_at":"2026-01-01T00:00:00.000Z","livemode":false,"data":{"object":{}}}`
	s := events.NewStringAttribute
	record := events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: "1",
		NewImage: map[string]events.DynamoDBAttributeValue{"kind": s("event"), "project_id": s(m.project), "event_id": s("evt_IAM"),
			"event_type": s("checkout.expired"), "event_json": s(body)}}}
	resp, err := webhook.Fanout{Endpoints: storeAs("FanoutEventsFunction"), Queue: queue, Log: logAs("FanoutEventsFunction")}.Handle(ctx,
		events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{record}})
	if err != nil || len(resp.BatchItemFailures) != 0 || len(queued) != 1 {
		t.Fatalf("fan-out: %+v, %v, %d messages", resp, err, len(queued))
	}
	exercised["FanoutEventsFunction"] = true
	keys := kms.New(kms.Options{Region: stack.Region, BaseEndpoint: aws.String(stack.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("DeliverWebhooksFunction", "test", "")})
	var attempts atomic.Int32
	deliver := webhook.Deliver{Store: storeAs("DeliverWebhooksFunction"), Sealer: kmsseal.New(keys, "alias/codex-local-WebhookKey"),
		Queue: queue, Poster: posterFunc(func() webhook.Result {
			if attempts.Add(1) == 1 {
				return webhook.Result{Status: http.StatusInternalServerError}
			}
			return webhook.Result{Status: http.StatusOK}
		}), Now: time.Now, Log: logAs("DeliverWebhooksFunction"), Schedule: []time.Duration{0}}
	for i := 0; i < len(queued) && i < 2; i++ { // the first attempt fails, the retry succeeds
		b, _ := json.Marshal(queued[i])
		if out, err := deliver.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: string(b)}}}); err != nil || len(out.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d: %+v, %v", i+1, out, err)
		}
	}
	if attempts.Load() != 2 {
		t.Fatalf("%d attempts, want a failure then a success", attempts.Load())
	}
	exercised["DeliverWebhooksFunction"] = true

	do("ListWebhookDeliveriesFunction", "", "GET", hook+"/deliveries?limit=2", jwt, "", http.StatusOK)
	do("RedeliverWebhookFunction", "", "POST", hook+"/deliveries/evt_IAM/redeliver", jwt, "", http.StatusAccepted)
	do("DeleteWebhookFunction", "", "DELETE", hook, jwt, "", http.StatusNoContent)
}

type queueFunc func(webhook.Message)

func (f queueFunc) Send(_ context.Context, m webhook.Message, _ time.Duration) error {
	f(m)
	return nil
}

type posterFunc func() webhook.Result

func (f posterFunc) Send(context.Context, string, map[string]string, []byte) webhook.Result {
	return f()
}
