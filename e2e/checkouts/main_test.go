// Package checkouts is the end-to-end test of the merchant checkout API: the whole local stack
// (devstack, as `make dev` runs it: the real bootstraps under the Lambda RIE behind the
// template-driven gateway with its Lambda authorizer, moto as DynamoDB and Cognito) driven over HTTP
// as a dashboard user and a merchant's server would. Every exchange is validated against the
// published OpenAPI document.
package checkouts

import (
	"net/http"
	"testing"

	"codex/e2e/e2etest"
)

// client reaches the package's stack; each call through it is validated against the document.
var client = &e2etest.Client{}

func TestMain(m *testing.M) {
	e2etest.Suite{Name: "checkouts", Client: client, OpenAPI: true}.Main(m)
}

// call sends one request to the HttpApi, the only API these tests use.
func call(t *testing.T, method, path string, header http.Header, body string) e2etest.Response {
	t.Helper()
	return client.Call(t, "HttpApi", method, path, header, body)
}

// merchant is a project set up through the dashboard, with a secret key for its server.
type merchant struct{ project, key string }

func newMerchant(t *testing.T, user string) merchant {
	t.Helper()
	tok := client.Token(t, user)
	r := call(t, "POST", "/projects", e2etest.Bearer(tok), `{"name":"Shop of `+user+`"}`)
	e2etest.Want(t, r, http.StatusCreated)
	m := merchant{project: e2etest.Decode[map[string]any](t, r)["id"].(string)}
	r = call(t, "POST", "/projects/"+m.project+"/keys", e2etest.Bearer(tok), `{"name":"server"}`)
	e2etest.Want(t, r, http.StatusCreated)
	m.key = e2etest.Decode[map[string]any](t, r)["key"].(string)
	return m
}
