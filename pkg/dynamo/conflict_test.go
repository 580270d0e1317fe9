package dynamo

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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
		s := New(dynamodb.New(testEnv.DynamoDB.Options(), localaws.ConflictingTransactions(tc.conflicts)), tables)
		err := s.DeleteKey(ctx, p.ID, k.ID)
		_, lookupErr := plain.LookupKey(ctx, secret.Hash())
		switch {
		case tc.deleted && (err != nil || !codex.IsNotFound(lookupErr)):
			t.Errorf("%d conflicts: DeleteKey %v, lookup %v; want the key deleted", tc.conflicts, err, lookupErr)
		case !tc.deleted && (err == nil || codex.IsNotFound(err) || lookupErr != nil):
			t.Errorf("%d conflicts: DeleteKey %v, lookup %v; want an error and the key still there", tc.conflicts, err, lookupErr)
		}
	}
}
