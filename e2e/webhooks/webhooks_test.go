// Package webhooks is the end-to-end test of webhook delivery: the whole local stack (devstack,
// as `make dev` runs it, with the template's DynamoDB-stream and SQS event sources run as Lambda's
// event source mappings do) and a receiver on loopback (make dev sets WebhookAllowLoopback). A
// checkout's change goes through the table's stream, FanoutEventsFunction, the webhook queue and
// DeliverWebhooksFunction to the receiver, which verifies every request with the official
// Standard Webhooks library. The functions reach DynamoDB through infra/dynamoproxy, so that a
// test can fail it for the delivery function alone.
package webhooks

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"codex/e2e/e2etest"
	"codex/infra/devstack"
	"codex/infra/dynamoproxy"
)

var (
	client = &e2etest.Client{}
	// proxy stands between the functions and DynamoDB (TestDeliveryKilledAndDynamoDBFailing).
	proxy *dynamoproxy.Proxy
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if proxy, err = dynamoproxy.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "start the DynamoDB proxy:", err)
		return 1
	}
	defer proxy.Close()
	return e2etest.Suite{Name: "webhooks", Client: client, OpenAPI: true,
		Options: devstack.Options{
			FunctionDynamoDBEndpoint: proxy.URL(),
			// A message whose delivery died or failed comes back in seconds, not the template's six
			// minutes; still well above a delivery's time, so that no other test sees a repeat.
			QueueVisibilityTimeout: visibility,
		},
		Started: func(s *devstack.Stack) error {
			proxy.SetUpstream(s.Endpoint)
			return nil
		},
	}.Run(m)
}

const visibility = 10 * time.Second

func call(t *testing.T, method, path string, header http.Header, body string) e2etest.Response {
	t.Helper()
	return client.Call(t, "HttpApi", method, path, header, body)
}

// receiver answers each request with the next status of its script (the last one repeats) and
// keeps what it got, verified with the official library once its secret is known. With hold set,
// the first request is kept (held) until hold is closed before it is answered.
type receiver struct {
	url    string
	mu     sync.Mutex
	secret string
	script []int
	got    []delivery
	hold   chan struct{}
	held   chan struct{} // closed once the first request is being held
}

type delivery struct {
	id, body string
	verified bool
	status   int
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{script: script}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		wh, err := standardwebhooks.NewWebhook(r.secret)
		ok := err == nil && wh.Verify(body, req.Header) == nil
		status := r.script[min(len(r.got), len(r.script)-1)]
		r.got = append(r.got, delivery{req.Header.Get("webhook-id"), string(body), ok, status})
		first := len(r.got) == 1
		r.mu.Unlock()
		if first && r.hold != nil {
			close(r.held)
			<-r.hold
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/hooks"
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// await polls until cond holds or the time is up.
func await(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(within); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("after %v: %s", within, what)
		}
	}
}

type shop struct{ token, project, key string }

func newShop(t *testing.T, user string) shop {
	t.Helper()
	s := shop{token: client.Token(t, user)}
	r := call(t, "POST", "/projects", e2etest.Bearer(s.token), `{"name":"Shop of `+user+`"}`)
	e2etest.Want(t, r, http.StatusCreated)
	s.project = e2etest.Decode[struct{ ID string }](t, r).ID
	r = call(t, "POST", "/projects/"+s.project+"/keys", e2etest.Bearer(s.token), `{"name":"server"}`)
	e2etest.Want(t, r, http.StatusCreated)
	s.key = e2etest.Decode[struct{ Key string }](t, r).Key
	return s
}

// endpoint registers r for events and returns its path.
func (s shop) endpoint(t *testing.T, r *receiver, events string) string {
	t.Helper()
	resp := call(t, "POST", "/projects/"+s.project+"/webhooks", e2etest.Bearer(s.token), fmt.Sprintf(`{"url":%q,"events":%s}`, r.url, events))
	e2etest.Want(t, resp, http.StatusCreated)
	created := e2etest.Decode[struct{ ID, Secret string }](t, resp)
	r.mu.Lock()
	r.secret = created.Secret
	r.mu.Unlock()
	return "/projects/" + s.project + "/webhooks/" + created.ID
}

