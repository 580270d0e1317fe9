// Package devstack starts the whole API on one machine from template.yaml: every function's
// bootstrap built by its Makefile target (as `sam build` does), moto as DynamoDB and Cognito with the
// template's tables and user pool, and the local gateway serving the template's routes with each
// function under the Lambda Runtime Interface Emulator. `make dev` and the end-to-end test both
// start the stack with Start, so the test exercises exactly what developers run.
package devstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"codex/infra/dashboard"
	"codex/infra/eventsource"
	"codex/infra/gateway"
	"codex/infra/localaws"
	"codex/infra/samtemplate"
	"codex/pkg/registry"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Options configures Start. The zero value serves on 127.0.0.1:3000 from the module in the
// working directory (or above it), with state in its .dev directory.
type Options struct {
	// Root is the module root holding template.yaml and the Makefile; default: found from the
	// working directory.
	Root string
	// Addr is the listen address of the first API; default 127.0.0.1:3000. Each HttpApi of the
	// template is served on its own port (they have distinct URLs in AWS too), in order of logical
	// id from Addr's port upwards; with port 0 each gets a free port (tests). A host off loopback is
	// refused unless AllowNonLoopback is set.
	Addr string
	// AllowNonLoopback lets Addr name a host other than loopback (dev serve -allow-non-loopback),
	// with a warning: the stack would then serve every route, with dummy credentials behind it and
	// no TLS, to whoever reaches the machine.
	AllowNonLoopback bool
	// StateDir holds the lock, stack.json and the built bootstraps; default <Root>/.dev.
	StateDir string
	// CacheDir holds the emulator binary, built once per version, and the functions' bootstraps,
	// built once per state of the source (buildShared); default <Root>/.dev/bin, shared by every
	// stack of the checkout.
	CacheDir string
	// Region is the local region; default us-east-1.
	Region string
	// MaxInstances bounds each function's emulators (concurrent invocations); default 4.
	MaxInstances int
	// FunctionDynamoDBEndpoint, when set, is the DynamoDB endpoint the functions are given instead
	// of moto's (the stack itself and State.Endpoint still use moto). Tests put a proxy they
	// control there to cut DynamoDB off from the functions.
	FunctionDynamoDBEndpoint string
	// ManualSchedules turns off the timers of the template's Schedule events: their functions run
	// only when RunSchedule is called. Tests that count DynamoDB calls set it, so that no
	// scheduled run lands among the calls of the request they measure.
	ManualSchedules bool
	// FunctionSQSEndpoint is the same for SQS: the functions' endpoint instead of moto's, while
	// the event source pollers keep reaching moto directly, as Lambda's do.
	FunctionSQSEndpoint string
	// StreamRetryDelay is the wait before a failed stream batch is retried, doubled for each
	// further retry up to 64 times itself or a minute; default one second. Tests of failures
	// shorten it.
	StreamRetryDelay time.Duration
	// QueueVisibilityTimeout, when set, replaces every template queue's VisibilityTimeout (whole
	// seconds, at least one), so that a message whose invocation failed or whose function died
	// comes back in seconds rather than the template's minutes. It must be given at creation:
	// moto ignores a later SetQueueAttributes. Tests of failures set it; AWS keeps the template's.
	QueueVisibilityTimeout time.Duration
	// Log receives progress, the gateway's access log and the functions' output.
	Log *slog.Logger
	// Parameters overrides template parameters by name, as sam deploy --parameter-overrides does;
	// the others keep their defaults.
	Parameters map[string]string
	// Registered reports whether a logical id has an entry in the function registry, without which
	// its bootstrap would have no handler; default: pkg/registry's. Tests of other modules set it.
	Registered func(logicalID string) bool
}

// Stack is a running local stack.
type Stack struct {
	State

	log      *slog.Logger
	lockFile *os.File
	stateDir string
	servers  []*http.Server
	served   chan error
	moto     *localaws.Server
	pools    map[string]*gateway.RIEPool
	// schedules runs the template's Schedule events (schedule.go).
	schedules schedules
	sources   *eventsource.Sources
	// buildLock keeps the shared build of the bootstraps while the stack runs (buildShared).
	buildLock *os.File

	// DashboardUser and DashboardPassword are the local user AddDashboardUser made.
	DashboardUser, DashboardPassword string

	closeOnce sync.Once
	closeErr  error
}

