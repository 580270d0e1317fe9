package webhook

import (
	"net/http"
	"testing"
	"time"
)

func TestNextWaitFollowsTheScheduleWithJitter(t *testing.T) {
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
		10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}
	if len(Schedule) != len(want) || MaxAttempts != 10 {
		t.Fatalf("Schedule = %v (MaxAttempts %d)", Schedule, MaxAttempts)
	}
	var total time.Duration
	for i, w := range want {
		if Schedule[i] != w {
			t.Errorf("Schedule[%d] = %v, want %v", i, Schedule[i], w)
		}
		total += w
		low, _ := NextWait(Schedule, i+1, 0, func(int64) int64 { return 0 })
		high, _ := NextWait(Schedule, i+1, 0, func(n int64) int64 { return n - 1 })
		if low < w*9/10 || high > w*11/10 || low >= high {
			t.Errorf("attempt %d: wait between %v and %v, want within a tenth of %v", i+1, low, high, w)
		}
	}
	if total < 3*24*time.Hour || total > 4*24*time.Hour {
		t.Errorf("the schedule lasts %v, want about three days", total)
	}
	if _, ok := NextWait(Schedule, len(Schedule)+1, 0, nil); ok {
		t.Error("a wait after the last attempt")
	}
}

func TestRetryAfterIsHonouredWithinTheSchedule(t *testing.T) {
	none := func(int64) int64 { return 0 }
	base, _ := NextWait(Schedule, 1, 0, none)
	// Attempt 1 failed with Retry-After: 60 s is more than 5 s, less than the next step (5 min).
	if got, _ := NextWait(Schedule, 1, time.Minute, none); got != time.Minute {
		t.Errorf("Retry-After 60 s after attempt 1: wait %v, want 1m", got)
	}
	// A Retry-After of a week is capped at the next step of the schedule.
	if got, _ := NextWait(Schedule, 1, 7*24*time.Hour, none); got != 5*time.Minute {
		t.Errorf("Retry-After a week after attempt 1: wait %v, want 5m", got)
	}
	// A shorter Retry-After does not hasten the schedule.
	if got, _ := NextWait(Schedule, 1, time.Second, none); got != base {
		t.Errorf("Retry-After 1 s: wait %v, want %v", got, base)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		status int
		header string
		want   time.Duration
	}{
		{429, "120", 2 * time.Minute},
		{503, now.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{500, "120", 0},
		{429, "soon", 0},
		{429, "-5", 0},
	} {
		if got := RetryAfter(tc.status, tc.header, now); got != tc.want {
			t.Errorf("RetryAfter(%d, %q) = %v, want %v", tc.status, tc.header, got, tc.want)
		}
	}
}

func TestHopSplitsLongWaitsForSQS(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	due := now.Add(2 * time.Hour)
	hops := 0
	for t0 := now; ; hops++ {
		d := Hop(t0, due)
		if d > MaxQueueDelay {
			t.Fatalf("hop of %v", d)
		}
		if d == 0 {
			break
		}
		t0 = t0.Add(d)
	}
	if hops != 8 {
		t.Errorf("2 h in %d hops, want 8 of 15 min", hops)
	}
	if Hop(now, now.Add(5*time.Second)) != 5*time.Second || Hop(now, now.Add(-time.Second)) != 0 {
		t.Error("short or past waits")
	}
}
