package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"codex/infra/devstack"
	"codex/infra/gateway"
	"codex/infra/samtemplate"
	"codex/pkg/registry"
)

// coldEvent is the event of every cold start: every function refuses it without calling DynamoDB
// (no identity: 401; no path parameters: 404; the authorizer denies a missing header; checked once
// with DynamoDB unreachable), so the figure is the function's own start, not moto's latency. A
// function that uses no DynamoDB at all (GET /button.js) may answer it.
const coldEvent = "{}"

// coldStarts measures the cold start of every function the stack serves and of the hello world, n
// times each, and returns the durations. Each one is a fresh pool made from the stack's own
// definition of the function (bootstrap built for this machine, environment, memory, timeout, the
// same emulator binary), started ahead (gateway.RIEPool.Start: the emulator is up, the function's
// process is not), then timed from the invocation until its response: the emulator starts the
// bootstrap process on that first invocation, so this is process start to first response. Rounds
// take every subject once in a new random order, so that a change in the machine's load spreads
// over all of them.
func coldStarts(ctx context.Context, stack *devstack.Stack, tpl *samtemplate.Template, helloBootstrap string, n int) (map[string][]time.Duration, error) {
	type subject struct {
		fn        gateway.RIEFunction
		opts      gateway.RIEOptions
		storeless bool // the function has no DynamoDB client: any answer but a 5xx will do
	}
	subjects := map[string]subject{}
	for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
		pool := stack.Pool(id)
		if pool == nil {
			continue // not served by any route: no emulator definition
		}
		if len(tpl.Functions[id].Schedules) > 0 {
			// Nobody waits on a scheduled function's cold start, and it has no request to
			// refuse: its first invocation would do a run's real work.
			continue
		}
		fn, opts := pool.Config()
		opts.MaxInstances = 1
		f, _ := registry.Lookup(id)
		subjects[id] = subject{fn, opts, !f.NeedsStore() && f.RouteKey != ""}
		if _, ok := subjects[helloID]; !ok {
			// The hello world runs exactly like the functions, with the first one's environment.
			hello := fn
			hello.Name, hello.Bootstrap = "HelloWorld", helloBootstrap
			subjects[helloID] = subject{hello, opts, true}
		}
	}
	if len(subjects) == 0 {
		return nil, fmt.Errorf("the stack serves no function")
	}
	ids := slices.Sorted(maps.Keys(subjects))
	out := map[string][]time.Duration{}
	for round := range n {
		progress("cold starts, round %d of %d (%d bootstraps)", round+1, n, len(ids))
		rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		for _, id := range ids {
			s := subjects[id]
			d, err := coldStart(ctx, s.fn, s.opts, s.storeless)
			if err != nil {
				return nil, fmt.Errorf("cold start of %s: %w", id, err)
			}
			out[id] = append(out[id], d)
		}
	}
	return out, nil
}

func coldStart(ctx context.Context, fn gateway.RIEFunction, opts gateway.RIEOptions, storeless bool) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pool := gateway.NewRIEPool(fn, opts)
	defer pool.Close()
	if err := pool.Start(ctx); err != nil {
		return 0, err
	}
	start := time.Now()
	inv, err := pool.Invoke(ctx, []byte(coldEvent))
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if inv.FunctionError != "" {
		return 0, fmt.Errorf("the function failed: %.300s", inv.Payload)
	}
	var resp struct {
		StatusCode int `json:"statusCode"`
	}
	// A refusal, as planned: a 5xx or a success would mean the event went further than checking
	// (for a function without DynamoDB, only a 5xx).
	if json.Unmarshal(inv.Payload, &resp) == nil && resp.StatusCode != 0 && (resp.StatusCode >= 500 || resp.StatusCode < 400 && !storeless) {
		return 0, fmt.Errorf("the function answered %d to %s, want a 4xx: %.300s", resp.StatusCode, coldEvent, inv.Payload)
	}
	return d, nil
}