// Start builds and starts everything and returns once the gateway serves requests. On any error
// (or when ctx ends first) it stops whatever it had started. The stack runs until Close; ctx
// bounds only the start.
func Start(ctx context.Context, opts Options) (s *Stack, err error) {
	if opts.Root == "" {
		if opts.Root, err = findRoot(); err != nil {
			return nil, err
		}
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:3000"
	}
	if opts.StateDir == "" {
		opts.StateDir = filepath.Join(opts.Root, ".dev")
	}
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(opts.Root, ".dev", "bin")
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Registered == nil {
		opts.Registered = func(id string) bool { _, ok := registry.Lookup(id); return ok }
	}
	log := opts.Log
	if err := checkAddr(opts.Addr, opts.AllowNonLoopback, log); err != nil {
		return nil, err
	}
	s = &Stack{log: log, stateDir: opts.StateDir, pools: map[string]*gateway.RIEPool{}}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()

	// The lock first: a second `make dev` must say so, not fail on the port or rebuild.
	if s.lockFile, err = lock(opts.StateDir); err != nil {
		return s, err
	}
	os.Remove(filepath.Join(opts.StateDir, stateFile))

	tpl, err := samtemplate.Load(filepath.Join(opts.Root, "template.yaml"))
	if err != nil {
		return s, err
	}
	if err := tpl.Validate(); err != nil {
		return s, fmt.Errorf("template.yaml has problems:\n%s", indent(err.Error()))
	}
	apis := servedAPIs(tpl)
	if len(apis) == 0 {
		return s, errors.New("template.yaml has no HttpApi routes to serve")
	}
	// The ports next, so that a port in use fails at once rather than after the builds.
	listeners, err := listen(opts.Addr, apis)
	if err != nil {
		return s, err
	}
	defer func() {
		if err != nil {
			for _, ln := range listeners {
				ln.Close()
			}
		}
	}()
	s.APIs = map[string]string{}
	for i, id := range apis {
		s.APIs[id] = "http://" + listeners[i].Addr().String()
	}
	s.URL = s.APIs[apis[0]]
	fns, usedBy, err := servedFunctions(tpl)
	if err != nil {
		return s, err
	}
	if err := checkRegistered(fns, usedBy, opts.Registered); err != nil {
		return s, err
	}
	if err := checkTargets(ctx, opts.Root, fns, usedBy); err != nil {
		return s, err
	}

	log.Info("starting", "functions", len(fns), "state", opts.StateDir)
	var (
		wg                   sync.WaitGroup
		motoErr, buildErr    error
		rieErr, siteErr      error
		site                 *dashboard.Site
		bootstraps           map[string]string
		reused               bool
		rieBin               string
		started              = time.Now()
		buildCtx, cancelRest = context.WithCancel(ctx)
	)
	defer cancelRest()
	wg.Go(func() {
		s.moto, motoErr = localaws.StartMoto(ctx, localaws.Options{})
		if motoErr != nil {
			cancelRest() // no point building for a stack that cannot start
		}
	})
	wg.Go(func() { rieBin, rieErr = gateway.BuildRIE(buildCtx, opts.Root, opts.CacheDir) })
	// The dashboard is built every time (esbuild takes well under a second); without web's
	// node_modules the stack still serves the API, and the dashboard's page says what to run.
	wg.Go(func() { site, siteErr = dashboard.Build(opts.Root) })
	wg.Go(func() {
		bootstraps, s.buildLock, reused, buildErr = buildShared(buildCtx, opts.Root, filepath.Join(opts.CacheDir, "functions"),
			filepath.Join(opts.StateDir, "functions"), fns, usedBy)
	})
	wg.Wait()
	if motoErr != nil {
		return s, motoErr
	}
	if err := errors.Join(rieErr, buildErr); err != nil {
		return s, err
	}
	if ctx.Err() != nil {
		return s, ctx.Err()
	}
	if siteErr != nil {
		log.Warn("dashboard not built; the API is served without it", "error", siteErr.Error())
	}
	log.Info("built", "functions", len(bootstraps), "reused", reused, "seconds", time.Since(started).Round(100*time.Millisecond).Seconds())

	if err := s.createResources(ctx, withVisibilityTimeout(tpl, opts.QueueVisibilityTimeout), opts.Region); err != nil {
		return s, err
	}

	names, apiIDs := localNames(tpl, opts.Region, s.Tables, s.UserPoolID, s.UserPoolClientID)
	pageParameter(tpl, names, s.APIs)
	for name, value := range opts.Parameters {
		if _, ok := tpl.Parameters[name]; !ok {
			return s, fmt.Errorf("parameter %s is not one of template.yaml's", name)
		}
		names[name] = value
	}
	addQueueNames(names, tpl, opts.Region)
	addStreamNames(names, s.Streams)
	addKMSKeyNames(names, tpl, opts.Region)
	invokers := map[string]gateway.Invoker{}
	var envProblems []error
	for _, id := range fns {
		fn := tpl.Functions[id]
		dynamoDB := cmp.Or(opts.FunctionDynamoDBEndpoint, s.moto.Endpoint())
		sqsEndpoint := cmp.Or(opts.FunctionSQSEndpoint, s.moto.Endpoint())
		env, err := functionEnv(tpl, fn, names, opts.Region, dynamoDB, sqsEndpoint, s.moto.Endpoint())
		if err != nil {
			envProblems = append(envProblems, err)
			continue
		}
		pool := gateway.NewRIEPool(gateway.RIEFunction{
			Name: id, Bootstrap: bootstraps[id], Env: env,
			Timeout: time.Duration(fn.Timeout) * time.Second, MemoryMB: fn.MemorySize,
		}, gateway.RIEOptions{Binary: rieBin, MaxInstances: opts.MaxInstances, Log: log})
		s.pools[id] = pool
		invokers[id] = pool
	}
	if err := errors.Join(envProblems...); err != nil {
		return s, err
	}
	endpoint := s.moto.Endpoint()
	dashAPI := dashboardAPI(tpl, apis)
	var handlers []http.Handler
	for i, id := range apis {
		gw, err := gateway.New(gateway.Config{
			Template:  tpl,
			API:       id,
			Addr:      listeners[i].Addr().String(),
			Functions: invokers,
			Names:     names,
			Region:    opts.Region,
			AccountID: accountID,
			APIID:     apiIDs[id],
			JWKSURL:   func(issuer string) string { return localJWKS(issuer, endpoint) },
			Log:       log.With("api", id),
		})
		if err != nil {
			return s, fmt.Errorf("%s: %w", id, err)
		}
		var h http.Handler = gw
		if id == dashAPI {
			dash := dashboard.Handler(site, siteErr, s.dashboardConfig(opts.Region, dashAPI), gw, endpoint, log.With("api", id))
			// The gateway's guard against DNS rebinding covers the dashboard and its Cognito proxy too.
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if gw.HostAllowed(r.Host) {
					dash.ServeHTTP(w, r)
				} else {
					gw.ServeHTTP(w, r)
				}
			})
			s.Dashboard = s.APIs[id] + "/"
		}
		handlers = append(handlers, h)
	}
	if s.sources, err = s.startEventSources(tpl, opts, invokers); err != nil {
		return s, err
	}
	s.served = make(chan error, len(apis))
	for i, h := range handlers {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		s.servers = append(s.servers, srv)
		go func() { s.served <- srv.Serve(listeners[i]) }()
	}

	s.schedules = schedules{list: tpl.Schedules(), region: opts.Region, functions: invokers, timeouts: map[string]time.Duration{},
		log: log.With("api", "schedules")}
	for _, sch := range s.schedules.list {
		s.schedules.timeouts[sch.Function] = time.Duration(tpl.Functions[sch.Function].Timeout) * time.Second
	}
	if !opts.ManualSchedules {
		s.schedules.start()
	}

	s.PID, s.Region, s.Endpoint = os.Getpid(), opts.Region, endpoint
	if err := writeStateFile(opts.StateDir, &s.State); err != nil {
		return s, err
	}
	log.Info("ready", "apis", s.APIs, "seconds", time.Since(started).Round(100*time.Millisecond).Seconds())
	return s, nil
}

