package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
	if json.Unmarshal(payload, &obj) != nil || obj["statusCode"] == nil {
		body := bytes.TrimSpace(payload)
		var s string
		if len(body) > 0 && body[0] == '"' && json.Unmarshal(body, &s) == nil {
			body = []byte(s)
		}
		return &httpResponse{status: http.StatusOK, headers: http.Header{"Content-Type": {"application/json"}}, body: body}, nil
	}
	var r struct {
		StatusCode      int            `json:"statusCode"`
		Headers         map[string]any `json:"headers"`
		Cookies         []string       `json:"cookies"`
		Body            string         `json:"body"`
		IsBase64Encoded bool           `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(payload, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformedResponse, err)
	}
	if r.StatusCode < 100 || r.StatusCode > 599 {
		return nil, fmt.Errorf("%w: statusCode %s is not an HTTP status", errMalformedResponse, obj["statusCode"])
	}
	resp := &httpResponse{status: r.StatusCode, headers: http.Header{}, body: []byte(r.Body)}
	for k, v := range r.Headers {
		switch v.(type) {
		case nil:
		case string, bool, float64:
			resp.headers.Set(k, fmt.Sprint(v))
		default:
			return nil, fmt.Errorf("%w: header %s is not a string", errMalformedResponse, k)
		}
	}
	for _, c := range r.Cookies {
		resp.headers.Add("Set-Cookie", c) // each cookie its own header
	}
	if r.IsBase64Encoded {
		var err error
		if resp.body, err = base64.StdEncoding.DecodeString(r.Body); err != nil {
			return nil, fmt.Errorf("%w: body is not valid base64", errMalformedResponse)
		}
	}
	if len(resp.body) > 0 && resp.headers.Get("Content-Type") == "" {
		// As SAM's local API does: without a content type the body is taken to be JSON.
		resp.headers.Set("Content-Type", "application/json")
	}
	return resp, nil
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
