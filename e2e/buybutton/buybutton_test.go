package buybutton

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"codex/e2e/e2etest"
	"codex/infra/devstack"
	"codex/infra/samtemplate"
)

const (
	dashboardAPI = "HttpApi"
	publicAPI    = "PublicApi"
)

// shop is a merchant set up through the dashboard: a project, a secret key and a button.
type shop struct {
	token, project, key, button string
}

func newShop(t *testing.T, user string) shop {
	t.Helper()
	s := shop{token: client.Token(t, user)}
	r := client.Call(t, dashboardAPI, "POST", "/projects", e2etest.Bearer(s.token), `{"name":"Poster shop"}`)
	e2etest.Want(t, r, http.StatusCreated)
	s.project = e2etest.Decode[map[string]any](t, r)["id"].(string)
	r = client.Call(t, dashboardAPI, "POST", "/projects/"+s.project+"/keys", e2etest.Bearer(s.token), `{"name":"server"}`)
	e2etest.Want(t, r, http.StatusCreated)
	s.key = e2etest.Decode[map[string]any](t, r)["key"].(string)
	r = client.Call(t, dashboardAPI, "POST", "/projects/"+s.project+"/buttons", e2etest.Bearer(s.token),
		`{"name":"Poster A2","unit_amount":2500,"currency":"EUR","success_url":"https://shop.example/thanks","cancel_url":"https://shop.example/poster"}`)
	e2etest.Want(t, r, http.StatusCreated)
	s.button = e2etest.Decode[map[string]any](t, r)["id"].(string)
	return s
}

func (s shop) buttonPath() string { return "/public/projects/" + s.project + "/buttons/" + s.button }

// TestBuyerFlowOverHTTP is the whole flow through the local gateway: the dashboard creates a
// button, a browser on the merchant's page renders it and creates a checkout (cross-origin), the
// hosted page reads the buyer's view, the merchant's server finds the checkout with its key, and
// archiving the button stops it publicly while its checkout stays readable.
func TestBuyerFlowOverHTTP(t *testing.T) {
	s := newShop(t, "e2e-alice")

	r := client.Call(t, publicAPI, "GET", s.buttonPath(), fromPage(), "")
	e2etest.Want(t, r, http.StatusOK)
	if b := e2etest.Decode[map[string]any](t, r); b["name"] != "Poster A2" || b["unit_amount"] != 2500.0 || b["currency"] != "eur" || len(b) != 4 {
		t.Fatalf("public button %s", r.Body)
	}
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Fatalf("public GET: Access-Control-Allow-Origin %q, want *", got)
	}

	h := fromPage()
	h.Set("Content-Type", "application/json")
	r = client.Call(t, publicAPI, "POST", s.buttonPath()+"/checkouts", h, `{"quantity":2,"client_reference_id":"cart-7"}`)
	e2etest.Want(t, r, http.StatusCreated)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Fatalf("public POST: Access-Control-Allow-Origin %q, want *", got)
	}
	created := e2etest.Decode[map[string]any](t, r)
	id, _ := created["id"].(string)
	if created["amount_total"] != 5000.0 || created["currency"] != "eur" || created["status"] != "open" ||
		!strings.HasSuffix(created["url"].(string), "/"+id) {
		t.Fatalf("created %s", r.Body)
	}

	// The merchant's server sees a normal checkout of its project.
	r = client.Call(t, dashboardAPI, "GET", "/v1/checkouts/"+id, e2etest.Bearer(s.key), "")
	e2etest.Want(t, r, http.StatusOK)
	c := e2etest.Decode[map[string]any](t, r)
	items, _ := c["line_items"].([]any)
	if c["client_reference_id"] != "cart-7" || c["amount_total"] != 5000.0 || len(items) != 1 ||
		items[0].(map[string]any)["name"] != "Poster A2" || items[0].(map[string]any)["quantity"] != 2.0 {
		t.Fatalf("merchant view %s", r.Body)
	}
	listed := false
	for range 50 { // the list comes from an index that may lag a moment
		r = client.Call(t, dashboardAPI, "GET", "/v1/checkouts?limit=10", e2etest.Bearer(s.key), "")
		e2etest.Want(t, r, http.StatusOK)
		for _, c := range e2etest.Decode[struct{ Data []map[string]any }](t, r).Data {
			listed = listed || c["id"] == id
		}
		if listed {
			break
		}
	}
	if !listed {
		t.Fatalf("the checkout %s is not in the merchant's list", id)
	}

	// The hosted page's view: no private field.
	view := client.Call(t, publicAPI, "GET", "/public/checkouts/"+id, fromPage(), "")
	e2etest.Want(t, view, http.StatusOK)
	keys := slices.Sorted(maps.Keys(e2etest.Decode[map[string]any](t, view)))
	if want := []string{"amount_total", "cancel_url", "currency", "expires_at", "id", "line_items", "status", "success_url"}; !slices.Equal(keys, want) {
		t.Fatalf("buyer view keys %v, want %v", keys, want)
	}
	for _, private := range []string{"cart-7", s.project, "metadata", "client_reference_id"} {
		if strings.Contains(string(view.Body), private) {
			t.Fatalf("the buyer view leaks %q: %s", private, view.Body)
		}
	}

	// Archived: gone publicly at once, its checkout still readable by both.
	e2etest.Want(t, client.Call(t, dashboardAPI, "DELETE", "/projects/"+s.project+"/buttons/"+s.button, e2etest.Bearer(s.token), ""), http.StatusNoContent)
	e2etest.WantError(t, client.Call(t, publicAPI, "GET", s.buttonPath(), fromPage(), ""), http.StatusNotFound, "resource_missing", "")
	e2etest.WantError(t, client.Call(t, publicAPI, "POST", s.buttonPath()+"/checkouts", h, `{}`), http.StatusNotFound, "resource_missing", "")
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", "/v1/checkouts/"+id, e2etest.Bearer(s.key), ""), http.StatusOK)
	if after := client.Call(t, publicAPI, "GET", "/public/checkouts/"+id, fromPage(), ""); after.Status != http.StatusOK || string(after.Body) != string(view.Body) {
		t.Fatalf("buyer view after archive: %s", after)
	}
}

