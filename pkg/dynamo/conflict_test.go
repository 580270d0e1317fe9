package dynamo

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"codex/infra/localaws"
	"codex/pkg/codex"
)

// TestDeleteKeyConflict: a delete that overlaps another transaction on the key is tried again, so
// a double click answers 204 or 404, not 500; one that keeps conflicting is an error that deletes
// nothing, never a 404 for a key that still works.
func TestDeleteKeyConflict(t *testing.T) {
	t.Parallel()
	names := testEnv.NewTables(t)
	tables := Tables{Keys: names["KeysTable"], App: names["AppTable"]}
	plain := New(testEnv.DynamoDB, tables)
	ctx := context.Background()
	p := newProject(t, plain, "user-a", "Shop", t0)

	for _, tc := range []struct {
		conflicts int64
		deleted   bool
	}{
		{conflicts: 1, deleted: true},
		{conflicts: conflictAttempts - 1, deleted: true},
		{conflicts: conflictAttempts, deleted: false},
	} {
		k, secret := newKey(t, plain, p.ID, "Server", t0)
		var tokens []string
		s := New(dynamodb.New(testEnv.DynamoDB.Options(), recordTokens(&tokens), localaws.ConflictingTransactions(tc.conflicts)), tables)
		err := s.DeleteKey(ctx, p.ID, k.ID, testAudit(p.ID, codex.AuditKeyRevoked))
		// Each attempt is a transaction of its own: a repeated token would get the first one's
		// outcome back from DynamoDB.
		if len(tokens) != len(slices.Compact(slices.Sorted(slices.Values(tokens)))) || slices.Contains(tokens, "") {
			t.Errorf("%d conflicts: the attempts' tokens %q are not all different", tc.conflicts, tokens)
		}
		_, lookupErr := plain.LookupKey(ctx, secret.Hash())
		switch {
		case tc.deleted && (err != nil || !codex.IsNotFound(lookupErr)):
			t.Errorf("%d conflicts: DeleteKey %v, lookup %v; want the key deleted", tc.conflicts, err, lookupErr)
		case !tc.deleted && (err == nil || codex.IsNotFound(err) || lookupErr != nil):
			t.Errorf("%d conflicts: DeleteKey %v, lookup %v; want an error and the key still there", tc.conflicts, err, lookupErr)
		}
	}
}

// recordTokens is a client option that records the ClientRequestToken of every TransactWriteItems
// call as it leaves the Initialize step (give it before an option that fails calls there).
func recordTokens(tokens *[]string) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("recordTokens",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if tw, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput); ok {
						*tokens = append(*tokens, aws.ToString(tw.ClientRequestToken))
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	}
}
