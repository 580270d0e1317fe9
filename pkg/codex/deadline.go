package codex

import (
	"context"
	"time"
)

// MaxDeadlineReserve bounds how much of an invocation's time ReserveDeadline keeps back.
const MaxDeadlineReserve = time.Second

// ReserveDeadline returns a context that ends a little before ctx's deadline: a tenth of the time
// left, at most MaxDeadlineReserve. A Lambda handler runs its work under it, so that a dependency
// that stops answering (DynamoDB accepting connections and never replying) fails the work while
// there is still time to log the failure and answer it; at the deadline itself Lambda stops the
// function mid-call, nothing is logged, and API Gateway answers a bare 500. Without a deadline, ctx
// is returned as it is.
func ReserveDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {} // no allocation on this path (benchmarks and tests call without one)
	}
	reserve := min(time.Until(deadline)/10, MaxDeadlineReserve)
	return context.WithDeadline(ctx, deadline.Add(-reserve))
}