// TestPublicRoutesRefuseOverHTTP: tampered bodies and other projects' ids, through the gateway.
func TestPublicRoutesRefuseOverHTTP(t *testing.T) {
	s := newShop(t, "e2e-bob")
	other := newShop(t, "e2e-mallory")
	for _, field := range []string{`"unit_amount":1`, `"price":1`, `"amount":1`, `"currency":"jpy"`, `"name":"Free"`, `"line_items":[]`} {
		name := strings.Trim(strings.SplitN(field, ":", 2)[0], `"`)
		e2etest.WantError(t, client.Call(t, publicAPI, "POST", s.buttonPath()+"/checkouts", fromPage(), `{"quantity":1,`+field+`}`),
			http.StatusBadRequest, "parameter_unknown", name)
	}
	e2etest.WantError(t, client.Call(t, publicAPI, "GET", "/public/projects/"+s.project+"/buttons/"+other.button, nil, ""), http.StatusNotFound, "resource_missing", "")
	e2etest.WantError(t, client.Call(t, publicAPI, "POST", "/public/projects/"+other.project+"/buttons/"+s.button+"/checkouts", nil, `{}`), http.StatusNotFound, "resource_missing", "")
	r := client.Call(t, dashboardAPI, "GET", "/v1/checkouts", e2etest.Bearer(s.key), "")
	e2etest.Want(t, r, http.StatusOK)
	if n := len(e2etest.Decode[struct{ Data []any }](t, r).Data); n != 0 {
		t.Fatalf("refused requests created %d checkouts", n)
	}
	// A dashboard route is not served by the public API, nor a public route by the dashboard's.
	if r := call2(t, publicAPI, "GET", "/projects"); r.Status != http.StatusNotFound {
		t.Fatalf("PublicApi serves /projects: %s", r)
	}
	if r := call2(t, dashboardAPI, "GET", s.buttonPath()); r.Status != http.StatusNotFound {
		t.Fatalf("HttpApi serves a public route: %s", r)
	}
}