const checkoutBody = `{"line_items":[{"name":"Tea","unit_amount":450,"quantity":2}],"currency":"usd",` +
	`"success_url":"https://shop.example/ok","cancel_url":"https://shop.example/cart"}`

// TestCheckoutCreatedReachesTheReceiver: the event of a new checkout arrives once the receiver,
// down at first (500), answers 200: each request verified, all with the event's id, the body
// byte for byte what GET /v1/events/{id} returns. The deliveries list shows both attempts.
func TestCheckoutCreatedReachesTheReceiver(t *testing.T) {
	s := newShop(t, "e2e-hooks")
	recv := newReceiver(t, 500, 200)
	hook := s.endpoint(t, recv, `["checkout.created"]`)

	r := call(t, "POST", "/v1/checkouts", e2etest.Bearer(s.key), checkoutBody)
	e2etest.Want(t, r, http.StatusCreated)
	checkout := e2etest.Decode[struct{ ID string }](t, r).ID
	// The first retry waits 5 s (the schedule's first step, with jitter).
	await(t, 40*time.Second, "the event did not arrive after a 500 and a retry", func() bool { return len(recv.deliveries()) >= 2 })

	got := recv.deliveries()
	r = call(t, "GET", "/v1/events/"+got[0].id, e2etest.Bearer(s.key), "")
	e2etest.Want(t, r, http.StatusOK)
	for _, d := range got {
		if !d.verified || d.id != got[0].id || d.body != string(r.Body) {
			t.Errorf("delivery %+v: want verified, webhook-id %s, the body of GET /v1/events/{id}:\n%s", d, got[0].id, r.Body)
		}
	}
	ev := e2etest.Decode[struct {
		Type string
		Data struct{ Object struct{ ID string } }
	}](t, r)
	if ev.Type != "checkout.created" || ev.Data.Object.ID != checkout {
		t.Errorf("event %+v, want checkout.created of %s", ev, checkout)
	}

	var page struct {
		Data []struct {
			EventID        string `json:"event_id"`
			Attempt        int
			Outcome        string
			ResponseStatus *int `json:"response_status"`
		}
	}
	await(t, 10*time.Second, "the deliveries list lacks the success", func() bool {
		page = e2etest.Decode[struct {
			Data []struct {
				EventID        string `json:"event_id"`
				Attempt        int
				Outcome        string
				ResponseStatus *int `json:"response_status"`
			}
		}](t, call(t, "GET", hook+"/deliveries", e2etest.Bearer(s.token), ""))
		return len(page.Data) == 2
	})
	if a, b := page.Data[0], page.Data[1]; a.Attempt != 2 || a.Outcome != "succeeded" || b.Attempt != 1 || b.Outcome != "retrying" ||
		b.ResponseStatus == nil || *b.ResponseStatus != 500 {
		t.Errorf("deliveries %+v", page.Data)
	}

	// Redelivery: the same event, the same id, once more.
	e2etest.Want(t, call(t, "POST", hook+"/deliveries/"+got[0].id+"/redeliver", e2etest.Bearer(s.token), ""), http.StatusAccepted)
	await(t, 20*time.Second, "the redelivery did not arrive", func() bool { return len(recv.deliveries()) == 3 })
	if d := recv.deliveries()[2]; d.id != got[0].id || !d.verified || d.body != string(r.Body) {
		t.Errorf("redelivery %+v", d)
	}
}

