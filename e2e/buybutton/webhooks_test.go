package buybutton

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"codex/e2e/e2etest"
	"codex/pkg/codex"
	"codex/pkg/dynamo"
)

// webhooksOverHTTP answers each webhook endpoint route with a success through the stack: KMS
// seals the secret and SQS takes the test event, both in the stack's moto. The delivery the
// redeliver route needs is recorded as DeliverWebhooksFunction records one (the stack runs no
// event source here).
func webhooksOverHTTP(t *testing.T, s shop) {
	t.Helper()
	jwt, base := e2etest.Bearer(s.token), "/projects/"+s.project+"/webhooks"
	r := client.Call(t, dashboardAPI, "POST", base, jwt, `{"url":"http://127.0.0.1:9/hooks","events":["*"],"description":"local"}`)
	e2etest.Want(t, r, http.StatusCreated)
	hook := base + "/" + e2etest.Decode[struct{ ID string }](t, r).ID
	e2etest.WantError(t, client.Call(t, dashboardAPI, "POST", base, jwt, `{"url":"https://169.254.169.254/","events":["*"]}`),
		http.StatusBadRequest, "parameter_invalid", "url")
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", base, jwt, ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", hook, jwt, ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, dashboardAPI, "PATCH", hook, jwt, `{"events":["checkout.completed"]}`), http.StatusOK)
	e2etest.Want(t, client.Call(t, dashboardAPI, "POST", hook+"/rotate-secret", jwt, ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, dashboardAPI, "POST", hook+"/test", jwt, ""), http.StatusAccepted)

	st := client.Stack
	db := dynamodb.New(dynamodb.Options{Region: st.Region, BaseEndpoint: aws.String(st.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	store := dynamo.New(db, dynamo.Tables{Keys: st.Tables["KeysTable"], App: st.Tables["AppTable"]})
	id := hook[len(base)+1:]
	if err := store.RecordWebhookAttempt(context.Background(),
		codex.WebhookAttempt{EndpointID: id, EventID: "evt_E2E", EventType: "checkout.completed", Attempt: 1, At: time.Now(), Status: 500, Outcome: codex.AttemptFailed},
		codex.WebhookDelivery{EndpointID: id, EventID: "evt_E2E", EventType: "checkout.completed", EventJSON: `{"id":"evt_E2E"}`}); err != nil {
		t.Fatal(err)
	}
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", hook+"/deliveries?limit=5", jwt, ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, dashboardAPI, "POST", hook+"/deliveries/evt_E2E/redeliver", jwt, ""), http.StatusAccepted)
	e2etest.Want(t, client.Call(t, dashboardAPI, "DELETE", hook, jwt, ""), http.StatusNoContent)
}
