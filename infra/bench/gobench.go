package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// goBenchmark is one result line of `go test -bench -benchmem`.
type goBenchmark struct {
	name                             string // the sub-benchmark, e.g. "allow"
	iterations                       int
	nsPerOp, bytesPerOp, allocsPerOp float64
	// writesPerHour is the writes/key/hour metric of BenchmarkHandle/hour; 0 for the others.
	writesPerHour float64
}

// authorizerArgs is the authorizer's benchmark: its handler with the key store behind its interface
// (an in-memory map), so it measures parsing, checksum, hashing, the decision and its log line.
var authorizerArgs = []string{"test", "-run", "^$", "-bench", "BenchmarkHandle", "-benchmem", "./pkg/authorizer"}

func authorizerBenchmark(ctx context.Context, root string) ([]goBenchmark, error) {
	progress("go %s", strings.Join(authorizerArgs, " "))
	cmd := exec.CommandContext(ctx, "go", authorizerArgs...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(authorizerArgs, " "), err, out)
	}
	bs, err := parseGoBench(string(out), "BenchmarkHandle")
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(authorizerArgs, " "), err, out)
	}
	return bs, nil
}

// benchLine is "BenchmarkX/sub-8   123   456.7 ns/op   89 B/op   2 allocs/op".
var benchLine = regexp.MustCompile(`^(Benchmark[^\s/]+)(?:/(\S+?))?(?:-\d+)?\s+(\d+)((?:\s+[\d.]+ \S+)+)\s*$`)

// parseGoBench returns the results of benchmark name (one per sub-benchmark) found in out.
func parseGoBench(out, name string) ([]goBenchmark, error) {
	var bs []goBenchmark
	for line := range strings.Lines(out) {
		m := benchLine.FindStringSubmatch(strings.TrimRight(line, "\n"))
		if m == nil || m[1] != name {
			continue
		}
		b := goBenchmark{name: m[2]}
		b.iterations, _ = strconv.Atoi(m[3])
		f := strings.Fields(m[4])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", line, err)
			}
			switch f[i+1] {
			case "ns/op":
				b.nsPerOp = v
			case "B/op":
				b.bytesPerOp = v
			case "allocs/op":
				b.allocsPerOp = v
			case "writes/key/hour":
				b.writesPerHour = v
			}
		}
		if b.nsPerOp == 0 {
			return nil, fmt.Errorf("%q has no ns/op", line)
		}
		bs = append(bs, b)
	}
	if len(bs) == 0 {
		return nil, fmt.Errorf("no %s results", name)
	}
	// Sub-benchmarks may run in any order (BenchmarkHandle ranges over a map).
	slices.SortFunc(bs, func(a, b goBenchmark) int { return strings.Compare(a.name, b.name) })
	return bs, nil
}
