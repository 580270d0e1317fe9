package authorizer

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"codex/infra/localaws/localawstest"
	"codex/pkg/apikey"
	"codex/pkg/codex"
	"codex/pkg/dynamo"
)

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

// calls records the DynamoDB operations a client starts, whatever their outcome.
type calls struct {
	mu  sync.Mutex
	ops []string
}

func (c *calls) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				c.mu.Lock()
				c.ops = append(c.ops, awsmiddleware.GetOperationName(ctx))
				c.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
}

// take returns the operations recorded since the last take.
func (c *calls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops := c.ops
	c.ops = nil
	return ops
}

func (c *calls) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ops)
}

type fixture struct {
	store   *dynamo.Store
	handler Handler
	calls   *calls
	logs    *bytes.Buffer
	now     *time.Time // the handler's clock
}

func newFixture(t *testing.T, opts ...func(*dynamodb.Options)) fixture {
	t.Helper()
	names := testEnv.NewTables(t)
	tables := dynamo.Tables{Keys: names["KeysTable"], App: names["AppTable"]}
	c := &calls{}
	client := dynamodb.New(testEnv.DynamoDB.Options(), append([]func(*dynamodb.Options){c.option}, opts...)...)
	logs := new(bytes.Buffer)
	now := time.Now().UTC().Truncate(time.Millisecond)
	return fixture{
		store:   dynamo.New(testEnv.DynamoDB, tables),
		handler: New(dynamo.New(client, tables), slog.New(slog.NewJSONHandler(logs, nil)), func() time.Time { return now }),
		calls:   c,
		logs:    logs,
		now:     &now,
	}
}

// createKey stores a new key for projectID the way the create-key route does; expiresAt may be zero.
func (f fixture) createKey(t *testing.T, projectID string, expiresAt ...time.Time) (codex.APIKey, apikey.Key) {
	t.Helper()
	secret, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	k := codex.APIKey{ID: codex.NewID(codex.KeyIDPrefix), ProjectID: projectID, Name: "server",
		Prefix: secret.DisplayPrefix(), CreatedAt: *f.now, CreatedBy: "user"}
	if len(expiresAt) > 0 {
		k.ExpiresAt = expiresAt[0]
	}
	audit := codex.AuditEvent{ID: codex.NewID(codex.AuditIDPrefix), ProjectID: projectID, Action: codex.AuditKeyCreated,
		KeyID: k.ID, Actor: codex.Actor{UserID: "user"}, At: *f.now}
	if err := f.store.CreateKey(context.Background(), k, secret.Hash(), apikey.HashVersion, audit); err != nil {
		t.Fatal(err)
	}
	return k, secret
}

func request(authorization string) events.APIGatewayV2CustomAuthorizerV2Request {
	return events.APIGatewayV2CustomAuthorizerV2Request{
		Version:        "2.0",
		Type:           "REQUEST",
		RouteKey:       "GET /v1/whoami",
		IdentitySource: []string{authorization},
		Headers:        map[string]string{"authorization": authorization},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-1"},
	}
}

