package authorizer

import (
	"context"
	"io"
	"log/slog"
	"testing"

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
	keys := map[string]codex.Principal{key.Hash(): {ProjectID: "prj_X", KeyID: "key_X"}}
	h := Handler{
		Keys: &codextest.KeyLookup{LookupKeyFn: func(_ context.Context, hash string) (codex.Principal, error) {
			if p, ok := keys[hash]; ok {
				return p, nil
			}
			return codex.Principal{}, codex.NotFound("key")
		}},
		// The production logger writes JSON to stdout; discarding keeps the benchmark about the
		// handler while still building every log record.
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	ctx := context.Background()
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
