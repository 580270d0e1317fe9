// Command hello is the smallest aws-lambda-go function: the baseline make bench compares every
// function's size and cold start with. It is built by the Makefile's bench-hello target with the
// functions' exact build flags and never deployed (functions/ holds only deployed functions).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context) (string, error) { return "Hello, world!", nil })
}
