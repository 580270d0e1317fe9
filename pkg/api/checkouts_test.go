package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"codex/pkg/codex"
	"codex/pkg/codex/codextest"
)

// untouchedStore fails the test if a route reaches storage: requests refused by validation must
// not read or write anything.
func untouchedStore(t *testing.T) *codextest.CheckoutStore {
	return &codextest.CheckoutStore{
		CreateCheckoutFn: func(context.Context, codex.Checkout, codex.Event, *codex.IdempotencyRecord) (*codex.IdempotencyRecord, error) {
			t.Error("CreateCheckout called")
			return nil, nil
		},
		GetCheckoutFn: func(context.Context, string, string) (codex.Checkout, error) {
			t.Error("GetCheckout called")
			return codex.Checkout{}, nil
		},
		ListCheckoutsFn: func(context.Context, string, int, string) ([]codex.Checkout, bool, error) {
			t.Error("ListCheckouts called")
			return nil, false, nil
		},
	}
}

func merchantRequest(body string, headers map[string]string) Request {
	req := Request{
		RouteKey: "POST /v1/checkouts",
		Body:     body,
		Headers:  map[string]string{"content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-1",
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				Lambda: map[string]any{"project_id": "prj_A", "key_id": "key_A"},
			},
		},
	}
	for k, v := range headers {
		req.Headers[k] = v
	}
	return req
}

const validBody = `{"line_items":[{"name":"T-shirt","unit_amount":2000,"quantity":2},{"name":"Socks","unit_amount":500,"quantity":1}],` +
	`"currency":"usd","success_url":"https://shop.example/ok","cancel_url":"https://shop.example/cart"}`

