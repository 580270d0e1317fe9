package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// lambdaAuthorizer calls an authorizer function with a payload format 2.0 REQUEST event; the
// function answers with a simple response, {"isAuthorized": bool, "context": {...}}. Nothing is
// cached: New accepts only ReauthorizeEvery: 0.
type lambdaAuthorizer struct {
	name    string
	invoker Invoker
	headers []string // the identity sources, $request.header.<name>
	timeout time.Duration
}

// authError is a request the gateway refuses itself. reason is for the log only: it names the
// check that failed and never contains the credential.
type authError struct {
	status int
	reason string
	header http.Header
}

func unauthorized(reason string) *authError {
	return &authError{status: http.StatusUnauthorized, reason: reason}
}

func internalError(who string, err error) *authError {
	return &authError{status: http.StatusInternalServerError, reason: who + ": " + err.Error()}
}

// authorize returns the context for requestContext.authorizer.lambda, or the refusal.
func (a *lambdaAuthorizer) authorize(ctx context.Context, g *Gateway, ri *requestInfo, rt *route, params map[string]string) (map[string]any, *authError) {
	who := "lambda authorizer " + a.name
	values := make([]string, 0, len(a.headers))
	for _, h := range a.headers {
		v := ri.headers[strings.ToLower(h)]
		if v == "" {
			// A missing or empty identity source: API Gateway answers 401 without calling the
			// authorizer.
			return nil, unauthorized(who + ": $request.header." + h + " is missing")
		}
		values = append(values, v)
	}
	ev := events.APIGatewayV2CustomAuthorizerV2Request{
		Version:               "2.0",
		Type:                  "REQUEST",
		RouteArn:              fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/$default/%s%s", g.region, g.accountID, g.apiID, ri.method, ri.path),
		IdentitySource:        values,
		RouteKey:              rt.key,
		RawPath:               ri.path,
		RawQueryString:        ri.rawQuery,
		Cookies:               ri.cookies,
		Headers:               ri.headers,
		QueryStringParameters: ri.query,
		RequestContext:        g.requestContext(ri, rt),
		PathParameters:        params,
	}
	payload, err := marshalEvent(ev)
	if err != nil {
		return nil, internalError(who, err)
	}
	ictx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	inv, err := a.invoker.Invoke(ictx, payload)
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		return nil, internalError(who, fmt.Errorf("no answer within %s", a.timeout))
	case err != nil:
		return nil, internalError(who, err)
	case inv.FunctionError != "":
		return nil, internalError(who, fmt.Errorf("function error: %s", errorSummary(inv.Payload)))
	}
	var resp struct {
		IsAuthorized *bool          `json:"isAuthorized"`
		Context      map[string]any `json:"context"`
	}
	if err := json.Unmarshal(inv.Payload, &resp); err != nil || resp.IsAuthorized == nil {
		return nil, internalError(who, errors.New(`the response is not a simple response ({"isAuthorized": bool})`))
	}
	if !*resp.IsAuthorized {
		return nil, &authError{status: http.StatusForbidden, reason: who + ": denied"}
	}
	return resp.Context, nil
}

// errorSummary extracts errorType and errorMessage from a function error document for the log.
func errorSummary(doc []byte) string {
	var e struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(doc, &e) != nil {
		return fmt.Sprintf("%.200s", doc)
	}
	msg := e.ErrorMessage
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return e.ErrorType + ": " + msg
}
