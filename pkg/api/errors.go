package api

import (
	"errors"
	"net/http"

	"codex/pkg/codex"
)

// errorKind is how one error code appears on the wire.
type errorKind struct {
	status int
	typ    string // the envelope's error.type, the broad class clients branch on first
}

// Error types of the envelope.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typeIdempotency    = "idempotency_error"
	typeAPI            = "api_error"
)

// errorKinds is the one table from domain error codes to HTTP. A code missing here is a bug and is
// answered as an internal error.
var errorKinds = map[codex.Code]errorKind{
	codex.CodeParameterMissing:  {http.StatusBadRequest, typeInvalidRequest},
	codex.CodeParameterInvalid:  {http.StatusBadRequest, typeInvalidRequest},
	codex.CodeParameterUnknown:  {http.StatusBadRequest, typeInvalidRequest},
	codex.CodeBodyInvalid:       {http.StatusBadRequest, typeInvalidRequest},
	codex.CodeBodyTooLarge:      {http.StatusRequestEntityTooLarge, typeInvalidRequest},
	codex.CodeUnsupportedMedia:  {http.StatusUnsupportedMediaType, typeInvalidRequest},
	codex.CodeUnauthenticated:   {http.StatusUnauthorized, typeAuthentication},
	codex.CodeNotFound:          {http.StatusNotFound, typeInvalidRequest},
	codex.CodeIdempotencyInUse:  {http.StatusConflict, typeIdempotency},
	codex.CodeIdempotencyReused: {http.StatusUnprocessableEntity, typeIdempotency},
	codex.CodeCheckoutNotOpen:   {http.StatusConflict, typeInvalidRequest},
	codex.CodeCheckoutExpired:   {http.StatusGone, typeInvalidRequest},
	codex.CodePaymentInProgress: {http.StatusConflict, typeInvalidRequest},
	codex.CodeKeyExpired:        {http.StatusConflict, typeInvalidRequest},
	codex.CodeSignatureInvalid:  {http.StatusBadRequest, typeInvalidRequest},
	codex.CodeInternal:          {http.StatusInternalServerError, typeAPI},
}

// envelope is the one error body every route returns.
type envelope struct {
	Error     envelopeError `json:"error"`
	RequestID string        `json:"request_id"`
}

type envelopeError struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
}

// errorBody returns the status and envelope for err. Only *codex.Error messages reach the client;
// anything else becomes "internal error" so no internal detail (table names, SDK messages) leaks.
func errorBody(err error, requestID string) (int, envelope) {
	var e *codex.Error
	kind, known := errorKind{}, false
	if errors.As(err, &e) {
		kind, known = errorKinds[e.Code]
	}
	if !known {
		e = &codex.Error{Code: codex.CodeInternal, Message: "internal error"}
		kind = errorKinds[codex.CodeInternal]
	}
	return kind.status, envelope{
		Error:     envelopeError{Type: kind.typ, Code: string(e.Code), Message: e.Message, Param: e.Param},
		RequestID: requestID,
	}
}