// withField returns validBody with one top-level field set to raw JSON (or removed when raw is "").
func withField(t *testing.T, field, raw string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(validBody), &m); err != nil {
		t.Fatal(err)
	}
	if raw == "" {
		delete(m, field)
	} else {
		m[field] = json.RawMessage(raw)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type envelopeBody struct {
	Error struct {
		Type, Code, Message, Param string
	}
	RequestID string `json:"request_id"`
}

func decodeEnvelope(t *testing.T, resp Response) envelopeBody {
	t.Helper()
	var e envelopeBody
	if err := json.Unmarshal([]byte(resp.Body), &e); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return e
}

func testCheckouts(t *testing.T) Checkouts {
	return Checkouts{Store: untouchedStore(t), Now: time.Now, PageURL: "https://pay.example/c"}
}

// TestCreateCheckoutValidation is the validation table over whole Lambda events: every bad value of
// every field is a 400 naming the field exactly as the request spells it, and nothing is stored.
func TestCreateCheckoutValidation(t *testing.T) {
	items := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = `{"name":"x","unit_amount":1,"quantity":1}`
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	cases := []struct {
		name, field, raw string // raw "" removes the field
		headers          map[string]string
		body             string // whole body, instead of field/raw
		status           int
		code             codex.Code
		param            string
	}{
		{name: "no line_items", field: "line_items", raw: "", status: 400, code: codex.CodeParameterMissing, param: "line_items"},
		{name: "empty line_items", field: "line_items", raw: "[]", status: 400, code: codex.CodeParameterMissing, param: "line_items"},
		{name: "null line_items", field: "line_items", raw: "null", status: 400, code: codex.CodeParameterMissing, param: "line_items"},
		{name: "line_items object", field: "line_items", raw: "{}", status: 400, code: codex.CodeParameterInvalid, param: "line_items"},
		{name: "101 line items", field: "line_items", raw: items(101), status: 400, code: codex.CodeParameterInvalid, param: "line_items"},
		{name: "line item not object", field: "line_items", raw: `[{"name":"a","unit_amount":1,"quantity":1},5]`, status: 400, code: codex.CodeParameterInvalid, param: "line_items[1]"},
		{name: "line item null", field: "line_items", raw: `[null]`, status: 400, code: codex.CodeParameterInvalid, param: "line_items[0]"},
		{name: "string amount", field: "line_items", raw: `[{"name":"a","unit_amount":1,"quantity":1},{"name":"b","unit_amount":"2","quantity":1}]`, status: 400, code: codex.CodeParameterInvalid, param: "line_items[1].unit_amount"},
		{name: "fractional amount", field: "line_items", raw: `[{"name":"a","unit_amount":19.99,"quantity":1}]`, status: 400, code: codex.CodeParameterInvalid, param: "line_items[0].unit_amount"},
		{name: "exponent amount", field: "line_items", raw: `[{"name":"a","unit_amount":1e3,"quantity":1}]`, status: 400, code: codex.CodeParameterInvalid, param: "line_items[0].unit_amount"},
		{name: "overflowing amount", field: "line_items", raw: `[{"name":"a","unit_amount":99999999999999999999,"quantity":1}]`, status: 400, code: codex.CodeParameterInvalid, param: "line_items[0].unit_amount"},
		{name: "zero amount", field: "line_items", raw: `[{"name":"a","unit_amount":0,"quantity":1}]`, status: 400, code: codex.CodeParameterInvalid, param: "line_items[0].unit_amount"},
		{name: "too large amount", field: "line_items", raw: `[{"name":"a","unit_amount":100000000,"quantity":1}]`, status: 400, code: codex.CodeParameterInvalid, param: "line_items[0].unit_amount"},
		{name: "missing amount", field: "line_items", raw: `[{"name":"a","quantity":1}]`, status: 400, code: codex.CodeParameterMissing, param: "line_items[0].unit_amount"},
		{name: "null amount", field: "line_items", raw: `[{"name":"a","unit_amount":null,"quantity":1}]`, status: 400, code: codex.CodeParameterMissing, param: "line_items[0].unit_amount"},
		{name: "missing quantity", field: "line_items", raw: `[{"name":"a","unit_amount":1}]`, status: 400, code: codex.CodeParameterMissing, param: "line_items[0].quantity"},
		{name: "fractional quantity", field: "line_items", raw: `[{"name":"a","unit_amount":1,"quantity":1.5}]`, status: 400, code: codex.CodeParameterInvalid, param: "line_items[0].quantity"},
		{name: "zero quantity", field: "line_items", raw: `[{"name":"a","unit_amount":1,"quantity":0}]`, status: 400, code: codex.CodeParameterInvalid, param: "line_items[0].quantity"},
		{name: "quantity 1001", field: "line_items", raw: `[{"name":"a","unit_amount":1,"quantity":1001}]`, status: 400, code: codex.CodeParameterInvalid, param: "line_items[0].quantity"},
		{name: "no name", field: "line_items", raw: `[{"unit_amount":1,"quantity":1}]`, status: 400, code: codex.CodeParameterMissing, param: "line_items[0].name"},
		{name: "number name", field: "line_items", raw: `[{"name":7,"unit_amount":1,"quantity":1}]`, status: 400, code: codex.CodeParameterInvalid, param: "line_items[0].name"},
		{name: "long name", field: "line_items", raw: `[{"name":"` + strings.Repeat("n", 251) + `","unit_amount":1,"quantity":1}]`, status: 400, code: codex.CodeParameterInvalid, param: "line_items[0].name"},
		{name: "unknown line item field", field: "line_items", raw: `[{"name":"a","unit_amount":1,"quantity":1,"price":1}]`, status: 400, code: codex.CodeParameterUnknown, param: "line_items[0].price"},
		{name: "no currency", field: "currency", raw: "", status: 400, code: codex.CodeParameterMissing, param: "currency"},
		{name: "bad currency", field: "currency", raw: `"usdollar"`, status: 400, code: codex.CodeParameterInvalid, param: "currency"},
		{name: "XXX currency", field: "currency", raw: `"XXX"`, status: 400, code: codex.CodeParameterInvalid, param: "currency"},
		{name: "number currency", field: "currency", raw: `840`, status: 400, code: codex.CodeParameterInvalid, param: "currency"},
		{name: "no success_url", field: "success_url", raw: "", status: 400, code: codex.CodeParameterMissing, param: "success_url"},
		{name: "http success_url", field: "success_url", raw: `"http://shop.example/ok"`, status: 400, code: codex.CodeParameterInvalid, param: "success_url"},
		{name: "relative cancel_url", field: "cancel_url", raw: `"/cart"`, status: 400, code: codex.CodeParameterInvalid, param: "cancel_url"},
		{name: "long cancel_url", field: "cancel_url", raw: `"https://shop.example/` + strings.Repeat("a", 2048) + `"`, status: 400, code: codex.CodeParameterInvalid, param: "cancel_url"},
		{name: "empty client_reference_id", field: "client_reference_id", raw: `""`, status: 400, code: codex.CodeParameterInvalid, param: "client_reference_id"},
		{name: "long client_reference_id", field: "client_reference_id", raw: `"` + strings.Repeat("r", 201) + `"`, status: 400, code: codex.CodeParameterInvalid, param: "client_reference_id"},
		{name: "number client_reference_id", field: "client_reference_id", raw: `42`, status: 400, code: codex.CodeParameterInvalid, param: "client_reference_id"},
		{name: "metadata array", field: "metadata", raw: `["a"]`, status: 400, code: codex.CodeParameterInvalid, param: "metadata"},
		{name: "metadata number value", field: "metadata", raw: `{"order":42}`, status: 400, code: codex.CodeParameterInvalid, param: "metadata[order]"},
		{name: "metadata null value", field: "metadata", raw: `{"order":null}`, status: 400, code: codex.CodeParameterInvalid, param: "metadata[order]"},
		{name: "metadata long value", field: "metadata", raw: `{"order":"` + strings.Repeat("v", 501) + `"}`, status: 400, code: codex.CodeParameterInvalid, param: "metadata[order]"},
		{name: "metadata long key", field: "metadata", raw: `{"` + strings.Repeat("k", 41) + `":"v"}`, status: 400, code: codex.CodeParameterInvalid, param: "metadata[" + strings.Repeat("k", 40) + "…]"},
		{name: "metadata 51 keys", field: "metadata", raw: func() string {
			parts := make([]string, 51)
			for i := range parts {
				parts[i] = fmt.Sprintf(`"k%d":"v"`, i)
			}
			return "{" + strings.Join(parts, ",") + "}"
		}(), status: 400, code: codex.CodeParameterInvalid, param: "metadata"},
		{name: "expires_in too short", field: "expires_in", raw: `1799`, status: 400, code: codex.CodeParameterInvalid, param: "expires_in"},
		{name: "expires_in too long", field: "expires_in", raw: `86401`, status: 400, code: codex.CodeParameterInvalid, param: "expires_in"},
		{name: "expires_in zero", field: "expires_in", raw: `0`, status: 400, code: codex.CodeParameterInvalid, param: "expires_in"},
		{name: "expires_in fraction", field: "expires_in", raw: `3600.5`, status: 400, code: codex.CodeParameterInvalid, param: "expires_in"},
		{name: "expires_in string", field: "expires_in", raw: `"3600"`, status: 400, code: codex.CodeParameterInvalid, param: "expires_in"},
		{name: "unknown field", field: "customer_email", raw: `"a@b.example"`, status: 400, code: codex.CodeParameterUnknown, param: "customer_email"},
		{name: "project_id in body", field: "project_id", raw: `"prj_B"`, status: 400, code: codex.CodeParameterUnknown, param: "project_id"},
		{name: "amount_total in body", field: "amount_total", raw: `1`, status: 400, code: codex.CodeParameterUnknown, param: "amount_total"},
		{name: "duplicate key", body: `{"currency":"usd","currency":"eur"}`, status: 400, code: codex.CodeBodyInvalid},
		{name: "not json", body: `line_items=1`, status: 400, code: codex.CodeBodyInvalid},
		{name: "empty idempotency key", headers: map[string]string{"idempotency-key": ""}, status: 400, code: codex.CodeParameterInvalid, param: "Idempotency-Key"},
		{name: "long idempotency key", headers: map[string]string{"idempotency-key": strings.Repeat("k", 256)}, status: 400, code: codex.CodeParameterInvalid, param: "Idempotency-Key"},
		{name: "non-ascii idempotency key", headers: map[string]string{"Idempotency-Key": "clé"}, status: 400, code: codex.CodeParameterInvalid, param: "Idempotency-Key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if body == "" {
				body = validBody
				if tc.field != "" {
					body = withField(t, tc.field, tc.raw)
				}
			}
			req := merchantRequest(body, tc.headers)
			resp, err := Handler(discardLog(), CreateCheckout{testCheckouts(t)})(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			e := decodeEnvelope(t, resp)
			if resp.StatusCode != tc.status || e.Error.Code != string(tc.code) || e.Error.Param != tc.param {
				t.Fatalf("got %d %s param %q (%s); want %d %s param %q", resp.StatusCode, e.Error.Code, e.Error.Param, e.Error.Message, tc.status, tc.code, tc.param)
			}
			if e.Error.Type != "invalid_request_error" || e.RequestID != "req-1" || e.Error.Message == "" {
				t.Fatalf("envelope %+v", e)
			}
		})
	}
}

