package main

import (
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// results are the figures of one run.
type results struct {
	cfg        config
	started    time.Time
	wall       time.Duration
	host       host
	deployArch string                     // GOARCH of the deployed bootstraps
	sizes      map[string]binarySize      // function logical id (and helloID) → sizes
	cold       map[string][]time.Duration // function logical id (and helloID) → cold starts
	routes     []routeResult
	authorizer []goBenchmark
	// dashboardJS and dashboardJSGzip are the dashboard's initial JavaScript, raw and gzipped.
	dashboardJS, dashboardJSGzip int
	script                       scriptSize
	webhooks                     *webhookResult
}

// percentile is the nearest-rank percentile p (0 < p ≤ 100) of ds: the smallest value that at least
// p% of the values are at or below. With 300 values p99 is the 297th smallest, so the three
// slowest requests are above it; with 5, p50 is the middle one.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// ratio is a/b as "1.23×", or "–" when b is zero.
func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func mib(n int64) string { return fmt.Sprintf("%.2f", float64(n)/(1<<20)) }

// table is a Markdown table whose columns are padded to line up in a terminal too.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) String() string {
	width := make([]int, len(t.header))
	for _, r := range append([][]string{t.header}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for i, c := range cells {
			fmt.Fprintf(&b, " %s%s |", c, strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)))
		}
		b.WriteString("\n")
	}
	line(t.header)
	sep := make([]string, len(width))
	for i, w := range width {
		sep[i] = strings.Repeat("-", w)
	}
	line(sep)
	for _, r := range t.rows {
		line(r)
	}
	return b.String()
}

// render is the one table of the run, with the notes that say how to read it.
func (r *results) render() string {
	t := &table{header: []string{"subject", "measure", "value", "reference, same run", "ratio"}}
	functions := slices.Sorted(maps.Keys(r.sizes))
	functions = slices.DeleteFunc(functions, func(id string) bool { return id == helloID })

	hs := r.sizes[helloID]
	sizeMeasure := fmt.Sprintf("bootstrap linux/%s → zip, MiB", r.deployArch)
	t.add(helloID, sizeMeasure, mib(hs.bytes)+" → "+mib(hs.zipped), "", "")
	for _, id := range functions {
		s := r.sizes[id]
		t.add(id, sizeMeasure, mib(s.bytes)+" → "+mib(s.zipped), "hello "+mib(hs.bytes)+" → "+mib(hs.zipped),
			ratio(float64(s.bytes), float64(hs.bytes))+" → "+ratio(float64(s.zipped), float64(hs.zipped)))
	}

	coldMeasure := fmt.Sprintf("cold start, median of %d (min–max), ms", r.cfg.cold)
	hc := percentile(r.cold[helloID], 50)
	coldValue := func(ds []time.Duration) string {
		return fmt.Sprintf("%s (%s–%s)", ms(percentile(ds, 50)), ms(slices.Min(ds)), ms(slices.Max(ds)))
	}
	t.add(helloID, coldMeasure, coldValue(r.cold[helloID]), "", "")
	for _, id := range functions {
		ds := r.cold[id]
		if len(ds) == 0 {
			t.add(id, coldMeasure, "not served by any route", "", "")
			continue
		}
		t.add(id, coldMeasure, coldValue(ds), "hello "+ms(hc), ratio(float64(percentile(ds, 50)), float64(hc)))
	}

	for _, b := range r.authorizer {
		if b.name == "hour" {
			t.add("authorizer, one key under continuous traffic", "last-use writes per key per hour, BenchmarkHandle/hour",
				fmt.Sprintf("%.0f", b.writesPerHour), "at most 12", "")
			continue
		}
		t.add("authorizer Handle, "+b.name, "in-handler, BenchmarkHandle",
			fmt.Sprintf("%.0f ns/op, %.0f allocs/op, %.0f B/op", b.nsPerOp, b.allocsPerOp, b.bytesPerOp), "", "")
	}

	t.add("dashboard", "initial JavaScript, KiB (gzipped)", fmt.Sprintf("%.1f (%.1f)", float64(r.dashboardJS)/1024, float64(r.dashboardJSGzip)/1024),
		"budget 60 gzipped", ratio(float64(r.dashboardJSGzip), 60*1024))
	for _, rt := range r.routes {
		t.add(rt.key, "DynamoDB calls of one request", strings.Join(rt.calls, ", "), "floor: the same, checked", "")
	}
	warmMeasure := fmt.Sprintf("warm p50 / p99 of %d, ms", r.cfg.requests)
	for _, rt := range r.routes {
		g50, g99 := percentile(rt.gateway, 50), percentile(rt.gateway, 99)
		f50, f99 := percentile(rt.floor, 50), percentile(rt.floor, 99)
		t.add(rt.key, warmMeasure, ms(g50)+" / "+ms(g99), "floor "+ms(f50)+" / "+ms(f99),
			ratio(float64(g50), float64(f50))+" / "+ratio(float64(g99), float64(f99)))
	}
	for _, rt := range r.routes {
		computed, reported := rt.capacity.total()
		t.add(rt.key, "DynamoDB capacity per request", computed, fmt.Sprintf("moto reported %g", reported), "")
		for _, op := range rt.capacity.ops {
			t.add("↳ "+op.op+" "+op.table, op.basis(), op.units(), "moto reported "+op.reported, "")
		}
	}

	if w := r.webhooks; w != nil {
		g50, g99 := percentile(w.latency, 50), percentile(w.latency, 99)
		f50, f99 := percentile(w.floorLatency, 50), percentile(w.floorLatency, 99)
		t.add("committed change → webhook received", fmt.Sprintf("p50 / p99 of %d, ms", len(w.latency)), ms(g50)+" / "+ms(g99),
			"floor "+ms(f50)+" / "+ms(f99), ratio(float64(g50), float64(f50))+" / "+ratio(float64(g99), float64(f99)))
		t.add("webhook deliveries to a local receiver", fmt.Sprintf("sustained per second, %d deliveries", w.deliveries),
			fmt.Sprintf("%.1f", w.rate), fmt.Sprintf("floor %.1f", w.floorRate), ratio(w.rate, w.floorRate))
	}

	t.add("GET /button.js", "body over HTTP, gzipped (identity), bytes", fmt.Sprintf("%d (%d)", r.script.gzipped, r.script.identity),
		fmt.Sprintf("budget %d gzipped", scriptBudget), ratio(float64(r.script.gzipped), scriptBudget))

	var b strings.Builder
	fmt.Fprintf(&b, "make bench, %s: commit %s, %s, %s/%s, %d CPUs (%s), load average %s at the start and %s at the end; %s wall time\n\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), r.host.commit, r.host.goVersion, runtime.GOOS, runtime.GOARCH,
		r.host.cpus, r.host.cpu, r.host.load, r.host.loadEnd, r.wall.Round(time.Second))
	b.WriteString(t.String())
	b.WriteString("\n")
	for _, n := range r.notes() {
		b.WriteString("- " + n + "\n")
	}
	return b.String()
}

