package dynamo

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"codex/infra/localaws/localawstest"
	"codex/pkg/codex"
)

// testEnv is the local AWS every test of this package runs against: moto started for the run, or
// the endpoint in AWS_ENDPOINT_URL_DYNAMODB. Tests isolate themselves with their own tables.
var testEnv *localawstest.Env

func TestMain(m *testing.M) {
	env, cleanup, err := localawstest.Setup(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEnv = env
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// newTestStore returns a Store over fresh copies of the template's tables, deleted when t ends.
func newTestStore(t *testing.T) *Store {
	t.Helper()
	names := testEnv.NewTables(t)
	return New(testEnv.DynamoDB, Tables{Keys: names["KeysTable"], App: names["AppTable"]})
}

// createdEvent is a checkout.created event of c, as the API would make it with c (its body is
// smaller: the store keeps it as bytes and does not read it).
func createdEvent(c codex.Checkout) codex.Event {
	id := codex.NewID(codex.EventIDPrefix)
	return codex.Event{ID: id, ProjectID: c.ProjectID, Type: codex.EventCheckoutCreated, CreatedAt: c.CreatedAt,
		JSON: []byte(`{"id":"` + id + `","object":"event","type":"checkout.created","created_at":"` + codex.FormatTime(c.CreatedAt) +
			`","livemode":false,"data":{"object":{"id":"` + c.ID + `","object":"checkout"}}}`)}
}

// createChecked creates c with its created event.
func createChecked(ctx context.Context, s *Store, c codex.Checkout, rec *codex.IdempotencyRecord) (*codex.IdempotencyRecord, error) {
	return s.CreateCheckout(ctx, c, createdEvent(c), rec)
}

// expiredEvent is a checkout.expired event of c at at.
func expiredEvent(c codex.Checkout, at time.Time) codex.Event {
	ev := createdEvent(c)
	ev.Type, ev.CreatedAt = codex.EventCheckoutExpired, at.UTC().Truncate(time.Millisecond)
	ev.JSON = []byte(strings.Replace(string(ev.JSON), "checkout.created", "checkout.expired", 1))
	return ev
}