// call2 is a request that is not one of the document's operations (so nothing to validate).
func call2(t *testing.T, api, method, path string) e2etest.Response {
	t.Helper()
	r, err := client.Send(context.Background(), e2etest.Request{API: api, Method: method, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCORSOverHTTP: preflights are answered, and CORS headers sent, on the public routes only.
func TestCORSOverHTTP(t *testing.T) {
	s := newShop(t, "e2e-carol")
	preflight := func(api, path, method string) e2etest.Response {
		t.Helper()
		return client.Call(t, api, http.MethodOptions, path, http.Header{
			"Origin":                         {"https://shop.example"},
			"Access-Control-Request-Method":  {method},
			"Access-Control-Request-Headers": {"content-type"},
		}, "")
	}
	for _, p := range []struct{ path, method string }{
		{s.buttonPath(), "GET"},
		{s.buttonPath() + "/checkouts", "POST"},
		{"/public/checkouts/chk_AAAAAAAAAAAAAAAAAAAAAAAAAA", "GET"},
	} {
		r := preflight(publicAPI, p.path, p.method)
		if r.Status != http.StatusNoContent && r.Status != http.StatusOK {
			t.Fatalf("preflight %s %s: %s", p.method, p.path, r)
		}
		h := r.Header
		if h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), p.method) ||
			!strings.EqualFold(h.Get("Access-Control-Allow-Headers"), "content-type") || h.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatalf("preflight %s %s headers %v", p.method, p.path, h)
		}
	}
	// Even an error answer of a public route can be read by the page (it names the bad field).
	r := client.Call(t, publicAPI, "POST", s.buttonPath()+"/checkouts", fromPage(), `{"price":1}`)
	if r.Status != http.StatusBadRequest || r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("public error: %s %v", r, r.Header)
	}

	// Dashboard and merchant routes: no preflight answer that allows anything, no CORS header.
	for _, p := range []struct{ path, method string }{
		{"/projects", "POST"},
		{"/projects/" + s.project + "/buttons", "POST"},
		{"/v1/checkouts", "POST"},
		{"/v1/whoami", "GET"},
	} {
		if h := preflight(dashboardAPI, p.path, p.method).Header; corsHeaders(h) != nil {
			t.Fatalf("preflight %s %s on HttpApi allowed something: %v", p.method, p.path, corsHeaders(h))
		}
	}
	for _, r := range []e2etest.Response{
		client.Call(t, dashboardAPI, "GET", "/projects", withOrigin(e2etest.Bearer(s.token)), ""),
		client.Call(t, dashboardAPI, "GET", "/projects/"+s.project+"/buttons", withOrigin(e2etest.Bearer(s.token)), ""),
		client.Call(t, dashboardAPI, "GET", "/v1/whoami", withOrigin(e2etest.Bearer(s.key)), ""),
		client.Call(t, dashboardAPI, "GET", "/v1/checkouts", withOrigin(e2etest.Bearer(s.key)), ""),
		client.Call(t, dashboardAPI, "GET", "/v1/whoami", withOrigin(nil), ""), // refused by the gateway: 401
	} {
		if h := corsHeaders(r.Header); h != nil {
			t.Fatalf("HttpApi answer %s carries CORS headers %v", r, h)
		}
	}
}

func withOrigin(h http.Header) http.Header {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Origin", "https://evil.example")
	return h
}

func corsHeaders(h http.Header) map[string][]string {
	var out map[string][]string
	for k, v := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			if out == nil {
				out = map[string][]string{}
			}
			out[k] = v
		}
	}
	return out
}

