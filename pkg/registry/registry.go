// Package registry is the one list of Codex's Lambda functions: each function's logical id in
// template.yaml, the route it serves and how its handler is built from the dependencies it needs.
// functions/<name>/main.go is one call of Main; the tests, the local stack (make dev) and make
// bench build and check the same entries, and a test in infra/checks ties them to template.yaml
// and api/openapi/openapi.yaml.
//
// Each function is its own variable, named after its logical id without "Function", rather than a
// row of a table looked up by name: a bootstrap then links only its own handler, as a hand-written
// main.go would (a lookup by name would link every handler into each). Importing pkg/dynamo still
// links the AWS SDK's package initialisation into every bootstrap, WhoamiFunction's too, though
// only the functions that use DynamoDB build a client.
package registry

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"codex/pkg/api"
	"codex/pkg/authorizer"
	"codex/pkg/codex"
	"codex/pkg/dynamo"
	"codex/pkg/expiry"
	"codex/pkg/kmsseal"
	"codex/pkg/payment"
	"codex/pkg/secretscan"
	"codex/pkg/sqsqueue"
	"codex/pkg/webhook"
)

// Store is every storage interface a handler uses. *dynamo.Store implements it.
type Store interface {
	codex.ProjectStore
	codex.KeyStore
	codex.KeyLookup
	codex.AuditLog
	codex.ButtonStore
	codex.CheckoutStore
	codex.CheckoutFinder
	codex.CheckoutExpirer
	codex.EventStore
	codex.WebhookStore
	codex.ProjectFinder
	codex.PaymentStore
}

// Deps are what handlers are built from. Main builds only those its function needs, once per
// process, before the first invocation.
type Deps struct {
	Store   Store
	Now     codex.Clock
	PageURL string // the hosted checkout page, from CHECKOUT_BASE_URL; "" for "this request's host"
	Log     *slog.Logger
	// GitHubKeys verifies GitHub's secret scanning reports against the public keys published at
	// GITHUB_SECRET_SCANNING_KEYS_URL.
	GitHubKeys api.SignatureVerifier

	// Sealer seals webhook signing keys (KMS, WEBHOOK_KEY_ID); Queue is the webhook queue (SQS,
	// WEBHOOK_QUEUE_URL); Poster sends deliveries. AllowLoopback is WEBHOOK_ALLOW_LOOPBACK=true,
	// which only make dev sets (the WebhookAllowLoopback parameter).
	Sealer        codex.Sealer
	Queue         webhook.Queue
	Poster        webhook.Poster
	AllowLoopback bool
}

// Function is one function of template.yaml.
type Function struct {
	// ID is the function's logical id in template.yaml.
	ID string
	// RouteKey is its HttpApi event, "METHOD /path"; empty for the authorizer and the event
	// source functions.
	RouteKey string
	// EventSource is the type of the event that invokes a function without a route: "DynamoDB"
	// (a table's stream), "SQS" or "Schedule".
	EventSource string

	// store opens the function's store; nil when it needs none. A field rather than a flag so
	// that only the bootstraps that use DynamoDB link the SDK.
	store func(context.Context) (Store, error)
	// pageURL says the function reads CHECKOUT_BASE_URL.
	pageURL bool
	// githubKeys says the function reads GITHUB_SECRET_SCANNING_KEYS_URL.
	githubKeys bool
	// sealer, queue, poster and loopback say which webhook dependencies Start builds.
	sealer, queue, poster, loopback bool
	// route builds an HTTP route; authorize builds the authorizer's handler; handle builds the
	// handler of a function its EventSource invokes. One of them is set.
	route     func(Deps) api.Route
	authorize func(Deps) any
	handle    func(Deps) any
}

// NeedsStore reports whether the function uses DynamoDB.
func (f Function) NeedsStore() bool { return f.store != nil }

// NeedsPageURL reports whether the function reads CHECKOUT_BASE_URL.
func (f Function) NeedsPageURL() bool { return f.pageURL }

// NeedsGitHubKeys reports whether the function reads GITHUB_SECRET_SCANNING_KEYS_URL.
func (f Function) NeedsGitHubKeys() bool { return f.githubKeys }

// Scheduled reports whether the function is invoked by Schedule events rather than a route or as
// an authorizer.
func (f Function) Scheduled() bool { return f.EventSource == "Schedule" }

