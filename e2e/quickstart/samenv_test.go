package quickstart

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"codex/infra/devstack"
	"codex/infra/samtemplate"
	"codex/pkg/dynamo"
)

// checkSAMEnv runs `make sam-env` against the running stack, as a developer about to use sam
// local would (docs/sam-local.md), and checks the file: every function of template.yaml, each with
// every variable the template declares for it, naming this stack's tables and moto; and, read with
// only that file's variables and the credentials and region sam local gives a container by
// default, the project the quickstart created is there, listed for the token's user.
func checkSAMEnv(t *testing.T, ctx context.Context, root, state string, stack *devstack.Stack, projectID, token string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "sam-env.json")
	cmd := exec.CommandContext(ctx, "make", "-s", "sam-env", "SAM_ENV="+file, "SAM_HOST=127.0.0.1")
	cmd.Dir = root
	cmd.Env = append(cleanEnv(), "DEV_STATE="+state)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make sam-env: %v\n%s", err, out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]map[string]string
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("sam-env.json: %v", err)
	}

	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(env)), slices.Sorted(maps.Keys(tpl.Functions)); !slices.Equal(got, want) {
		t.Fatalf("sam-env.json functions %v, want template.yaml's %v", got, want)
	}
	for id, vars := range env {
		fn := tpl.Functions[id]
		if got, want := slices.Sorted(maps.Keys(vars)), slices.Sorted(maps.Keys(fn.Environment)); !slices.Equal(got, want) {
			t.Errorf("%s: variables %v, want template.yaml's %v", id, got, want)
		}
		for k, v := range fn.Environment {
			if v.Fn == samtemplate.FnRef && tpl.Tables[v.Target] != nil && vars[k] != stack.Tables[v.Target] {
				t.Errorf("%s: %s = %q, want the stack's table %q", id, k, vars[k], stack.Tables[v.Target])
			}
		}
		if got := vars["AWS_ENDPOINT_URL_DYNAMODB"]; got != stack.Endpoint {
			t.Errorf("%s: AWS_ENDPOINT_URL_DYNAMODB = %q, want the stack's moto %q", id, got, stack.Endpoint)
		}
	}

	// What sam local sets in a container when the shell has no AWS credentials
	// (samcli/local/lambdafn/env_vars.py), then the file's variables of ListKeysFunction.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
		}
	}
	t.Setenv("AWS_REGION", stack.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "defaultkey")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "defaultsecret")
	for k, v := range env["ListKeysFunction"] {
		t.Setenv(k, v)
	}
	store, err := dynamo.Open(ctx)
	if err != nil {
		t.Fatalf("a store from sam-env.json: %v", err)
	}
	projects, err := store.ListProjects(ctx, subject(t, token))
	if err != nil {
		t.Fatalf("ListProjects with sam-env.json's variables: %v", err)
	}
	if len(projects) != 1 || projects[0].ID != projectID {
		t.Errorf("ListProjects with sam-env.json's variables: %+v, want the quickstart's project %s", projects, projectID)
	}
	if strings.Contains(string(b), "defaultsecret") {
		t.Error("sam-env.json holds credentials")
	}
}

// subject is the sub claim of a JWT, read without verifying it (the stack issued it).
func subject(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatal("the quickstart's token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(b, &claims); err != nil || claims.Sub == "" {
		t.Fatalf("the quickstart's token has no sub claim (%v)", err)
	}
	return claims.Sub
}
