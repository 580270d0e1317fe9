package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"codex/pkg/codex"
	"codex/pkg/codex/codextest"
)

// routeFunc makes a Route of a function, for answers no real route gives on demand.
type routeFunc func(context.Context, *Request) (Response, error)

func (f routeFunc) Serve(ctx context.Context, req *Request) (Response, error) { return f(ctx, req) }

// TestEveryResponseIsNosniff: Handler, which every route goes through, marks each answer (success,
// empty, error envelope, internal error, panic) X-Content-Type-Options: nosniff; the answer that
// holds a new key's secret is also Cache-Control: no-store.
func TestEveryResponseIsNosniff(t *testing.T) {
	fixture, err := os.ReadFile("testdata/dashboard-request.json")
	if err != nil {
		t.Fatal(err)
	}
	keyReq, member, projects := fuzzMember(t, fixture)
	keyReq.RouteKey = "POST /projects/{project_id}/keys"
	keyReq.PathParameters = map[string]string{"project_id": member.Project.ID}
	keyReq.Body = `{"name":"server"}`
	keys := &codextest.KeyStore{CreateKeyFn: func(context.Context, codex.APIKey, string, int, codex.AuditEvent) error { return nil }}
	createKey := CreateKey{Projects: projects, Keys: keys, Now: time.Now}
	badKeyReq := keyReq
	badKeyReq.Body = `{"name":1}`

	for _, tc := range []struct {
		name    string
		route   Route
		req     Request
		status  int
		noStore bool
	}{
		{"success", routeFunc(func(context.Context, *Request) (Response, error) { return JSON(http.StatusOK, List[int]{}), nil }), Request{}, 200, false},
		{"no content", routeFunc(func(context.Context, *Request) (Response, error) { return NoContent(), nil }), Request{}, 204, false},
		{"bare response", routeFunc(func(context.Context, *Request) (Response, error) { return Response{StatusCode: 200}, nil }), Request{}, 200, false},
		{"envelope", Whoami{}, Request{}, 401, false},
		{"internal error", routeFunc(func(context.Context, *Request) (Response, error) { return Response{}, errors.New("boom") }), Request{}, 500, false},
		{"panic", routeFunc(func(context.Context, *Request) (Response, error) { panic("boom") }), Request{}, 500, false},
		{"create key", createKey, keyReq, 201, true},
		{"create key refused", createKey, badKeyReq, 400, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := Handler(slog.New(slog.DiscardHandler), tc.route)(context.Background(), tc.req)
			if err != nil || resp.StatusCode != tc.status {
				t.Fatalf("%d %v: %s", resp.StatusCode, err, resp.Body)
			}
			if got := resp.Headers["x-content-type-options"]; got != "nosniff" {
				t.Errorf("x-content-type-options %q in %v", got, resp.Headers)
			}
			if got := resp.Headers["cache-control"]; tc.noStore && got != "no-store" {
				t.Errorf("cache-control %q on the answer holding a secret", got)
			}
		})
	}
}
