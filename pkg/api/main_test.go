package api

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/infra/localaws/localawstest"
	"codex/pkg/dynamo"
)

// The local AWS for tests that need storage (moto, unless AWS_ENDPOINT_URL_DYNAMODB names another
// server) starts on first use, so pure tests and fuzz workers do not pay for a server they never use.
var (
	envOnce    sync.Once
	testEnv    *localawstest.Env
	envCleanup func()
	envErr     error
)

func localAWS(t *testing.T) *localawstest.Env {
	t.Helper()
	envOnce.Do(func() { testEnv, envCleanup, envErr = localawstest.Setup(context.Background()) })
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
	s, _ := newTestTables(t)
	return s
}

// newTestTables is newTestStore that also returns the tables.
func newTestTables(t *testing.T) (*dynamo.Store, dynamo.Tables) {
	t.Helper()
	env := localAWS(t)
	names := env.NewTables(t)
	tables := dynamo.Tables{Keys: names["KeysTable"], App: names["AppTable"]}
	return dynamo.New(env.DynamoDB, tables), tables
}

// itemCount is how many items tables hold, by strongly consistent scans (an index may lag).
func itemCount(t *testing.T, tables dynamo.Tables) int {
	t.Helper()
	n := 0
	for _, table := range []string{tables.Keys, tables.App} {
		p := dynamodb.NewScanPaginator(localAWS(t).DynamoDB, &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true), Select: types.SelectCount})
		for p.HasMorePages() {
			out, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			n += int(out.Count)
		}
	}
	return n
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
