package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"codex/pkg/apikey"
	"codex/pkg/codex"
	"codex/pkg/codex/codextest"
)

// TestHangingStoreDeniesBeforeTheDeadline: the lookup is cut off short of the invocation's deadline,
// so the authorizer fails closed (deny and an error, which API Gateway answers with a 500) and logs
// it, instead of being stopped by Lambda's timeout.
func TestHangingStoreDeniesBeforeTheDeadline(t *testing.T) {
	key, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	// A key store that never answers, like a DynamoDB that accepts and stays silent.
	hanging := &codextest.KeyLookup{LookupKeyFn: func(ctx context.Context, _ string) (codex.KeyGrant, error) {
		<-ctx.Done()
		return codex.KeyGrant{}, ctx.Err()
	}}
	h := New(hanging, slog.New(slog.DiscardHandler), time.Now)
	resp, err := h.Handle(ctx, events.APIGatewayV2CustomAuthorizerV2Request{
		Headers: map[string]string{"authorization": "Bearer " + key.Secret()},
	})
	if resp.IsAuthorized || !errors.Is(err, ErrLookup) {
		t.Fatalf("got %+v, %v; want a deny with ErrLookup", resp, err)
	}
	if left := time.Until(deadline); left < 50*time.Millisecond {
		t.Fatalf("answered only %s before the deadline", left)
	}
}
