package localaws

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// ConflictingTransactions is a client option that fails the client's first n TransactWriteItems
// calls, before they are sent (but after the SDK gave them their ClientRequestToken), as DynamoDB
// fails a transaction that overlaps another on one of its
// items: TransactionCanceledException with TransactionConflict for the first item. moto runs
// transactions one at a time and never does, so tests of that path inject it here.
func ConflictingTransactions(n int64) func(*dynamodb.Options) {
	var left atomic.Int64
	left.Store(n)
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ConflictingTransactions",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if awsmiddleware.GetOperationName(ctx) == "TransactWriteItems" && left.Add(-1) >= 0 {
						// One reason per item, as DynamoDB gives them.
						reasons := []types.CancellationReason{{Code: aws.String("TransactionConflict")}}
						codes := []string{"TransactionConflict"}
						if tw, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput); ok {
							for range max(len(tw.TransactItems)-1, 0) {
								reasons = append(reasons, types.CancellationReason{Code: aws.String("None")})
								codes = append(codes, "None")
							}
						}
						return middleware.InitializeOutput{}, middleware.Metadata{}, &types.TransactionCanceledException{
							Message:             aws.String("Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]"),
							CancellationReasons: reasons,
						}
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	}
}
