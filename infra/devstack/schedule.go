package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"codex/infra/gateway"
	"codex/infra/samtemplate"
)

// The template's Schedule events, as EventBridge runs them: each enabled one invokes its function
// with a "Scheduled Event" at its rate, the first time one period after the stack is ready (as an
// EventBridge rule's first run comes one period after it is created). A run still going when the
// next is due makes that one wait; EventBridge would start it alongside, but one run at a time
// is what the functions are written to tolerate either way, and is easier to read in the log.
//
// Options.ManualSchedules turns the timers off; RunSchedule invokes a scheduled function on demand
// either way, for tests.

// scheduledEvent is the EventBridge event a schedule delivers.
func scheduledEvent(region, function, event string, at time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"version":     "0",
		"id":          uuid.NewString(),
		"detail-type": "Scheduled Event",
		"source":      "aws.events",
		"account":     accountID,
		"time":        at.UTC().Format(time.RFC3339),
		"region":      region,
		"resources":   []string{fmt.Sprintf("arn:aws:events:%s:%s:rule/%s-%s%s", region, accountID, stackName, function, event)},
		"detail":      map[string]any{},
	})
	return b
}

// schedules are the stack's timers.
type schedules struct {
	list   []samtemplate.Schedule
	region string
	// functions run the scheduled functions; timeouts are their template timeouts.
	functions map[string]gateway.Invoker
	timeouts  map[string]time.Duration
	log       *slog.Logger
	stop      context.CancelFunc
	done      chan struct{}
}

// start runs a timer per schedule until stop.
func (sc *schedules) start() {
	ctx, cancel := context.WithCancel(context.Background())
	sc.stop, sc.done = cancel, make(chan struct{})
	finished := make(chan struct{}, len(sc.list))
	for _, s := range sc.list {
		go func() {
			defer func() { finished <- struct{}{} }()
			tick := time.NewTicker(s.Every)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					sc.run(ctx, s)
				}
			}
		}()
	}
	go func() {
		for range sc.list {
			<-finished
		}
		close(sc.done)
	}()
}

// close stops the timers and waits for a run in progress to end (the pools' Close ends its
// emulator if it does not).
func (sc *schedules) close() {
	if sc.stop != nil {
		sc.stop()
		<-sc.done
	}
}

// run invokes s's function once and logs the outcome.
func (sc *schedules) run(ctx context.Context, s samtemplate.Schedule) {
	out, err := sc.invoke(ctx, s.Function, s.Event)
	if err != nil {
		if ctx.Err() == nil {
			sc.log.Error("scheduled run failed", "function", s.Function, "schedule", s.Expression, "error", err.Error())
		}
		return
	}
	sc.log.Info("scheduled run", "function", s.Function, "schedule", s.Expression, "result", json.RawMessage(out))
}

// invoke runs a scheduled function with a scheduled event of event (one of its Schedule events)
// and returns what it answered; a function error is an error.
func (sc *schedules) invoke(ctx context.Context, function, event string) ([]byte, error) {
	fn := sc.functions[function]
	if fn == nil {
		return nil, fmt.Errorf("%s is not a function the stack runs", function)
	}
	// The emulator enforces the function's timeout; this only bounds a stuck emulator.
	ctx, cancel := context.WithTimeout(ctx, sc.timeouts[function]+30*time.Second)
	defer cancel()
	inv, err := fn.Invoke(ctx, scheduledEvent(sc.region, function, event, time.Now()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", function, err)
	}
	if inv.FunctionError != "" {
		return nil, fmt.Errorf("%s failed: %s", function, inv.Payload)
	}
	return inv.Payload, nil
}

// RunSchedule runs a function of a Schedule event once, now, as its schedule would, and returns
// what it answered (the sweeper's summary, for instance). A function error is returned as an
// error with the function's error document.
func (s *Stack) RunSchedule(ctx context.Context, function string) (json.RawMessage, error) {
	for _, sch := range s.schedules.list {
		if sch.Function == function {
			return s.schedules.invoke(ctx, function, sch.Event)
		}
	}
	return nil, fmt.Errorf("%s has no enabled Schedule event in template.yaml", function)
}
