package api

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"

	"codex/infra/localaws"
	"codex/pkg/dynamo"
)

// The local AWS for tests that need storage (moto, unless AWS_ENDPOINT_URL_DYNAMODB names another
// server) starts on first use, so pure tests and fuzz workers do not pay for a server they never use.
var (
	envOnce    sync.Once
	testEnv    *localaws.Env
	envCleanup func()
	envErr     error
)

func localAWS(t *testing.T) *localaws.Env {
	t.Helper()
	envOnce.Do(func() { testEnv, envCleanup, envErr = localaws.Setup(context.Background()) })
	if envErr != nil {
		t.Fatal(envErr)
	}
	return testEnv
}

func TestMain(m *testing.M) {
	code := m.Run()
	if envCleanup != nil {
		envCleanup()
	}
	os.Exit(code)
}

// newTestStore returns a store over fresh copies of the template's tables, deleted when t ends.
func newTestStore(t *testing.T) *dynamo.Store {
	t.Helper()
	env := localAWS(t)
	names := env.NewTables(t)
	return dynamo.New(env.DynamoDB, dynamo.Tables{Keys: names["KeysTable"], App: names["AppTable"]})
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
