package api

import (
	"context"
	"fmt"
	"os"
	"testing"

	"codex/infra/localaws"
	"codex/pkg/dynamo"
	"codex/pkg/dynamo/dynamotest"
)

// testEnv is the local AWS the handler tests that need storage run against (see dynamotest).
var testEnv *localaws.Env

func TestMain(m *testing.M) {
	env, cleanup, err := dynamotest.Setup(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEnv = env
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// newTestStore returns a DynamoDB store over fresh copies of the template's tables, deleted when t
// ends.
func newTestStore(t *testing.T) *dynamo.Store {
	t.Helper()
	names := testEnv.NewTables(t)
	return dynamo.New(testEnv.DynamoDB, dynamo.Tables{Keys: names["KeysTable"], App: names["AppTable"]})
}
