package codex

import (
	"context"
	"testing"
	"time"
)

func TestReserveDeadline(t *testing.T) {
	for _, left := range []time.Duration{10 * time.Second, 3 * time.Second, 200 * time.Millisecond} {
		parent, cancel := context.WithTimeout(context.Background(), left)
		ctx, stop := ReserveDeadline(parent)
		pd, _ := parent.Deadline()
		d, ok := ctx.Deadline()
		reserve := pd.Sub(d)
		want := min(left/10, MaxDeadlineReserve)
		if !ok || reserve < want-10*time.Millisecond || reserve > want+10*time.Millisecond {
			t.Errorf("%s left: reserved %s, want about %s", left, reserve, want)
		}
		stop()
		cancel()
	}
	ctx, stop := ReserveDeadline(context.Background())
	defer stop()
	if _, ok := ctx.Deadline(); ok {
		t.Error("a context without a deadline got one")
	}
}
