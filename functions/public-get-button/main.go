// Command public-get-button is a Lambda function; see template.yaml for its route and permissions.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"codex/pkg/api"
	"codex/pkg/dynamo"
)

func main() {
	log := lambdacontext.NewLogger()
	store, err := dynamo.Open(context.Background())
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(api.Handler(log, api.PublicGetButton{Buttons: store}))
}
