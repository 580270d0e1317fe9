// Package expiry is the sweeper of checkouts past expires_at: a scheduled function
// (SweepCheckoutsFunction, every minute) that moves each open checkout whose expires_at has passed
// to expired, so that the change is stored (for retention, and for the checkout.expired event that
// goes with it) rather than only derived on read, as codex.Checkout.StatusAt does.
//
// Each run is bounded: it pages through the sparse index of open checkouts shard by shard, stops
// taking new checkouts once MaxPerRun were handled or the invocation's deadline is StopBefore
// away, and leaves the rest to the next run, a minute later. Every move is the store's one
// conditional write (still open, no payment in progress), so a run that overlaps a payment, the
// merchant's POST .../expire or another run changes nothing twice.
package expiry

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"codex/pkg/codex"
)

// Store is what the sweeper reads and writes.
type Store interface {
	codex.CheckoutFinder
	codex.CheckoutExpirer
}

// Defaults of a run's bounds.
const (
	// PageSize is the index entries read per Query.
	PageSize = 100
	// MaxPerRun bounds the checkouts one run handles, so a backlog (after an outage) is worked off
	// over a few runs at a steady rate instead of one burst of writes.
	MaxPerRun = 1000
	// StopBefore is how long before the invocation's deadline a run stops taking new checkouts, to
	// finish the one in hand and log what it did.
	StopBefore = 5 * time.Second
)

// Sweeper is the scheduled function's handler.
type Sweeper struct {
	Store Store
	Now   codex.Clock
	Log   *slog.Logger
	// Event renders the checkout.expired event of a checkout as it is once expired, which
	// ExpireCheckout writes with the change (api.Checkouts.Event: the checkout as the API shows it).
	Event func(typ codex.EventType, c codex.Checkout, at time.Time) (codex.Event, error)
	// PageSize and MaxPerRun default to the constants of the same names.
	PageSize, MaxPerRun int
}

// Result is what a run did; the function returns it (it shows in the invocation's response) and
// logs it.
type Result struct {
	Expired int `json:"expired"`
	// Leased are due checkouts a payment holds a live lease on; they stay open (the payment
	// either completes them or lets the lease lapse) and the next run looks again.
	Leased int `json:"leased"`
	// Unindexed are index entries of checkouts that were no longer open, taken out of the index.
	Unindexed int `json:"unindexed"`
	// Failed are due checkouts a store call failed on; the run goes on with the others, logs
	// each, and returns an error at the end so that the invocation counts as failed.
	Failed int `json:"failed"`
	// Done is false when the run stopped on its bounds with due checkouts possibly left.
	Done bool `json:"done"`
}

// Handle is the function's handler for the schedule's EventBridge event, whose content it does not
// need: what is due is decided by the clock.
func (s Sweeper) Handle(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
	requestID := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		requestID = lc.AwsRequestID
	}
	start := time.Now()
	// Short of the invocation's deadline, so that a store call that hangs fails while there is
	// time to log the run.
	sweepCtx, cancel := codex.ReserveDeadline(ctx)
	defer cancel()
	r, err := s.Sweep(sweepCtx)
	attrs := []any{"request_id", requestID, "scheduled_at", ev.Time, "expired", r.Expired, "leased", r.Leased,
		"unindexed", r.Unindexed, "failed", r.Failed, "done", r.Done, "duration_ms", float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		s.Log.ErrorContext(ctx, "sweep failed", append(attrs, "error", err.Error())...)
		return r, err
	}
	s.Log.InfoContext(ctx, "sweep", attrs...)
	return r, nil
}

// Sweep runs once as of s.Now(): every shard of the open index, from a shard that moves on each
// minute (so that when runs stop on their bounds, no shard always comes last), until the due
// checkouts run out or a bound is reached.
func (s Sweeper) Sweep(ctx context.Context) (Result, error) {
	pageSize, maxPerRun := s.PageSize, s.MaxPerRun
	if pageSize <= 0 {
		pageSize = PageSize
	}
	if maxPerRun <= 0 {
		maxPerRun = MaxPerRun
	}
	stopAt, bounded := ctx.Deadline()
	stopAt = stopAt.Add(-StopBefore)
	now := s.Now().UTC()
	var r Result
	handled := 0
	more := func() bool { return handled < maxPerRun && (!bounded || time.Now().Before(stopAt)) }

	shards := s.Store.OpenShards()
	first := int(now.Unix()/60) % shards
	for i := range shards {
		shard := (first + i) % shards
		cursor := ""
		for {
			if !more() {
				return r, failed(r)
			}
			ids, next, err := s.Store.DueCheckouts(ctx, shard, now, min(pageSize, maxPerRun-handled), cursor)
			if err != nil {
				return r, err
			}
			for _, id := range ids {
				if !more() {
					return r, failed(r)
				}
				handled++
				if err := s.sweepOne(ctx, id, now, &r); err != nil {
					// One bad checkout must not hold up the rest, run after run.
					r.Failed++
					s.Log.ErrorContext(ctx, "sweep of a checkout failed", "checkout_id", id, "error", err.Error())
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	r.Done = true
	return r, failed(r)
}

// failed is the error of a run in which some checkouts failed.
func failed(r Result) error {
	if r.Failed > 0 {
		return fmt.Errorf("%d due checkouts could not be swept", r.Failed)
	}
	return nil
}

// sweepOne reads a due checkout afresh and expires it, or, if it is no longer open, takes it out
// of the index.
func (s Sweeper) sweepOne(ctx context.Context, id string, now time.Time, r *Result) error {
	c, err := s.Store.FindCheckout(ctx, id)
	switch {
	case codex.IsNotFound(err):
		return nil // deleted since the query; its index entry went with it
	case err != nil:
		return err
	case c.Status != codex.CheckoutOpen:
		return s.unindex(ctx, id, r)
	case now.Before(c.ExpiresAt):
		// The index said due; expires_at never changes, so only a clock step back gets here.
		return nil
	}
	expired := c
	expired.Status = codex.CheckoutExpired
	ev, err := s.Event(codex.EventCheckoutExpired, expired, now)
	if err != nil {
		return err
	}
	_, err = s.Store.ExpireCheckout(ctx, c, ev, now)
	switch codex.ErrorCode(err) {
	case "":
		r.Expired++
		s.Log.DebugContext(ctx, "expired", "checkout_id", id, "project_id", c.ProjectID)
		return nil
	case codex.CodePaymentInProgress:
		r.Leased++
		return nil
	case codex.CodeCheckoutNotOpen:
		// Paid (or expired by its merchant) between the read and the write.
		return s.unindex(ctx, id, r)
	case codex.CodeNotFound:
		return nil
	}
	return fmt.Errorf("expire %s: %w", id, err)
}

func (s Sweeper) unindex(ctx context.Context, id string, r *Result) error {
	removed, err := s.Store.UnindexCheckout(ctx, id)
	if removed {
		r.Unindexed++
	}
	return err
}
