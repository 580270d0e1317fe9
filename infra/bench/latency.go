package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"codex/infra/capacity"
	"codex/infra/devstack"
	"codex/infra/dynamoproxy"
	"codex/infra/samtemplate"
	"codex/pkg/api"
	"codex/pkg/apikey"
	"codex/pkg/codex"
	"codex/pkg/dynamo"
)

// createdEvent is c's checkout.created event, as POST /v1/checkouts writes it with c.
func createdEvent(c codex.Checkout) (codex.Event, error) {
	return api.Checkouts{PageURL: "https://checkout.codex.example/c"}.Event(codex.EventCheckoutCreated, c, c.CreatedAt)
}

// routeResult is one route's warm latency through the gateway, its floor, and its capacity.
type routeResult struct {
	key string // "GET /v1/checkouts/{checkout_id}"
	// calls are the DynamoDB calls of one request, e.g. "GetItem KeysTable", "GetItem AppTable":
	// those the route's functions made, checked equal to those its floor made.
	calls    []string
	gateway  []time.Duration
	floor    []time.Duration
	capacity routeCapacity
}

// benchRoute is a route to measure: the HTTP request, and the floor, which makes the same DynamoDB
// calls as the route's functions (the authorizer's too) through the same pkg/dynamo methods. That
// they are the same is checked in each run (checkCalls), so the floor is the one description of
// them.
type benchRoute struct {
	method, path string // as in template.yaml
	url          string
	header       http.Header
	body         string
	status       int // the answer every request must get
	// floor returns one floor call; what it prepares (a new checkout's id) is not timed.
	floor func(s *dynamo.Store) func(ctx context.Context) error
}

// checkoutBody is a typical checkout, the one docs/dynamodb-costs.md prices: two line items, a
// reference and two metadata pairs.
const checkoutBody = `{"line_items":[{"name":"Tea ☕","unit_amount":450,"quantity":3},{"name":"Cup","unit_amount":1200,"quantity":1}],` +
	`"currency":"eur","success_url":"https://shop.example/ok","cancel_url":"https://shop.example/cart",` +
	`"client_reference_id":"order-1","metadata":{"cart":"42","empty":""}}`

const buttonBody = `{"name":"Poster A2","unit_amount":2500,"currency":"eur","success_url":"https://shop.example/ok","cancel_url":"https://shop.example/back"}`

