package proof

import (
	"context"
	"encoding/json"
	"net/http"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"codex/e2e/e2etest"
	"codex/infra/dynamoproxy"
)

// probe is one valid request of a route family, sent while DynamoDB misbehaves.
type probe struct {
	name   string
	family string // "merchant" (API key, Lambda authorizer), "dashboard" (JWT) or "public"
	write  bool
	api    string
	method string
	path   string
	header http.Header
	body   string
}

// faultFixture is what the probes act on: a merchant with a checkout, a button, and a spare key
// and button that the DELETE probes try to remove.
type faultFixture struct {
	m                  merchant
	checkout, button   string
	spareKey, spareKID string
	spareButton        string
}

func newFaultFixture(t *testing.T) *faultFixture {
	t.Helper()
	f := &faultFixture{m: newMerchant(t, "faults")}
	r := client.Call(t, "", "POST", "/v1/checkouts", e2etest.Bearer(f.m.key), checkoutBody)
	e2etest.Want(t, r, http.StatusCreated)
	f.checkout = e2etest.Decode[struct{ ID string }](t, r).ID
	f.button = f.newButton(t)
	f.spareKey, f.spareKID = newKey(t, f.m, "spare")
	f.spareButton = f.newButton(t)
	// Every route once before any fault: what the faults show is how warm functions meet DynamoDB
	// failing, not how cold starts under a loaded machine add to it.
	// Writes are warmed with requests they refuse, so the tables stay as the fixture made them.
	for _, p := range f.probes("") {
		r := e2etest.Request{API: p.api, Method: p.method, Path: p.path, Header: p.header}
		switch p.method {
		case "DELETE":
			r.Path = path.Dir(p.path) + "/unknown" // 404
		case "POST":
			r.Body = strings.NewReader(`{"warm_up":true}`) // 400: unknown parameter
		}
		if resp, err := client.Send(context.Background(), r); err != nil || resp.Status >= 500 {
			t.Fatalf("warming %s: %v %v", p.name, resp, err)
		}
	}
	return f
}

func (f *faultFixture) newButton(t *testing.T) string {
	t.Helper()
	r := client.Call(t, "", "POST", "/projects/"+f.m.project+"/buttons", e2etest.Bearer(f.m.token), buttonBody)
	e2etest.Want(t, r, http.StatusCreated)
	return e2etest.Decode[struct{ ID string }](t, r).ID
}

// probes returns a valid request for every route; idem is the Idempotency-Key of the checkout
// create.
func (f *faultFixture) probes(idem string) []probe {
	key, jwt, p := e2etest.Bearer(f.m.key), e2etest.Bearer(f.m.token), f.m.project
	withIdem := e2etest.Bearer(f.m.key, "Idempotency-Key", idem)
	return []probe{
		{name: "GET /v1/whoami", family: "merchant", method: "GET", path: "/v1/whoami", header: key},
		{name: "POST /v1/checkouts", family: "merchant", write: true, method: "POST", path: "/v1/checkouts", header: withIdem, body: checkoutBody},
		{name: "GET /v1/checkouts/{id}", family: "merchant", method: "GET", path: "/v1/checkouts/" + f.checkout, header: key},
		{name: "GET /v1/checkouts", family: "merchant", method: "GET", path: "/v1/checkouts?limit=2", header: key},
		{name: "POST /projects", family: "dashboard", write: true, method: "POST", path: "/projects", header: jwt, body: `{"name":"made during a fault"}`},
		{name: "GET /projects", family: "dashboard", method: "GET", path: "/projects", header: jwt},
		{name: "POST /projects/{id}/keys", family: "dashboard", write: true, method: "POST", path: "/projects/" + p + "/keys", header: jwt, body: `{"name":"made during a fault"}`},
		{name: "GET /projects/{id}/keys", family: "dashboard", method: "GET", path: "/projects/" + p + "/keys", header: jwt},
		{name: "DELETE /projects/{id}/keys/{id}", family: "dashboard", write: true, method: "DELETE", path: "/projects/" + p + "/keys/" + f.spareKID, header: jwt},
		{name: "POST /projects/{id}/buttons", family: "dashboard", write: true, method: "POST", path: "/projects/" + p + "/buttons", header: jwt, body: buttonBody},
		{name: "GET /projects/{id}/buttons", family: "dashboard", method: "GET", path: "/projects/" + p + "/buttons", header: jwt},
		{name: "DELETE /projects/{id}/buttons/{id}", family: "dashboard", write: true, method: "DELETE", path: "/projects/" + p + "/buttons/" + f.spareButton, header: jwt},
		{name: "GET /public/.../buttons/{id}", family: "public", api: "PublicApi", method: "GET", path: "/public/projects/" + p + "/buttons/" + f.button},
		{name: "POST /public/.../checkouts", family: "public", write: true, api: "PublicApi", method: "POST", path: "/public/projects/" + p + "/buttons/" + f.button + "/checkouts", body: `{"quantity":2}`},
		{name: "GET /public/checkouts/{id}", family: "public", api: "PublicApi", method: "GET", path: "/public/checkouts/" + f.checkout},
	}
}

