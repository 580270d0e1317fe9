package proof

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"codex/e2e/e2etest"
	"codex/infra/samtemplate"
	"codex/pkg/apikey"
)

// hostile is one request of the corpus. Path, Auth, Header values and Body may use the fixture's
// placeholders ({jwt}, {key}, {project}, {o.checkout}, ...; see hostileFixture). Every case must
// be refused: Status is the 4xx it must get, in the project's error envelope or API Gateway's own
// {"message": ...}.
type hostile struct {
	Name   string
	API    string // "" is HttpApi
	Method string
	Path   string
	Auth   string            // the Authorization header; "" sends none
	Header map[string]string // more headers; "Content-Type": "-" sends none with a body
	Body   string
	Large  func() io.Reader // a generated body instead of Body (sent chunked, without a length)
	Status int
}

// big returns a body of n bytes: a JSON object with one long string, so only its size is wrong.
func big(field string, n int) func() io.Reader {
	return func() io.Reader {
		head, tail := `{"`+field+`":"`, `"}`
		return io.MultiReader(strings.NewReader(head), io.LimitReader(repeatByte('a'), int64(n-len(head)-len(tail))), strings.NewReader(tail))
	}
}

type repeatByte byte

func (b repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

const (
	kib = 1 << 10
	mib = 1 << 20
)

var (
	deepArray  = `{"name":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`
	deepObject = strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
	manyParams = "limit=1" + strings.Repeat("&x=1", 2000)
	longValue  = "starting_after=chk_" + strings.Repeat("A", 8000)
	longID     = "chk_" + strings.Repeat("A", 4000)
	longAuth   = "Bearer " + strings.Repeat("A", 8000)
	items101   = `{"line_items":[` + strings.Repeat(`{"name":"x","unit_amount":1,"quantity":1},`, 100) +
		`{"name":"x","unit_amount":1,"quantity":1}],"currency":"eur","success_url":"https://a.example","cancel_url":"https://a.example"}`
	metadata51 = func() string {
		var b strings.Builder
		b.WriteString(`{"line_items":[{"name":"x","unit_amount":1,"quantity":1}],"currency":"eur","success_url":"https://a.example","cancel_url":"https://a.example","metadata":{`)
		for i := range 51 {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"k` + strings.Repeat("x", i) + `":"v"`)
		}
		b.WriteString("}}")
		return b.String()
	}()
)

// checkoutWith is checkoutBody with one top-level field replaced by raw JSON.
func checkoutWith(field, raw string) string {
	return strings.Replace(checkoutBody, `"currency":"eur"`, `"currency":"eur","`+field+`":`+raw, 1)
}

// hostileCorpus is the corpus: every route of the template, and some that are not.
var hostileCorpus = []hostile{
	// ----------------------------------------------------------------- POST /projects
	{Name: "project/malformed JSON", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: `{"name":`, Status: 400},
	{Name: "project/trailing object", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: `{"name":"a"}{"name":"b"}`, Status: 400},
	{Name: "project/trailing garbage", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: `{"name":"a"} x`, Status: 400},
	{Name: "project/name is a number", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: `{"name":5}`, Status: 400},
	{Name: "project/name is an array", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: `{"name":["a"]}`, Status: 400},
	{Name: "project/body is null", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: `null`, Status: 400},
	{Name: "project/body is an array", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: `[{"name":"a"}]`, Status: 400},
	{Name: "project/duplicate key", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: `{"name":"a","name":"b"}`, Status: 400},
	{Name: "project/duplicate key in another case", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: `{"name":"a","NAME":"b"}`, Status: 400},
	{Name: "project/unknown field", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: `{"name":"a","created_by":"someone"}`, Status: 400},
	{Name: "project/invalid UTF-8", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: "{\"name\":\"\xff\xfe\"}", Status: 400},
	{Name: "project/raw NUL in a string", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: "{\"name\":\"a\x00b\"}", Status: 400},
	{Name: "project/escaped NUL in the name", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: `{"name":"a\u0000b"}`, Status: 400},
	{Name: "project/deep array", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: deepArray, Status: 400},
	{Name: "project/5000 nested objects", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: deepObject, Status: 400},
	{Name: "project/empty body", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: ``, Status: 400},
	{Name: "project/name of 101 characters", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Body: `{"name":"` + strings.Repeat("é", 101) + `"}`, Status: 400},
	{Name: "project/body over 64 KiB", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Large: big("name", 64*kib+1), Status: 413},
	{Name: "project/body of 5 MiB", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Large: big("name", 5*mib), Status: 413},
	{Name: "project/body over 10 MB", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Large: big("name", 10*mib+1), Status: 413},
	{Name: "project/form body", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, Body: `name=a`, Status: 415},
	{Name: "project/text body", Method: "POST", Path: "/projects", Auth: "Bearer {jwt}", Header: map[string]string{"Content-Type": "text/plain"}, Body: `{"name":"a"}`, Status: 415},
	{Name: "project/no credential", Method: "POST", Path: "/projects", Body: `{"name":"a"}`, Status: 401},
	{Name: "project/Basic credentials", Method: "POST", Path: "/projects", Auth: "Basic YWxpY2U6cGFzc3dvcmQ=", Body: `{"name":"a"}`, Status: 401},
	{Name: "project/an API key", Method: "POST", Path: "/projects", Auth: "Bearer {key}", Body: `{"name":"a"}`, Status: 401},
	{Name: "project/lower-case scheme and junk", Method: "POST", Path: "/projects", Auth: "bearer junk.junk.junk", Body: `{"name":"a"}`, Status: 401},
	{Name: "project/JWT with a foreign payload", Method: "POST", Path: "/projects", Auth: "Bearer {jwt.swapped}", Body: `{"name":"a"}`, Status: 401},
	{Name: "project/unsigned JWT (alg none)", Method: "POST", Path: "/projects", Auth: "Bearer {jwt.none}", Body: `{"name":"a"}`, Status: 401},
	{Name: "project/JWT without its signature", Method: "POST", Path: "/projects", Auth: "Bearer {jwt.unsigned}", Body: `{"name":"a"}`, Status: 401},
	{Name: "project/8 KB credential", Method: "POST", Path: "/projects", Auth: longAuth, Body: `{"name":"a"}`, Status: 401},

	// ----------------------------------------------------------------- GET /projects
	{Name: "projects/no credential", Method: "GET", Path: "/projects", Status: 401},
	{Name: "projects/an API key", Method: "GET", Path: "/projects", Auth: "Bearer {key}", Status: 401},
	{Name: "projects/two tokens", Method: "GET", Path: "/projects", Auth: "Bearer {jwt} {jwt}", Status: 401},
	{Name: "projects/PUT is no route", Method: "PUT", Path: "/projects", Auth: "Bearer {jwt}", Body: `{"name":"a"}`, Status: 404},
	{Name: "projects/dot segments", Method: "GET", Path: "/v1/../projects", Auth: "Bearer {jwt}", Status: 404},
	{Name: "projects/double slash", Method: "GET", Path: "//projects", Auth: "Bearer {jwt}", Status: 404},

	// ----------------------------------------------------------------- keys
	{Name: "key/create with a chosen secret", Method: "POST", Path: "/projects/{project}/keys", Auth: "Bearer {jwt}", Body: `{"name":"a","key":"{key}"}`, Status: 400},
	{Name: "key/create with a chosen project", Method: "POST", Path: "/projects/{project}/keys", Auth: "Bearer {jwt}", Body: `{"name":"a","project_id":"{o.project}"}`, Status: 400},
	{Name: "key/create with a wrong type", Method: "POST", Path: "/projects/{project}/keys", Auth: "Bearer {jwt}", Body: `{"name":{"a":1}}`, Status: 400},
	{Name: "key/create with trailing data", Method: "POST", Path: "/projects/{project}/keys", Auth: "Bearer {jwt}", Body: `{"name":"a"}]`, Status: 400},
	{Name: "key/create in another's project", Method: "POST", Path: "/projects/{o.project}/keys", Auth: "Bearer {jwt}", Body: `{"name":"a"}`, Status: 404},
	{Name: "key/create under a junk project id", Method: "POST", Path: "/projects/prj_%2F..%2F..%2Fv1/keys", Auth: "Bearer {jwt}", Body: `{"name":"a"}`, Status: 404},
	{Name: "key/create with the API key", Method: "POST", Path: "/projects/{project}/keys", Auth: "Bearer {key}", Body: `{"name":"a"}`, Status: 401},
	{Name: "keys/list another's", Method: "GET", Path: "/projects/{o.project}/keys", Auth: "Bearer {jwt}", Status: 404},
	{Name: "keys/list under a NUL project id", Method: "GET", Path: "/projects/%00/keys", Auth: "Bearer {jwt}", Status: 404},
	{Name: "keys/list under an invalid UTF-8 id", Method: "GET", Path: "/projects/prj_%FF%FE/keys", Auth: "Bearer {jwt}", Status: 404},
	{Name: "key/delete with the API key itself", Method: "DELETE", Path: "/projects/{project}/keys/{key_id}", Auth: "Bearer {key}", Status: 401},
	{Name: "key/delete another's through my project", Method: "DELETE", Path: "/projects/{project}/keys/{o.key_id}", Auth: "Bearer {jwt}", Status: 404},
	{Name: "key/delete another's in their project", Method: "DELETE", Path: "/projects/{o.project}/keys/{o.key_id}", Auth: "Bearer {jwt}", Status: 404},
	{Name: "key/delete an id with a trailing space", Method: "DELETE", Path: "/projects/{project}/keys/{key_id}%20", Auth: "Bearer {jwt}", Status: 404},
	{Name: "key/delete a 4 KB id", Method: "DELETE", Path: "/projects/{project}/keys/key_" + strings.Repeat("A", 4000), Auth: "Bearer {jwt}", Status: 404},
	{Name: "key/create expiring in under an hour", Method: "POST", Path: "/projects/{project}/keys", Auth: "Bearer {jwt}", Body: `{"name":"a","expires_in":3599}`, Status: 400},
	{Name: "key/create expiring in over a year", Method: "POST", Path: "/projects/{project}/keys", Auth: "Bearer {jwt}", Body: `{"name":"a","expires_in":31536001}`, Status: 400},
	{Name: "key/roll without expires_in", Method: "POST", Path: "/projects/{project}/keys/{key_id}/roll", Auth: "Bearer {jwt}", Body: `{}`, Status: 400},
	{Name: "key/roll with a grace over 7 days", Method: "POST", Path: "/projects/{project}/keys/{key_id}/roll", Auth: "Bearer {jwt}", Body: `{"expires_in":604801}`, Status: 400},
	{Name: "key/roll with a negative grace", Method: "POST", Path: "/projects/{project}/keys/{key_id}/roll", Auth: "Bearer {jwt}", Body: `{"expires_in":-1}`, Status: 400},
	{Name: "key/roll with a chosen name", Method: "POST", Path: "/projects/{project}/keys/{key_id}/roll", Auth: "Bearer {jwt}", Body: `{"expires_in":0,"name":"x"}`, Status: 400},
	{Name: "key/roll another's", Method: "POST", Path: "/projects/{project}/keys/{o.key_id}/roll", Auth: "Bearer {jwt}", Body: `{"expires_in":0}`, Status: 404},
	{Name: "key/roll with the API key", Method: "POST", Path: "/projects/{project}/keys/{key_id}/roll", Auth: "Bearer {key}", Body: `{"expires_in":0}`, Status: 401},
	{Name: "audit/another's log", Method: "GET", Path: "/projects/{o.project}/audit-log", Auth: "Bearer {jwt}", Status: 404},
	{Name: "audit/forged cursor", Method: "GET", Path: "/projects/{project}/audit-log?cursor=UFJPSkVDVCM", Auth: "Bearer {jwt}", Status: 400},
	{Name: "audit/cursor past now", Method: "GET", Path: "/projects/{project}/audit-log?cursor=QVVESVQjOTk5OQ", Auth: "Bearer {jwt}", Status: 400},
	{Name: "audit/limit 0", Method: "GET", Path: "/projects/{project}/audit-log?limit=0", Auth: "Bearer {jwt}", Status: 400},
	{Name: "audit/with the API key", Method: "GET", Path: "/projects/{project}/audit-log", Auth: "Bearer {key}", Status: 401},
	// Key-shaped, but not a real key: the local gateway's access log records paths, as API Gateway's
	// would with $context.path, so a real secret sent in a URL would be logged there.
	{Name: "key/delete by a key-shaped id", Method: "DELETE", Path: "/projects/{project}/keys/cmk_" + strings.Repeat("A", 49), Auth: "Bearer {jwt}", Status: 404},

	// ----------------------------------------------------------------- buttons (dashboard)
	{Name: "button/amount as a string", Method: "POST", Path: "/projects/{project}/buttons", Auth: "Bearer {jwt}", Body: strings.Replace(buttonBody, `2500`, `"2500"`, 1), Status: 400},
	{Name: "button/amount with a fraction", Method: "POST", Path: "/projects/{project}/buttons", Auth: "Bearer {jwt}", Body: strings.Replace(buttonBody, `2500`, `25.5`, 1), Status: 400},
	{Name: "button/amount with an exponent", Method: "POST", Path: "/projects/{project}/buttons", Auth: "Bearer {jwt}", Body: strings.Replace(buttonBody, `2500`, `2.5e3`, 1), Status: 400},
	{Name: "button/amount over int64", Method: "POST", Path: "/projects/{project}/buttons", Auth: "Bearer {jwt}", Body: strings.Replace(buttonBody, `2500`, `9223372036854775808`, 1), Status: 400},
	{Name: "button/negative amount", Method: "POST", Path: "/projects/{project}/buttons", Auth: "Bearer {jwt}", Body: strings.Replace(buttonBody, `2500`, `-2500`, 1), Status: 400},
	{Name: "button/javascript URL", Method: "POST", Path: "/projects/{project}/buttons", Auth: "Bearer {jwt}", Body: strings.Replace(buttonBody, `https://shop.example/ok`, `javascript:alert(1)`, 1), Status: 400},
	{Name: "button/created archived", Method: "POST", Path: "/projects/{project}/buttons", Auth: "Bearer {jwt}", Body: strings.Replace(buttonBody, `{`, `{"active":false,`, 1), Status: 400},
	{Name: "button/duplicate amount", Method: "POST", Path: "/projects/{project}/buttons", Auth: "Bearer {jwt}", Body: strings.Replace(buttonBody, `{`, `{"unit_amount":1,`, 1), Status: 400},
	{Name: "button/amount in another case", Method: "POST", Path: "/projects/{project}/buttons", Auth: "Bearer {jwt}", Body: strings.Replace(buttonBody, `{`, `{"Unit_Amount":1,`, 1), Status: 400},
	{Name: "button/in another's project", Method: "POST", Path: "/projects/{o.project}/buttons", Auth: "Bearer {jwt}", Body: buttonBody, Status: 404},
	{Name: "buttons/list another's", Method: "GET", Path: "/projects/{o.project}/buttons", Auth: "Bearer {jwt}", Status: 404},
	{Name: "buttons/list with the API key", Method: "GET", Path: "/projects/{project}/buttons", Auth: "Bearer {key}", Status: 401},
	{Name: "button/archive another's through my project", Method: "DELETE", Path: "/projects/{project}/buttons/{o.button}", Auth: "Bearer {jwt}", Status: 404},
	{Name: "button/archive an archived one", Method: "DELETE", Path: "/projects/{project}/buttons/{archived}", Auth: "Bearer {jwt}", Status: 404},
	{Name: "button/archive a NUL id", Method: "DELETE", Path: "/projects/{project}/buttons/btn_%00", Auth: "Bearer {jwt}", Status: 404},

	// ------------------------------------------------------------- checkouts (dashboard)
	{Name: "checkouts/list another's", Method: "GET", Path: "/projects/{o.project}/checkouts", Auth: "Bearer {jwt}", Status: 404},
	{Name: "checkouts/list with the API key", Method: "GET", Path: "/projects/{project}/checkouts", Auth: "Bearer {key}", Status: 401},
	{Name: "checkouts/list after another's checkout", Method: "GET", Path: "/projects/{project}/checkouts?starting_after={o.checkout}", Auth: "Bearer {jwt}", Status: 400},
	{Name: "checkouts/list with limit 1000", Method: "GET", Path: "/projects/{project}/checkouts?limit=1000", Auth: "Bearer {jwt}", Status: 400},
	{Name: "events/list another's", Method: "GET", Path: "/projects/{o.project}/events", Auth: "Bearer {jwt}", Status: 404},
	{Name: "events/list with the API key", Method: "GET", Path: "/projects/{project}/events", Auth: "Bearer {key}", Status: 401},
	{Name: "events/list of an unknown type", Method: "GET", Path: "/projects/{project}/events?type=charge.succeeded", Auth: "Bearer {jwt}", Status: 400},
	{Name: "events/list with limit 1000", Method: "GET", Path: "/projects/{project}/events?limit=1000", Auth: "Bearer {jwt}", Status: 400},
	{Name: "events/list after another's event", Method: "GET", Path: "/projects/{project}/events?starting_after={o.event}", Auth: "Bearer {jwt}", Status: 400},

	// ----------------------------------------------------------------- GET /v1/whoami
	{Name: "whoami/no credential", Method: "GET", Path: "/v1/whoami", Status: 401},
	{Name: "whoami/a dashboard JWT", Method: "GET", Path: "/v1/whoami", Auth: "Bearer {jwt}", Status: 403},
	{Name: "whoami/lower-case scheme and junk", Method: "GET", Path: "/v1/whoami", Auth: "bearer cmk_junk", Status: 403},
	{Name: "whoami/two spaces", Method: "GET", Path: "/v1/whoami", Auth: "Bearer  {key}", Status: 403},
	{Name: "whoami/tab for a space", Method: "GET", Path: "/v1/whoami", Auth: "Bearer\t{key}", Status: 403},
	{Name: "whoami/no scheme", Method: "GET", Path: "/v1/whoami", Auth: "{key}", Status: 403},
	{Name: "whoami/Basic", Method: "GET", Path: "/v1/whoami", Auth: "Basic {key}", Status: 403},
	{Name: "whoami/two keys", Method: "GET", Path: "/v1/whoami", Auth: "Bearer {key},{key}", Status: 403},
	{Name: "whoami/bad checksum", Method: "GET", Path: "/v1/whoami", Auth: "Bearer {key.badsum}", Status: 403},
	{Name: "whoami/well-formed unknown key", Method: "GET", Path: "/v1/whoami", Auth: "Bearer {key.unknown}", Status: 403},
	{Name: "whoami/8 KB credential", Method: "GET", Path: "/v1/whoami", Auth: longAuth, Status: 403},
	{Name: "whoami/key in the query string", Method: "GET", Path: "/v1/whoami?api_key={key}", Status: 401},

	// ----------------------------------------------------------------- POST /v1/checkouts
	{Name: "checkout/malformed JSON", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: `{"line_items":[`, Status: 400},
	{Name: "checkout/trailing object", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: checkoutBody + `{}`, Status: 400},
	{Name: "checkout/amount as a string", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: strings.Replace(checkoutBody, `2000`, `"2000"`, 1), Status: 400},
	{Name: "checkout/amount with a fraction", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: strings.Replace(checkoutBody, `2000`, `19.99`, 1), Status: 400},
	{Name: "checkout/quantity 1e3", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: strings.Replace(checkoutBody, `"quantity":2`, `"quantity":1e3`, 1), Status: 400},
	{Name: "checkout/line item is null", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: checkoutWith("line_items", `[null]`), Status: 400},
	{Name: "checkout/101 line items", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: items101, Status: 400},
	{Name: "checkout/51 metadata keys", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: metadata51, Status: 400},
	{Name: "checkout/metadata value is a number", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: checkoutWith("metadata", `{"a":1}`), Status: 400},
	{Name: "checkout/chosen project", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: checkoutWith("project_id", `"{o.project}"`), Status: 400},
	{Name: "checkout/chosen amount_total", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: checkoutWith("amount_total", `1`), Status: 400},
	{Name: "checkout/duplicate currency", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: checkoutWith("currency", `"jpy"`), Status: 400},
	{Name: "checkout/currency in another case", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: checkoutWith("Currency", `"jpy"`), Status: 400},
	{Name: "checkout/line item field in another case", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: strings.Replace(checkoutBody, `"quantity":2`, `"quantity":2,"Quantity":3`, 1), Status: 400},
	{Name: "checkout/invalid UTF-8", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: strings.Replace(checkoutBody, `T-shirt`, "T-\xc3\x28", 1), Status: 400},
	{Name: "checkout/NUL in a name", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: strings.Replace(checkoutBody, `T-shirt`, `T-\u0000`, 1), Status: 400},
	{Name: "checkout/deep nesting in metadata", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Body: checkoutWith("metadata", strings.Repeat(`{"a":`, 30)+`"x"`+strings.Repeat(`}`, 30)), Status: 400},
	{Name: "checkout/body over 64 KiB", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Large: big("currency", 64*kib+1), Status: 413},
	{Name: "checkout/body over 10 MB", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Large: big("currency", 10*mib+1), Status: 413},
	{Name: "checkout/256-character Idempotency-Key", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, Body: checkoutBody, Status: 400},
	{Name: "checkout/non-ASCII Idempotency-Key", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Header: map[string]string{"Idempotency-Key": "clé-1"}, Body: checkoutBody, Status: 400},
	{Name: "checkout/empty body", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Status: 400},
	{Name: "checkout/with a dashboard JWT", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {jwt}", Body: checkoutBody, Status: 403},
	{Name: "checkout/form body", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, Body: `currency=eur`, Status: 415},
	{Name: "checkout/no content type", Method: "POST", Path: "/v1/checkouts", Auth: "Bearer {key}", Header: map[string]string{"Content-Type": "-"}, Body: `currency=eur`, Status: 400},

	// ----------------------------------------------------------------- GET /v1/checkouts[/{id}]
	{Name: "checkout/get another merchant's", Method: "GET", Path: "/v1/checkouts/{o.checkout}", Auth: "Bearer {key}", Status: 404},
	{Name: "checkout/get an encoded traversal", Method: "GET", Path: "/v1/checkouts/..%2F..%2Fprojects", Auth: "Bearer {key}", Status: 404},
	{Name: "checkout/get a 4 KB id", Method: "GET", Path: "/v1/checkouts/" + longID, Auth: "Bearer {key}", Status: 404},

	// ----------------------------------------------------------------- POST /v1/checkouts/{id}/expire
	{Name: "expire/another merchant's", Method: "POST", Path: "/v1/checkouts/{o.checkout}/expire", Auth: "Bearer {key}", Status: 404},
	{Name: "expire/a chosen status", Method: "POST", Path: "/v1/checkouts/{checkout}/expire", Auth: "Bearer {key}", Body: `{"status":"complete"}`, Status: 400},
	{Name: "expire/with a dashboard JWT", Method: "POST", Path: "/v1/checkouts/{checkout}/expire", Auth: "Bearer {jwt}", Status: 403},
	{Name: "expire/form body", Method: "POST", Path: "/v1/checkouts/{checkout}/expire", Auth: "Bearer {key}", Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, Body: `status=expired`, Status: 415},
	{Name: "checkout/get a lower-case id", Method: "GET", Path: "/v1/checkouts/{checkout.lower}", Auth: "Bearer {key}", Status: 404},
	{Name: "checkouts/limit 0", Method: "GET", Path: "/v1/checkouts?limit=0", Auth: "Bearer {key}", Status: 400},
	{Name: "checkouts/limit 101", Method: "GET", Path: "/v1/checkouts?limit=101", Auth: "Bearer {key}", Status: 400},
	{Name: "checkouts/limit with an exponent", Method: "GET", Path: "/v1/checkouts?limit=1e1", Auth: "Bearer {key}", Status: 400},
	{Name: "checkouts/limit with a NUL", Method: "GET", Path: "/v1/checkouts?limit=5%00", Auth: "Bearer {key}", Status: 400},
	{Name: "checkouts/limit twice", Method: "GET", Path: "/v1/checkouts?limit=1&limit=2", Auth: "Bearer {key}", Status: 400},
	{Name: "checkouts/starting after another merchant's", Method: "GET", Path: "/v1/checkouts?starting_after={o.checkout}", Auth: "Bearer {key}", Status: 400},
	{Name: "checkouts/starting after a project id", Method: "GET", Path: "/v1/checkouts?starting_after={project}", Auth: "Bearer {key}", Status: 400},
	{Name: "checkouts/2000 unknown parameters", Method: "GET", Path: "/v1/checkouts?" + manyParams, Auth: "Bearer {key}", Status: 400},
	{Name: "checkouts/8 KB parameter", Method: "GET", Path: "/v1/checkouts?" + longValue, Auth: "Bearer {key}", Status: 400},
	{Name: "checkouts/DELETE is no route", Method: "DELETE", Path: "/v1/checkouts", Auth: "Bearer {key}", Status: 404},
	{Name: "checkouts/OPTIONS on the private API", Method: "OPTIONS", Path: "/v1/checkouts", Header: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}, Status: 404},

	// ----------------------------------------------------------------- GET /v1/events[/{id}]
	{Name: "event/get another merchant's", Method: "GET", Path: "/v1/events/{o.event}", Auth: "Bearer {key}", Status: 404},
	{Name: "event/get a checkout id", Method: "GET", Path: "/v1/events/{checkout}", Auth: "Bearer {key}", Status: 404},
	{Name: "event/get a 4 KB id", Method: "GET", Path: "/v1/events/" + longID, Auth: "Bearer {key}", Status: 404},
	{Name: "event/get with a dashboard JWT", Method: "GET", Path: "/v1/events/{o.event}", Auth: "Bearer {jwt}", Status: 403},
	{Name: "events/unknown type", Method: "GET", Path: "/v1/events?type=checkout.paid", Auth: "Bearer {key}", Status: 400},
	{Name: "events/type with a NUL", Method: "GET", Path: "/v1/events?type=checkout.created%00", Auth: "Bearer {key}", Status: 400},
	{Name: "events/type twice", Method: "GET", Path: "/v1/events?type=checkout.created&type=checkout.expired", Auth: "Bearer {key}", Status: 400},
	{Name: "events/starting after another merchant's", Method: "GET", Path: "/v1/events?starting_after={o.event}", Auth: "Bearer {key}", Status: 400},
	{Name: "events/starting after a checkout", Method: "GET", Path: "/v1/events?starting_after={checkout}", Auth: "Bearer {key}", Status: 400},
	{Name: "events/limit 0", Method: "GET", Path: "/v1/events?limit=0", Auth: "Bearer {key}", Status: 400},

	// ----------------------------------------------------------------- public routes
	{Name: "public/button of another project", API: "PublicApi", Method: "GET", Path: "/public/projects/{project}/buttons/{o.button}", Status: 404},
	{Name: "public/archived button", API: "PublicApi", Method: "GET", Path: "/public/projects/{project}/buttons/{archived}", Status: 404},
	{Name: "public/button with a NUL id", API: "PublicApi", Method: "GET", Path: "/public/projects/{project}/buttons/btn_%00", Status: 404},
	{Name: "public/button with an invalid UTF-8 id", API: "PublicApi", Method: "GET", Path: "/public/projects/%C3%28/buttons/{button}", Status: 404},
	{Name: "public/checkout for another project's button", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{o.button}/checkouts", Body: `{}`, Status: 404},
	{Name: "public/checkout for an archived button", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{archived}/checkouts", Body: `{}`, Status: 404},
	{Name: "public/checkout with a price", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Body: `{"quantity":1,"unit_amount":1}`, Status: 400},
	{Name: "public/checkout with a currency", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Body: `{"currency":"jpy"}`, Status: 400},
	{Name: "public/checkout with line items", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Body: `{"line_items":[{"name":"x","unit_amount":1,"quantity":1}]}`, Status: 400},
	{Name: "public/quantity 0", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Body: `{"quantity":0}`, Status: 400},
	{Name: "public/quantity 101", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Body: `{"quantity":101}`, Status: 400},
	{Name: "public/quantity as a string", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Body: `{"quantity":"2"}`, Status: 400},
	{Name: "public/duplicate quantity", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Body: `{"quantity":1,"quantity":100}`, Status: 400},
	{Name: "public/quantity in another case", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Body: `{"quantity":1,"QUANTITY":100}`, Status: 400},
	{Name: "public/control character in the reference", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Body: `{"client_reference_id":"a\u0007"}`, Status: 400},
	{Name: "public/trailing data", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Body: `{} {}`, Status: 400},
	{Name: "public/deep nesting", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Body: deepObject, Status: 400},
	{Name: "public/raw NUL", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Body: "{\"client_reference_id\":\"\x00\"}", Status: 400},
	{Name: "public/body over 64 KiB", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Large: big("client_reference_id", 64*kib+1), Status: 413},
	{Name: "public/body over 10 MB", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Large: big("client_reference_id", 10*mib+1), Status: 413},
	{Name: "public/text body", API: "PublicApi", Method: "POST", Path: "/public/projects/{project}/buttons/{button}/checkouts", Header: map[string]string{"Content-Type": "text/plain"}, Body: `{}`, Status: 415},
	{Name: "public/unknown checkout", API: "PublicApi", Method: "GET", Path: "/public/checkouts/{checkout.unknown}", Status: 404},
	{Name: "public/checkout by a traversal", API: "PublicApi", Method: "GET", Path: "/public/checkouts/..%2F..%2Fv1%2Fwhoami", Status: 404},
	{Name: "public/checkout by a 4 KB id", API: "PublicApi", Method: "GET", Path: "/public/checkouts/" + longID, Status: 404},
	{Name: "public/merchant route on the public API", API: "PublicApi", Method: "GET", Path: "/v1/whoami", Auth: "Bearer {key}", Status: 404},
	{Name: "public/dashboard route on the public API", API: "PublicApi", Method: "GET", Path: "/projects", Auth: "Bearer {jwt}", Status: 404},
	{Name: "public/PUT is no route", API: "PublicApi", Method: "PUT", Path: "/public/checkouts/{checkout}", Body: `{}`, Status: 404},
	{Name: "github/unsigned report of a live key", API: "PublicApi", Method: "POST", Path: "/public/secret-scanning/github", Body: `[{"token":"{key}","type":"t","url":"u"}]`, Status: 400},
	{Name: "github/report signed by another key", API: "PublicApi", Method: "POST", Path: "/public/secret-scanning/github",
		Header: map[string]string{"Github-Public-Key-Identifier": "codex-local-github", "Github-Public-Key-Signature": "MEUCIQDKZokqnCjrRtw0tni+2Ltvl/uiMJ1EGumEsp1BsNr32AIgQY1YXD2nlj+XNfGK4rBfkMJ1JDOQcYXxa2sY8FNkrKc="},
		Body:   `[{"token":"{key}","type":"t","url":"u"}]`, Status: 400},
	{Name: "github/unknown key id", API: "PublicApi", Method: "POST", Path: "/public/secret-scanning/github",
		Header: map[string]string{"Github-Public-Key-Identifier": "nope", "Github-Public-Key-Signature": "MEUCIQ=="}, Body: `[{"token":"{key}","type":"t","url":"u"}]`, Status: 400},

	// ----------------------------------------------------------------- webhook endpoints
	// make dev accepts loopback receivers (WebhookAllowLoopback), so these name other private hosts.
	{Name: "webhook/metadata service", Method: "POST", Path: "/projects/{project}/webhooks", Auth: "Bearer {jwt}", Body: `{"url":"https://169.254.169.254/latest/meta-data/","events":["*"]}`, Status: 400},
	{Name: "webhook/10/8 in hex", Method: "POST", Path: "/projects/{project}/webhooks", Auth: "Bearer {jwt}", Body: `{"url":"https://0xa.0.0.1/","events":["*"]}`, Status: 400},
	{Name: "webhook/192.168/16 in decimal", Method: "POST", Path: "/projects/{project}/webhooks", Auth: "Bearer {jwt}", Body: `{"url":"https://3232235777/","events":["*"]}`, Status: 400},
	{Name: "webhook/IPv4-mapped private", Method: "POST", Path: "/projects/{project}/webhooks", Auth: "Bearer {jwt}", Body: `{"url":"https://[::ffff:10.0.0.1]/","events":["*"]}`, Status: 400},
	{Name: "webhook/unique local IPv6", Method: "POST", Path: "/projects/{project}/webhooks", Auth: "Bearer {jwt}", Body: `{"url":"https://[fd00::1]/","events":["*"]}`, Status: 400},
	{Name: "webhook/http to a public host", Method: "POST", Path: "/projects/{project}/webhooks", Auth: "Bearer {jwt}", Body: `{"url":"http://shop.example/hooks","events":["*"]}`, Status: 400},
	{Name: "webhook/chosen secret", Method: "POST", Path: "/projects/{project}/webhooks", Auth: "Bearer {jwt}", Body: `{"url":"https://shop.example/hooks","events":["*"],"secret":"whsec_AAAA"}`, Status: 400},
	{Name: "webhook/unknown event type", Method: "POST", Path: "/projects/{project}/webhooks", Auth: "Bearer {jwt}", Body: `{"url":"https://shop.example/hooks","events":["charge.succeeded"]}`, Status: 400},
	{Name: "webhook/in another's project", Method: "POST", Path: "/projects/{o.project}/webhooks", Auth: "Bearer {jwt}", Body: `{"url":"https://shop.example/hooks","events":["*"]}`, Status: 404},
	{Name: "webhook/with the API key", Method: "POST", Path: "/projects/{project}/webhooks", Auth: "Bearer {key}", Body: `{"url":"https://shop.example/hooks","events":["*"]}`, Status: 401},
	{Name: "webhooks/list another's", Method: "GET", Path: "/projects/{o.project}/webhooks", Auth: "Bearer {jwt}", Status: 404},
	{Name: "webhook/get another's through my project", Method: "GET", Path: "/projects/{project}/webhooks/{o.webhook}", Auth: "Bearer {jwt}", Status: 404},
	{Name: "webhook/patch to a private host", Method: "PATCH", Path: "/projects/{project}/webhooks/{webhook}", Auth: "Bearer {jwt}", Body: `{"url":"https://172.16.0.1/"}`, Status: 400},
	{Name: "webhook/patch its secret", Method: "PATCH", Path: "/projects/{project}/webhooks/{webhook}", Auth: "Bearer {jwt}", Body: `{"secret":"whsec_AAAA"}`, Status: 400},
	{Name: "webhook/patch another's", Method: "PATCH", Path: "/projects/{o.project}/webhooks/{o.webhook}", Auth: "Bearer {jwt}", Body: `{"disabled":true}`, Status: 404},
	{Name: "webhook/delete another's through my project", Method: "DELETE", Path: "/projects/{project}/webhooks/{o.webhook}", Auth: "Bearer {jwt}", Status: 404},
	{Name: "webhook/rotate another's", Method: "POST", Path: "/projects/{o.project}/webhooks/{o.webhook}/rotate-secret", Auth: "Bearer {jwt}", Status: 404},
	{Name: "webhook/test another's through my project", Method: "POST", Path: "/projects/{project}/webhooks/{o.webhook}/test", Auth: "Bearer {jwt}", Status: 404},
	{Name: "webhook/deliveries with a forged cursor", Method: "GET", Path: "/projects/{project}/webhooks/{webhook}/deliveries?starting_after=QUFBQQ", Auth: "Bearer {jwt}", Status: 400},
	{Name: "webhook/deliveries of another's", Method: "GET", Path: "/projects/{o.project}/webhooks/{o.webhook}/deliveries", Auth: "Bearer {jwt}", Status: 404},
	{Name: "webhook/redeliver an event never sent", Method: "POST", Path: "/projects/{project}/webhooks/{webhook}/deliveries/evt_AAAAAAAAAAAAAAAAAAAAAAAAAA/redeliver", Auth: "Bearer {jwt}", Status: 404},
	// ----------------------------------------------------------------- the hosted checkout page
	{Name: "page/unknown checkout", API: "PublicApi", Method: "GET", Path: "/c/{checkout.unknown}", Status: 404},
	{Name: "page/lower-case id", API: "PublicApi", Method: "GET", Path: "/c/{checkout.lower}", Status: 404},
	{Name: "page/a traversal", API: "PublicApi", Method: "GET", Path: "/c/..%2F..%2Fv1%2Fwhoami", Status: 404},
	{Name: "page/a 4 KB id", API: "PublicApi", Method: "GET", Path: "/c/" + longID, Status: 404},
	{Name: "page/a NUL id", API: "PublicApi", Method: "GET", Path: "/c/chk_%00", Status: 404},
	{Name: "page/page on the merchant API", Method: "GET", Path: "/c/{checkout}", Status: 404},
	{Name: "pay/unknown checkout", API: "PublicApi", Method: "POST", Path: "/c/{checkout.unknown}/pay", Header: form, Body: payForm("4242 4242 4242 4242"), Status: 404},
	{Name: "pay/a paid checkout", API: "PublicApi", Method: "POST", Path: "/c/{paid}/pay", Header: form, Body: payForm("4242 4242 4242 4242"), Status: 409},
	{Name: "pay/a paid checkout with a declined card", API: "PublicApi", Method: "POST", Path: "/c/{paid}/pay", Header: form, Body: payForm("4000 0000 0000 0002"), Status: 409},
	{Name: "pay/a number failing the Luhn check", API: "PublicApi", Method: "POST", Path: "/c/{checkout}/pay", Header: form, Body: payForm("4242 4242 4242 4241"), Status: 400},
	{Name: "pay/letters in the number", API: "PublicApi", Method: "POST", Path: "/c/{checkout}/pay", Header: form, Body: payForm("4242 4242 4242 424x"), Status: 400},
	{Name: "pay/a past expiry", API: "PublicApi", Method: "POST", Path: "/c/{checkout}/pay", Header: form, Body: strings.Replace(payForm("4242424242424242"), "12%2F40", "01%2F20", 1), Status: 400},
	{Name: "pay/month 13", API: "PublicApi", Method: "POST", Path: "/c/{checkout}/pay", Header: form, Body: strings.Replace(payForm("4242424242424242"), "12%2F40", "13%2F40", 1), Status: 400},
	{Name: "pay/a 2-digit CVC", API: "PublicApi", Method: "POST", Path: "/c/{checkout}/pay", Header: form, Body: strings.Replace(payForm("4242424242424242"), "card_cvc=123", "card_cvc=12", 1), Status: 400},
	{Name: "pay/no email", API: "PublicApi", Method: "POST", Path: "/c/{checkout}/pay", Header: form, Body: strings.Replace(payForm("4242424242424242"), "buyer%40example.com", "", 1), Status: 400},
	{Name: "pay/an email with a NUL", API: "PublicApi", Method: "POST", Path: "/c/{checkout}/pay", Header: form, Body: strings.Replace(payForm("4242424242424242"), "buyer%40", "bu%00yer%40", 1), Status: 400},
	{Name: "pay/an unknown field", API: "PublicApi", Method: "POST", Path: "/c/{checkout}/pay", Header: form, Body: payForm("4242424242424242") + "&amount=1", Status: 400},
	{Name: "pay/a field twice", API: "PublicApi", Method: "POST", Path: "/c/{checkout}/pay", Header: form, Body: payForm("4242424242424242") + "&card_cvc=456", Status: 400},
	{Name: "pay/a bad escape", API: "PublicApi", Method: "POST", Path: "/c/{checkout}/pay", Header: form, Body: payForm("4242424242424242") + "&email=%zz", Status: 400},
	{Name: "pay/JSON", API: "PublicApi", Method: "POST", Path: "/c/{checkout}/pay", Body: `{"card_number":"4242424242424242"}`, Status: 415},
	{Name: "pay/no content type", API: "PublicApi", Method: "POST", Path: "/c/{checkout}/pay", Header: map[string]string{"Content-Type": "-"}, Body: payForm("4242424242424242"), Status: 415},
	{Name: "pay/form over 4 KiB", API: "PublicApi", Method: "POST", Path: "/c/{checkout}/pay", Header: form, Body: payForm("4242424242424242") + "&x=" + strings.Repeat("a", 4*kib), Status: 413},
	{Name: "pay/body over 10 MB", API: "PublicApi", Method: "POST", Path: "/c/{checkout}/pay", Header: form, Large: big("email", 10*mib+1), Status: 413},
	{Name: "pay/GET is no route", API: "PublicApi", Method: "GET", Path: "/c/{checkout}/pay", Status: 404},

	// ----------------------------------------------------------------- the button's page (/b/...)
	{Name: "button page/button of another project", API: "PublicApi", Method: "GET", Path: "/b/{project}/{o.button}", Status: 404},
	{Name: "button page/archived button", API: "PublicApi", Method: "GET", Path: "/b/{project}/{archived}", Status: 404},
	{Name: "button page/NUL id", API: "PublicApi", Method: "GET", Path: "/b/{project}/btn_%00", Status: 404},
	{Name: "button page/a traversal", API: "PublicApi", Method: "GET", Path: "/b/..%2F..%2Fv1/whoami", Status: 404},
	{Name: "button page/a 4 KB id", API: "PublicApi", Method: "GET", Path: "/b/{project}/btn_" + strings.Repeat("A", 4000), Status: 404},
	{Name: "button page/form for an archived button", API: "PublicApi", Method: "POST", Path: "/b/{project}/{archived}", Header: form, Body: "quantity=1", Status: 404},
	{Name: "button page/form for another project's button", API: "PublicApi", Method: "POST", Path: "/b/{project}/{o.button}", Header: form, Status: 404},
	{Name: "button page/form with a price for a missing button", API: "PublicApi", Method: "POST", Path: "/b/{project}/btn_AAAAAAAAAAAAAAAAAAAAAAAAAA", Header: form, Body: "unit_amount=1&currency=jpy", Status: 404},
	{Name: "button page/PUT is no route", API: "PublicApi", Method: "PUT", Path: "/b/{project}/{button}", Status: 404},
	{Name: "script/POST is no route", API: "PublicApi", Method: "POST", Path: "/button.js", Body: `{}`, Status: 404},
}

// form is the header of the hosted page's form.
var form = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

// noHostileInput are the routes that read nothing a request can get wrong, so no request to them
// is refused: the buy-button script (GET /button.js) is a file, whose two headers
// (Accept-Encoding, If-None-Match) are tested in pkg/api.
var noHostileInput = map[string]bool{"GET /button.js": true}

// hostileFixture sets up two merchants (each with a key, a checkout and a button; the first also
// an archived button and a paid checkout) and returns the placeholders of the corpus.
func hostileFixture(t *testing.T) *strings.Replacer {
	t.Helper()
	m, o := newMerchant(t, "hostile"), newMerchant(t, "hostile-other")
	setup := func(m merchant) (checkout, button string) {
		r := client.Call(t, "", "POST", "/v1/checkouts", e2etest.Bearer(m.key), checkoutBody)
		e2etest.Want(t, r, http.StatusCreated)
		checkout = e2etest.Decode[struct{ ID string }](t, r).ID
		r = client.Call(t, "", "POST", "/projects/"+m.project+"/buttons", e2etest.Bearer(m.token), buttonBody)
		e2etest.Want(t, r, http.StatusCreated)
		return checkout, e2etest.Decode[struct{ ID string }](t, r).ID
	}
	checkout, button := setup(m)
	oCheckout, oButton := setup(o)
	r := client.Call(t, "", "GET", "/v1/events?limit=1", e2etest.Bearer(o.key), "")
	e2etest.Want(t, r, http.StatusOK)
	oEvent := e2etest.Decode[struct{ Data []struct{ ID string } }](t, r).Data[0].ID
	// The endpoints take only an event type that neither the fixture nor the corpus causes, so
	// the pipeline writes no delivery while the corpus runs (the tables must not change).
	hook := func(m merchant) string {
		r := client.Call(t, "", "POST", "/projects/"+m.project+"/webhooks", e2etest.Bearer(m.token), `{"url":"https://shop.example/hooks","events":["checkout.expired"]}`)
		e2etest.Want(t, r, http.StatusCreated)
		created := e2etest.Decode[struct{ ID, Secret string }](t, r)
		secrets.add(created.Secret)
		return created.ID
	}
	webhook, oWebhook := hook(m), hook(o)
	paid, archived := setup(m)
	pay := client.Call(t, "PublicApi", "POST", "/c/"+paid+"/pay", http.Header{"Content-Type": {form["Content-Type"]}}, payForm("4242 4242 4242 4242"))
	e2etest.Want(t, pay, http.StatusSeeOther)
	e2etest.Want(t, client.Call(t, "", "DELETE", "/projects/"+m.project+"/buttons/"+archived, e2etest.Bearer(m.token), ""), http.StatusNoContent)

	jwt, oJWT := strings.Split(m.token, "."), strings.Split(o.token, ".")
	unknown, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	secrets.add(unknown.Secret())
	badsum := []byte(m.key)
	badsum[len(badsum)-1] ^= 1 // still base62 (0↔1, a↔`, ...): only the checksum is wrong
	if c := badsum[len(badsum)-1]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
		badsum[len(badsum)-1] = m.key[len(m.key)-1] ^ 2
	}
	return strings.NewReplacer(
		"{jwt}", m.token,
		"{jwt.swapped}", jwt[0]+"."+oJWT[1]+"."+jwt[2],
		"{jwt.none}", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."+jwt[1]+".",
		"{jwt.unsigned}", jwt[0]+"."+jwt[1],
		"{key}", m.key,
		"{key.badsum}", string(badsum),
		"{key.unknown}", unknown.Secret(),
		"{key_id}", m.keyID,
		"{project}", m.project,
		"{button}", button,
		"{archived}", archived,
		"{checkout}", checkout,
		"{paid}", paid,
		"{checkout.lower}", strings.ToLower(checkout),
		"{checkout.unknown}", "chk_AAAAAAAAAAAAAAAAAAAAAAAAAA",
		"{o.project}", o.project,
		"{o.key_id}", o.keyID,
		"{o.button}", oButton,
		"{o.checkout}", oCheckout,
		"{o.event}", oEvent,
		"{webhook}", webhook,
		"{o.webhook}", oWebhook,
	)
}

// TestHostileInput sends the corpus and checks that every request is refused with the expected 4xx,
// in the envelope (with the gateway's request id) or as API Gateway's own message, and that the
// tables are exactly as they were before the first request.
func TestHostileInput(t *testing.T) {
	if n := len(hostileCorpus); n < 60 {
		t.Fatalf("the corpus has %d requests, want at least 60", n)
	}
	names := map[string]bool{}
	for _, c := range hostileCorpus {
		if names[c.Name] {
			t.Fatalf("two cases named %q", c.Name)
		}
		names[c.Name] = true
	}
	wantEveryRoute(t)
	sub := hostileFixture(t)
	before := scanTables(t)

	byKind := map[string]int{}
	for _, c := range hostileCorpus {
		t.Run(c.Name, func(t *testing.T) {
			r := e2etest.Request{API: c.API, Method: c.Method, Path: sub.Replace(c.Path), Header: http.Header{}}
			if c.Auth != "" {
				r.Header.Set("Authorization", sub.Replace(c.Auth))
			}
			for k, v := range c.Header {
				if k == "Content-Type" && v == "-" {
					r.NoContentType = true
					continue
				}
				r.Header.Set(k, sub.Replace(v))
			}
			switch {
			case c.Large != nil:
				r.Body = struct{ io.Reader }{c.Large()} // no length: sent chunked
			case c.Body != "":
				r.Body = strings.NewReader(sub.Replace(c.Body))
			}
			resp, err := client.Send(context.Background(), r)
			if err != nil {
				t.Fatalf("%s %s: %v", c.Method, c.Path, err)
			}
			kind, env, message := errorBody(resp.Body)
			if kind == "" && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") && strings.HasPrefix(c.Path, "/b/") &&
				strings.Contains(string(resp.Body), "This item is not available") {
				kind = "page" // the buyer's page without JavaScript answers with a page
			}
			switch {
			case resp.Status != c.Status:
				t.Errorf("%s %.80s: got %s, want %d", c.Method, c.Path, resp, c.Status)
			case kind == "envelope" && env.RequestID != resp.Header.Get("Apigw-Requestid"):
				t.Errorf("the envelope's request_id %q is not the request's (%q)", env.RequestID, resp.Header.Get("Apigw-Requestid"))
			case kind == "gateway" && message != http.StatusText(resp.Status):
				t.Errorf("the gateway's message %q does not go with %d", message, resp.Status)
			case kind == "page" && !strings.HasPrefix(c.Path, "/c/") && !strings.HasPrefix(c.Path, "/b/"):
				t.Errorf("%d is a page, which only the hosted checkout page and the button's page answer", resp.Status)
			case kind == "":
				t.Errorf("%d is neither the error envelope, the gateway's message nor a page: %.300s", resp.Status, resp.Body)
			}
			byKind[kind]++
		})
	}
	after := scanTables(t)
	if d := before.diff(after); d != "" {
		t.Errorf("the corpus changed the tables:\n%s", d)
	}
	t.Logf("%d hostile requests: %d answered by the functions in the envelope, %d with a page, %d by the gateway; %d items unchanged",
		len(hostileCorpus), byKind["envelope"], byKind["page"], byKind["gateway"], before.size())
}

// wantEveryRoute checks that the corpus sends at least one request to every route of the template.
func wantEveryRoute(t *testing.T) {
	t.Helper()
	tpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	for _, rt := range tpl.Routes() {
		if noHostileInput[rt.Method+" "+rt.Path] {
			continue
		}
		pattern := strings.ReplaceAll(regexp.QuoteMeta(param.ReplaceAllString(rt.Path, "\x00")), "\x00", "[^/?]+")
		re := regexp.MustCompile("^" + pattern + `(\?|$)`)
		hit := false
		for _, c := range hostileCorpus {
			if cmp.Or(c.API, "HttpApi") == rt.API && c.Method == rt.Method && re.MatchString(c.Path) {
				hit = true
				break
			}
		}
		if !hit {
			t.Errorf("no hostile request for %s %s on %s", rt.Method, rt.Path, rt.API)
		}
	}
}
