package api

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"codex/infra/localaws"
	"codex/pkg/codex"
	"codex/pkg/dynamo"
)

// These tests run the checkout routes as Lambda would, over events.APIGatewayV2HTTPRequest values
// with the authorizer's context set, against DynamoDB on local moto.

// clock is an injectable codex.Clock that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const testPageURL = "https://pay.example/c"

type checkoutRoutes struct {
	create, get, list LambdaHandler
	clock             *clock
}

func newCheckoutRoutes(t *testing.T) checkoutRoutes {
	t.Helper()
	clk := &clock{now: time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)}
	routes := worldRoutes(t, newTestStore(t), clk.Now)
	return checkoutRoutes{
		create: Handler(discardLog(), routes["POST /v1/checkouts"]),
		get:    Handler(discardLog(), routes["GET /v1/checkouts/{checkout_id}"]),
		list:   Handler(discardLog(), routes["GET /v1/checkouts"]),
		clock:  clk,
	}
}

func asProject(req Request, projectID string) Request {
	req.RequestContext.Authorizer.Lambda = map[string]any{"project_id": projectID, "key_id": "key_" + projectID}
	return req
}

func (r checkoutRoutes) post(t *testing.T, projectID, body string, headers map[string]string) Response {
	t.Helper()
	resp, err := r.create(context.Background(), asProject(merchantRequest(body, headers), projectID))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (r checkoutRoutes) fetch(t *testing.T, projectID, id string) Response {
	t.Helper()
	req := asProject(merchantRequest("", nil), projectID)
	req.RouteKey = "GET /v1/checkouts/{checkout_id}"
	req.PathParameters = map[string]string{"checkout_id": id}
	resp, err := r.get(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (r checkoutRoutes) page(t *testing.T, projectID string, query map[string]string) Response {
	t.Helper()
	req := asProject(merchantRequest("", nil), projectID)
	req.RouteKey = "GET /v1/checkouts"
	req.QueryStringParameters = query
	resp, err := r.list(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// wireCheckout is the documented response object, decoded strictly so an undocumented field fails.
type wireCheckout struct {
	ID                string               `json:"id"`
	Object            string               `json:"object"`
	Status            string               `json:"status"`
	PaymentStatus     string               `json:"payment_status"`
	AmountTotal       int64                `json:"amount_total"`
	Currency          string               `json:"currency"`
	LineItems         []codex.LineItem     `json:"line_items"`
	URL               string               `json:"url"`
	SuccessURL        string               `json:"success_url"`
	CancelURL         string               `json:"cancel_url"`
	ClientReferenceID *string              `json:"client_reference_id"`
	Metadata          map[string]string    `json:"metadata"`
	CreatedAt         string               `json:"created_at"`
	ExpiresAt         string               `json:"expires_at"`
	Livemode          bool                 `json:"livemode"`
	ButtonID          *string              `json:"button_id"`
	CompletedAt       *string              `json:"completed_at"`
	CustomerEmail     *string              `json:"customer_email"`
	PaymentMethod     *codex.PaymentMethod `json:"payment_method"`
	LastPaymentError  *codex.PaymentError  `json:"last_payment_error"`
}

func decodeStrict(t *testing.T, body string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

func wantStatus(t *testing.T, resp Response, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, resp.Body)
	}
}

func listIDs(t *testing.T, resp Response) ([]string, bool) {
	t.Helper()
	wantStatus(t, resp, http.StatusOK)
	var page struct {
		Data    []wireCheckout `json:"data"`
		HasMore bool           `json:"has_more"`
	}
	decodeStrict(t, resp.Body, &page)
	ids := []string{}
	for _, c := range page.Data {
		ids = append(ids, c.ID)
	}
	return ids, page.HasMore
}

func TestCheckoutCreateGetList(t *testing.T) {
	t.Parallel()
	r := newCheckoutRoutes(t)
	body := `{"line_items":[{"name":"  T-shirt ","unit_amount":2000,"quantity":2},{"name":"Socks","unit_amount":500,"quantity":1}],
		"currency":"EUR","success_url":"https://shop.example/ok","cancel_url":"http://localhost:8080/cart",
		"client_reference_id":"order-77","metadata":{"cart":"c-1"},"expires_in":3600}`
	resp := r.post(t, "prj_A", body, nil)
	wantStatus(t, resp, http.StatusCreated)
	if resp.Headers["content-type"] != "application/json" || resp.Headers["idempotent-replayed"] != "" {
		t.Fatalf("headers %v", resp.Headers)
	}
	var c wireCheckout
	decodeStrict(t, resp.Body, &c)
	ref := "order-77"
	want := wireCheckout{
		ID: c.ID, Object: "checkout", Status: "open", PaymentStatus: "unpaid", AmountTotal: 4500, Currency: "eur",
		LineItems: []codex.LineItem{{Name: "T-shirt", UnitAmount: 2000, Quantity: 2}, {Name: "Socks", UnitAmount: 500, Quantity: 1}},
		URL:       testPageURL + "/" + c.ID, SuccessURL: "https://shop.example/ok", CancelURL: "http://localhost:8080/cart",
		ClientReferenceID: &ref, Metadata: map[string]string{"cart": "c-1"},
		CreatedAt: "2026-07-01T12:00:00.000Z", ExpiresAt: "2026-07-01T13:00:00.000Z",
	}
	if !codex.ValidID(codex.CheckoutIDPrefix, c.ID) || !reflect.DeepEqual(c, want) {
		t.Fatalf("created\n%+v\nwant\n%+v", c, want)
	}

	got := r.fetch(t, "prj_A", c.ID)
	wantStatus(t, got, http.StatusOK)
	if got.Body != resp.Body {
		t.Fatalf("GET differs from the creation response:\n%s\n%s", got.Body, resp.Body)
	}

	// Optional fields absent: null reference, empty metadata, a day to expire.
	r.clock.Add(time.Second)
	resp = r.post(t, "prj_A", validBody, nil)
	wantStatus(t, resp, http.StatusCreated)
	var bare map[string]any
	decodeStrict(t, resp.Body, &bare)
	if bare["client_reference_id"] != nil || !reflect.DeepEqual(bare["metadata"], map[string]any{}) || bare["expires_at"] != "2026-07-02T12:00:01.000Z" {
		t.Fatalf("defaults: %s", resp.Body)
	}

	ids, more := listIDs(t, r.page(t, "prj_A", nil))
	if len(ids) != 2 || more || ids[1] != c.ID {
		t.Fatalf("list %v, has_more %v", ids, more)
	}
}

func TestCheckoutIdempotency(t *testing.T) {
	t.Parallel()
	r := newCheckoutRoutes(t)
	key := map[string]string{"Idempotency-Key": "order-77-attempt"}
	first := r.post(t, "prj_A", validBody, key)
	wantStatus(t, first, http.StatusCreated)

	// The same request spelt differently (key order, spacing, currency case) is a replay of the
	// first response, byte for byte, marked as such.
	r.clock.Add(time.Minute)
	respelt := `{ "currency":"USD", "cancel_url":"https://shop.example/cart", "success_url":"https://shop.example/ok",
		"line_items":[{"quantity":2,"unit_amount":2000,"name":"T-shirt"},{"name":"Socks ","unit_amount":500,"quantity":1}] }`
	replay := r.post(t, "prj_A", respelt, map[string]string{"idempotency-key": "order-77-attempt"})
	wantStatus(t, replay, http.StatusCreated)
	if replay.Body != first.Body || replay.Headers["idempotent-replayed"] != "true" || replay.Headers["content-type"] != "application/json" {
		t.Fatalf("replay %v %s\nfirst %s", replay.Headers, replay.Body, first.Body)
	}

	// Same key, different request: 422, and nothing is created.
	changed := r.post(t, "prj_A", withField(t, "currency", `"eur"`), key)
	wantStatus(t, changed, http.StatusUnprocessableEntity)
	if e := decodeEnvelope(t, changed); e.Error.Type != "idempotency_error" || e.Error.Code != "idempotency_key_reused" {
		t.Fatalf("envelope %+v", e)
	}

	// A request that fails validation stores nothing: the corrected retry with the same key is
	// processed normally.
	other := map[string]string{"Idempotency-Key": "second"}
	wantStatus(t, r.post(t, "prj_A", withField(t, "currency", `"zzz"`), other), http.StatusBadRequest)
	wantStatus(t, r.post(t, "prj_A", validBody, other), http.StatusCreated)

	// Keys are scoped per project.
	inB := r.post(t, "prj_B", validBody, key)
	wantStatus(t, inB, http.StatusCreated)
	if inB.Headers["idempotent-replayed"] != "" || inB.Body == first.Body {
		t.Fatal("project B got project A's replay")
	}

	// Without a key, every request creates a checkout.
	wantStatus(t, r.post(t, "prj_A", validBody, nil), http.StatusCreated)
	wantStatus(t, r.post(t, "prj_A", validBody, nil), http.StatusCreated)

	ids, _ := listIDs(t, r.page(t, "prj_A", nil))
	if len(ids) != 4 {
		t.Fatalf("project A has %d checkouts, want 4", len(ids))
	}

	// 24 hours on, the key is free again even though no TTL sweep ran: a different request with it
	// is a new checkout, and the new record is what later retries replay.
	r.clock.Add(codex.IdempotencyTTL)
	reused := r.post(t, "prj_A", withField(t, "currency", `"eur"`), key)
	wantStatus(t, reused, http.StatusCreated)
	if reused.Headers["idempotent-replayed"] != "" || reused.Body == first.Body {
		t.Fatalf("after expiry: %v %s", reused.Headers, reused.Body)
	}
	again := r.post(t, "prj_A", withField(t, "currency", `"eur"`), key)
	if again.Body != reused.Body || again.Headers["idempotent-replayed"] != "true" {
		t.Fatalf("replay after reuse: %s", again.Body)
	}
}

// TestCheckoutIdempotencyConcurrent sends 50 identical requests with one key at once: exactly one
// checkout exists afterwards, and every response is that checkout's 201, a faithful replay of it,
// or a 409 telling the client to retry.
func TestCheckoutIdempotencyConcurrent(t *testing.T) {
	t.Parallel()
	r := newCheckoutRoutes(t)
	const n = 50
	responses := make([]Response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			resp, err := r.create(context.Background(), asProject(merchantRequest(validBody, map[string]string{"idempotency-key": "race"}), "prj_A"))
			if err != nil {
				t.Error(err)
			}
			responses[i] = resp
		})
	}
	close(start)
	wg.Wait()

	var originals, replays, inUse []Response
	for _, resp := range responses {
		switch {
		case resp.StatusCode == http.StatusCreated && resp.Headers["idempotent-replayed"] == "":
			originals = append(originals, resp)
		case resp.StatusCode == http.StatusCreated:
			replays = append(replays, resp)
		case resp.StatusCode == http.StatusConflict && decodeEnvelope(t, resp).Error.Code == "idempotency_key_in_use":
			inUse = append(inUse, resp)
		default:
			t.Fatalf("unexpected response %d %s", resp.StatusCode, resp.Body)
		}
	}
	if len(originals) != 1 {
		t.Fatalf("%d original 201s", len(originals))
	}
	for _, resp := range replays {
		if resp.Body != originals[0].Body {
			t.Fatalf("replay differs:\n%s\n%s", resp.Body, originals[0].Body)
		}
	}
	ids, _ := listIDs(t, r.page(t, "prj_A", map[string]string{"limit": "100"}))
	var c wireCheckout
	decodeStrict(t, originals[0].Body, &c)
	if len(ids) != 1 || ids[0] != c.ID {
		t.Fatalf("stored checkouts %v, want only %s", ids, c.ID)
	}
	t.Logf("1 created, %d replayed, %d in use", len(replays), len(inUse))
}

func TestCheckoutProjectIsolation(t *testing.T) {
	t.Parallel()
	r := newCheckoutRoutes(t)
	var b wireCheckout
	resp := r.post(t, "prj_B", validBody, nil)
	wantStatus(t, resp, http.StatusCreated)
	decodeStrict(t, resp.Body, &b)
	wantStatus(t, r.post(t, "prj_A", validBody, nil), http.StatusCreated)

	// A's key reading B's checkout: the same 404 as an id that never existed.
	missing := r.fetch(t, "prj_A", codex.NewID(codex.CheckoutIDPrefix))
	foreign := r.fetch(t, "prj_A", b.ID)
	wantStatus(t, foreign, http.StatusNotFound)
	if decodeEnvelope(t, foreign).Error != decodeEnvelope(t, missing).Error {
		t.Fatalf("another project's checkout is distinguishable from a missing one:\n%s\n%s", foreign.Body, missing.Body)
	}
	ids, _ := listIDs(t, r.page(t, "prj_A", nil))
	if len(ids) != 1 || ids[0] == b.ID {
		t.Fatalf("project A lists %v", ids)
	}
	// Nor can A page from B's checkout.
	after := r.page(t, "prj_A", map[string]string{"starting_after": b.ID})
	wantStatus(t, after, http.StatusBadRequest)
	if e := decodeEnvelope(t, after); e.Error.Param != "starting_after" {
		t.Fatalf("envelope %+v", e)
	}
}

func TestCheckoutListPagination(t *testing.T) {
	t.Parallel()
	r := newCheckoutRoutes(t)
	var created []string
	order := map[string]string{} // id → its place in "newest first": created_at, then id
	for i := range 25 {
		if i%4 != 0 {
			r.clock.Add(time.Millisecond) // some share a millisecond
		}
		var c wireCheckout
		resp := r.post(t, "prj_A", validBody, nil)
		wantStatus(t, resp, http.StatusCreated)
		decodeStrict(t, resp.Body, &c)
		created = append(created, c.ID)
		order[c.ID] = c.CreatedAt + "#" + c.ID
	}
	var got []string
	query := map[string]string{"limit": "7"}
	for pages := 1; ; pages++ {
		ids, more := listIDs(t, r.page(t, "prj_A", query))
		got = append(got, ids...)
		if !more {
			if pages != 4 {
				t.Fatalf("%d pages", pages)
			}
			break
		}
		query["starting_after"] = ids[len(ids)-1]
	}
	// Newest first is creation order reversed (ties broken by id, so compare as sets as well).
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range created {
		if seen[id] != 1 {
			t.Fatalf("%s listed %d times", id, seen[id])
		}
	}
	if len(got) != 25 {
		t.Fatalf("listed %d", len(got))
	}
	for i := 1; i < len(got); i++ {
		if order[got[i-1]] <= order[got[i]] {
			t.Fatalf("not newest first: %s listed before %s", order[got[i-1]], order[got[i]])
		}
	}
	ids, more := listIDs(t, r.page(t, "prj_A", nil))
	if len(ids) != DefaultListLimit || !more {
		t.Fatalf("default page: %d, more %v", len(ids), more)
	}
}

func TestCheckoutExpiresOnRead(t *testing.T) {
	t.Parallel()
	r := newCheckoutRoutes(t)
	var c wireCheckout
	resp := r.post(t, "prj_A", withField(t, "expires_in", "1800"), nil)
	wantStatus(t, resp, http.StatusCreated)
	decodeStrict(t, resp.Body, &c)

	status := func() (get, list string) {
		t.Helper()
		var got wireCheckout
		decodeStrict(t, r.fetch(t, "prj_A", c.ID).Body, &got)
		var page struct {
			Data    []wireCheckout `json:"data"`
			HasMore bool           `json:"has_more"`
		}
		decodeStrict(t, r.page(t, "prj_A", nil).Body, &page)
		return got.Status, page.Data[0].Status
	}
	r.clock.Add(1800*time.Second - time.Millisecond)
	if g, l := status(); g != "open" || l != "open" {
		t.Fatalf("a millisecond before expires_at: get %s, list %s", g, l)
	}
	r.clock.Add(time.Millisecond)
	if g, l := status(); g != "expired" || l != "expired" {
		t.Fatalf("at expires_at: get %s, list %s", g, l)
	}
	if c.ExpiresAt != "2026-07-01T12:30:00.000Z" {
		t.Fatalf("expires_at %s", c.ExpiresAt)
	}
}

// TestCheckoutIdempotencyInFlight: while the first request with a key is still being written,
// DynamoDB cancels a second one's transaction with TransactionConflict (moto, which serialises
// transactions, never does: the client injects it). The second answers 409 idempotency_key_in_use
// and stores nothing; once the first is done, a retry with the same key creates the checkout.
func TestCheckoutIdempotencyInFlight(t *testing.T) {
	t.Parallel()
	env := localAWS(t)
	_, tables := newTestTables(t)
	conflicted := dynamo.New(dynamodb.New(env.DynamoDB.Options(), localaws.ConflictingTransactions(1)), tables)
	create := Handler(discardLog(), worldRoutes(t, conflicted, time.Now)["POST /v1/checkouts"])

	req := asProject(merchantRequest(validBody, map[string]string{"idempotency-key": "busy"}), "prj_A")
	resp, err := create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, resp, http.StatusConflict, codex.CodeIdempotencyInUse, "")
	if e := decodeEnvelope(t, resp); e.Error.Type != "idempotency_error" {
		t.Errorf("type %q, want idempotency_error", e.Error.Type)
	}
	if _, replayed := resp.Headers["idempotent-replayed"]; replayed {
		t.Error("a 409 claims to be a replay")
	}
	if n := itemCount(t, tables); n != 0 {
		t.Fatalf("the refused request stored %d items", n)
	}

	resp, err = create(context.Background(), req)
	if err != nil || resp.StatusCode != http.StatusCreated || resp.Headers["idempotent-replayed"] != "" {
		t.Fatalf("retry: %d %s %v, want the original 201", resp.StatusCode, resp.Body, err)
	}
}
