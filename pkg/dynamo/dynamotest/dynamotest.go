// Package dynamotest sets up the local AWS that the store and checkout handler tests run against. It
// is localaws.Setup with one difference: the moto server it starts serialises DynamoDB requests
// (see sitecustomize.py), because unpatched moto runs TransactWriteItems non-atomically across its
// request threads, and the idempotency tests race 50 transactions on one item. Without the patch
// they fail a few runs in a hundred, for moto's sake: two transactions both pass
// attribute_not_exists, or a cancelled one's rollback erases the winner's items.
//
// When AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL is set, nothing is started and the tests use
// that endpoint, exactly as with localaws.Setup.
package dynamotest

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"

	"codex/infra/localaws"
)

//go:embed sitecustomize.py
var siteCustomize []byte

// Setup prepares the process like localaws.Setup; call it from TestMain and call cleanup after m.Run.
func Setup(ctx context.Context) (env *localaws.Env, cleanup func(), err error) {
	if os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") != "" || os.Getenv("AWS_ENDPOINT_URL") != "" {
		return localaws.Setup(ctx)
	}
	var undo []func()
	cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if err != nil {
			cleanup()
			cleanup = nil
		}
	}()
	setenv := func(k, v string) {
		old, had := os.LookupEnv(k)
		os.Setenv(k, v)
		undo = append(undo, func() {
			if had {
				os.Setenv(k, old)
			} else {
				os.Unsetenv(k)
			}
		})
	}

	dir, err := os.MkdirTemp("", "codex-moto-")
	if err != nil {
		return nil, nil, err
	}
	undo = append(undo, func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "sitecustomize.py"), siteCustomize, 0o644); err != nil {
		return nil, nil, err
	}
	pythonPath := dir
	if p := os.Getenv("PYTHONPATH"); p != "" {
		pythonPath += string(os.PathListSeparator) + p
	}
	srv, err := localaws.StartMoto(ctx, localaws.Options{Env: []string{"PYTHONPATH=" + pythonPath}})
	if err != nil {
		return nil, nil, err
	}
	undo = append(undo, func() { _ = srv.Stop() })

	setenv("AWS_ENDPOINT_URL_DYNAMODB", srv.Endpoint())
	if os.Getenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER") == "" {
		setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", srv.Endpoint())
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		// Every endpoint is this moto, which accepts any key; without these the SDK would go
		// looking for real credentials.
		setenv("AWS_ACCESS_KEY_ID", "test")
		setenv("AWS_SECRET_ACCESS_KEY", "test")
	}
	env, envCleanup, err := localaws.Setup(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("local AWS on %s: %w", srv.Endpoint(), err)
	}
	undo = append(undo, envCleanup)
	env.Moto = srv
	return env, cleanup, nil
}
