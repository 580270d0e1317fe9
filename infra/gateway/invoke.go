package gateway

import "context"

// Invoker invokes one function synchronously, like Lambda's Invoke API (RequestResponse). The
// gateway holds one per function of the template.
type Invoker interface {
	// Invoke runs the function with payload as its event. It returns an error only when the
	// invocation did not complete: ctx ended (the gateway's integration timeout), or the execution
	// environment could not be started or died. A function that ran and failed is not an error:
	// see Invocation.FunctionError.
	Invoke(ctx context.Context, payload []byte) (Invocation, error)
}

// Invocation is the result of an invocation that ran.
type Invocation struct {
	// Payload is the function's response, or the error document when FunctionError is set.
	Payload []byte
	// FunctionError mirrors Lambda's X-Amz-Function-Error header: "" for a normal response,
	// "Unhandled" when the function returned an error, panicked, exited or timed out.
	FunctionError string
}