// TestCheckoutLifecycleEvents: a checkout paid on the hosted page, one declined there and one
// expired by the merchant each reach a receiver subscribed to every event: created, completed,
// payment_failed and expired, each request verified by the official library and its body byte for
// byte what GET /v1/events/{id} returns, each event about its own checkout.
func TestCheckoutLifecycleEvents(t *testing.T) {
	s := newShop(t, "e2e-hooks-lifecycle")
	recv := newReceiver(t, 200)
	s.endpoint(t, recv, `["*"]`)
	create := func() string {
		r := call(t, "POST", "/v1/checkouts", e2etest.Bearer(s.key), checkoutBody)
		e2etest.Want(t, r, http.StatusCreated)
		return e2etest.Decode[struct{ ID string }](t, r).ID
	}
	pay := func(id, number string, status int) {
		form := url.Values{"email": {"buyer@example.com"}, "card_number": {number}, "card_expiry": {"12/40"}, "card_cvc": {"123"}}.Encode()
		r := client.Call(t, "PublicApi", "POST", "/c/"+id+"/pay", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form)
		e2etest.Want(t, r, status)
	}
	paid, declined, expired := create(), create(), create()
	pay(paid, "4242 4242 4242 4242", http.StatusSeeOther)
	pay(declined, "4000 0000 0000 0002", http.StatusPaymentRequired)
	e2etest.Want(t, call(t, "POST", "/v1/checkouts/"+expired+"/expire", e2etest.Bearer(s.key), ""), http.StatusOK)

	want := map[string]string{ // event type and checkout → arrived
		"checkout.created " + paid: "", "checkout.created " + declined: "", "checkout.created " + expired: "",
		"checkout.completed " + paid: "", "checkout.payment_failed " + declined: "", "checkout.expired " + expired: "",
	}
	seen := map[string]bool{}
	await(t, 60*time.Second, "not every lifecycle event arrived", func() bool {
		for _, d := range recv.deliveries() {
			if seen[d.id] {
				continue
			}
			seen[d.id] = true
			r := call(t, "GET", "/v1/events/"+d.id, e2etest.Bearer(s.key), "")
			e2etest.Want(t, r, http.StatusOK)
			if !d.verified || d.body != string(r.Body) {
				t.Errorf("delivery %s: verified %v; body equal to GET /v1/events/{id}: %v", d.id, d.verified, d.body == string(r.Body))
			}
			ev := e2etest.Decode[struct {
				Type string
				Data struct{ Object struct{ ID string } }
			}](t, r)
			k := ev.Type + " " + ev.Data.Object.ID
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected event %s", k)
			}
			want[k] = d.id
		}
		for _, id := range want {
			if id == "" {
				return false
			}
		}
		return true
	})
}

// TestPingAndGone: the test route's ping reaches only its endpoint; a receiver answering 410
// Gone to a real event gets the endpoint disabled, and the dashboard API says why.
func TestPingAndGone(t *testing.T) {
	s := newShop(t, "e2e-gone")
	gone := newReceiver(t, 410)
	hook := s.endpoint(t, gone, `["*"]`)
	other := newReceiver(t, 200)
	s.endpoint(t, other, `["checkout.completed"]`)

	e2etest.Want(t, call(t, "POST", hook+"/test", e2etest.Bearer(s.token), ""), http.StatusAccepted)
	await(t, 20*time.Second, "the ping did not arrive", func() bool { return len(gone.deliveries()) == 1 })
	if d := gone.deliveries()[0]; !d.verified {
		t.Errorf("ping %+v", d)
	}
	// A ping answered 410 does not disable: only real traffic says whether an endpoint works.
	if e := e2etest.Decode[struct{ Disabled bool }](t, call(t, "GET", hook, e2etest.Bearer(s.token), "")); e.Disabled {
		t.Fatal("a test event disabled the endpoint")
	}

	e2etest.Want(t, call(t, "POST", "/v1/checkouts", e2etest.Bearer(s.key), checkoutBody), http.StatusCreated)
	var e struct {
		Disabled       bool
		DisabledReason *string `json:"disabled_reason"`
	}
	await(t, 30*time.Second, "the endpoint was not disabled after a 410", func() bool {
		e = e2etest.Decode[struct {
			Disabled       bool
			DisabledReason *string `json:"disabled_reason"`
		}](t, call(t, "GET", hook, e2etest.Bearer(s.token), ""))
		return e.Disabled
	})
	if e.DisabledReason == nil || *e.DisabledReason != "the endpoint answered 410 Gone" {
		t.Errorf("disabled_reason %v", e.DisabledReason)
	}
	if n := len(gone.deliveries()); n != 2 {
		t.Errorf("the 410 receiver got %d requests, want the ping and one event", n)
	}
	if n := len(other.deliveries()); n != 0 {
		t.Errorf("an endpoint subscribed to checkout.completed only got %d requests", n)
	}
}

