package webhook_test

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"codex/infra/samtemplate"
	"codex/pkg/kmsseal"
	"codex/pkg/sqsqueue"
	"codex/pkg/webhook"
)

// calls records the SQS and KMS actions a function's clients made.
type calls map[string]bool

type recSQS struct {
	*sqs.Client
	seen calls
}

func (r recSQS) SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	r.seen["sqs:SendMessage"] = true
	return r.Client.SendMessage(ctx, in, opts...)
}

type recKMS struct {
	*kms.Client
	seen calls
}

func (r recKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	r.seen["kms:Decrypt"] = true
	return r.Client.Decrypt(ctx, in, opts...)
}

func (r recKMS) Encrypt(ctx context.Context, in *kms.EncryptInput, opts ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	r.seen["kms:Encrypt"] = true
	return r.Client.Encrypt(ctx, in, opts...)
}

// TestPipelineSQSAndKMSGrants is the SQS and KMS half of e2e/proof's TestIAMMatchesCalls (whose
// proxy sees DynamoDB only): the fan-out and delivery handlers run every path that calls SQS or
// KMS (a retry included), and each function's template policy grants exactly the SQS and KMS
// actions they made.
func TestPipelineSQSAndKMSGrants(t *testing.T) {
	t.Parallel()
	w, ctx := newWorld(t), context.Background()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		if hits.Add(1) == 1 {
			rw.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	w.endpoint(t, "prj_G", srv.URL, "*")
	used := map[string]calls{"FanoutEventsFunction": {}, "DeliverWebhooksFunction": {}}
	queueAs := func(fn string) *sqsqueue.Queue { return sqsqueue.New(recSQS{sqsAPI, used[fn]}, w.url) }

	rec, _ := eventRecord("1", "prj_G", "evt_G", "checkout.created")
	if _, err := (webhook.Fanout{Endpoints: w.store, Queue: queueAs("FanoutEventsFunction"), Log: quiet}).Handle(ctx,
		events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}}); err != nil {
		t.Fatal(err)
	}
	d := w.deliver(w.store, local)
	d.Queue = queueAs("DeliverWebhooksFunction")
	d.Sealer = kmsseal.New(recKMS{kmsAPI, used["DeliverWebhooksFunction"]}, w.keyID)
	w.pump(t, d, 15*time.Second)
	if hits.Load() != 2 {
		t.Fatalf("the receiver got %d attempts, want a failure and its retry", hits.Load())
	}

	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for fn, seen := range used {
		f := tpl.Functions[fn]
		if f == nil {
			t.Fatalf("template.yaml has no %s", fn)
		}
		granted := calls{}
		for _, s := range f.Statements {
			for _, a := range s.Action {
				if strings.HasPrefix(a, "sqs:") || strings.HasPrefix(a, "kms:") {
					granted[a] = true
				}
			}
		}
		if got, want := slices.Sorted(maps.Keys(granted)), slices.Sorted(maps.Keys(seen)); !slices.Equal(got, want) {
			t.Errorf("%s: template grants %v; its calls use %v", fn, got, want)
		}
	}
}