// measureRoutes creates a project, a key, a checkout and a button through the API, then measures
// the four routes: cfg.warmup untimed rounds, one round that checks the route's DynamoDB calls
// against the floor's and prices them, then cfg.requests timed rounds, each round one request
// through the gateway followed by one floor call, so that both see the same machine and the same
// moto at the same moment. The functions reach moto through proxy (devstack's
// FunctionDynamoDBEndpoint), and so does the floor.
func measureRoutes(ctx context.Context, stack *devstack.Stack, proxy *dynamoproxy.Proxy, tpl *samtemplate.Template, cfg config) ([]routeResult, error) {
	progress("creating a project, an API key, a checkout and a buy button through the API")
	api, public := stack.APIs["HttpApi"], stack.APIs["PublicApi"]
	if api == "" || public == "" {
		return nil, fmt.Errorf("the stack serves %v; want HttpApi and PublicApi", stack.APIs)
	}
	token, err := stack.Token(ctx, stack.Cognito(), "bench")
	if err != nil {
		return nil, err
	}
	var project, key, checkout, button struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	steps := []struct {
		url, credential, body string
		into                  any
	}{
		{api + "/projects", token, `{"name":"Bench shop"}`, &project},
		{api + "/projects/{p}/keys", token, `{"name":"bench"}`, &key},
		{api + "/v1/checkouts", "{key}", checkoutBody, &checkout},
		{api + "/projects/{p}/buttons", token, buttonBody, &button},
	}
	for _, s := range steps {
		url := strings.ReplaceAll(s.url, "{p}", project.ID)
		credential := strings.ReplaceAll(s.credential, "{key}", key.Key)
		status, body, err := send(ctx, http.MethodPost, url, bearer(credential), s.body)
		if err != nil {
			return nil, err
		}
		if status != http.StatusCreated {
			return nil, fmt.Errorf("POST %s: %d %s", url, status, body)
		}
		if err := json.Unmarshal(body, s.into); err != nil {
			return nil, fmt.Errorf("POST %s: %w", url, err)
		}
	}
	parsed, err := apikey.Parse(key.Key)
	if err != nil {
		return nil, err
	}
	hash := parsed.Hash()
	// The floor's checkouts are the request body's, as the function builds them.
	var params codex.CheckoutParams
	if err := json.Unmarshal([]byte(checkoutBody), &params); err != nil {
		return nil, err
	}
	if params, err = params.Validate(); err != nil {
		return nil, err
	}
	lookup := func(ctx context.Context, s *dynamo.Store) error {
		p, err := s.LookupKey(ctx, hash)
		if err == nil && p.ProjectID != project.ID {
			err = fmt.Errorf("the key resolved to %s, want %s", p.ProjectID, project.ID)
		}
		return err
	}
	routes := []benchRoute{
		{
			method: http.MethodGet, path: "/v1/checkouts/{checkout_id}",
			url: api + "/v1/checkouts/" + checkout.ID, header: bearer(key.Key), status: http.StatusOK,
			floor: func(s *dynamo.Store) func(context.Context) error {
				return func(ctx context.Context) error {
					if err := lookup(ctx, s); err != nil {
						return err
					}
					_, err := s.GetCheckout(ctx, project.ID, checkout.ID)
					return err
				}
			},
		},
		{
			method: http.MethodPost, path: "/v1/checkouts",
			url: api + "/v1/checkouts", header: bearer(key.Key), body: checkoutBody, status: http.StatusCreated,
			floor: func(s *dynamo.Store) func(context.Context) error {
				c := codex.NewCheckout(project.ID, params, time.Now())
				ev, err := createdEvent(c)
				return func(ctx context.Context) error {
					if err != nil {
						return err
					}
					if err := lookup(ctx, s); err != nil {
						return err
					}
					_, err := s.CreateCheckout(ctx, c, ev, nil)
					return err
				}
			},
		},
		{
			method: http.MethodGet, path: "/public/projects/{project_id}/buttons/{button_id}",
			url: public + "/public/projects/" + project.ID + "/buttons/" + button.ID, status: http.StatusOK,
			floor: func(s *dynamo.Store) func(context.Context) error {
				return func(ctx context.Context) error {
					_, err := s.GetButton(ctx, project.ID, button.ID)
					return err
				}
			},
		},
		{
			// The hosted checkout page: the checkout, then its project's name.
			method: http.MethodGet, path: "/c/{checkout_id}",
			url: public + "/c/" + checkout.ID, status: http.StatusOK,
			floor: func(s *dynamo.Store) func(context.Context) error {
				return func(ctx context.Context) error {
					c, err := s.FindCheckout(ctx, checkout.ID)
					if err != nil {
						return err
					}
					_, err = s.FindProject(ctx, c.ProjectID)
					return err
				}
			},
		},
	}

	// The floor's client is configured like the stack's own (explicit endpoint, region and dummy
	// credentials, the SDK's defaults otherwise), as the functions' is from their environment. Its
	// endpoint is the functions' proxy: the floor pays the same extra hop, and the proxy lists its
	// calls as it lists theirs.
	opts := dynamodb.Options{
		Region: stack.Region, BaseEndpoint: aws.String(proxy.URL()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	tables := dynamo.Tables{Keys: stack.Tables["KeysTable"], App: stack.Tables["AppTable"]}
	plain := dynamodb.New(opts)
	store := dynamo.New(plain, tables)
	rec := &capacity.Recorder{}
	recorded := dynamo.New(dynamodb.New(opts, rec.Option), tables)

	var out []routeResult
	for _, r := range routes {
		key := r.method + " " + r.path
		interval, err := pacing(tpl, key)
		if err != nil {
			return nil, err
		}
		var last time.Time
		// request sends the route's request, paced, and times it.
		request := func() (time.Duration, error) {
			if wait := interval - time.Since(last); wait > 0 {
				time.Sleep(wait)
			}
			last = time.Now()
			start := time.Now()
			status, body, err := send(ctx, r.method, r.url, r.header, r.body)
			d := time.Since(start)
			if err != nil {
				return 0, err
			}
			if status != r.status {
				return 0, fmt.Errorf("%s answered %d, want %d: %s", key, status, r.status, body)
			}
			return d, nil
		}
		progress("%s: %d warm-up requests, one whose DynamoDB calls are checked against the floor's, then %d timed, each followed by its floor",
			key, cfg.warmup, cfg.requests)
		res := routeResult{key: key}
		for i := range cfg.warmup + cfg.requests {
			if i == cfg.warmup {
				// Warm now: the calls one request makes, and the floor's, recorded by the proxy
				// (and the floor's priced) before any is timed.
				proxy.StartRecording()
				_, err := request()
				routeCalls := dynamoproxy.Describe(requestCalls(proxy.StopRecording(), tpl), stack.Tables)
				if err != nil {
					return nil, err
				}
				rec.Reset()
				call := r.floor(recorded)
				proxy.StartRecording()
				err = call(ctx)
				floorCalls := dynamoproxy.Describe(requestCalls(proxy.StopRecording(), tpl), stack.Tables)
				if err != nil {
					return nil, fmt.Errorf("floor of %s: %w", key, err)
				}
				if err := checkCalls(key, routeCalls, floorCalls); err != nil {
					return nil, err
				}
				res.calls = floorCalls
				if res.capacity, err = routeCapacityOf(ctx, rec.Calls(), plain, tpl, stack.Tables); err != nil {
					return nil, fmt.Errorf("capacity of %s: %w", key, err)
				}
				progress("%s: one request makes the floor's DynamoDB calls, %s", key, strings.Join(floorCalls, ", "))
			}
			d, err := request()
			if err != nil {
				return nil, err
			}
			call := r.floor(store)
			start := time.Now()
			err = call(ctx)
			fd := time.Since(start)
			if err != nil {
				return nil, fmt.Errorf("floor of %s: %w", key, err)
			}
			if i >= cfg.warmup {
				res.gateway = append(res.gateway, d)
				res.floor = append(res.floor, fd)
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// requestCalls drops the calls of the template's event-source functions (the stream's fan-out,
// the queue's delivery): they run on their own after a change is committed, whenever their poller
// sees it, so they are no request's calls, and may land in the recording of the next one.
func requestCalls(calls []dynamoproxy.Call, tpl *samtemplate.Template) []dynamoproxy.Call {
	return slices.DeleteFunc(calls, func(c dynamoproxy.Call) bool {
		fn := tpl.Functions[c.Caller]
		return fn != nil && (len(fn.StreamEvents) > 0 || len(fn.QueueEvents) > 0)
	})
}

// checkCalls fails unless a request of the route made exactly the DynamoDB calls its floor makes,
// in the same order: otherwise the floor would time, and the capacity price, other calls than the
// route's.
func checkCalls(key string, route, floor []string) error {
	if slices.Equal(route, floor) {
		return nil
	}
	list := func(calls []string) string {
		if len(calls) == 0 {
			return "none"
		}
		return strings.Join(calls, ", ")
	}
	return fmt.Errorf("%s: one request through the gateway made the DynamoDB calls [%s], but its floor makes [%s]; "+
		"the floor and the capacity would not be this route's: make the floor in infra/bench/latency.go make the route's calls, "+
		"or the route its floor's", key, list(route), list(floor))
}

// pacing is the least time between two requests of a route that keeps them under the template's
// throttle for it (with a margin), so that no request is refused with 429; zero when unthrottled.
// The route is looked up in the template, which also checks that it still exists.
func pacing(tpl *samtemplate.Template, key string) (time.Duration, error) {
	for _, r := range tpl.Routes() {
		if r.Method+" "+r.Path != key {
			continue
		}
		api := tpl.HTTPAPIs[r.API]
		if api == nil {
			return 0, nil
		}
		rs := api.DefaultRouteSettings
		if rs == nil || rs.ThrottlingRateLimit == nil || *rs.ThrottlingRateLimit <= 0 {
			return 0, nil
		}
		return time.Duration(1.25 * float64(time.Second) / *rs.ThrottlingRateLimit), nil
	}
	return 0, fmt.Errorf("template.yaml has no route %s", key)
}

// client keeps connections alive, as an API client would.
var client = &http.Client{Timeout: 35 * time.Second}

func send(ctx context.Context, method, url string, header http.Header, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func bearer(credential string) http.Header {
	return http.Header{"Authorization": {"Bearer " + credential}}
}
