package openapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func load(t *testing.T) *Validator {
	t.Helper()
	v, err := NewValidator(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDocumentConventions: every operation is fully described and every error answer is the
// envelope (or API Gateway's own message), or a page for the browser pages' routes (text/html).
func TestDocumentConventions(t *testing.T) {
	v := load(t)
	ids := map[string]bool{}
	for _, op := range Operations(v.Doc()) {
		k := op.Method + " " + op.Path
		if op.Op.OperationID == "" || ids[op.Op.OperationID] || op.Op.Summary == "" || len(op.Op.Tags) == 0 {
			t.Errorf("%s: needs a unique operationId, a summary and a tag", k)
		}
		ids[op.Op.OperationID] = true
		success := false
		for code, r := range op.Op.Responses.Map() {
			// A 303 is the success of an HTML form; a 304, of a revalidated file.
			if strings.HasPrefix(code, "2") || code == "303" || code == "304" {
				success = true
				continue
			}
			if r.Value.Content.Get("text/html") != nil {
				continue
			}
			ct := r.Value.Content.Get("application/json")
			if ct == nil || ct.Schema == nil {
				t.Errorf("%s %s: an error response needs an application/json schema", k, code)
				continue
			}
			if !refersTo(ct.Schema, "Error", "GatewayMessage") {
				t.Errorf("%s %s: error responses are the Error envelope or GatewayMessage, got %q", k, code, ct.Schema.Ref)
			}
		}
		if !success {
			t.Errorf("%s: no 2xx or 3xx response", k)
		}
		if op.Op.Responses.Status(http.StatusInternalServerError) == nil {
			t.Errorf("%s: no 500 response", k)
		}
		// A body another party defines (x-external-body says who) is read leniently by design.
		if _, external := op.Op.Extensions["x-external-body"]; op.Op.RequestBody != nil && !external {
			ct := op.Op.RequestBody.Value.Content.Get("application/json")
			if ct == nil {
				ct = op.Op.RequestBody.Value.Content.Get("application/x-www-form-urlencoded")
			}
			if ct == nil || ct.Schema == nil || ct.Schema.Value.AdditionalProperties.Has == nil || *ct.Schema.Value.AdditionalProperties.Has {
				t.Errorf("%s: request bodies are strict: an application/json (or form) object schema with additionalProperties: false", k)
			}
		}
	}
}

// refersTo reports whether s is a reference to one of the named schemas, or an anyOf of such.
func refersTo(s *openapi3.SchemaRef, names ...string) bool {
	if s.Ref == "" && s.Value != nil && len(s.Value.AnyOf) > 0 {
		for _, alt := range s.Value.AnyOf {
			if !refersTo(alt, names...) {
				return false
			}
		}
		return true
	}
	for _, n := range names {
		if s.Ref == "#/components/schemas/"+n {
			return true
		}
	}
	return false
}

// TestValidator: the validator finds operations by concrete path and refuses what the document does
// not allow, so a passing validation means something.
func TestValidator(t *testing.T) {
	v := load(t)
	ctx := context.Background()
	jsonHeader := http.Header{"Content-Type": {"application/json"}}

	if op, params, ok := v.Find("get", "/v1/checkouts/chk_ABC"); !ok || op.Path != "/v1/checkouts/{checkout_id}" || params["checkout_id"] != "chk_ABC" {
		t.Fatalf("find: %v %v %v", op.Path, params, ok)
	}
	if op, _, ok := v.Find("GET", "/v1/checkouts"); !ok || op.Path != "/v1/checkouts" {
		t.Fatalf("find list: %v %v", op.Path, ok)
	}
	if _, _, ok := v.Find("PUT", "/v1/checkouts"); ok {
		t.Fatal("found an undocumented method")
	}

	button := `{"id":"btn_AAAAAAAAAAAAAAAAAAAAAAAAAA","name":"Poster","unit_amount":2500,"currency":"eur"}`
	path := "/public/projects/prj_AAAAAAAAAAAAAAAAAAAAAAAAAA/buttons/btn_AAAAAAAAAAAAAAAAAAAAAAAAAA"
	ok := Exchange{Method: "GET", Path: path, Status: 200, Header: jsonHeader, Body: []byte(button)}
	if err := v.Validate(ctx, ok); err != nil {
		t.Fatalf("a documented response was refused: %v", err)
	}

	for name, ex := range map[string]Exchange{
		"undocumented field": {Method: "GET", Path: path, Status: 200, Header: jsonHeader,
			Body: []byte(strings.Replace(button, `"currency"`, `"project_id":"prj_X","currency"`, 1))},
		"missing field":       {Method: "GET", Path: path, Status: 200, Header: jsonHeader, Body: []byte(`{"id":"btn_AAAAAAAAAAAAAAAAAAAAAAAAAA"}`)},
		"undocumented status": {Method: "GET", Path: path, Status: 201, Header: jsonHeader, Body: []byte(button)},
		"not the envelope": {Method: "GET", Path: path, Status: 404, Header: jsonHeader,
			Body: []byte(`{"error":"not found"}`)},
		"body on a 204": {Method: "DELETE", Path: "/projects/prj_A/buttons/btn_B", Status: 204, Body: []byte(`{}`)},
		"unknown route": {Method: "GET", Path: "/nope", Status: 200},
		"tampered request accepted": {Method: "POST", Path: path + "/checkouts", Status: 201, Header: jsonHeader,
			RequestHeader: jsonHeader, RequestBody: []byte(`{"unit_amount":1}`),
			Body: []byte(`{"id":"chk_AAAAAAAAAAAAAAAAAAAAAAAAAA","url":"https://pay.example/c/chk_AAAAAAAAAAAAAAAAAAAAAAAAAA","status":"open","amount_total":1,"currency":"eur","expires_at":"2026-01-01T00:00:00.000Z"}`)},
	} {
		err := v.Validate(ctx, ex)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		t.Logf("%s: %v", name, err)
	}

	envelope := `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"no such button"},"request_id":"r"}`
	if err := v.Validate(ctx, Exchange{Method: "GET", Path: path, Status: 404, Header: jsonHeader, Body: []byte(envelope)}); err != nil {
		t.Fatalf("the envelope was refused: %v", err)
	}
	if got := v.Unexercised(); slices.Contains(got, "GET /public/projects/{project_id}/buttons/{button_id}") || !slices.Contains(got, "GET /v1/whoami") {
		t.Fatalf("unexercised %v", got)
	}
}
