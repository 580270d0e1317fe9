package expiry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/infra/localaws/localawstest"
	"codex/pkg/api"
	"codex/pkg/codex"
	"codex/pkg/codex/codextest"
	"codex/pkg/dynamo"
)

// The sweeper runs against the real store on moto: what it must get right is how its reads and
// conditional writes meet other writers, which a fake store would only restate.
var testEnv *localawstest.Env

func TestMain(m *testing.M) {
	env, cleanup, err := localawstest.Setup(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEnv = env
	code := m.Run()
	cleanup()
	os.Exit(code)
}

var t0 = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// pages renders events as the deployed sweeper does.
var pages = api.Checkouts{PageURL: "https://checkout.codex.example/c"}

type world struct {
	t     *testing.T
	store *dynamo.Store
	app   string
}

func newWorld(t *testing.T) *world {
	names := testEnv.NewTables(t)
	return &world{t: t, store: dynamo.New(testEnv.DynamoDB, dynamo.Tables{Keys: names["KeysTable"], App: names["AppTable"]}), app: names["AppTable"]}
}

// checkout creates an open checkout at t0 that expires after expiresIn seconds.
func (w *world) checkout(expiresIn int64) codex.Checkout {
	w.t.Helper()
	p, err := codex.CheckoutParams{
		LineItems: []codex.LineItem{{Name: "Tea", UnitAmount: 450, Quantity: 1}}, Currency: "eur",
		SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/cart", ExpiresIn: &expiresIn,
	}.Validate()
	if err != nil {
		w.t.Fatal(err)
	}
	c := codex.NewCheckout("prj_A", p, t0)
	ev, err := pages.Event(codex.EventCheckoutCreated, c, t0)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.store.CreateCheckout(context.Background(), c, ev, nil); err != nil {
		w.t.Fatal(err)
	}
	return c
}

// set changes a stored checkout as the payment code would: status complete, or a lease.
func (w *world) set(id, name string, v types.AttributeValue) {
	w.t.Helper()
	_, err := testEnv.DynamoDB.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: &w.app,
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "CHECKOUT#" + id}, "SK": &types.AttributeValueMemberS{Value: "CHECKOUT"},
		},
		UpdateExpression:          aws.String("SET #a = :v"),
		ExpressionAttributeNames:  map[string]string{"#a": name},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": v},
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) status(id string) codex.CheckoutStatus {
	w.t.Helper()
	c, err := w.store.FindCheckout(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return c.Status
}

func (w *world) sweeper(now time.Time, log *bytes.Buffer) Sweeper {
	if log == nil {
		log = &bytes.Buffer{}
	}
	return Sweeper{Store: w.store, Now: func() time.Time { return now }, Log: slog.New(slog.NewJSONHandler(log, nil)), Event: pages.Event}
}

const halfHour = codex.MinExpiresIn

// TestSweep: as of an injected clock, an open checkout past expires_at becomes expired; one not
// yet due, a paid one and one a payment holds a live lease on are left as they are.
func TestSweep(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	due := w.checkout(halfHour)
	notDue := w.checkout(2 * halfHour)
	paid := w.checkout(halfHour)
	w.set(paid.ID, "status", &types.AttributeValueMemberS{Value: string(codex.CheckoutComplete)})
	leased := w.checkout(halfHour)
	now := t0.Add(31 * time.Minute)
	w.set(leased.ID, codex.PayLockAttribute, &types.AttributeValueMemberS{Value: codex.FormatTime(now.Add(30 * time.Second))})

	r, err := w.sweeper(now, nil).Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The paid checkout is in the index still (its status was changed without taking it out):
	// the sweeper takes it out and leaves it complete.
	if want := (Result{Expired: 1, Leased: 1, Unindexed: 1, Done: true}); r != want {
		t.Errorf("first run: %+v, want %+v", r, want)
	}
	for id, want := range map[string]codex.CheckoutStatus{
		due.ID: codex.CheckoutExpired, notDue.ID: codex.CheckoutOpen, paid.ID: codex.CheckoutComplete, leased.ID: codex.CheckoutOpen,
	} {
		if got := w.status(id); got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
	}

	// A minute later only the leased one is due still; the lease is live until now+30s.
	r, err = w.sweeper(now.Add(20*time.Second), nil).Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (Result{Leased: 1, Done: true}); r != want {
		t.Errorf("second run: %+v, want %+v", r, want)
	}
	// Once the lease has lapsed and the second checkout is due, both go.
	r, err = w.sweeper(t0.Add(61*time.Minute), nil).Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (Result{Expired: 2, Done: true}); r != want {
		t.Errorf("third run: %+v, want %+v", r, want)
	}
	if w.status(leased.ID) != codex.CheckoutExpired || w.status(notDue.ID) != codex.CheckoutExpired || w.status(paid.ID) != codex.CheckoutComplete {
		t.Errorf("after the lease lapsed: leased %s, notDue %s, paid %s", w.status(leased.ID), w.status(notDue.ID), w.status(paid.ID))
	}

	// Each checkout the sweeper expired has exactly one checkout.expired event, written with the
	// change, whose data.object is the checkout as the API shows it: expired.
	events, _, err := w.store.ListEvents(context.Background(), "prj_A", codex.EventCheckoutExpired, 100, "", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, ev := range events {
		var body struct {
			Data struct{ Object struct{ ID, Status string } }
		}
		if err := json.Unmarshal(ev.JSON, &body); err != nil || body.Data.Object.Status != "expired" {
			t.Errorf("event %s: %s (%v)", ev.ID, ev.JSON, err)
		}
		got[body.Data.Object.ID]++
	}
	if want := map[string]int{due.ID: 1, notDue.ID: 1, leased.ID: 1}; !maps.Equal(got, want) {
		t.Errorf("checkout.expired events by checkout %v, want %v", got, want)
	}
}

// TestSweepBounds: a run stops at MaxPerRun or short of its deadline and says so; the next runs
// go on until nothing is due.
func TestSweepBounds(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const n = 7
	for range n {
		w.checkout(halfHour)
	}
	now := t0.Add(time.Hour)

	// Too close to the deadline to start: nothing done, not done.
	ctx, cancel := context.WithTimeout(context.Background(), StopBefore-time.Second)
	r, err := w.sweeper(now, nil).Sweep(ctx)
	cancel()
	if err != nil || r != (Result{}) {
		t.Errorf("run at its deadline: %+v, %v; want nothing done and done false", r, err)
	}

	s := w.sweeper(now, nil)
	s.MaxPerRun, s.PageSize = 3, 2
	total := 0
	for run := 1; ; run++ {
		r, err := s.Sweep(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.Expired > s.MaxPerRun {
			t.Fatalf("run %d expired %d, more than MaxPerRun %d", run, r.Expired, s.MaxPerRun)
		}
		total += r.Expired
		if r.Done {
			break
		}
		if run > n {
			t.Fatalf("not done after %d runs: %+v", run, r)
		}
	}
	if total != n {
		t.Errorf("expired %d over the runs, want %d", total, n)
	}
}

// TestHandle: the Lambda handler returns what the run did and logs it on one line with the
// invocation's request id.
func TestHandle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.checkout(halfHour)
	var log bytes.Buffer
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	r, err := w.sweeper(t0.Add(time.Hour), &log).Handle(ctx, events.EventBridgeEvent{DetailType: "Scheduled Event", Time: t0.Add(time.Hour)})
	if err != nil || r != (Result{Expired: 1, Done: true}) {
		t.Fatalf("Handle = %+v, %v", r, err)
	}
	var line map[string]any
	if err := json.Unmarshal(log.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", log.String(), err)
	}
	if line["msg"] != "sweep" || line["request_id"] != "req-1" || line["expired"] != 1.0 || line["done"] != true {
		t.Errorf("log line %s", strings.TrimSpace(log.String()))
	}
}

// TestSweepGoesOnPastAFailure: a checkout the store fails on is counted, logged and skipped; the
// others of the run are still expired, and the run reports an error.
func TestSweepGoesOnPastAFailure(t *testing.T) {
	t.Parallel()
	now := t0.Add(time.Hour)
	due := map[string]codex.Checkout{}
	for _, id := range []string{"chk_A", "chk_BAD", "chk_C"} {
		due[id] = codex.Checkout{ID: id, ProjectID: "prj_A", Status: codex.CheckoutOpen, ExpiresAt: t0}
	}
	var expired []string
	store := struct {
		*codextest.CheckoutFinder
		*codextest.CheckoutExpirer
	}{
		&codextest.CheckoutFinder{FindCheckoutFn: func(_ context.Context, id string) (codex.Checkout, error) {
			if id == "chk_BAD" {
				return codex.Checkout{}, errors.New("decode checkout chk_BAD: a broken item")
			}
			return due[id], nil
		}},
		&codextest.CheckoutExpirer{
			OpenShardsFn: func() int { return 2 },
			DueCheckoutsFn: func(_ context.Context, shard int, _ time.Time, _ int, _ string) ([]string, string, error) {
				if shard == 0 {
					return []string{"chk_A", "chk_BAD", "chk_C"}, "", nil
				}
				return nil, "", nil
			},
			ExpireCheckoutFn: func(_ context.Context, c codex.Checkout, _ codex.Event, _ time.Time) (codex.Checkout, error) {
				expired = append(expired, c.ID)
				c.Status = codex.CheckoutExpired
				return c, nil
			},
		},
	}
	var log bytes.Buffer
	s := Sweeper{Store: store, Now: func() time.Time { return now }, Log: slog.New(slog.NewJSONHandler(&log, nil)), Event: pages.Event}
	r, err := s.Sweep(context.Background())
	if err == nil || r != (Result{Expired: 2, Failed: 1, Done: true}) || strings.Join(expired, ",") != "chk_A,chk_C" {
		t.Errorf("Sweep = %+v, %v; expired %v", r, err, expired)
	}
	if !strings.Contains(log.String(), `"checkout_id":"chk_BAD"`) {
		t.Errorf("the failure is not logged with its checkout: %s", log.String())
	}
}
