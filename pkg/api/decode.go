package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"codex/pkg/codex"
)

// Limits on request bodies. API Gateway accepts up to 10 MB; nothing in this API needs more than a
// few kilobytes, so anything large is refused before it is parsed.
const (
	MaxBodyBytes = 64 << 10
	maxJSONDepth = 16
)

// DecodeJSON decodes the request body into v strictly: the body must be one JSON object of valid UTF-8
// with no duplicate keys, no unknown fields, no trailing data and no deeper nesting than the API uses.
// Field names are case-sensitive (encoding/json alone would take "NAME" or "Name" for "name", so
// {"quantity":1,"QUANTITY":100} would be read as 100 here and as 1 by most other parsers). An empty
// body decodes as {} so routes whose fields are all optional accept it.
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

// decodeChecked decodes data, which has passed checkJSON (the whole body or one element of it),
// into v: a key that is not one of v's parameter names is refused, and every error names the
// parameter at fault by its full path under path, e.g. line_items[2].unit_amount.
func decodeChecked(data []byte, v any, path string) error {
	if err := checkFieldNames(data, reflect.TypeOf(v), path); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// A backstop: checkFieldNames names every unknown key of the types the routes decode, but
	// would not see one inside a field that decodes itself or an embedded struct pointer.
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return codex.Errorf(codex.CodeParameterUnknown, "the request has a parameter this route does not take")
	case errors.As(err, &typeErr):
		param := joinParam(path, typeErr.Field)
		if param == "" {
			return codex.Errorf(codex.CodeBodyInvalid, "request body must be a JSON object")
		}
		return codex.Invalid(param, "%s must be %s", param, jsonKind(typeErr.Type.Kind().String()))
	default:
		return codex.Errorf(codex.CodeBodyInvalid, "request body is not valid JSON")
	}
}

func joinParam(path, name string) string {
	switch {
	case path == "":
		return name
	case name == "":
		return path
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

// checkJSON enforces what encoding/json lets through: invalid UTF-8 (silently replaced there),
// duplicate object keys (last one silently wins, so two parsers could disagree), excessive depth and
// anything but a single top-level object.
func checkJSON(body []byte) error {
	if !utf8.Valid(body) {
		return codex.Errorf(codex.CodeBodyInvalid, "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object    bool
		keys      map[string]struct{}
		expectKey bool
	}
	var stack []frame
	first := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return codex.Errorf(codex.CodeBodyInvalid, "request body is not valid JSON")
		}
		if first {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return codex.Errorf(codex.CodeBodyInvalid, "request body must be a JSON object")
			}
			first = false
		} else if len(stack) == 0 {
			return codex.Errorf(codex.CodeBodyInvalid, "request body has data after the JSON object")
		}
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.object && top.expectKey {
				if key, ok := tok.(string); ok {
					if _, dup := top.keys[key]; dup {
						return codex.Errorf(codex.CodeBodyInvalid, "request body repeats the key %q", codex.Truncate(key, 40))
					}
					top.keys[key] = struct{}{}
					top.expectKey = false
					continue
				}
			} else if top.object {
				top.expectKey = true // this token is the value (or opens it)
			}
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if len(stack) >= maxJSONDepth {
					return codex.Errorf(codex.CodeBodyInvalid, "request body is nested deeper than %d levels", maxJSONDepth)
				}
				stack = append(stack, frame{object: d == '{', keys: map[string]struct{}{}, expectKey: d == '{'})
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
		}
	}
	return nil
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// checkFieldNames refuses an object key that is not exactly the JSON name of a struct field of t,
// naming it by its path (line_items[0].colour) as the request spells it. That includes a key that
// encoding/json would match only case-insensitively ("Name", "NAME", or "ſuccess_url" with a long
// s, for "success_url"), which it would otherwise take silently. json.RawMessage values are left to
// whoever decodes them (with decodeChecked, which checks them the same way). data has passed
// checkJSON.
func checkFieldNames(data []byte, t reflect.Type, path string) error {
	if !hasStruct(t, map[reflect.Type]bool{}) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil // the decoder reports it
	}
	return walkFieldNames(v, t, path)
}

// hasStruct reports whether values of t can hold a struct, the only place a key is matched to a
// field by name.
func hasStruct(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == nil || t == rawMessageType || seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return hasStruct(t.Elem(), seen)
	case reflect.Struct:
		return true
	}
	return false
}

func walkFieldNames(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil // a type error, which the decoder reports
		}
		fields := jsonFields(t)
		// Sorted, so that of several unknown keys the same one is reported every time.
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			param := joinParam(path, k)
			if ft, ok := fields[k]; ok {
				if err := walkFieldNames(obj[k], ft, param); err != nil {
					return err
				}
				continue
			}
			for name := range fields {
				if strings.EqualFold(name, k) {
					return unknownParam(param, fmt.Sprintf("parameter names are case-sensitive (did you mean %q?)", name))
				}
			}
			return unknownParam(param, "")
		}
	case reflect.Slice, reflect.Array:
		arr, _ := v.([]any)
		for i, e := range arr {
			if err := walkFieldNames(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, _ := v.(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if err := walkFieldNames(obj[k], t.Elem(), path+"["+k+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonFields maps the JSON names of a struct's fields, as encoding/json spells them, to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
			continue
		case name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct:
			maps.Copy(fields, jsonFields(f.Type))
			continue
		case name == "" && f.Anonymous && f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct:
			maps.Copy(fields, jsonFields(f.Type.Elem()))
			continue
		case name == "":
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	default:
		return "of another type"
	}
}
