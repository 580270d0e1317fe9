package proof

import (
	"net/http"
	"slices"
	"testing"

	"codex/e2e/e2etest"
	"codex/infra/dynamoproxy"
)

// TestDynamoDBCallsPerRequest pins the DynamoDB calls each request of the four routes `make bench`
// measures makes, authorizer included, as the proxy sees them: the bench's floor and capacity are
// those calls made directly, so a route that makes one more (or one fewer) must fail here, not
// only in the bench. Each route is called twice, so a first request of a fresh function and a warm
// one are both held to the list.
func TestDynamoDBCallsPerRequest(t *testing.T) {
	m := newMerchant(t, "calls")
	// The key's first use records it (an UpdateItem); the routes below are measured on the hot path.
	e2etest.Want(t, client.Call(t, "", "GET", "/v1/whoami", e2etest.Bearer(m.key), ""), http.StatusOK)
	r := client.Call(t, "", "POST", "/projects/"+m.project+"/buttons", e2etest.Bearer(m.token), buttonBody)
	e2etest.Want(t, r, http.StatusCreated)
	button := e2etest.Decode[struct{ ID string }](t, r).ID

	var checkout string // made by the POST below, read by the GET after it
	for _, route := range []struct {
		name, api, method string
		path              func() string
		header            http.Header
		body              string
		status            int
		want              []string
	}{
		{
			name: "POST /v1/checkouts", method: "POST", path: func() string { return "/v1/checkouts" },
			header: e2etest.Bearer(m.key), body: checkoutBody, status: http.StatusCreated,
			want: []string{"GetItem KeysTable", "TransactWriteItems AppTable"}, // the checkout and its event
		},
		{
			name: "GET /v1/checkouts/{id}", method: "GET", path: func() string { return "/v1/checkouts/" + checkout },
			header: e2etest.Bearer(m.key), status: http.StatusOK,
			want: []string{"GetItem KeysTable", "GetItem AppTable"},
		},
		{
			name: "GET /public/projects/{id}/buttons/{id}", api: "PublicApi", method: "GET",
			path:   func() string { return "/public/projects/" + m.project + "/buttons/" + button },
			status: http.StatusOK,
			want:   []string{"GetItem AppTable"},
		},
		{
			name: "GET /c/{id}", api: "PublicApi", method: "GET", path: func() string { return "/c/" + checkout },
			status: http.StatusOK,
			want:   []string{"GetItem AppTable", "GetItem AppTable"}, // the checkout, then its project
		},
	} {
		for i := range 2 {
			proxy.StartRecording()
			r := client.Call(t, route.api, route.method, route.path(), route.header, route.body)
			calls := dynamoproxy.Describe(proxy.StopRecording(), stack.Tables)
			e2etest.Want(t, r, route.status)
			if !slices.Equal(calls, route.want) {
				t.Errorf("%s (request %d): DynamoDB calls %q, want %q", route.name, i+1, calls, route.want)
			}
			if route.method == "POST" {
				checkout = e2etest.Decode[struct{ ID string }](t, r).ID
			}
		}
	}
}
