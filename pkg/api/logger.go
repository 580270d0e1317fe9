package api

import (
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// NewLogger is the logger every function and the authorizer log with: slog JSON on stdout under the
// keys of Lambda's JSON log format (timestamp, level, message), at the level AWS_LAMBDA_LOG_LEVEL
// names. It adds no request id of its own (lambdacontext.NewLogger would add Lambda's as requestId):
// Handler and the authorizer log API Gateway's as request_id, the id a merchant reads in the error
// envelope and quotes to support, so that one key finds every line of a request.
func NewLogger() *slog.Logger { return newLogger(os.Stdout) }

func newLogger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToUpper(os.Getenv("AWS_LAMBDA_LOG_LEVEL")) {
	case "TRACE", "DEBUG":
		level = slog.LevelDebug
	case "WARN":
		level = slog.LevelWarn
	case "ERROR", "FATAL":
		level = slog.LevelError
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: lambdacontext.ReplaceAttr}))
}
