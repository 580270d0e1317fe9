package dynamo

import (
	"context"
	"fmt"
	"os"
	"testing"

	"codex/infra/localaws/localawstest"
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
