// Package openapi holds the published description of the Codex API, openapi.yaml (OpenAPI 3.1), and
// checks real exchanges against it. Tests use it: the route set is compared with template.yaml's, and
// the handler and end-to-end tests validate every response they get (and the request of every
// success) with Validator. No Lambda function imports it.
package openapi

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

//go:embed openapi.yaml
var document []byte

// Document returns the YAML text of openapi.yaml.
func Document() []byte { return slices.Clone(document) }

// Load parses openapi.yaml, resolves its references and validates it as an OpenAPI 3.1 document.
func Load(ctx context.Context) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("openapi.yaml: version %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return doc, nil
}

// Operation is one (method, path template) of the document.
type Operation struct {
	Method   string // upper case
	Path     string // the template, e.g. /projects/{project_id}/keys
	Item     *openapi3.PathItem
	Op       *openapi3.Operation
	pattern  *regexp.Regexp
	literals int // characters outside {params}, to prefer /a/b over /a/{x}
}

// Operations returns every operation of doc, sorted by path and method.
func Operations(doc *openapi3.T) []Operation {
	var out []Operation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out = append(out, Operation{Method: strings.ToUpper(method), Path: path, Item: item, Op: op,
				pattern: pathPattern(path), literals: len(paramRE.ReplaceAllString(path, ""))})
		}
	}
	slices.SortFunc(out, func(a, b Operation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out
}

var paramRE = regexp.MustCompile(`\{([^}/]+)\}`)

func pathPattern(tmpl string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, m := range paramRE.FindAllStringSubmatchIndex(tmpl, -1) {
		b.WriteString(regexp.QuoteMeta(tmpl[last:m[0]]))
		b.WriteString("(?P<" + tmpl[m[2]:m[3]] + ">[^/]+)")
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(tmpl[last:]) + "$")
	return regexp.MustCompile(b.String())
}

// Validator checks exchanges against the document. It is safe for concurrent use and records which
// operations answered with which statuses, so a test can tell what was never exercised.
type Validator struct {
	doc *openapi3.T
	ops []Operation

	mu   sync.Mutex
	seen map[string]map[int]bool // "METHOD /template" -> statuses validated
}

// NewValidator loads the document.
func NewValidator(ctx context.Context) (*Validator, error) {
	doc, err := Load(ctx)
	if err != nil {
		return nil, err
	}
	return &Validator{doc: doc, ops: Operations(doc), seen: map[string]map[int]bool{}}, nil
}

// Doc returns the loaded document.
func (v *Validator) Doc() *openapi3.T { return v.doc }

// Find returns the operation serving method and a concrete path, with its path parameters.
func (v *Validator) Find(method, path string) (Operation, map[string]string, bool) {
	var best *Operation
	var params map[string]string
	for i := range v.ops {
		op := &v.ops[i]
		if op.Method != strings.ToUpper(method) {
			continue
		}
		m := op.pattern.FindStringSubmatch(path)
		if m == nil || (best != nil && best.literals >= op.literals) {
			continue
		}
		best, params = op, map[string]string{}
		for j, name := range op.pattern.SubexpNames() {
			if name != "" {
				params[name], _ = url.PathUnescape(m[j])
			}
		}
	}
	if best == nil {
		return Operation{}, nil, false
	}
	return *best, params, true
}

// Exchange is one request and the response it got.
type Exchange struct {
	Method        string
	Path          string     // the concrete path, e.g. /projects/prj_X/keys
	Query         url.Values // nil for none
	RequestHeader http.Header
	RequestBody   []byte
	Status        int
	Header        http.Header // response headers
	Body          []byte      // response body
}

// Validate checks that the exchange's operation is documented, that its status is documented for
// that operation, that the response's headers and body match the documented response (a response
// documented without content must have an empty body) and, for a 2xx answer, that the request
// matched the documented request (body, query and header parameters). Security requirements are not
// checked here: API Gateway enforces them before any function runs.
func (v *Validator) Validate(ctx context.Context, ex Exchange) error {
	op, params, ok := v.Find(ex.Method, ex.Path)
	if !ok {
		return fmt.Errorf("%s %s: no such operation in openapi.yaml", ex.Method, ex.Path)
	}
	u := &url.URL{Path: ex.Path, RawQuery: ex.Query.Encode()}
	req, err := http.NewRequestWithContext(ctx, op.Method, u.String(), bytes.NewReader(ex.RequestBody))
	if err != nil {
		return err
	}
	req.Header = ex.RequestHeader.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	route := &routers.Route{Spec: v.doc, Path: op.Path, PathItem: op.Item, Method: op.Method, Operation: op.Op}
	reqInput := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			// Defaults are the server's business; setting them would rewrite the request body.
			SkipSettingDefaults: true,
		},
	}
	where := fmt.Sprintf("%s %s (%s %s) -> %d", ex.Method, ex.Path, op.Method, op.Path, ex.Status)
	if succeeded(ex.Status) {
		if err := openapi3filter.ValidateRequest(ctx, reqInput); err != nil {
			return fmt.Errorf("%s: the request does not match the document although it succeeded: %w", where, err)
		}
	}
	header := ex.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	respInput := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput,
		Status:                 ex.Status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	respInput.SetBodyBytes(ex.Body)
	if err := openapi3filter.ValidateResponse(ctx, respInput); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if r := op.Op.Responses.Status(ex.Status); r != nil && r.Value != nil && len(r.Value.Content) == 0 && len(ex.Body) > 0 {
		return fmt.Errorf("%s: the document says no body, got %q", where, ex.Body)
	}
	v.mu.Lock()
	key := op.Method + " " + op.Path
	if v.seen[key] == nil {
		v.seen[key] = map[int]bool{}
	}
	v.seen[key][ex.Status] = true
	v.mu.Unlock()
	return nil
}

// succeeded reports whether status is a success: a 2xx, or the 303 that follows an HTML form.
func succeeded(status int) bool { return status/100 == 2 || status == http.StatusSeeOther }

// The browser pages' answers are HTML and the buy-button script JavaScript, each checked against a
// string schema.
func init() {
	openapi3filter.RegisterBodyDecoder("text/html", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(body)
		return string(b), err
	})
	openapi3filter.RegisterBodyDecoder("text/javascript", openapi3filter.PlainBodyDecoder)
}

// Unexercised returns the operations ("METHOD /template") that no validated exchange answered with
// a success (succeeded), sorted.
func (v *Validator) Unexercised() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for _, op := range v.ops {
		ok := false
		for status := range v.seen[op.Method+" "+op.Path] {
			ok = ok || succeeded(status)
		}
		if !ok {
			out = append(out, op.Method+" "+op.Path)
		}
	}
	return out
}

// ReadBody is a helper for HTTP clients: it reads and closes resp.Body and replaces it with a reader
// over the same bytes, so the response can be both validated and used.
func ReadBody(resp *http.Response) ([]byte, error) {
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return b, err
}