func TestAllowRevokeDeny(t *testing.T) {
	t.Parallel()
	f, ctx := newFixture(t), context.Background()
	project := codex.NewID(codex.ProjectIDPrefix)
	k, secret := f.createKey(t, project)

	resp, err := f.handler.Handle(ctx, request("Bearer "+secret.Secret()))
	if err != nil || !resp.IsAuthorized {
		t.Fatalf("valid key: %+v, %v; want allowed", resp, err)
	}
	if resp.Context["project_id"] != project || resp.Context["key_id"] != k.ID {
		t.Fatalf("context = %v; want project %s key %s", resp.Context, project, k.ID)
	}
	// The key's first use is recorded; the next, a moment later, is the hot path: one GetItem.
	if got := f.calls.take(); !slices.Equal(got, []string{"GetItem", "UpdateItem"}) {
		t.Fatalf("first use: DynamoDB calls %v, want GetItem and UpdateItem", got)
	}
	*f.now = f.now.Add(time.Second)
	if resp, err = f.handler.Handle(ctx, request("Bearer "+secret.Secret())); err != nil || !resp.IsAuthorized {
		t.Fatalf("valid key again: %+v, %v; want allowed", resp, err)
	}
	if got := f.calls.take(); !slices.Equal(got, []string{"GetItem"}) {
		t.Fatalf("hot path: DynamoDB calls %v, want exactly one GetItem", got)
	}

	revoke := codex.AuditEvent{ID: codex.NewID(codex.AuditIDPrefix), ProjectID: project, Action: codex.AuditKeyRevoked, KeyID: k.ID, At: *f.now}
	if err := f.store.DeleteKey(ctx, project, k.ID, revoke); err != nil {
		t.Fatal(err)
	}
	resp, err = f.handler.Handle(ctx, request("Bearer "+secret.Secret()))
	if err != nil || resp.IsAuthorized {
		t.Fatalf("revoked key: %+v, %v; want denied", resp, err)
	}
	if strings.Contains(f.logs.String(), secret.Secret()) {
		t.Fatal("the log holds the key")
	}
}

func TestMalformedIsDeniedWithoutDynamoDB(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, secret := f.createKey(t, codex.NewID(codex.ProjectIDPrefix))
	s := secret.Secret()
	// Another base62 character in the random part: the format holds, only the checksum can tell.
	flipped := []byte(s)
	flipped[10] = 'a'
	if s[10] == 'a' {
		flipped[10] = 'b'
	}
	for name, header := range map[string]string{
		"missing":        "",
		"no scheme":      s,
		"basic":          "Basic " + s,
		"two spaces":     "Bearer  " + s,
		"bad checksum":   "Bearer " + string(flipped),
		"truncated":      "Bearer " + s[:len(s)-1],
		"other prefix":   "Bearer sk_live_" + s[4:],
		"jwt":            "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig",
		"huge":           "Bearer " + strings.Repeat("A", 1<<16),
		"invalid utf-8":  "Bearer \xff\xfe",
		"trailing space": "Bearer " + s + " ",
	} {
		resp, err := f.handler.Handle(context.Background(), request(header))
		if err != nil || resp.IsAuthorized {
			t.Errorf("%s: %+v, %v; want a plain deny", name, resp, err)
		}
	}
	if n := f.calls.count(); n != 0 {
		t.Fatalf("malformed headers caused %d DynamoDB calls, want 0", n)
	}
	if strings.Contains(f.logs.String(), s[4:20]) {
		t.Fatal("the log holds part of the key")
	}
}

func TestUnknownKeyIsDenied(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	stranger, _ := apikey.Generate() // well formed, never stored
	resp, err := f.handler.Handle(context.Background(), request("Bearer "+stranger.Secret()))
	if err != nil || resp.IsAuthorized {
		t.Fatalf("unknown key: %+v, %v; want denied", resp, err)
	}
	if got := f.calls.take(); !slices.Equal(got, []string{"GetItem"}) {
		t.Fatalf("DynamoDB calls %v, want one GetItem", got)
	}
}

// TestDynamoDBDownFailsClosed points the authorizer at a port nobody listens on: it must return an
// error (API Gateway answers 500) and never allow.
func TestDynamoDBDownFailsClosed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1")
		o.RetryMaxAttempts = 1
	})
	_, secret := f.createKey(t, codex.NewID(codex.ProjectIDPrefix))
	resp, err := f.handler.Handle(context.Background(), request("Bearer "+secret.Secret()))
	if err == nil || resp.IsAuthorized {
		t.Fatalf("DynamoDB unreachable: %+v, %v; want an error and no allow", resp, err)
	}
	if err != ErrLookup {
		t.Fatalf("error %v leaks detail to API Gateway; want ErrLookup", err)
	}
	if !strings.Contains(f.logs.String(), "key lookup failed") {
		t.Fatalf("the failure is not logged: %s", f.logs.String())
	}
}
