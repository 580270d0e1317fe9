// Command authorizer is the merchant API's Lambda authorizer; see template.yaml and package
// codex/pkg/authorizer.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"codex/pkg/authorizer"
	"codex/pkg/dynamo"
)

func main() {
	log := lambdacontext.NewLogger()
	store, err := dynamo.Open(context.Background())
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(authorizer.Handler{Keys: store, Log: log}.Handle)
}
