// Package api adapts the domain to API Gateway HTTP API (payload format 2.0) Lambda events: it decodes
// requests, runs a route's logic and encodes the response or the error envelope. Each route is a small
// type with a Serve method; pkg/registry wires each to its function and lambda.Start via Handler.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"codex/pkg/codex"
)

// Request and Response are the HTTP API payload format 2.0 event types.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

// Route is one route's logic. It returns either a response or an error; errors are turned into the
// envelope by Handler.
type Route interface {
	Serve(ctx context.Context, req *Request) (Response, error)
}

// LambdaHandler is the signature lambda.Start receives.
type LambdaHandler func(ctx context.Context, req Request) (Response, error)

// Handler wraps a route for lambda.Start. It never returns a Go error: API Gateway would answer such
// an error with a bare 500, so every failure, including a panic, becomes the error envelope here. The
// route runs with a deadline a little before the invocation's (codex.ReserveDeadline), so a
// dependency that hangs is answered the same way rather than by a Lambda timeout. Every answer,
// success or envelope, carries X-Content-Type-Options: nosniff, so a browser never renders a JSON
// body as anything else. It logs one line per request, never the body or headers (they carry keys
// and tokens).
func Handler(log *slog.Logger, route Route) LambdaHandler {
	return func(ctx context.Context, req Request) (resp Response, err error) {
		start := time.Now()
		ctx, cancel := codex.ReserveDeadline(ctx)
		defer cancel()
		requestID := req.RequestContext.RequestID
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(ctx, "panic", "request_id", requestID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				resp, err = failure(route, fmt.Errorf("panic: %v", p), requestID), nil
			}
			resp = withHeader(resp, "x-content-type-options", "nosniff")
			log.InfoContext(ctx, "request",
				"request_id", requestID,
				"route", req.RouteKey,
				"status", resp.StatusCode,
				"duration_ms", float64(time.Since(start).Microseconds())/1000)
		}()
		resp, err = route.Serve(ctx, &req)
		if err != nil {
			if codex.ErrorCode(err) == codex.CodeInternal {
				log.ErrorContext(ctx, "internal error", "request_id", requestID, "route", req.RouteKey, "error", err.Error())
			}
			return failure(route, err, requestID), nil
		}
		return resp, nil
	}
}

// failure is route's answer to err: the JSON envelope, or a page for an htmlRoute.
func failure(route Route, err error, requestID string) Response {
	if h, ok := route.(htmlRoute); ok {
		return h.ErrorPage(err, requestID)
	}
	return errorResponse(err, requestID)
}

// htmlRoute is a route that answers a browser with pages: its errors are pages too, not the JSON
// envelope.
type htmlRoute interface {
	ErrorPage(err error, requestID string) Response
}

func errorResponse(err error, requestID string) Response {
	status, body := errorBody(err, requestID)
	return JSON(status, body)
}

// JSON returns a response with v encoded as the body. It does not escape <, > and & as \u003c and
// so on, as json.Marshal does for HTML: this is a JSON API, and the escapes would make a response
// (and the idempotency record that stores it) up to six times the size of what it says.
func JSON(status int, v any) Response {
	b, err := encodeJSON(v)
	if err != nil {
		// Only a programming error (an unsupported type) gets here; answer without leaking it.
		status, b = http.StatusInternalServerError, []byte(`{"error":{"type":"api_error","code":"internal_error","message":"internal error"}}`)
	}
	return Response{
		StatusCode: status,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       string(b),
	}
}

func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func withHeader(resp Response, name, value string) Response {
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	resp.Headers[name] = value
	return resp
}

// NoContent returns a 204.
func NoContent() Response {
	return Response{StatusCode: http.StatusNoContent}
}

// List is the body of every list response.
type List[T any] struct {
	Data []T `json:"data"`
}

// UserID returns the dashboard user the JWT authorizer verified (the token's sub claim).
func UserID(req *Request) (string, error) {
	if jwt := req.RequestContext.Authorizer; jwt != nil && jwt.JWT != nil {
		if sub := jwt.JWT.Claims["sub"]; sub != "" {
			return sub, nil
		}
	}
	// Only a route deployed without the JWT authorizer gets here.
	return "", codex.Errorf(codex.CodeUnauthenticated, "a dashboard login token is required")
}

// Principal returns the project and key the API key authorizer resolved. The project comes only from
// here, never from the request, so a key can act only for its own project.
func Principal(req *Request) (codex.Principal, error) {
	if a := req.RequestContext.Authorizer; a != nil {
		p := codex.Principal{}
		p.ProjectID, _ = a.Lambda["project_id"].(string)
		p.KeyID, _ = a.Lambda["key_id"].(string)
		if p.ProjectID != "" && p.KeyID != "" {
			return p, nil
		}
	}
	return codex.Principal{}, codex.Errorf(codex.CodeUnauthenticated, "an API key is required")
}