// TestEveryOperationOverHTTP answers every operation of the OpenAPI document with a success through
// the local stack, so that each one's real response (as the gateway delivers it) has been validated
// against the document by call.
func TestEveryOperationOverHTTP(t *testing.T) {
	s := newShop(t, "e2e-dave")
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", "/projects", e2etest.Bearer(s.token), ""), http.StatusOK)
	r := client.Call(t, dashboardAPI, "POST", "/projects/"+s.project+"/keys", e2etest.Bearer(s.token), `{"name":"second"}`)
	e2etest.Want(t, r, http.StatusCreated)
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", "/projects/"+s.project+"/keys", e2etest.Bearer(s.token), ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, dashboardAPI, "DELETE", "/projects/"+s.project+"/keys/"+e2etest.Decode[map[string]any](t, r)["id"].(string), e2etest.Bearer(s.token), ""), http.StatusNoContent)
	r = client.Call(t, dashboardAPI, "POST", "/projects/"+s.project+"/keys", e2etest.Bearer(s.token), `{"name":"rolled","expires_in":3600}`)
	e2etest.Want(t, r, http.StatusCreated)
	r = client.Call(t, dashboardAPI, "POST", "/projects/"+s.project+"/keys/"+e2etest.Decode[map[string]any](t, r)["id"].(string)+"/roll", e2etest.Bearer(s.token), `{"expires_in":0}`)
	e2etest.Want(t, r, http.StatusCreated)
	report := `[{"token":"` + e2etest.Decode[map[string]any](t, r)["key"].(string) + `","type":"codex_secret_key","url":"https://github.com/o/r/blob/1/.env","source":"content"}]`
	sig, err := client.GitHub.Sign([]byte(report))
	if err != nil {
		t.Fatal(err)
	}
	e2etest.Want(t, client.Call(t, publicAPI, "POST", "/public/secret-scanning/github",
		http.Header{"Github-Public-Key-Identifier": {devstack.GitHubKeyID}, "Github-Public-Key-Signature": {sig}}, report), http.StatusOK)
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", "/projects/"+s.project+"/audit-log", e2etest.Bearer(s.token), ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", "/projects/"+s.project+"/buttons", e2etest.Bearer(s.token), ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", "/v1/whoami", e2etest.Bearer(s.key), ""), http.StatusOK)
	h := e2etest.Bearer(s.key)
	h.Set("Idempotency-Key", "e2e-1")
	body := `{"line_items":[{"name":"Tea","unit_amount":450,"quantity":2}],"currency":"usd",` +
		`"success_url":"https://shop.example/ok","cancel_url":"https://shop.example/cart","metadata":{"cart":"c-1"}}`
	r = client.Call(t, dashboardAPI, "POST", "/v1/checkouts", h, body)
	e2etest.Want(t, r, http.StatusCreated)
	if replay := client.Call(t, dashboardAPI, "POST", "/v1/checkouts", h, body); replay.Status != http.StatusCreated || replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %s %v", replay, replay.Header)
	}
	id := e2etest.Decode[map[string]any](t, r)["id"].(string)
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", "/v1/checkouts/"+id, e2etest.Bearer(s.key), ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", "/v1/checkouts?limit=5", e2etest.Bearer(s.key), ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, dashboardAPI, "POST", "/v1/checkouts/"+id+"/expire", e2etest.Bearer(s.key), ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", "/projects/"+s.project+"/checkouts?limit=5", e2etest.Bearer(s.token), ""), http.StatusOK)
	r = client.Call(t, dashboardAPI, "GET", "/v1/events?type=checkout.created", e2etest.Bearer(s.key), "")
	e2etest.Want(t, r, http.StatusOK)
	event := e2etest.Decode[struct{ Data []struct{ ID string } }](t, r).Data[0].ID
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", "/v1/events/"+event, e2etest.Bearer(s.key), ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", "/projects/"+s.project+"/events?type=checkout.created&limit=5", e2etest.Bearer(s.token), ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, publicAPI, "GET", s.buttonPath(), nil, ""), http.StatusOK)
	r = client.Call(t, publicAPI, "POST", s.buttonPath()+"/checkouts", nil, "")
	e2etest.Want(t, r, http.StatusCreated)
	bought := e2etest.Decode[map[string]any](t, r)
	e2etest.Want(t, client.Call(t, publicAPI, "GET", "/public/checkouts/"+bought["id"].(string), nil, ""), http.StatusOK)
	// The checkout's url is the hosted page this stack serves: open it, and pay.
	page, ok := strings.CutPrefix(bought["url"].(string), client.Stack.APIs[publicAPI])
	if !ok || page != "/c/"+bought["id"].(string) {
		t.Fatalf("checkout url %v is not this stack's hosted page", bought["url"])
	}
	e2etest.Want(t, client.Call(t, publicAPI, "GET", page, nil, ""), http.StatusOK)
	form := url.Values{"email": {"b@example.com"}, "card_number": {"4242 4242 4242 4242"}, "card_expiry": {"12/40"}, "card_cvc": {"123"}}
	paid := client.Call(t, publicAPI, "POST", page+"/pay", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form.Encode())
	e2etest.Want(t, paid, http.StatusSeeOther)
	if loc := paid.Header.Get("Location"); loc != "https://shop.example/thanks" {
		t.Errorf("paid: Location %q", loc)
	}
	e2etest.Want(t, client.Call(t, publicAPI, "GET", "/b/"+s.project+"/"+s.button, nil, ""), http.StatusOK)
	formHeader := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	e2etest.Want(t, client.Call(t, publicAPI, "POST", "/b/"+s.project+"/"+s.button, formHeader, ""), http.StatusSeeOther)
	e2etest.Want(t, client.Call(t, publicAPI, "GET", "/button.js", http.Header{"Accept-Encoding": {"gzip"}}, ""), http.StatusOK)
	e2etest.Want(t, client.Call(t, dashboardAPI, "DELETE", "/projects/"+s.project+"/buttons/"+s.button, e2etest.Bearer(s.token), ""), http.StatusNoContent)
	e2etest.Want(t, client.Call(t, publicAPI, "GET", "/b/"+s.project+"/"+s.button, nil, ""), http.StatusNotFound)

	// Refusals by the gateway itself are in the document too.
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", "/v1/whoami", nil, ""), http.StatusUnauthorized)
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", "/v1/whoami", e2etest.Bearer("cmk_not-a-key"), ""), http.StatusForbidden)
	e2etest.Want(t, client.Call(t, dashboardAPI, "GET", "/projects", nil, ""), http.StatusUnauthorized)

	webhooksOverHTTP(t, s)

	if missing := client.Spec.Unexercised(); len(missing) > 0 {
		t.Fatalf("operations of openapi.yaml never answered with a success over HTTP: %v", missing)
	}
}

