package codex

import (
	"errors"
	"fmt"
)

// Code classifies an error for clients. Codes are part of the API contract: clients branch on them,
// so they never change meaning. The HTTP adapter maps each to a status and an error type in one table.
type Code string

// Error codes.
const (
	CodeParameterMissing  Code = "parameter_missing"
	CodeParameterInvalid  Code = "parameter_invalid"
	CodeParameterUnknown  Code = "parameter_unknown"
	CodeBodyInvalid       Code = "body_invalid"
	CodeBodyTooLarge      Code = "body_too_large"
	CodeUnsupportedMedia  Code = "unsupported_media_type"
	CodeUnauthenticated   Code = "unauthenticated"
	CodeNotFound          Code = "resource_missing"
	CodeIdempotencyInUse  Code = "idempotency_key_in_use"
	CodeIdempotencyReused Code = "idempotency_key_reused"
	CodeCheckoutNotOpen   Code = "checkout_not_open"
	CodeCheckoutExpired   Code = "checkout_expired"
	CodePaymentInProgress Code = "payment_in_progress"
	CodeKeyExpired        Code = "key_expired"
	CodeSignatureInvalid  Code = "signature_invalid"
	CodeInternal          Code = "internal_error"
)

// Error is an error whose message is safe to show to the client. Anything that is not an *Error is
// internal: the client sees only "internal error" and the detail goes to the log.
type Error struct {
	Code    Code
	Message string
	Param   string // the request parameter at fault, if any
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s: %s (param %s)", e.Code, e.Message, e.Param)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a parameter_invalid error naming param.
func Invalid(param, format string, args ...any) *Error {
	return &Error{Code: CodeParameterInvalid, Message: fmt.Sprintf(format, args...), Param: param}
}

// Missing returns a parameter_missing error naming param.
func Missing(param string) *Error {
	return &Error{Code: CodeParameterMissing, Message: fmt.Sprintf("%s is required", param), Param: param}
}

// NotFound returns a resource_missing error for a kind of resource ("project", "key").
func NotFound(kind string) *Error {
	return &Error{Code: CodeNotFound, Message: fmt.Sprintf("no such %s", kind)}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal for any other error and
// "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsNotFound reports whether err carries CodeNotFound.
func IsNotFound(err error) bool { return ErrorCode(err) == CodeNotFound }
