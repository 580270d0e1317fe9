// Command whoami is GET /v1/whoami; see template.yaml. It needs no AWS client: the authorizer has
// already resolved the key.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"codex/pkg/api"
)

func main() {
	lambda.Start(api.Handler(lambdacontext.NewLogger(), api.Whoami{}))
}