// notes say how each figure was taken; docs/benchmarks.md says how to read them.
func (r *results) notes() []string {
	return []string{
		fmt.Sprintf("Sizes: `make build-<LogicalId> BUILD_GOARCH=%s`, as `sam build` runs it, and `make bench-hello` for the hello "+
			"world (infra/bench/hello); zipped as SAM uploads it, one deflated entry `bootstrap`.", r.deployArch),
		fmt.Sprintf("Cold start: the stack's own %s/%s bootstraps (not the deployed %s), each in a fresh Lambda Runtime Interface "+
			"Emulator, from the first invocation (which starts the bootstrap process) to its response. The event `{}` is refused by "+
			"every function before any DynamoDB call. Each round takes the %d subjects in random order. Compare ratios, not "+
			"milliseconds, with Lambda's Init Duration.", runtime.GOOS, runtime.GOARCH, r.deployArch, len(r.cold)),
		"Authorizer: `go " + strings.Join(authorizerArgs, " ") + "` after the stack stopped; its key store is an in-memory map.",
		"Dashboard: the script web/index.html loads, as infra/dashboard builds it (minified), gzipped at best compression; " +
			"infra/dashboard's TestBuild asserts the budget.",
		"DynamoDB calls: listed by the proxy the functions reach moto through (infra/dynamoproxy), for one request and one floor " +
			"call after the warm-up, authorizer included; the run fails unless the two lists are equal, in order.",
		fmt.Sprintf("Warm latency: %d warm-up then %d timed sequential requests per route through the local gateway, each followed "+
			"by its floor: the same pkg/dynamo calls made from this process through the same proxy to the same moto. Ratio: gateway "+
			"÷ floor per percentile (nearest rank). POST /v1/checkouts sends no Idempotency-Key (with one, its "+
			"TransactWriteItems also puts the idempotency record); the public route is paced under its template throttle.", r.cfg.warmup, r.cfg.requests),
		"Capacity: computed by DynamoDB's documented rules (infra/capacity, docs/dynamodb-costs.md) from the item sizes " +
			"of the checked floor call; moto's own figures are placeholders, shown only as reported.",
		fmt.Sprintf("Webhooks: a local receiver registered as an endpoint (the stack allows loopback receivers, as make dev's) verifies "+
			"each delivery with the official Standard Webhooks library. Latency: %d checkouts (after one untimed), from POST /v1/checkouts "+
			"returning to the signed checkout.created arriving, through the stream, FanoutEventsFunction, WebhookQueue and "+
			"DeliverWebhooksFunction; each followed by its floor, which commits the same transaction directly and times from the commit: "+
			"DescribeStream/GetRecords polled every %s as the local event source polls, SendMessage, ReceiveMessage, DeleteMessage, "+
			"the POST. Deliveries per second: %d endpoints, %d checkouts back to back, first to last arrival; floor: as many "+
			"messages queued directly, then received, POSTed and deleted by %d pollers (the event source's).",
			r.cfg.hooks, streamPollInterval, throughputEndpoints, r.cfg.hookRounds, floorPollers),
	}
}
