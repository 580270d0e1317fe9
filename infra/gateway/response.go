package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// httpResponse is a function's answer after API Gateway's payload 2.0 interpretation.
type httpResponse struct {
	status  int
	headers http.Header
	body    []byte
}

// errMalformedResponse is a function result API Gateway cannot turn into an HTTP response; it
// answers 500 for those.
var errMalformedResponse = errors.New("malformed Lambda proxy response")

// parseResponse applies the payload format 2.0 response rules. A JSON object with a statusCode is
// a response object: statusCode, headers, cookies, body and isBase64Encoded are honoured. Any other
// valid JSON is the body of a 200 with content-type application/json ("API Gateway can infer the
// response format"): a JSON string becomes its text, anything else its JSON text. Invalid JSON, or
// a response object with fields of the wrong type, is malformed.
func parseResponse(payload []byte) (*httpResponse, error) {
	if !json.Valid(payload) {
		return nil, fmt.Errorf("%w: not JSON", errMalformedResponse)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(payload, &obj); err != nil || obj == nil || obj["statusCode"] == nil {
		return inferredResponse(payload), nil
	}

	resp := &httpResponse{headers: http.Header{}}
	var status json.Number
	if raw := obj["statusCode"]; raw[0] == '"' || strictUnmarshal(raw, &status) != nil {
		return nil, fmt.Errorf("%w: statusCode is not a number", errMalformedResponse)
	}
	code, err := strconv.Atoi(status.String())
	if err != nil || code < 100 || code > 599 {
		return nil, fmt.Errorf("%w: statusCode %s is not an HTTP status", errMalformedResponse, status)
	}
	resp.status = code

	if raw := obj["headers"]; raw != nil {
		var hs map[string]any
		if err := json.Unmarshal(raw, &hs); err != nil {
			return nil, fmt.Errorf("%w: headers is not an object", errMalformedResponse)
		}
		for k, v := range hs {
			switch v := v.(type) {
			case nil:
			case string:
				resp.headers.Set(k, v)
			case bool, float64:
				resp.headers.Set(k, fmt.Sprint(v))
			default:
				return nil, fmt.Errorf("%w: header %s is not a string", errMalformedResponse, k)
			}
		}
	}
	if raw := obj["cookies"]; raw != nil {
		var cookies []string
		if err := json.Unmarshal(raw, &cookies); err != nil {
			return nil, fmt.Errorf("%w: cookies is not a list of strings", errMalformedResponse)
		}
		// Each cookie becomes its own set-cookie header.
		for _, c := range cookies {
			resp.headers.Add("Set-Cookie", c)
		}
	}
	var body string
	if raw := obj["body"]; raw != nil {
		if err := json.Unmarshal(raw, &body); err != nil {
			return nil, fmt.Errorf("%w: body is not a string", errMalformedResponse)
		}
	}
	var b64 bool
	if raw := obj["isBase64Encoded"]; raw != nil {
		if err := json.Unmarshal(raw, &b64); err != nil {
			return nil, fmt.Errorf("%w: isBase64Encoded is not a boolean", errMalformedResponse)
		}
	}
	resp.body = []byte(body)
	if b64 {
		if resp.body, err = base64.StdEncoding.DecodeString(body); err != nil {
			return nil, fmt.Errorf("%w: body is not valid base64", errMalformedResponse)
		}
	}
	if len(resp.body) > 0 && resp.headers.Get("Content-Type") == "" {
		// As SAM's local API does: without a content type the body is taken to be JSON.
		resp.headers.Set("Content-Type", "application/json")
	}
	return resp, nil
}

func inferredResponse(payload []byte) *httpResponse {
	body := bytes.TrimSpace(payload)
	var s string
	if len(body) > 0 && body[0] == '"' && json.Unmarshal(body, &s) == nil {
		body = []byte(s)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &httpResponse{status: http.StatusOK, headers: h, body: body}
}

func strictUnmarshal(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

// hopHeaders are set by the gateway's own HTTP server, whatever the function says.
var hopHeaders = map[string]bool{
	"Connection": true, "Content-Length": true, "Transfer-Encoding": true, "Keep-Alive": true, "Upgrade": true,
	"Date": true, "Apigw-Requestid": true,
}

func (resp *httpResponse) write(w http.ResponseWriter) {
	h := w.Header()
	for k, vs := range resp.headers {
		if hopHeaders[http.CanonicalHeaderKey(k)] {
			continue
		}
		h[http.CanonicalHeaderKey(k)] = vs
	}
	if _, ok := h["Content-Type"]; !ok {
		// Stop net/http from sniffing a content type the function did not send.
		h["Content-Type"] = nil
	}
	w.WriteHeader(resp.status)
	if !isStatusWithoutBody(resp.status) {
		_, _ = w.Write(resp.body)
	}
}

// isStatusWithoutBody reports statuses that must not carry a body.
func isStatusWithoutBody(status int) bool {
	return status == http.StatusNoContent || status == http.StatusNotModified || (status >= 100 && status < 200)
}
