// Package buybutton is the end-to-end test of the buy button: the whole local stack (devstack, as
// `make dev` runs it: every function's real bootstrap under the Lambda RIE behind the
// template-driven gateway, moto as DynamoDB and Cognito) driven over HTTP like a dashboard, a
// merchant's server and a buyer's browser would. Every response, including those the gateway itself
// produces, is validated against the published OpenAPI document.
package buybutton

import (
	"net/http"
	"testing"

	"codex/e2e/e2etest"
)

// client reaches the package's stack; each call through it is validated against the document. It
// follows no redirect: the 303 of the button page's form is the answer under test.
var client = &e2etest.Client{HTTP: &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}}

func TestMain(m *testing.M) {
	e2etest.Suite{Name: "buybutton", Client: client, OpenAPI: true}.Main(m)
}

// fromPage is what a browser on the merchant's page sends with a cross-origin request.
func fromPage() http.Header {
	return http.Header{"Origin": {"https://shop.example"}}
}
