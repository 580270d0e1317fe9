package devstack

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"codex/infra/samtemplate"
)

// TestSAMEnvCoversEveryFunction: the --env-vars file has an entry for every function of
// template.yaml, holding exactly the variables the template declares for it (the only ones sam
// local passes on), with make dev's values and the endpoint's host rewritten for a container.
func TestSAMEnvCoversEveryFunction(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	st := &State{
		Region:           "eu-west-1",
		Endpoint:         "http://127.0.0.1:45678",
		UserPoolID:       "eu-west-1_pool",
		UserPoolClientID: "client",
		Tables:           map[string]string{},
		APIs:             map[string]string{"HttpApi": "http://127.0.0.1:3000", "PublicApi": "http://127.0.0.1:3001"},
	}
	for id := range tpl.Tables {
		st.Tables[id] = "local-" + strings.ToLower(id)
	}
	env, err := st.SAMEnv(root, "host.docker.internal")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(env)), slices.Sorted(maps.Keys(tpl.Functions)); !slices.Equal(got, want) {
		t.Fatalf("functions: got %v, want %v", got, want)
	}
	for id, vars := range env {
		fn := tpl.Functions[id]
		if got, want := slices.Sorted(maps.Keys(vars)), slices.Sorted(maps.Keys(fn.Environment)); !slices.Equal(got, want) {
			t.Errorf("%s: variables %v, want the template's %v", id, got, want)
		}
		for k, v := range fn.Environment {
			if v.Fn == samtemplate.FnRef && tpl.Tables[v.Target] != nil && vars[k] != st.Tables[v.Target] {
				t.Errorf("%s: %s = %q, want the local table %q", id, k, vars[k], st.Tables[v.Target])
			}
		}
		// A checkout's url opens the hosted page this stack serves (a buyer's browser opens it,
		// so loopback, not the container's host).
		if _, ok := fn.Environment["CHECKOUT_BASE_URL"]; ok && vars["CHECKOUT_BASE_URL"] != "http://127.0.0.1:3001/c" {
			t.Errorf("%s: CHECKOUT_BASE_URL = %q, want the local PublicApi's /c", id, vars["CHECKOUT_BASE_URL"])
		}
		if got := vars["AWS_ENDPOINT_URL_DYNAMODB"]; got != "http://host.docker.internal:45678" {
			t.Errorf("%s: AWS_ENDPOINT_URL_DYNAMODB = %q, want moto's port on host.docker.internal", id, got)
		}
	}
}

// TestFunctionEnvKeepsLocalEndpoint: the template declares AWS_ENDPOINT_URL_DYNAMODB empty (for
// sam local's sake); make dev's functions must still get the local endpoint, once.
func TestFunctionEnvKeepsLocalEndpoint(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]string{}
	for id := range tpl.Tables {
		tables[id] = id
	}
	names, _ := localNames(tpl, "us-east-1", tables, "pool", "client")
	addQueueNames(names, tpl, "us-east-1")
	addKMSKeyNames(names, tpl, "us-east-1")
	for id, fn := range tpl.Functions {
		if _, ok := fn.Environment["AWS_ENDPOINT_URL_DYNAMODB"]; !ok {
			t.Fatalf("%s: template.yaml no longer declares AWS_ENDPOINT_URL_DYNAMODB (sam local needs it: docs/sam-local.md)", id)
		}
		env, err := functionEnv(tpl, fn, names, "us-east-1", "http://127.0.0.1:1", "http://127.0.0.1:3", "http://127.0.0.1:2")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "AWS_ENDPOINT_URL_DYNAMODB="); ok {
				got = append(got, v)
			}
		}
		if !slices.Equal(got, []string{"http://127.0.0.1:1"}) {
			t.Errorf("%s: AWS_ENDPOINT_URL_DYNAMODB values %q, want only the local endpoint", id, got)
		}
	}
}