// withVisibilityTimeout returns tpl with every queue's VisibilityTimeout set to d rounded up to
// whole seconds, or tpl itself when d is zero; tpl is not changed.
func withVisibilityTimeout(tpl *samtemplate.Template, d time.Duration) *samtemplate.Template {
	if d <= 0 {
		return tpl
	}
	secs := int((d + time.Second - 1) / time.Second)
	out := *tpl
	out.Queues = make(map[string]*samtemplate.Queue, len(tpl.Queues))
	for id, q := range tpl.Queues {
		c := *q
		c.VisibilityTimeout = &secs
		out.Queues[id] = &c
	}
	return &out
}

// createResources creates the template's tables, queues and user pool in moto.
func (s *Stack) createResources(ctx context.Context, tpl *samtemplate.Template, region string) error {
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	db := dynamodb.New(dynamodb.Options{Region: region, BaseEndpoint: aws.String(s.moto.Endpoint()), Credentials: creds})
	s.Tables = map[string]string{}
	for id := range tpl.Tables {
		s.Tables[id] = stackName + "-" + id
	}
	if err := localaws.CreateTables(ctx, db, tpl, s.Tables); err != nil {
		return err
	}
	var err error
	if s.Streams, err = localaws.StreamARNs(ctx, db, tpl, s.Tables); err != nil {
		return err
	}
	queueNames := map[string]string{}
	for id := range tpl.Queues {
		queueNames[id] = stackName + "-" + id // as addQueueNames names them
	}
	queues, err := localaws.CreateQueues(ctx, s.sqsClient(region), tpl, queueNames)
	if err != nil {
		return err
	}
	s.Queues = map[string]QueueState{}
	for id, q := range queues {
		s.Queues[id] = QueueState{URL: q.URL, ARN: q.ARN}
	}
	keys := kms.New(kms.Options{Region: region, BaseEndpoint: aws.String(s.moto.Endpoint()), Credentials: creds})
	if err := localaws.CreateKMSKeys(ctx, keys, tpl, kmsKeyNames(tpl)); err != nil {
		return err
	}
	if len(tpl.UserPoolClients) == 0 {
		return nil
	}
	st := State{Region: region, Endpoint: s.moto.Endpoint()}
	poolID, clientID, err := localaws.CreateUserPool(ctx, st.Cognito(), tpl)
	if err != nil {
		return err
	}
	s.UserPoolID, s.UserPoolClientID = poolID, clientID
	return nil
}

