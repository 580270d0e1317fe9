// Command fn is a Lambda function for the gateway's emulator tests: the query parameter "do" of the
// payload 2.0 event picks a behaviour (a response, a returned error, a panic, an exit, a sleep), so
// one binary covers every outcome the gateway must map.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, raw json.RawMessage) (any, error) {
		var ev events.APIGatewayV2HTTPRequest
		_ = json.Unmarshal(raw, &ev)
		switch ev.QueryStringParameters["do"] {
		case "error":
			return nil, errors.New("boom")
		case "panic":
			panic("kaboom")
		case "exit":
			os.Exit(3)
		case "sleep":
			time.Sleep(10 * time.Second)
		case "slow":
			time.Sleep(200 * time.Millisecond)
		case "string":
			return "plain", nil
		case "env":
			return map[string]string{"table": os.Getenv("TABLE"), "home": os.Getenv("HOME"), "name": os.Getenv("AWS_LAMBDA_FUNCTION_NAME")}, nil
		}
		return events.APIGatewayV2HTTPResponse{
			StatusCode: 200,
			Headers:    map[string]string{"content-type": "text/plain"},
			Body:       fmt.Sprintf("pid %d", os.Getpid()),
		}, nil
	})
}
