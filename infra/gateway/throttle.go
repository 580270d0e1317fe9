package gateway

import (
	"math"
	"sync"
	"time"

	"codex/infra/samtemplate"
)

// bucket is a route's token bucket: API Gateway's throttling with a steady rate (requests per
// second) and a burst. Requests over it get 429 {"message":"Too Many Requests"}.
type bucket struct {
	rate, burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// newBucket returns the bucket for a route's settings (its RouteSettings entry, else the API's
// DefaultRouteSettings), or nil when neither limit is set. A limit of 0 blocks the route, as in
// API Gateway.
func newBucket(api *samtemplate.HTTPAPI, routeKey string) *bucket {
	if api == nil {
		return nil
	}
	rs := api.DefaultRouteSettings
	if s, ok := api.RouteSettings[routeKey]; ok {
		rs = &s
	}
	if rs == nil || (rs.ThrottlingRateLimit == nil && rs.ThrottlingBurstLimit == nil) {
		return nil
	}
	b := &bucket{rate: math.Inf(1), burst: math.Inf(1)}
	if rs.ThrottlingRateLimit != nil {
		b.rate = *rs.ThrottlingRateLimit
	}
	if rs.ThrottlingBurstLimit != nil {
		b.burst = float64(*rs.ThrottlingBurstLimit)
	}
	if math.IsInf(b.burst, 1) {
		// A rate without a burst still lets a second's worth through at once.
		b.burst = math.Max(b.rate, 1)
	}
	b.tokens = b.burst
	return b
}

func (b *bucket) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
