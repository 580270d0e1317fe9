package webhook

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Schedule is the wait before each retry, after the first attempt: the Standard Webhooks spec's
// suggestion, about three days in all. Attempt n+1 (1-based) waits Schedule[n-1] after attempt n
// failed; after len(Schedule)+1 attempts the delivery has failed.
var Schedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
}

// MaxAttempts is the number of attempts of a delivery on Schedule.
var MaxAttempts = len(Schedule) + 1

// MaxQueueDelay is the longest SQS can hide a message (DelaySeconds); a longer wait is made of
// several hops, each message re-sent until its due time (see Hop).
const MaxQueueDelay = 15 * time.Minute

// NextWait is how long to wait after failed attempt `attempt` (1-based) of schedule, with jitter
// (up to a tenth either way, so that the retries of many deliveries failing together spread out),
// and stretched to retryAfter when the receiver asked for more (429 or 503 with Retry-After) but
// never beyond the step after it: a receiver cannot push a delivery off the schedule. ok is false
// when there is no attempt left.
func NextWait(schedule []time.Duration, attempt int, retryAfter time.Duration, jitter func(n int64) int64) (wait time.Duration, ok bool) {
	if attempt < 1 || attempt > len(schedule) {
		return 0, false
	}
	base := schedule[attempt-1]
	if jitter == nil {
		jitter = rand.Int64N
	}
	if spread := int64(base / 5); spread > 0 {
		base += time.Duration(jitter(spread+1) - spread/2)
	}
	if retryAfter > base {
		ceiling := base
		if attempt < len(schedule) {
			ceiling = schedule[attempt]
		}
		base = min(retryAfter, ceiling)
	}
	return base, true
}

// Hop is the SQS delay of the next hop toward due: all of it when it fits in MaxQueueDelay, else
// MaxQueueDelay (the message comes back early and is sent on again).
func Hop(now, due time.Time) time.Duration {
	d := due.Sub(now)
	if d <= 0 {
		return 0
	}
	return min(d, MaxQueueDelay)
}

// RetryAfter reads a 429's or 503's Retry-After header (seconds or an HTTP date); 0 for any other
// status or a header that says nothing usable.
func RetryAfter(status int, header string, now time.Time) time.Duration {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return 0
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return 0
	}
	if s, err := strconv.ParseInt(header, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(100*24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(header); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