// dashboardAPI is the API the dashboard is served on: the one whose routes take a user's JWT.
func dashboardAPI(tpl *samtemplate.Template, apis []string) string {
	for _, id := range apis {
		for _, a := range tpl.HTTPAPIs[id].Authorizers {
			if a.JWT != nil {
				return id
			}
		}
	}
	return ""
}

// dashboardConfig is the page's /config.json under the local stack: the API on the page's own
// origin, Cognito through the stack's proxy, buy buttons from the first other API.
func (s *Stack) dashboardConfig(region, dashAPI string) dashboard.Config {
	cfg := dashboard.Config{
		Region: region, UserPoolID: s.UserPoolID, ClientID: s.UserPoolClientID,
		CognitoEndpoint: dashboard.CognitoPath, Local: true,
	}
	for _, id := range slices.Sorted(maps.Keys(s.APIs)) {
		if id != dashAPI {
			cfg.PublicOrigin = s.APIs[id]
			break
		}
	}
	return cfg
}

func (s *Stack) sqsClient(region string) *sqs.Client {
	return sqs.New(sqs.Options{Region: region, BaseEndpoint: aws.String(s.moto.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// startEventSources runs the functions' DynamoDB and SQS events against moto, as Lambda's event
// source mappings do (package eventsource), invoking the functions' emulator pools.
func (s *Stack) startEventSources(tpl *samtemplate.Template, opts Options, invokers map[string]gateway.Invoker) (*eventsource.Sources, error) {
	var streams []eventsource.Stream
	var queues []eventsource.Queue
	for _, id := range slices.Sorted(maps.Keys(tpl.Functions)) {
		fn := tpl.Functions[id]
		for _, e := range fn.StreamEvents {
			st := eventsource.Stream{Function: id, Event: e, StreamARN: s.Streams[e.Table], Timeout: time.Duration(fn.Timeout) * time.Second}
			if e.OnFailure != "" {
				st.OnFailureURL = s.Queues[e.OnFailure].URL
			}
			streams = append(streams, st)
		}
		for _, e := range fn.QueueEvents {
			q := s.Queues[e.Queue]
			queues = append(queues, eventsource.Queue{Function: id, Event: e, URL: q.URL, ARN: q.ARN, Timeout: time.Duration(fn.Timeout) * time.Second})
		}
	}
	if len(streams)+len(queues) == 0 {
		return nil, nil
	}
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	opts.Log.Info("event sources", "streams", len(streams), "queues", len(queues))
	return eventsource.Start(streams, queues, eventsource.Options{
		Region: opts.Region, AccountID: accountID, Functions: invokers, Log: opts.Log, RetryDelay: opts.StreamRetryDelay,
		Streams: dynamodbstreams.New(dynamodbstreams.Options{Region: opts.Region, BaseEndpoint: aws.String(s.moto.Endpoint()), Credentials: creds}),
		SQS:     s.sqsClient(opts.Region),
	})
}

// cognitoIssuer is the issuer of a Cognito user pool's tokens.
var cognitoIssuer = regexp.MustCompile(`^https://cognito-idp\.[a-z0-9-]+\.amazonaws\.com/([^/]+)$`)

// localJWKS serves a local user pool's keys from moto, which publishes them at
// <endpoint>/<pool id>/.well-known/jwks.json; other issuers get none, which the gateway refuses.
func localJWKS(issuer, endpoint string) string {
	if m := cognitoIssuer.FindStringSubmatch(issuer); m != nil {
		return endpoint + "/" + m[1] + "/.well-known/jwks.json"
	}
	return ""
}

// servedAPIs lists the APIs that have routes, in order of logical id.
func servedAPIs(tpl *samtemplate.Template) []string {
	var apis []string
	for _, r := range tpl.Routes() {
		if !slices.Contains(apis, r.API) {
			apis = append(apis, r.API)
		}
	}
	slices.Sort(apis)
	return apis
}

// listen opens one listener per API: addr's port for the first, the following ports for the
// others (or free ports when addr's port is 0).
func listen(addr string, apis []string) ([]net.Listener, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("address %q: bad port", addr)
	}
	var lns []net.Listener
	for i, id := range apis {
		p := 0
		if port != 0 {
			p = port + i
		}
		a := net.JoinHostPort(host, strconv.Itoa(p))
		ln, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("cannot serve %s on %s (%v): another program uses the port; stop it or choose another address", id, a, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// AllowNonLoopbackFlag is the `dev serve` flag that sets Options.AllowNonLoopback.
const AllowNonLoopbackFlag = "-allow-non-loopback"

// checkAddr refuses a listen address off loopback unless allowed, and warns when it is allowed. A
// host name other than localhost counts as off loopback: what it resolves to can change.
func checkAddr(addr string, allow bool, log *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	if !allow {
		return fmt.Errorf("refusing to serve on %s, which is off loopback: the local stack would serve every route, with "+
			"dummy credentials and no TLS, to other machines. Keep DEV_ADDR on 127.0.0.1, or pass %s "+
			"(make dev DEV_ADDR=%s DEV_FLAGS=%s) if that is what you want", addr, AllowNonLoopbackFlag, addr, AllowNonLoopbackFlag)
	}
	log.Warn("serving off loopback: every route is reachable from other machines, without TLS", "addr", addr, "flag", AllowNonLoopbackFlag)
	return nil
}

// servedFunctions lists the functions the stack runs (route targets, Lambda authorizers and the
// targets of Schedule events), each with the routes or schedules that use it, for messages that
// name both.
func servedFunctions(tpl *samtemplate.Template) ([]string, map[string][]string, error) {
	usedBy := map[string][]string{}
	for _, s := range tpl.Schedules() {
		usedBy[s.Function] = append(usedBy[s.Function], "schedule "+s.Expression)
	}
	for _, r := range tpl.Routes() {
		key := r.Method + " " + r.Path
		usedBy[r.Function] = append(usedBy[r.Function], "route "+key)
		if r.Authorizer == "" {
			continue
		}
		api := tpl.HTTPAPIs[r.API]
		if api == nil || api.Authorizers[r.Authorizer] == nil {
			continue // Validate reported it
		}
		if l := api.Authorizers[r.Authorizer].Lambda; l != nil && l.Function != "" {
			if !slices.Contains(usedBy[l.Function], "authorizer "+r.Authorizer) {
				usedBy[l.Function] = append(usedBy[l.Function], "authorizer "+r.Authorizer)
			}
		}
	}
	if len(usedBy) == 0 {
		return nil, nil, errors.New("template.yaml has no HttpApi routes to serve")
	}
	// And the functions behind event sources (DynamoDB streams, SQS queues).
	for id, f := range tpl.Functions {
		for _, e := range f.StreamEvents {
			usedBy[id] = append(usedBy[id], "event "+e.Name+" (stream of "+e.Table+")")
		}
		for _, e := range f.QueueEvents {
			usedBy[id] = append(usedBy[id], "event "+e.Name+" (queue "+e.Queue+")")
		}
	}
	return slices.Sorted(maps.Keys(usedBy)), usedBy, nil
}

// findRoot returns the nearest directory at or above the working directory with a go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// Close stops the gateway (letting requests in flight finish for up to five seconds), every
// emulator and runtime, and moto, then removes the state file and releases the lock. It is safe to
// call more than once.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		for _, srv := range s.servers {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		cancel()
		s.schedules.close()
		s.sources.Close() // before the pools: a poller in flight would start a new emulator
		var wg sync.WaitGroup
		for _, p := range s.pools {
			wg.Go(func() { _ = p.Close() })
		}
		wg.Wait()
		if s.moto != nil {
			if err := s.moto.Stop(); err != nil {
				errs = append(errs, err)
			}
		}
		if s.buildLock != nil {
			s.buildLock.Close() // the bootstraps may go once no stack uses them
		}
		if s.lockFile != nil {
			os.Remove(filepath.Join(s.stateDir, stateFile))
			s.lockFile.Close() // releases the flock
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// AddDashboardUser creates the local user the banner tells to sign in to the dashboard with, with a
// new password, and remembers both for Describe.
func (s *Stack) AddDashboardUser(ctx context.Context, user string) error {
	password, err := s.LocalUser(ctx, s.Cognito(), user)
	if err != nil {
		return err
	}
	s.DashboardUser, s.DashboardPassword = user, password
	return nil
}

// Served returns a channel that receives the server's error if it stops on its own.
func (s *Stack) Served() <-chan error { return s.served }

// Describe is the banner `make dev` prints once the stack is ready: where everything is, and what
// to run next.
func (s *Stack) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nCodex is running on local AWS (moto at %s, region %s):\n", s.Endpoint, s.Region)
	for _, id := range slices.Sorted(maps.Keys(s.APIs)) {
		fmt.Fprintf(&b, "  %-16s %s\n", id, s.APIs[id])
	}
	if public, ok := s.APIs["PublicApi"]; ok {
		fmt.Fprintf(&b, "  %-16s %s/button.js (the buy-button script, docs/buy-button.md)\n", "button script", public)
	}
	fmt.Fprintf(&b, "  %-16s %s (app client %s)\n", "user pool", s.UserPoolID, s.UserPoolClientID)
	for _, id := range slices.Sorted(maps.Keys(s.Tables)) {
		fmt.Fprintf(&b, "  %-16s %s\n", id, s.Tables[id])
	}
	for _, sch := range s.schedules.list {
		fmt.Fprintf(&b, "  %-16s %s %s\n", "schedule", sch.Function, sch.Expression)
	}
	for _, id := range slices.Sorted(maps.Keys(s.Queues)) {
		fmt.Fprintf(&b, "  %-16s %s\n", id, s.Queues[id].URL)
	}
	if s.Dashboard != "" {
		fmt.Fprintf(&b, "\nThe dashboard: %s\n", s.Dashboard)
		if s.DashboardUser != "" {
			fmt.Fprintf(&b, "  sign in as %s, password %s (a local user, made for this run),\n", s.DashboardUser, s.DashboardPassword)
		}
		fmt.Fprintf(&b, "  or create an account there: locally any confirmation code is accepted.\n")
	}
	fmt.Fprintf(&b, "\nNext, in another terminal (the README's \"Quickstart\" has the whole walk-through):\n")
	fmt.Fprintf(&b, "  API=%s\n", s.URL)
	fmt.Fprintf(&b, "  TOKEN=$(make -s dev-token USER=alice)\n")
	fmt.Fprintf(&b, "  curl -s -X POST $API/projects -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{\"name\":\"My shop\"}'\n")
	fmt.Fprintf(&b, "\nCtrl-C stops everything; the data lives in moto's memory and goes with it.\n\n")
	return b.String()
}
