// Package dynamotest is kept only while callers move to localaws.Setup, which now starts moto with
// DynamoDB requests serialised (see infra/localaws/sitecustomize.py).
package dynamotest

import (
	"context"

	"codex/infra/localaws"
)

// Setup is localaws.Setup.
func Setup(ctx context.Context) (env *localaws.Env, cleanup func(), err error) {
	return localaws.Setup(ctx)
}