// Route returns the function's route handler over d; nil for the authorizer and scheduled functions.
func (f Function) Route(d Deps) api.Route {
	if f.route == nil {
		return nil
	}
	return f.route(d)
}

// Handler returns what lambda.Start runs for the function over d.
func (f Function) Handler(d Deps) any {
	if f.authorize != nil {
		return f.authorize(d)
	}
	if f.handle != nil {
		return f.handle(d)
	}
	return api.Handler(d.Log, f.route(d))
}

// Start builds the dependencies f needs from the environment: the checkout page from
// CHECKOUT_BASE_URL, then the store (one SDK client for the life of the process).
func (f Function) Start(ctx context.Context, log *slog.Logger) (Deps, error) {
	d := Deps{Now: time.Now, Log: log}
	if f.pageURL {
		u, err := pageURL(os.Getenv("CHECKOUT_BASE_URL"), os.Getenv("PUBLIC_API_URL"))
		if err != nil {
			return Deps{}, err
		}
		d.PageURL = u
	}
	if f.githubKeys {
		keys, err := secretscan.NewKeySet(os.Getenv("GITHUB_SECRET_SCANNING_KEYS_URL"))
		if err != nil {
			return Deps{}, err
		}
		d.GitHubKeys = keys
	}
	if f.store != nil {
		s, err := f.store(ctx)
		if err != nil {
			return Deps{}, err
		}
		d.Store = s
	}
	d.AllowLoopback = f.loopback && os.Getenv("WEBHOOK_ALLOW_LOOPBACK") == "true"
	if f.sealer {
		s, err := kmsseal.Open()
		if err != nil {
			return Deps{}, err
		}
		d.Sealer = s
	}
	if f.queue {
		q, err := sqsqueue.Open()
		if err != nil {
			return Deps{}, err
		}
		d.Queue = q
	}
	if f.poster {
		d.Poster = webhook.NewSender(webhook.SenderOptions{AllowLoopback: d.AllowLoopback})
	}
	return d, nil
}

// pageURL is the hosted page's base URL: CHECKOUT_BASE_URL, else the page the stack serves on its
// PublicApi (PUBLIC_API_URL + "/c"), else "" for a function of the PublicApi itself, which takes
// the host from each request (template.yaml cannot name the API to its own functions).
func pageURL(base, publicAPI string) (string, error) {
	switch {
	case base != "":
		return api.CheckoutPageURL(base)
	case publicAPI != "":
		return api.CheckoutPageURL(strings.TrimRight(publicAPI, "/") + "/c")
	}
	return "", nil
}

// Main is a function's main: it builds f's dependencies and serves invocations until the process
// ends. A dependency that cannot be built is logged and ends the process, so Lambda reports an
// init error rather than answering requests half-configured.
func Main(f Function) {
	log := api.NewLogger()
	d, err := f.Start(context.Background(), log)
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(f.Handler(d))
}