// TestDeliveryKilledAndDynamoDBFailing: DeliverWebhooksFunction dies in the middle of a batch (its
// emulators and runtimes killed while the receiver holds the first request), then its DynamoDB
// writes fail for a while, so the attempts it sends cannot be recorded: afterwards every event has
// reached the receiver, each request verified, and every repeat of an event carries its
// webhook-id and its body unchanged. The first event is sent at least twice (its first request
// was in flight when the function died).
func TestDeliveryKilledAndDynamoDBFailing(t *testing.T) {
	s := newShop(t, "e2e-faults")
	recv := newReceiver(t, 200)
	recv.hold, recv.held = make(chan struct{}), make(chan struct{})
	released := sync.OnceFunc(func() { close(recv.hold) })
	t.Cleanup(released)
	hook := s.endpoint(t, recv, `["checkout.created"]`)

	var checkouts []string
	for range 3 {
		r := call(t, "POST", "/v1/checkouts", e2etest.Bearer(s.key), checkoutBody)
		e2etest.Want(t, r, http.StatusCreated)
		checkouts = append(checkouts, e2etest.Decode[struct{ ID string }](t, r).ID)
	}
	select {
	case <-recv.held:
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery reached the receiver")
	}
	pool := client.Stack.Pool("DeliverWebhooksFunction")
	pids := pool.PIDs()
	if len(pids) == 0 {
		t.Fatal("DeliverWebhooksFunction has no process while it delivers")
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { proxy.Set(nil) })
	// Until a write of the function has been refused: its attempts reach the receiver and are
	// not recorded, so their messages come back.
	proxy.SetFor("DeliverWebhooksFunction", func(op string, _ []byte) dynamoproxy.Fault {
		if op == "GetItem" {
			return dynamoproxy.Pass
		}
		return dynamoproxy.Refuse
	})
	released()
	await(t, 3*visibility, "no write of DeliverWebhooksFunction was refused", func() bool {
		for k, n := range proxy.Counts() {
			if strings.HasPrefix(k, "refuse ") && n > 0 {
				return true
			}
		}
		return false
	})
	t.Logf("DynamoDB calls of DeliverWebhooksFunction under the fault: %v", proxy.Counts())
	proxy.Set(nil)

	// checkout id → the webhook-ids and bodies it was delivered with.
	delivered := func() map[string][]delivery {
		out := map[string][]delivery{}
		for _, d := range recv.deliveries() {
			var ev struct {
				Data struct{ Object struct{ ID string } }
			}
			if json.Unmarshal([]byte(d.body), &ev) == nil {
				out[ev.Data.Object.ID] = append(out[ev.Data.Object.ID], d)
			}
		}
		return out
	}
	first := recv.deliveries()[0].id
	// Done when the held event has been sent again and the deliveries list records a success for
	// every event the receiver got, one per checkout.
	await(t, 3*visibility, "not every event was delivered and recorded", func() bool {
		got := delivered()
		if len(slices.DeleteFunc(recv.deliveries(), func(d delivery) bool { return d.id != first })) < 2 {
			return false
		}
		type attempt struct {
			EventID string `json:"event_id"`
			Outcome string
		}
		page := e2etest.Decode[struct{ Data []attempt }](t, call(t, "GET", hook+"/deliveries", e2etest.Bearer(s.token), ""))
		for _, c := range checkouts {
			if len(got[c]) == 0 || !slices.Contains(page.Data, attempt{got[c][0].id, "succeeded"}) {
				return false
			}
		}
		return true
	})
	got := delivered()
	for _, c := range checkouts {
		for _, d := range got[c] {
			if !d.verified || d.id != got[c][0].id || d.body != got[c][0].body {
				t.Errorf("checkout %s: delivery %+v, want verified, webhook-id %s and the first body", c, d, got[c][0].id)
			}
		}
	}
	if len(got) != len(checkouts) {
		t.Errorf("deliveries for %d checkouts, want %d: %v", len(got), len(checkouts), got)
	}
}
