// Package authorizer is the API Gateway HTTP API Lambda authorizer for the merchant API (/v1). It
// resolves "Authorization: Bearer cmk_..." to the key's project with one strongly consistent read.
//
// Decisions: a malformed header or key is denied without touching DynamoDB (the key format carries a
// checksum for exactly this); an unknown or deleted key is denied; a DynamoDB failure is returned as
// an error so API Gateway answers 500 — it fails closed and never allows.
package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"codex/pkg/api"
	"codex/pkg/apikey"
	"codex/pkg/codex"
)

// Handler is the authorizer.
type Handler struct {
	Keys codex.KeyLookup
	Log  *slog.Logger
}

// ErrLookup is what API Gateway gets when the key store cannot answer; the detail goes to the log.
var ErrLookup = errors.New("key lookup failed")

// errMalformed is returned by ParseAuthorization for anything that is not "Bearer <key>".
var errMalformed = errors.New("authorization header is not of the form Bearer <key>")

// ParseAuthorization accepts exactly "Bearer <key>": the scheme in any case, one space, then a
// well-formed key with a valid checksum. Errors never contain the header's value.
func ParseAuthorization(header string) (apikey.Key, error) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return apikey.Key{}, errMalformed
	}
	return apikey.Parse(token)
}

// Handle implements the authorizer with payload format 2.0 and simple responses.
func (h Handler) Handle(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	deny := events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}
	requestID := req.RequestContext.RequestID
	header, _ := api.Header(req.Headers, "authorization")
	key, err := ParseAuthorization(header)
	if err != nil {
		h.Log.InfoContext(ctx, "deny", "request_id", requestID, "reason", "malformed", "detail", err.Error())
		return deny, nil
	}
	// Short of the invocation's deadline, so a store that hangs is logged and answered as a failure
	// (still a 500 from API Gateway, never an allow) instead of being cut off by a timeout.
	lookupCtx, cancel := codex.ReserveDeadline(ctx)
	defer cancel()
	p, err := h.Keys.LookupKey(lookupCtx, key.Hash())
	switch {
	case codex.IsNotFound(err):
		h.Log.InfoContext(ctx, "deny", "request_id", requestID, "reason", "unknown key")
		return deny, nil
	case err != nil:
		h.Log.ErrorContext(ctx, "key lookup failed", "request_id", requestID, "error", err.Error())
		return deny, ErrLookup
	}
	h.Log.InfoContext(ctx, "allow", "request_id", requestID, "project_id", p.ProjectID, "key_id", p.KeyID)
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{
		IsAuthorized: true,
		Context:      map[string]any{"project_id": p.ProjectID, "key_id": p.KeyID},
	}, nil
}
