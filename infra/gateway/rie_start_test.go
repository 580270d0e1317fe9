package gateway

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// TestRIEPoolStart checks that Start leaves one idle emulator whose runtime has not started yet (the
// emulator starts it on the first invocation), that the next invocation uses that emulator, and that
// Config gives back what the pool was made with.
func TestRIEPoolStart(t *testing.T) {
	p := newTestPool(t, 5*time.Second, 1)
	ctx := context.Background()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	before := p.PIDs()
	if len(before) != 1 {
		t.Fatalf("after Start the pool runs %v, want one emulator and no runtime yet", before)
	}
	fn, opts := p.Config()
	if fn.Name != "TestFunction" || opts.MaxInstances != 1 || opts.Binary == "" {
		t.Errorf("Config() = %+v, %+v", fn, opts)
	}
	if inv, err := invokeDo(t, p, ctx, ""); err != nil || inv.FunctionError != "" {
		t.Fatalf("invoke after Start: %v %s", err, inv.Payload)
	}
	if runtime.GOOS != "linux" {
		t.Skip("PIDs lists an emulator's runtime only on Linux (it reads /proc), so which emulator served the invocation is not visible here")
	}
	after := p.PIDs()
	if len(after) != 2 || after[0] != before[0] {
		t.Errorf("after the first invocation the pool runs %v, want emulator %d and its runtime", after, before[0])
	}
}