// openDynamo is every function's store: DynamoDB, the tables named by the environment.
func openDynamo(ctx context.Context) (Store, error) {
	s, err := dynamo.Open(ctx)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// All returns every function, in template.yaml's order.
func All() []Function {
	return []Function{
		Authorizer,
		CreateProject, ListProjects,
		CreateKey, ListKeys, DeleteKey, RollKey, ListAuditLog,
		Whoami,
		CreateCheckout, GetCheckout, ListCheckouts, ExpireCheckout, SweepCheckouts,
		GetEvent, ListEvents,
		CreateButton, ListButtons, DeleteButton,
		ListProjectCheckouts, ListProjectEvents,
		PublicGetButton, PublicCreateCheckout, PublicGetCheckout,
		CheckoutPage, PayCheckout,
		ButtonScript, ButtonPage, ButtonPageCheckout,
		GithubSecretScanning,
		CreateWebhook, ListWebhooks, GetWebhook, UpdateWebhook, DeleteWebhook,
		RotateWebhookSecret, TestWebhook, ListWebhookDeliveries, RedeliverWebhook,
		FanoutEvents, DeliverWebhooks,
	}
}

// Lookup returns the function with logical id id.
func Lookup(id string) (Function, bool) {
	for _, f := range All() {
		if f.ID == id {
			return f, true
		}
	}
	return Function{}, false
}

// Routes returns every HTTP route over d, by route key: the whole API in one process, for tests.
func Routes(d Deps) map[string]api.Route {
	routes := map[string]api.Route{}
	for _, f := range All() {
		if f.route != nil {
			routes[f.RouteKey] = f.route(d)
		}
	}
	return routes
}

// The functions. Keep each next to its template.yaml resource's order; see "Adding a route".
var (
	Authorizer = Function{ID: "AuthorizerFunction", store: openDynamo,
		authorize: func(d Deps) any { return authorizer.New(d.Store, d.Log, d.Now).Handle }}

	CreateProject = Function{ID: "CreateProjectFunction", RouteKey: "POST /projects", store: openDynamo,
		route: func(d Deps) api.Route { return api.CreateProject{Projects: d.Store, Now: d.Now} }}
	ListProjects = Function{ID: "ListProjectsFunction", RouteKey: "GET /projects", store: openDynamo,
		route: func(d Deps) api.Route { return api.ListProjects{Projects: d.Store} }}

	CreateKey = Function{ID: "CreateKeyFunction", RouteKey: "POST /projects/{project_id}/keys", store: openDynamo,
		route: func(d Deps) api.Route { return api.CreateKey{Projects: d.Store, Keys: d.Store, Now: d.Now} }}
	ListKeys = Function{ID: "ListKeysFunction", RouteKey: "GET /projects/{project_id}/keys", store: openDynamo,
		route: func(d Deps) api.Route { return api.ListKeys{Projects: d.Store, Keys: d.Store, Now: d.Now} }}
	DeleteKey = Function{ID: "DeleteKeyFunction", RouteKey: "DELETE /projects/{project_id}/keys/{key_id}", store: openDynamo,
		route: func(d Deps) api.Route { return api.DeleteKey{Projects: d.Store, Keys: d.Store, Now: d.Now} }}
	RollKey = Function{ID: "RollKeyFunction", RouteKey: "POST /projects/{project_id}/keys/{key_id}/roll", store: openDynamo,
		route: func(d Deps) api.Route { return api.RollKey{Projects: d.Store, Keys: d.Store, Now: d.Now} }}
	ListAuditLog = Function{ID: "ListAuditLogFunction", RouteKey: "GET /projects/{project_id}/audit-log", store: openDynamo,
		route: func(d Deps) api.Route { return api.ListAuditLog{Projects: d.Store, Audit: d.Store, Now: d.Now} }}

	// Whoami needs no AWS client: the authorizer has already resolved the key.
	Whoami = Function{ID: "WhoamiFunction", RouteKey: "GET /v1/whoami",
		route: func(Deps) api.Route { return api.Whoami{} }}

	CreateCheckout = Function{ID: "CreateCheckoutFunction", RouteKey: "POST /v1/checkouts", store: openDynamo, pageURL: true,
		route: func(d Deps) api.Route { return api.CreateCheckout{Checkouts: checkouts(d)} }}
	GetCheckout = Function{ID: "GetCheckoutFunction", RouteKey: "GET /v1/checkouts/{checkout_id}", store: openDynamo, pageURL: true,
		route: func(d Deps) api.Route { return api.GetCheckout{Checkouts: checkouts(d)} }}
	ListCheckouts = Function{ID: "ListCheckoutsFunction", RouteKey: "GET /v1/checkouts", store: openDynamo, pageURL: true,
		route: func(d Deps) api.Route { return api.ListCheckouts{Checkouts: checkouts(d)} }}
	ExpireCheckout = Function{ID: "ExpireCheckoutFunction", RouteKey: "POST /v1/checkouts/{checkout_id}/expire", store: openDynamo, pageURL: true,
		route: func(d Deps) api.Route { return api.ExpireCheckout{Checkouts: checkouts(d), Expirer: d.Store} }}
	SweepCheckouts = Function{ID: "SweepCheckoutsFunction", EventSource: "Schedule", store: openDynamo, pageURL: true,
		handle: func(d Deps) any {
			return expiry.Sweeper{Store: d.Store, Now: d.Now, Log: d.Log, Event: api.Checkouts{PageURL: d.PageURL}.Event}.Handle
		}}

	GetEvent = Function{ID: "GetEventFunction", RouteKey: "GET /v1/events/{event_id}", store: openDynamo,
		route: func(d Deps) api.Route { return api.GetEvent{Events: events(d)} }}
	ListEvents = Function{ID: "ListEventsFunction", RouteKey: "GET /v1/events", store: openDynamo,
		route: func(d Deps) api.Route { return api.ListEvents{Events: events(d)} }}

	CreateButton = Function{ID: "CreateButtonFunction", RouteKey: "POST /projects/{project_id}/buttons", store: openDynamo,
		route: func(d Deps) api.Route { return api.CreateButton{Projects: d.Store, Buttons: d.Store, Now: d.Now} }}
	ListButtons = Function{ID: "ListButtonsFunction", RouteKey: "GET /projects/{project_id}/buttons", store: openDynamo,
		route: func(d Deps) api.Route { return api.ListButtons{Projects: d.Store, Buttons: d.Store} }}
	DeleteButton = Function{ID: "DeleteButtonFunction", RouteKey: "DELETE /projects/{project_id}/buttons/{button_id}", store: openDynamo,
		route: func(d Deps) api.Route { return api.DeleteButton{Projects: d.Store, Buttons: d.Store, Now: d.Now} }}

	ListProjectCheckouts = Function{ID: "ListProjectCheckoutsFunction", RouteKey: "GET /projects/{project_id}/checkouts", store: openDynamo, pageURL: true,
		route: func(d Deps) api.Route { return api.ListProjectCheckouts{Checkouts: checkouts(d), Projects: d.Store} }}
	ListProjectEvents = Function{ID: "ListProjectEventsFunction", RouteKey: "GET /projects/{project_id}/events", store: openDynamo,
		route: func(d Deps) api.Route { return api.ListProjectEvents{Events: events(d), Projects: d.Store} }}

	PublicGetButton = Function{ID: "PublicGetButtonFunction", RouteKey: "GET /public/projects/{project_id}/buttons/{button_id}", store: openDynamo,
		route: func(d Deps) api.Route { return api.PublicGetButton{Buttons: d.Store} }}
	PublicCreateCheckout = Function{ID: "PublicCreateCheckoutFunction", RouteKey: "POST /public/projects/{project_id}/buttons/{button_id}/checkouts", store: openDynamo, pageURL: true,
		route: func(d Deps) api.Route {
			return api.PublicCreateCheckout{Buttons: d.Store, Checkouts: d.Store, Now: d.Now, PageURL: d.PageURL}
		}}
	PublicGetCheckout = Function{ID: "PublicGetCheckoutFunction", RouteKey: "GET /public/checkouts/{checkout_id}", store: openDynamo,
		route: func(d Deps) api.Route { return api.PublicGetCheckout{Checkouts: d.Store, Now: d.Now} }}

	// The hosted checkout page (HTML) and its form. Every project is in test mode: the processor
	// is payment.TestProcessor.
	CheckoutPage = Function{ID: "CheckoutPageFunction", RouteKey: "GET /c/{checkout_id}", store: openDynamo,
		route: func(d Deps) api.Route { return api.CheckoutPage{Checkouts: d.Store, Projects: d.Store, Now: d.Now} }}
	PayCheckout = Function{ID: "PayCheckoutFunction", RouteKey: "POST /c/{checkout_id}/pay", store: openDynamo, pageURL: true,
		route: func(d Deps) api.Route {
			return api.PayCheckout{Checkouts: d.Store, Projects: d.Store, Payments: d.Store,
				Processor: payment.TestProcessor{}, Now: d.Now, Log: d.Log, PageURL: d.PageURL}
		}}
	// GithubSecretScanning is GitHub's secret scanning partner endpoint: leaked keys are revoked.
	GithubSecretScanning = Function{ID: "GithubSecretScanningFunction", RouteKey: "POST /public/secret-scanning/github", store: openDynamo, githubKeys: true,
		route: func(d Deps) api.Route {
			return api.GitHubSecretScanning{Verifier: d.GitHubKeys, Keys: d.Store, Now: d.Now}
		}}

	// ButtonScript needs no AWS client: the script is embedded in the bootstrap.
	ButtonScript = Function{ID: "ButtonScriptFunction", RouteKey: "GET /button.js",
		route: func(Deps) api.Route { return api.ButtonScript{} }}
	ButtonPage = Function{ID: "ButtonPageFunction", RouteKey: "GET /b/{project_id}/{button_id}", store: openDynamo, pageURL: true,
		route: func(d Deps) api.Route { return api.ButtonPage{Buttons: d.Store, PageURL: d.PageURL} }}
	ButtonPageCheckout = Function{ID: "ButtonPageCheckoutFunction", RouteKey: "POST /b/{project_id}/{button_id}", store: openDynamo, pageURL: true,
		route: func(d Deps) api.Route {
			return api.ButtonPageCheckout{Buttons: d.Store, Checkouts: d.Store, Now: d.Now, PageURL: d.PageURL}
		}}
)

// Webhook endpoints (dashboard) and the delivery pipeline (event sources).
var (
	CreateWebhook = Function{ID: "CreateWebhookFunction", RouteKey: "POST /projects/{project_id}/webhooks", store: openDynamo, sealer: true, loopback: true,
		route: func(d Deps) api.Route { return api.CreateWebhook{Webhooks: webhooks(d)} }}
	ListWebhooks = Function{ID: "ListWebhooksFunction", RouteKey: "GET /projects/{project_id}/webhooks", store: openDynamo,
		route: func(d Deps) api.Route { return api.ListWebhooks{Webhooks: webhooks(d)} }}
	GetWebhook = Function{ID: "GetWebhookFunction", RouteKey: "GET /projects/{project_id}/webhooks/{webhook_id}", store: openDynamo,
		route: func(d Deps) api.Route { return api.GetWebhook{Webhooks: webhooks(d)} }}
	UpdateWebhook = Function{ID: "UpdateWebhookFunction", RouteKey: "PATCH /projects/{project_id}/webhooks/{webhook_id}", store: openDynamo, loopback: true,
		route: func(d Deps) api.Route { return api.UpdateWebhook{Webhooks: webhooks(d)} }}
	DeleteWebhook = Function{ID: "DeleteWebhookFunction", RouteKey: "DELETE /projects/{project_id}/webhooks/{webhook_id}", store: openDynamo,
		route: func(d Deps) api.Route { return api.DeleteWebhook{Webhooks: webhooks(d)} }}
	RotateWebhookSecret = Function{ID: "RotateWebhookSecretFunction", RouteKey: "POST /projects/{project_id}/webhooks/{webhook_id}/rotate-secret", store: openDynamo, sealer: true,
		route: func(d Deps) api.Route { return api.RotateWebhookSecret{Webhooks: webhooks(d)} }}
	TestWebhook = Function{ID: "TestWebhookFunction", RouteKey: "POST /projects/{project_id}/webhooks/{webhook_id}/test", store: openDynamo, queue: true,
		route: func(d Deps) api.Route { return api.TestWebhook{Webhooks: webhooks(d)} }}
	ListWebhookDeliveries = Function{ID: "ListWebhookDeliveriesFunction", RouteKey: "GET /projects/{project_id}/webhooks/{webhook_id}/deliveries", store: openDynamo,
		route: func(d Deps) api.Route { return api.ListWebhookDeliveries{Webhooks: webhooks(d)} }}
	RedeliverWebhook = Function{ID: "RedeliverWebhookFunction", RouteKey: "POST /projects/{project_id}/webhooks/{webhook_id}/deliveries/{event_id}/redeliver", store: openDynamo, queue: true,
		route: func(d Deps) api.Route { return api.RedeliverWebhook{Webhooks: webhooks(d)} }}

	FanoutEvents = Function{ID: "FanoutEventsFunction", EventSource: "DynamoDB", store: openDynamo, queue: true,
		handle: func(d Deps) any { return webhook.Fanout{Endpoints: d.Store, Queue: d.Queue, Log: d.Log}.Handle }}
	DeliverWebhooks = Function{ID: "DeliverWebhooksFunction", EventSource: "SQS", store: openDynamo, sealer: true, queue: true, poster: true, loopback: true,
		handle: func(d Deps) any {
			return webhook.Deliver{Store: d.Store, Sealer: d.Sealer, Queue: d.Queue, Poster: d.Poster, Now: d.Now, Log: d.Log}.Handle
		}}
)

func webhooks(d Deps) api.Webhooks {
	return api.Webhooks{Projects: d.Store, Store: d.Store, Sealer: d.Sealer, Queue: d.Queue, Now: d.Now, AllowLoopback: d.AllowLoopback}
}

func checkouts(d Deps) api.Checkouts {
	return api.Checkouts{Store: d.Store, Now: d.Now, PageURL: d.PageURL}
}

func events(d Deps) api.Events { return api.Events{Store: d.Store, Now: d.Now} }