// sendAll sends the probes concurrently and returns their answers by name, with how long the
// slowest took.
func sendAll(t *testing.T, probes []probe) (map[string]e2etest.Response, time.Duration) {
	t.Helper()
	start := time.Now()
	var mu sync.Mutex
	out := map[string]e2etest.Response{}
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Go(func() {
			r := e2etest.Request{API: p.api, Method: p.method, Path: p.path, Header: p.header}
			if p.body != "" {
				r.Body = strings.NewReader(p.body)
			}
			resp, err := client.Send(context.Background(), r)
			if err != nil {
				t.Errorf("%s: %v", p.name, err)
				return
			}
			// A key made by a probe (before or after a fault) is a credential like any other.
			var made struct{ Key string }
			if resp.Status == http.StatusCreated && json.Unmarshal(resp.Body, &made) == nil && made.Key != "" {
				secrets.add(made.Key)
			}
			mu.Lock()
			out[p.name] = resp
			mu.Unlock()
		})
	}
	wg.Wait()
	return out, time.Since(start)
}

// wantRefusedByGateway checks a /v1 answer when the authorizer could not read the key: API
// Gateway's own 500, the authorizer having failed closed. Anything 2xx would be an allow.
func wantRefusedByGateway(t *testing.T, what string, r e2etest.Response) {
	t.Helper()
	kind, _, msg := errorBody(r.Body)
	if r.Status != http.StatusInternalServerError || kind != "gateway" || msg != "Internal Server Error" {
		t.Errorf("%s: got %s, want API Gateway's 500 (the authorizer failing closed)%s", what, r, requestLog(r))
	}
}

