package devstack

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"codex/infra/gateway"
	"codex/infra/samtemplate"
)

// recorder is a scheduled function that records the events it is invoked with.
type recorder struct {
	mu     sync.Mutex
	events []map[string]any
	calls  chan struct{}
	fail   bool
}

func (r *recorder) Invoke(_ context.Context, payload []byte) (gateway.Invocation, error) {
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		return gateway.Invocation{}, err
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.calls <- struct{}{}:
	default:
	}
	if r.fail {
		return gateway.Invocation{Payload: []byte(`{"errorMessage":"boom","errorType":"x"}`), FunctionError: "Unhandled"}, nil
	}
	return gateway.Invocation{Payload: []byte(`{"expired":0}`)}, nil
}

func testSchedules(fn gateway.Invoker, every time.Duration) *schedules {
	return &schedules{
		list: []samtemplate.Schedule{{Function: "SweepFunction", Event: "Sweep",
			ScheduleEvent: samtemplate.ScheduleEvent{Name: "Sweep", Expression: "rate(1 minute)", Every: every, Enabled: true}}},
		region: "us-east-1", functions: map[string]gateway.Invoker{"SweepFunction": fn},
		timeouts: map[string]time.Duration{"SweepFunction": time.Second}, log: slog.New(slog.DiscardHandler),
	}
}

// TestSchedulesRunOnTheirTimer: a started schedule invokes its function again and again with an
// EventBridge scheduled event, and close stops it.
func TestSchedulesRunOnTheirTimer(t *testing.T) {
	r := &recorder{calls: make(chan struct{}, 1)}
	sc := testSchedules(r, 10*time.Millisecond)
	sc.start()
	for range 3 {
		select {
		case <-r.calls:
		case <-time.After(10 * time.Second):
			t.Fatal("the schedule did not invoke its function")
		}
	}
	sc.close()
	r.mu.Lock()
	n, ev := len(r.events), r.events[0]
	r.mu.Unlock()
	if ev["detail-type"] != "Scheduled Event" || ev["source"] != "aws.events" || ev["region"] != "us-east-1" ||
		!strings.Contains(ev["resources"].([]any)[0].(string), ":rule/codex-local-SweepFunctionSweep") {
		t.Errorf("event %v", ev)
	}
	if _, err := time.Parse(time.RFC3339, ev["time"].(string)); err != nil {
		t.Errorf("event time: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	r.mu.Lock()
	after := len(r.events)
	r.mu.Unlock()
	if after != n {
		t.Errorf("%d invocations after close", after-n)
	}
}

// TestRunSchedule: on demand, the function's answer comes back; its failure is an error, and so is
// a function no schedule invokes.
func TestRunSchedule(t *testing.T) {
	r := &recorder{calls: make(chan struct{}, 1)}
	s := &Stack{schedules: *testSchedules(r, time.Hour)}
	out, err := s.RunSchedule(context.Background(), "SweepFunction")
	if err != nil || string(out) != `{"expired":0}` {
		t.Errorf("RunSchedule = %s, %v", out, err)
	}
	r.fail = true
	if _, err := s.RunSchedule(context.Background(), "SweepFunction"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("a failing run: %v", err)
	}
	if _, err := s.RunSchedule(context.Background(), "OtherFunction"); err == nil || !strings.Contains(err.Error(), "no enabled Schedule event") {
		t.Errorf("an unscheduled function: %v", err)
	}
	s.schedules.close() // never started: nothing to stop
}
