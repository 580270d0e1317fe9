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
		t.add("authorizer Handle, "+b.name, "in-handler, BenchmarkHandle",
			fmt.Sprintf("%.0f ns/op, %.0f allocs/op, %.0f B/op", b.nsPerOp, b.allocsPerOp, b.bytesPerOp), "", "")
	}

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

func (r *results) notes() []string {
	return []string{
		fmt.Sprintf("Sizes: each bootstrap built as `sam build` builds it, `make build-<LogicalId> ARTIFACTS_DIR=… BUILD_GOARCH=%s` "+
			"(the template's architecture, the Makefile's flags: CGO_ENABLED=0, -tags lambda.norpc, -trimpath, -ldflags=\"-s -w\"); "+
			"the hello world (infra/bench/hello, `make bench-hello`) by the same command. Zip: one deflated entry `bootstrap`, as SAM uploads it.", r.deployArch),
		fmt.Sprintf("Cold start: the bootstraps the local stack built for this machine (%s/%s, same command and flags, "+
			"not the deployed %s), each in a fresh Lambda Runtime Interface Emulator (the version go.mod pins, as make dev runs it) "+
			"with its template environment. Timed from the first invocation, on which the emulator starts the bootstrap process, "+
			"to its response: process start to first response, without the emulator's own start-up. The event is `{}`, which every "+
			"function refuses (401, 404, deny) without calling DynamoDB. Rounds take the %d subjects in random order; "+
			"the binaries are in the file cache. Compare ratios, not milliseconds, with Lambda's Init Duration.",
			runtime.GOOS, runtime.GOARCH, r.deployArch, len(r.cold)),
		"Authorizer: `go " + strings.Join(authorizerArgs, " ") + "`, run after the stack stopped: the handler with its key store " +
			"an in-memory map behind codex.KeyLookup (parsing, checksum, SHA-256, decision, JSON log line to io.Discard).",
		"DynamoDB calls: the functions reach moto through a proxy (infra/dynamoproxy) that lists the calls it forwards. After the " +
			"warm-up, one request of each route and then one floor call are recorded, each call as its operation and the logical id " +
			"of the table it names, authorizer included; the run fails unless the two lists are equal, in order. The row shows that list.",
		fmt.Sprintf("Warm latency: %d warm-up then %d timed sequential requests per route from a keep-alive HTTP client through "+
			"the local gateway (infra/gateway: payload 2.0 events, the Lambda authorizer invoked on every /v1 request as "+
			"ReauthorizeEvery is 0, warm emulators) to moto, through the proxy. Floor: the same DynamoDB calls, through the same "+
			"pkg/dynamo methods the functions use, made from this process with the AWS SDK against the same moto through the "+
			"same proxy, one after each request. Ratio: gateway ÷ floor per percentile (nearest rank). POST /v1/checkouts sends "+
			"no Idempotency-Key (GetItem + PutItem; with one the write is a TransactWriteItems, 5 WCU). The public route is paced "+
			"under its template throttle.",
			r.cfg.warmup, r.cfg.requests),
		"Capacity: the operations and item sizes are measured in this run (the checked floor call, made with " +
			"ReturnConsumedCapacity=INDEXES); " +
			"the units are computed from them by DynamoDB's documented rules (infra/capacity: a write 1 WCU per KB on the table " +
			"and on each GSI holding the item, a read 1 RCU per 4 KB of the whole item, half when eventually consistent), as " +
			"docs/dynamodb-costs.md does. moto's own figures are placeholders (1 per PutItem, 0.5 per GetItem whatever the size or " +
			"consistency) and shown only as reported; real ones need real DynamoDB (docs/dynamodb-costs.md, \"Measuring\").",
	}
}