// TestDynamoDBFaults cuts DynamoDB off from the functions in five ways, sends a valid request to
// every route during each, restores it, and checks what was and was not written:
//
//   - refuse: every connection reset. The authorizer cannot read a key, so every /v1 request is
//     refused by API Gateway (500, never an allow); every other route answers 500 in the envelope.
//   - refuse the app table: the authorizer reads keys, every route's function fails on the app
//     table and answers 500 in the envelope, /v1 routes included.
//   - refuse writes: reads work, writes are reset. Reads succeed; every write answers 500 in the
//     envelope and writes nothing (the tables are as before), so the same requests succeed after,
//     the checkout create with its Idempotency-Key included, as a first request.
//   - lose write answers: writes reach DynamoDB and are applied, but the answer never comes back
//     (the SDK retries, then gives up). Every write answers 500 in the envelope; afterwards each
//     write is there whole (a transaction's items all or none) and the Idempotency-Key replays
//     the checkout that was made.
//   - hang: DynamoDB accepts and never answers. Until the functions' own timeout: no allow, and
//     a 5xx from every route.
//
// After each, no invariant of the data model is broken (tables_test.go: consistency).
func TestDynamoDBFaults(t *testing.T) {
	f := newFaultFixture(t)
	t.Cleanup(func() { proxy.Set(nil) })
	start := scanTables(t)

	// ------------------------------------------------------------------ refuse everything
	proxy.Set(always(dynamoproxy.Refuse))
	answers, took := sendAll(t, f.probes("fault-refuse"))
	counts := proxy.Counts()
	proxy.Set(nil)
	t.Logf("refuse: %d requests in %s; DynamoDB calls %v", len(answers), took.Round(time.Millisecond), counts)
	for _, p := range f.probes("") {
		r := answers[p.name]
		if p.family == "merchant" {
			wantRefusedByGateway(t, "refuse: "+p.name, r)
		} else {
			wantInternalEnvelope(t, "refuse: "+p.name, r)
		}
	}
	if d := start.diff(scanTables(t)); d != "" {
		t.Errorf("refuse: the tables changed:\n%s", d)
	}

	// ------------------------------------------------------------------ refuse the app table
	// The authorizer reads the keys table and still works, so every /v1 request reaches its
	// function, which fails on the app table: the functions' own 500, in the envelope.
	proxy.Set(table(stack.Tables["AppTable"], dynamoproxy.Refuse))
	answers, took = sendAll(t, f.probes("fault-refuse-app"))
	counts = proxy.Counts()
	proxy.Set(nil)
	t.Logf("refuse the app table: %d requests in %s; DynamoDB calls %v", len(answers), took.Round(time.Millisecond), counts)
	for _, p := range f.probes("") {
		r := answers[p.name]
		if p.name == "GET /v1/whoami" { // reads nothing but the authorizer's answer
			e2etest.Want(t, r, http.StatusOK)
			continue
		}
		wantInternalEnvelope(t, "refuse the app table: "+p.name, r)
	}
	if d := start.diff(scanTables(t)); d != "" {
		t.Errorf("refuse the app table: the tables changed:\n%s", d)
	}

	// ------------------------------------------------------------------ refuse writes
	proxy.Set(writes(dynamoproxy.Refuse))
	answers, took = sendAll(t, f.probes("fault-refuse-writes"))
	counts = proxy.Counts()
	proxy.Set(nil)
	t.Logf("refuse writes: %d requests in %s; DynamoDB calls %v", len(answers), took.Round(time.Millisecond), counts)
	for _, p := range f.probes("") {
		r := answers[p.name]
		if p.write {
			wantInternalEnvelope(t, "refuse writes: "+p.name, r)
		} else if r.Status != http.StatusOK {
			t.Errorf("refuse writes: %s (a read) got %s, want 200", p.name, r)
		}
	}
	if d := start.diff(scanTables(t)); d != "" {
		t.Errorf("refuse writes: the tables changed:\n%s", d)
	}
	// Nothing was written, so the spare key still works and the checkout's Idempotency-Key is free.
	e2etest.Want(t, client.Call(t, "", "GET", "/v1/whoami", e2etest.Bearer(f.spareKey), ""), http.StatusOK)
	r := client.Call(t, "", "POST", "/v1/checkouts", e2etest.Bearer(f.m.key, "Idempotency-Key", "fault-refuse-writes"), checkoutBody)
	if r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("refuse writes: the retry with the same Idempotency-Key got %s (replayed %q), want a first 201",
			r, r.Header.Get("Idempotent-Replayed"))
	}
	wantConsistent(t)

	// ------------------------------------------------------------------ lose write answers
	before := scanTables(t)
	proxy.Set(writes(dynamoproxy.Lose))
	answers, took = sendAll(t, f.probes("fault-lose"))
	counts = proxy.Counts()
	proxy.Set(nil)
	t.Logf("lose write answers: %d requests in %s; DynamoDB calls %v", len(answers), took.Round(time.Millisecond), counts)
	for _, p := range f.probes("") {
		r := answers[p.name]
		if p.write {
			wantInternalEnvelope(t, "lose: "+p.name, r)
		} else if r.Status != http.StatusOK {
			t.Errorf("lose: %s (a read) got %s, want 200", p.name, r)
		}
	}
	after := wantConsistent(t)
	// The SDK sent each write again when its answer was lost: each checkout create still made
	// exactly one checkout (the keyed one through its transaction's token, the public one by
	// writing the same item twice).
	creates := 0
	for _, p := range f.probes("") {
		if p.method == "POST" && strings.HasSuffix(p.path, "/checkouts") {
			creates++
		}
	}
	if made := after.count("AppTable", "CHECKOUT#") - before.count("AppTable", "CHECKOUT#"); made != creates {
		t.Errorf("lose: %d checkout creates made %d checkouts, want one each", creates, made)
	}
	applied := before.diff(after)
	t.Logf("lose write answers: %d items written or removed all the same, each write whole", strings.Count(applied, "\n"))
	if testing.Verbose() {
		t.Logf("lose write answers: the changes:\n%s", applied)
	}
	// The writes took effect, whole: the spare key is revoked, the spare button archived, and the
	// checkout create replays the checkout it made.
	e2etest.Want(t, client.Call(t, "", "GET", "/v1/whoami", e2etest.Bearer(f.spareKey), ""), http.StatusForbidden)
	e2etest.Want(t, client.Call(t, "", "DELETE", "/projects/"+f.m.project+"/keys/"+f.spareKID, e2etest.Bearer(f.m.token), ""), http.StatusNotFound)
	e2etest.Want(t, client.Call(t, "PublicApi", "GET", "/public/projects/"+f.m.project+"/buttons/"+f.spareButton, nil, ""), http.StatusNotFound)
	r = client.Call(t, "", "POST", "/v1/checkouts", e2etest.Bearer(f.m.key, "Idempotency-Key", "fault-lose"), checkoutBody)
	if r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("lose: the retry with the same Idempotency-Key got %s (replayed %q), want the replay of the checkout made",
			r, r.Header.Get("Idempotent-Replayed"))
	} else {
		id := e2etest.Decode[struct{ ID string }](t, r).ID
		e2etest.Want(t, client.Call(t, "", "GET", "/v1/checkouts/"+id, e2etest.Bearer(f.m.key), ""), http.StatusOK)
	}

	// ------------------------------------------------------------------ hang
	proxy.Set(always(dynamoproxy.Hang))
	hangProbes := []probe{}
	for _, p := range f.probes("fault-hang") {
		switch p.name {
		case "GET /v1/whoami", "POST /v1/checkouts", "POST /projects", "GET /projects/{id}/keys", "POST /public/.../checkouts", "GET /public/checkouts/{id}":
			hangProbes = append(hangProbes, p)
		}
	}
	answers, took = sendAll(t, hangProbes)
	counts = proxy.Counts()
	proxy.Set(nil)
	t.Logf("hang: %d requests in %s; DynamoDB calls %v", len(answers), took.Round(time.Millisecond), counts)
	for _, p := range hangProbes {
		r := answers[p.name]
		if p.family == "merchant" {
			wantRefusedByGateway(t, "hang: "+p.name, r)
		} else {
			wantInternalEnvelope(t, "hang: "+p.name, r)
		}
	}
	wantConsistent(t)
	// Everything works again.
	for name, r := range func() map[string]e2etest.Response { a, _ := sendAll(t, f.probes("fault-after")); return a }() {
		if r.Status >= 300 && !strings.HasPrefix(name, "DELETE") {
			t.Errorf("after the faults: %s got %s", name, r)
		}
	}
	wantConsistent(t)
}