func TestCheckoutRoutesNeedAPIKey(t *testing.T) {
	h := testCheckouts(t)
	for name, route := range map[string]Route{"create": CreateCheckout{h}, "get": GetCheckout{h}, "list": ListCheckouts{h}} {
		req := merchantRequest(validBody, nil)
		req.RequestContext.Authorizer = nil
		req.PathParameters = map[string]string{"checkout_id": codex.NewID(codex.CheckoutIDPrefix)}
		resp, _ := Handler(discardLog(), route)(context.Background(), req)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without a key: %d %s", name, resp.StatusCode, resp.Body)
		}
	}
}

func TestGetCheckoutMalformedIDIsNotFound(t *testing.T) {
	for _, id := range []string{"", "chk_", "chk_short", "prj_ABCDEFGHIJKLMNOPQRSTUVWXYZ", "chk_abcdefghijklmnopqrstuvwxyz", "../x"} {
		req := merchantRequest("", nil)
		req.PathParameters = map[string]string{"checkout_id": id}
		resp, _ := Handler(discardLog(), GetCheckout{testCheckouts(t)})(context.Background(), req)
		if e := decodeEnvelope(t, resp); resp.StatusCode != http.StatusNotFound || e.Error.Code != "resource_missing" {
			t.Errorf("id %q: %d %s", id, resp.StatusCode, resp.Body)
		}
	}
}

