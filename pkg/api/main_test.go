package api

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"codex/infra/localaws"
	"codex/pkg/dynamo"
	"codex/pkg/dynamo/dynamotest"
)

// testEnv is the local AWS the handler tests that need storage run against (moto, started for the
// run unless AWS_ENDPOINT_URL_DYNAMODB names another server).
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

// newTestStore returns a store over fresh copies of the template's tables, deleted when t ends.
func newTestStore(t *testing.T) *dynamo.Store {
	t.Helper()
	names := testEnv.NewTables(t)
	return dynamo.New(testEnv.DynamoDB, dynamo.Tables{Keys: names["KeysTable"], App: names["AppTable"]})
}

// fixtureRequest loads an API Gateway payload 2.0 event captured in testdata.
func fixtureRequest(t *testing.T, name string) Request {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var req Request
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatal(err)
	}
	return req
}
