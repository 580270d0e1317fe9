package api

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// hangingRoute waits for its context to end, as a call to a DynamoDB that never answers does.
type hangingRoute struct{}

func (hangingRoute) Serve(ctx context.Context, _ *Request) (Response, error) {
	<-ctx.Done()
	return Response{}, ctx.Err()
}

// TestHandlerAnswersBeforeTheDeadline: a route stuck on a dependency is cut off short of the
// invocation's deadline and answered with the envelope's 500, not left for Lambda's timeout (which
// API Gateway turns into a bare 500 with nothing logged).
func TestHandlerAnswersBeforeTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	resp, err := Handler(discardLog(), hangingRoute{})(ctx, Request{RequestContext: merchantRequest("", nil).RequestContext})
	if err != nil || resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("got %d %s, %v", resp.StatusCode, resp.Body, err)
	}
	if e := decodeEnvelope(t, resp); e.Error.Code != "internal_error" || e.Error.Message != "internal error" {
		t.Fatalf("body %s", resp.Body)
	}
	if left := time.Until(deadline); left < 50*time.Millisecond {
		t.Fatalf("answered only %s before the deadline", left)
	}
}
