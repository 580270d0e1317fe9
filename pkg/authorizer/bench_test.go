package authorizer

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"codex/pkg/apikey"
	"codex/pkg/codex"
	"codex/pkg/codex/codextest"
)

func BenchmarkHandle(b *testing.B) {
	key, err := apikey.Generate()
	if err != nil {
		b.Fatal(err)
	}
	// The key store is a map, so the benchmark measures the handler itself: header parsing,
	// checksum, hashing, the decision and its log line.
	// The key was used a moment ago and expires in a year: the decision reads both, and the hot
	// path records no use.
	now := time.Now()
	keys := map[string]codex.KeyGrant{key.Hash(): {Principal: codex.Principal{ProjectID: "prj_X", KeyID: "key_X"},
		ExpiresAt: now.Add(365 * 24 * time.Hour), LastUsedAt: now}}
	h := New(&codextest.KeyLookup{LookupKeyFn: func(_ context.Context, hash string) (codex.KeyGrant, error) {
		if g, ok := keys[hash]; ok {
			return g, nil
		}
		return codex.KeyGrant{}, codex.NotFound("key")
	}},
		// The production logger writes JSON to stdout; discarding keeps the benchmark about the
		// handler while still building every log record.
		slog.New(slog.NewJSONHandler(io.Discard, nil)),
		time.Now)
	ctx := context.Background()
	b.Run("hour", func(b *testing.B) { benchmarkHourOfTraffic(b, key) })
	for name, header := range map[string]string{
		"allow":     "Bearer " + key.Secret(),
		"malformed": "Bearer cmk_not-a-key",
	} {
		req := request(header)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Handle(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchmarkHourOfTraffic reports the last-use writes one key costs in an hour of continuous
// traffic: a request every 100 ms, spread over four authorizer instances, against a store that
// keeps the last use and applies the write's condition as DynamoDB does. Its ns/op is the hour's
// 36,000 decisions, not one.
func benchmarkHourOfTraffic(b *testing.B, key apikey.Key) {
	const step = 100 * time.Millisecond
	var writes, attempts int
	for b.Loop() {
		var now, lastUsed time.Time
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		store := &codextest.KeyLookup{
			LookupKeyFn: func(context.Context, string) (codex.KeyGrant, error) {
				return codex.KeyGrant{Principal: codex.Principal{ProjectID: "prj_X", KeyID: "key_X"}, LastUsedAt: lastUsed}, nil
			},
			RecordKeyUseFn: func(_ context.Context, _ string, use codex.KeyUse) error {
				attempts++
				if lastUsed.IsZero() || lastUsed.Before(use.At.Add(-codex.LastUsedInterval)) {
					lastUsed = use.At
					writes++
				}
				return nil
			},
		}
		var instances [4]Handler
		for i := range instances {
			instances[i] = New(store, slog.New(slog.DiscardHandler), func() time.Time { return now })
		}
		req := request("Bearer " + key.Secret())
		for i := 0; time.Duration(i)*step < time.Hour; i++ {
			now = start.Add(time.Duration(i) * step)
			if resp, err := instances[i%len(instances)].Handle(context.Background(), req); err != nil || !resp.IsAuthorized {
				b.Fatalf("refused: %v", err)
			}
		}
	}
	b.ReportMetric(float64(writes)/float64(b.N), "writes/key/hour")
	b.ReportMetric(float64(attempts)/float64(b.N), "attempts/key/hour")
}
