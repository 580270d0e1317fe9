// Command bench is `make bench`: it builds the deployed functions and a hello world, starts its
// own local stack (a devstack on free ports with its own state directory) and prints one table of
// sizes, cold starts, the authorizer's in-handler cost, warm latency against a floor of the same
// DynamoDB calls (checked equal in each run), DynamoDB capacity per request, and the webhook
// pipeline's commit → delivery latency and deliveries per second against floors of the same
// stream, SQS and HTTP calls, every figure from this run. It stops everything it started before it prints, also on Ctrl-C. docs/benchmarks.md
// describes the rows.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"codex/infra/dashboard"
	"codex/infra/devstack"
	"codex/infra/dynamoproxy"
	"codex/infra/internal/proc"
	"codex/infra/samtemplate"
)

type config struct {
	root     string
	cold     int // cold starts per function
	requests int // timed requests per route (and as many floor calls)
	warmup   int // untimed requests per route first
	verbose  bool
	// hooks is how many checkouts the webhook latency times; hookRounds how many checkouts the
	// webhook throughput sends to 16 endpoints. Both small: moto slows with every transaction.
	hooks, hookRounds int
}

func main() {
	var cfg config
	flag.StringVar(&cfg.root, "root", ".", "module root (template.yaml, Makefile)")
	flag.IntVar(&cfg.cold, "cold", 15, "cold starts per function (the table shows the median)")
	flag.IntVar(&cfg.requests, "n", 300, "timed sequential requests per route, and as many floor calls")
	flag.IntVar(&cfg.warmup, "warmup", 30, "untimed requests per route before timing")
	flag.IntVar(&cfg.hooks, "hooks", 20, "checkouts timed from commit to webhook delivery, and as many floor rounds")
	flag.IntVar(&cfg.hookRounds, "hookrounds", 4, "checkouts sent to 16 webhook endpoints to time deliveries per second")
	flag.BoolVar(&cfg.verbose, "v", false, "the stack's logs on stderr")
	flag.Parse()
	if cfg.cold < 1 || cfg.requests < 1 || cfg.warmup < 0 || cfg.hooks < 1 || cfg.hookRounds < 1 {
		fmt.Fprintln(os.Stderr, "bench: -cold, -n, -hooks and -hookrounds must be at least 1, -warmup at least 0")
		os.Exit(2)
	}

	ctx, stop := proc.InterruptContext()
	defer stop()

	res, err := run(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("interrupted; everything started was stopped")
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Print(res.render())
}

// progress reports what the run is doing, on stderr, with the time since the start.
var progress = func() func(format string, args ...any) {
	start := time.Now()
	return func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench %5.1fs  %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
}()

func run(ctx context.Context, cfg config) (*results, error) {
	root, err := filepath.Abs(cfg.root)
	if err != nil {
		return nil, err
	}
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	res := &results{cfg: cfg, started: time.Now(), host: describeHost(root)}
	work, err := os.MkdirTemp("", "codex-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	// 1. Sizes: every function of the template for its deployed architecture, and the hello world.
	if res.sizes, res.deployArch, err = buildDeployed(ctx, root, filepath.Join(work, "deployed"), tpl); err != nil {
		return nil, err
	}

	// 1b. The dashboard's initial JavaScript, as the page loads it.
	site, err := dashboard.Build(root)
	if err != nil {
		return nil, err
	}
	res.dashboardJS, res.dashboardJSGzip = site.InitialJS()

	// 2. The stack: moto, the emulator, every function built for this machine (devstack), and the
	// hello world for this machine too.
	native := runtime.GOOS + "/" + runtime.GOARCH
	progress("building the hello world for %s and starting the local stack (it builds every function for %s)", native, native)
	hello := filepath.Join(work, "native", "hello") // no spaces: make splits ARTIFACTS_DIR on them
	if err := makeTarget(ctx, root, helloTarget, hello, runtime.GOOS, runtime.GOARCH); err != nil {
		return nil, err
	}
	level := slog.LevelWarn
	if cfg.verbose {
		level = slog.LevelInfo
	}
	// The functions reach moto through a proxy, which lists the DynamoDB calls of a request so that
	// they can be checked against the floor's.
	proxy, err := dynamoproxy.Start()
	if err != nil {
		return nil, fmt.Errorf("start the DynamoDB proxy: %w", err)
	}
	defer proxy.Close()
	stack, err := devstack.Start(ctx, devstack.Options{
		Root:                     root,
		Addr:                     "127.0.0.1:0",
		StateDir:                 filepath.Join(work, "stack"),
		FunctionDynamoDBEndpoint: proxy.URL(),
		Log:                      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return nil, fmt.Errorf("start the local stack: %w", err)
	}
	defer stack.Close()
	proxy.SetUpstream(stack.Endpoint)

	// 3. Cold starts, on fresh emulators of the stack's own function definitions.
	if res.cold, err = coldStarts(ctx, stack, tpl, filepath.Join(hello, "bootstrap"), cfg.cold); err != nil {
		return nil, err
	}

	// 4. Each route's DynamoDB calls checked against its floor's, warm latency through the gateway
	// against the floor, and the capacity of each request.
	if res.routes, err = measureRoutes(ctx, stack, proxy, tpl, cfg); err != nil {
		return nil, err
	}
	if res.script, err = measureScript(ctx, stack.APIs["PublicApi"]); err != nil {
		return nil, err
	}
	if res.webhooks, err = measureWebhooks(ctx, stack, cfg.hooks, cfg.hookRounds); err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	progress("stopping the local stack")
	if err := stack.Close(); err != nil {
		return nil, fmt.Errorf("stop the local stack: %w", err)
	}

	// 5. The authorizer's in-handler cost, with the machine otherwise idle.
	if res.authorizer, err = authorizerBenchmark(ctx, root); err != nil {
		return nil, err
	}
	res.wall = time.Since(res.started)
	res.host.loadEnd = loadAverage()
	progress("done")
	return res, nil
}

// host describes where the figures come from.
type host struct {
	commit, goVersion, cpu string
	load, loadEnd          string // at the start and the end of the run
	cpus                   int
}

func describeHost(root string) host {
	h := host{goVersion: runtime.Version(), cpus: runtime.NumCPU()}
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		h.commit = strings.TrimSpace(string(out))
		if out, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(out) > 0 {
			h.commit += " (with uncommitted changes)"
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	h.load = loadAverage()
	return h
}

// loadAverage is the machine's 1, 5 and 15 minute load averages: the figures are only as quiet as
// the machine was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}
