package api

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"codex/pkg/codex"
)

// Limits on request bodies. API Gateway accepts up to 10 MB; nothing in this API needs more than a
// few kilobytes, so anything large is refused before it is parsed.
const (
	MaxBodyBytes = 64 << 10
	maxJSONDepth = 16
)

// DecodeJSON decodes the request body into v strictly: the body must be one JSON object of valid UTF-8
// with no duplicate names, no member v has no field for, no trailing data and no deeper nesting than
// the API uses. Names are case-sensitive ({"quantity":1,"QUANTITY":100} is refused, where
// encoding/json would read 100 and most other parsers 1). An empty body decodes as {} so routes
// whose fields are all optional accept it.
func DecodeJSON(req *Request, v any) error {
	body, err := rawBody(req)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := checkJSON(body); err != nil {
		return err
	}
	return decodeChecked(body, v, "")
}

// decodeChecked decodes data, which has passed checkJSON (the whole body or one value of it), into
// v. Every error names the parameter at fault by its full path under path, as the request spells
// it: line_items[2].unit_amount.
func decodeChecked(data []byte, v any, path string) error {
	err := json.Unmarshal(data, v, json.RejectUnknownMembers(true))
	var se *json.SemanticError
	if err == nil {
		return nil
	} else if !errors.As(err, &se) {
		return codex.Errorf(codex.CodeBodyInvalid, "request body is not valid JSON")
	}
	if se.Err == json.ErrUnknownName {
		// Of several unknown names the first in sorted order is named, whatever order they came in:
		// decoded again (into a fresh value) with every object's members sorted.
		sorted := jsontext.Value(bytes.Clone(data))
		if sorted.Format(jsontext.ReorderRawObjects(true)) != nil {
			sorted = data // not reached: data has passed checkJSON
		}
		var again *json.SemanticError
		if errors.As(json.Unmarshal(sorted, fresh(v), json.RejectUnknownMembers(true)), &again) && again.Err == json.ErrUnknownName {
			se = again
		}
		hint := ""
		if !unknownAt(json.Unmarshal(sorted, fresh(v), json.RejectUnknownMembers(true), json.MatchCaseInsensitiveNames(true)), se.JSONPointer) {
			hint = "parameter names are case-sensitive"
		}
		// The last token is a member name even if it looks like an index.
		return unknownParam(joinParam(paramName(path, se.JSONPointer.Parent()), se.JSONPointer.LastToken()), hint)
	}
	param := paramName(path, se.JSONPointer)
	if param == "" || se.GoType == nil {
		return codex.Errorf(codex.CodeBodyInvalid, "request body must be a JSON object")
	}
	return codex.Invalid(param, "%s must be %s", param, jsonKind(se.GoType))
}

// fresh returns a new zero value of what v points to, to decode into again on an error path.
func fresh(v any) any { return reflect.New(reflect.TypeOf(v).Elem()).Interface() }

// unknownAt reports whether err is an unknown member at ptr.
func unknownAt(err error, ptr jsontext.Pointer) bool {
	var se *json.SemanticError
	return errors.As(err, &se) && se.Err == json.ErrUnknownName && se.JSONPointer == ptr
}

// paramName spells a JSON pointer under path the way the API names parameters: an index in
// brackets, a name after a dot (/line_items/2/unit_amount is line_items[2].unit_amount).
func paramName(path string, ptr jsontext.Pointer) string {
	for tok := range ptr.Tokens() {
		if _, err := strconv.ParseUint(tok, 10, 64); err == nil {
			path += "[" + tok + "]"
		} else {
			path = joinParam(path, tok)
		}
	}
	return path
}

func joinParam(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// unknownParam is the error for a parameter the route does not take, named as the request spells it.
func unknownParam(param, hint string) error {
	param = codex.Truncate(param, 60)
	msg := fmt.Sprintf("unknown parameter %q", param)
	if hint != "" {
		msg += ": " + hint
	}
	return &codex.Error{Code: codex.CodeParameterUnknown, Message: msg, Param: param}
}

func rawBody(req *Request) ([]byte, error) {
	if ct, _ := Header(req.Headers, "content-type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return nil, codex.Errorf(codex.CodeUnsupportedMedia, "request bodies must be application/json")
		}
	}
	// Checked on the encoded size too, so a huge base64 body is not decoded just to be refused.
	if len(req.Body) > base64.StdEncoding.EncodedLen(MaxBodyBytes) {
		return nil, tooLarge()
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return nil, codex.Errorf(codex.CodeBodyInvalid, "request body is not valid base64")
		}
	}
	if len(body) > MaxBodyBytes {
		return nil, tooLarge()
	}
	return body, nil
}

func tooLarge() error {
	return codex.Errorf(codex.CodeBodyTooLarge, "request body must be at most %d bytes", MaxBodyBytes)
}

// Header returns a request header (name in lower case) and whether it was sent at all, so that an
// empty value can be told from none. API Gateway lower-cases names in payload 2.0; the fallback
// keeps handlers correct when called with hand-built or replayed events.
func Header(headers map[string]string, name string) (string, bool) {
	if v, ok := headers[name]; ok {
		return v, true
	}
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// checkJSON checks what the decoder into v does not: that the body is one object no deeper than the
// API uses (jsontext allows 10000 levels). Syntax, UTF-8 and duplicate names are checked here too, so
// that such a body is refused whole before any of it is decoded.
func checkJSON(body []byte) error {
	if !utf8.Valid(body) {
		return codex.Errorf(codex.CodeBodyInvalid, "request body is not valid UTF-8")
	}
	if jsontext.Value(body).Kind() != '{' {
		return codex.Errorf(codex.CodeBodyInvalid, "request body must be a JSON object")
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	for ended := false; ; ended = dec.StackDepth() == 0 {
		_, err := dec.ReadToken()
		var se *jsontext.SyntacticError
		switch {
		case err == io.EOF:
			return nil
		case errors.As(err, &se) && se.Err == jsontext.ErrDuplicateName:
			return codex.Errorf(codex.CodeBodyInvalid, "request body repeats the name %q", codex.Truncate(se.JSONPointer.LastToken(), 40))
		case err != nil:
			return codex.Errorf(codex.CodeBodyInvalid, "request body is not valid JSON")
		case ended:
			return codex.Errorf(codex.CodeBodyInvalid, "request body has data after the JSON object")
		case dec.StackDepth() > maxJSONDepth:
			return codex.Errorf(codex.CodeBodyInvalid, "request body is nested deeper than %d levels", maxJSONDepth)
		}
	}
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	default:
		return "of another type"
	}
}