func TestListCheckoutsParams(t *testing.T) {
	for _, tc := range []struct {
		query map[string]string
		code  codex.Code
		param string
	}{
		{map[string]string{"limit": "0"}, codex.CodeParameterInvalid, "limit"},
		{map[string]string{"limit": "101"}, codex.CodeParameterInvalid, "limit"},
		{map[string]string{"limit": "-1"}, codex.CodeParameterInvalid, "limit"},
		{map[string]string{"limit": "+5"}, codex.CodeParameterInvalid, "limit"},
		{map[string]string{"limit": "ten"}, codex.CodeParameterInvalid, "limit"},
		{map[string]string{"limit": "1,2"}, codex.CodeParameterInvalid, "limit"},
		{map[string]string{"limit": ""}, codex.CodeParameterInvalid, "limit"},
		{map[string]string{"starting_after": "prj_ABCDEFGHIJKLMNOPQRSTUVWXYZ"}, codex.CodeParameterInvalid, "starting_after"},
		{map[string]string{"starting_after": ""}, codex.CodeParameterInvalid, "starting_after"},
		{map[string]string{"startingAfter": "x"}, codex.CodeParameterUnknown, "startingAfter"},
		{map[string]string{"ending_before": "chk_ABCDEFGHIJKLMNOPQRSTUVWXYZ"}, codex.CodeParameterUnknown, "ending_before"},
	} {
		req := merchantRequest("", nil)
		req.QueryStringParameters = tc.query
		resp, _ := Handler(discardLog(), ListCheckouts{testCheckouts(t)})(context.Background(), req)
		e := decodeEnvelope(t, resp)
		if resp.StatusCode != http.StatusBadRequest || e.Error.Code != string(tc.code) || e.Error.Param != tc.param {
			t.Errorf("%v: %d %s", tc.query, resp.StatusCode, resp.Body)
		}
	}
}

func TestCheckoutPageURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://pay.example/c/":  "https://pay.example/c",
		"https://pay.example":     "https://pay.example",
		"http://127.0.0.1:3000/c": "http://127.0.0.1:3000/c",
	} {
		if got, err := CheckoutPageURL(in); err != nil || got != want {
			t.Errorf("CheckoutPageURL(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "pay.example/c", "ftp://pay.example", "https://pay.example/c?x=1", "https://pay.example/#c"} {
		if _, err := CheckoutPageURL(in); err == nil {
			t.Errorf("CheckoutPageURL(%q) accepted", in)
		}
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// FuzzCreateCheckoutBody checks that no body makes decoding or validation fail with anything but a
// client error, and that whatever passes keeps amount_total within its documented bound.
func FuzzCreateCheckoutBody(f *testing.F) {
	for _, s := range []string{
		validBody, "", "{}", `{"line_items":[null]}`, `{"line_items":[{"unit_amount":1e400}]}`,
		`{"metadata":{"a":null,"b":1}}`, `{"line_items":[{"name":"x","unit_amount":99999999,"quantity":1000}],"currency":"JPY"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		p, err := decodeCheckoutParams(&Request{Body: body})
		if err == nil {
			p, err = p.Validate()
		}
		if err != nil {
			if codex.ErrorCode(err) == codex.CodeInternal {
				t.Fatalf("internal error for %q: %v", body, err)
			}
			return
		}
		if total := p.AmountTotal(); total < 1 || total > codex.MaxAmountTotal {
			t.Fatalf("amount_total %d for %q", total, body)
		}
		if again, _ := p.Validate(); again.Fingerprint() != p.Fingerprint() {
			t.Fatalf("validating twice changes the fingerprint of %q", body)
		}
	})
}

// lambdaMaxResponse is Lambda's limit on a synchronous invocation's response payload.
const lambdaMaxResponse = 6 << 20

// TestListCheckoutsPageFitsALambdaResponse: 100 checkouts at the size a 64 KiB request allows come
// to more than Lambda's 6 MB response limit, so a page ends early with has_more, and starting_after
// its last id goes on with no checkout missed or repeated.
func TestListCheckoutsPageFitsALambdaResponse(t *testing.T) {
	raw := codex.CheckoutParams{
		Currency:   "usd",
		SuccessURL: "https://shop.example/done",
		CancelURL:  "https://shop.example/cart",
		Metadata:   map[string]string{},
	}
	// Characters that grow the most where the page ends up, in Lambda's response payload: quotes
	// and backslashes escaped twice, <, > and & as \u003c...
	for i := range codex.MaxLineItems {
		raw.LineItems = append(raw.LineItems, codex.LineItem{Name: strings.Repeat([]string{`"`, `\`, "<", "é"}[i%4], codex.MaxLineItemName), UnitAmount: 1, Quantity: 1})
	}
	for i := range 10 {
		raw.Metadata[fmt.Sprint(i)] = strings.Repeat(`"\<&>`, codex.MaxMetadataValue/5)
	}
	if b, _ := encodeJSON(raw); len(b) > MaxBodyBytes {
		t.Fatalf("the request would be %d bytes, over the %d a request may have", len(b), MaxBodyBytes)
	}
	params, err := raw.Validate()
	if err != nil {
		t.Fatal(err)
	}
	// A project's checkouts, newest first, listed as the store contract says.
	var all []codex.Checkout
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	for range MaxListLimit + 20 {
		all = append(all, codex.NewCheckout("prj_A", params, now))
	}
	store := untouchedStore(t)
	store.ListCheckoutsFn = func(_ context.Context, _ string, limit int, after string) ([]codex.Checkout, bool, error) {
		start := 0
		if after != "" {
			i := slices.IndexFunc(all, func(c codex.Checkout) bool { return c.ID == after })
			if i < 0 {
				return nil, false, codex.NotFound("checkout")
			}
			start = i + 1
		}
		end := min(start+limit, len(all))
		return all[start:end], end < len(all), nil
	}
	list := Handler(discardLog(), ListCheckouts{Checkouts{Store: store, Now: func() time.Time { return now }, PageURL: testPageURL}})

	var seen []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > len(all) {
			t.Fatal("pagination does not end")
		}
		req := merchantRequest("", nil)
		req.QueryStringParameters = map[string]string{"limit": strconv.Itoa(MaxListLimit)}
		if after != "" {
			req.QueryStringParameters["starting_after"] = after
		}
		resp, err := list(context.Background(), req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("page %d: %d %v %.200s", pages, resp.StatusCode, err, resp.Body)
		}
		// What the function returns to Lambda: the response as aws-lambda-go encodes it.
		if payload, _ := json.Marshal(resp); len(payload) > lambdaMaxResponse {
			t.Fatalf("page %d is a %d-byte Lambda response: over the %d Lambda allows", pages, len(payload), lambdaMaxResponse)
		}
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			HasMore bool `json:"has_more"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || len(page.Data) == 0 {
			t.Fatalf("page %d: %v, %d checkouts", pages, err, len(page.Data))
		}
		if pages == 0 && (len(page.Data) == MaxListLimit || !page.HasMore) {
			t.Fatalf("first page: %d checkouts, has_more %v; want it cut short by size", len(page.Data), page.HasMore)
		}
		for _, c := range page.Data {
			seen = append(seen, c.ID)
		}
		if !page.HasMore {
			break
		}
		after = page.Data[len(page.Data)-1].ID
	}
	var want []string
	for _, c := range all {
		want = append(want, c.ID)
	}
	if !slices.Equal(seen, want) {
		t.Errorf("pages returned %d checkouts, want all %d in order, once each", len(seen), len(want))
	}
}

// TestJSONDoesNotEscapeHTML: responses, and the idempotency records that store them, carry <, >
// and & as they are; json.Marshal's \u003c escapes would make them up to six times as large.
func TestJSONDoesNotEscapeHTML(t *testing.T) {
	resp := JSON(http.StatusOK, map[string]string{"name": "<b>Tea & cake</b>"})
	if want := `{"name":"<b>Tea & cake</b>"}`; resp.Body != want {
		t.Errorf("body %s, want %s", resp.Body, want)
	}
}
