package api

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// TestLoggerOneRequestID: a function's log line carries one request id, API Gateway's (the one in
// the error envelope), under request_id; Lambda's invocation id is not added beside it.
func TestLoggerOneRequestID(t *testing.T) {
	var buf bytes.Buffer
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-invocation-id"})
	var req Request
	req.RequestContext.RequestID = "apigw-request-id"
	req.RouteKey = "GET /whoami"
	if _, err := Handler(newLogger(&buf), Whoami{})(ctx, req); err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(buf.String())
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("not one JSON line: %q", line)
	}
	if rec["request_id"] != "apigw-request-id" || rec["message"] != "request" || rec["timestamp"] == nil {
		t.Errorf("log line %s", line)
	}
	for k, v := range rec {
		if k != "request_id" && (strings.Contains(strings.ToLower(k), "request") || v == "lambda-invocation-id") {
			t.Errorf("a second request id %s=%v in %s", k, v, line)
		}
	}
}