// TestThrottlingOverHTTP: the public routes' throttle comes from template.yaml (PublicApi's
// DefaultRouteSettings) and the local gateway honours it: three times the burst limit, sent at
// once, gets some 429s with API Gateway's body, and no more successes than the bucket allows. It runs
// last in this package and then waits for the bucket to refill.
func TestThrottlingOverHTTP(t *testing.T) {
	tpl, err := samtemplate.Load(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rs := tpl.HTTPAPIs[publicAPI].DefaultRouteSettings
	if rs == nil || rs.ThrottlingBurstLimit == nil || rs.ThrottlingRateLimit == nil {
		t.Fatal("PublicApi has no DefaultRouteSettings throttle")
	}
	burst, rate := *rs.ThrottlingBurstLimit, *rs.ThrottlingRateLimit
	n := 3 * burst
	// Every request to a well-formed unknown id reaches the function and gets a quick 404, unless
	// the gateway throttles it first.
	path := "/public/checkouts/chk_" + strings.Repeat("A", 26)
	statuses := make([]int, n)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { statuses[i] = client.Call(t, publicAPI, "GET", path, nil, "").Status })
	}
	wg.Wait()
	elapsed := time.Since(start)
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	t.Logf("%d requests in %s: %v (burst %d, rate %g/s)", n, elapsed.Round(time.Millisecond), count, burst, rate)
	if count[http.StatusNotFound]+count[http.StatusTooManyRequests] != n {
		t.Fatalf("unexpected statuses %v", count)
	}
	if allowed := float64(burst) + rate*elapsed.Seconds() + 1; float64(count[http.StatusNotFound]) > allowed {
		t.Fatalf("%d requests passed in %s; the bucket allows at most %.0f", count[http.StatusNotFound], elapsed, allowed)
	}
	if count[http.StatusTooManyRequests] == 0 {
		t.Fatal("no request was throttled")
	}
	// Leave a full bucket to whatever runs next.
	time.Sleep(time.Duration(float64(burst)/rate*float64(time.Second)) + 500*time.Millisecond)
}
