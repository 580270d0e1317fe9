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
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"codex/pkg/api"
	"codex/pkg/authorizer"
	"codex/pkg/codex"
	"codex/pkg/dynamo"
	"codex/pkg/expiry"
	"codex/pkg/secretscan"
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
}

// Deps are what handlers are built from. Main builds only those its function needs, once per
// process, before the first invocation.
type Deps struct {
	Store   Store
	Now     codex.Clock
	PageURL string // the hosted checkout page, from CHECKOUT_BASE_URL
	Log     *slog.Logger
	// GitHubKeys verifies GitHub's secret scanning reports against the public keys published at
	// GITHUB_SECRET_SCANNING_KEYS_URL.
	GitHubKeys api.SignatureVerifier
}

// Function is one function of template.yaml.
type Function struct {
	// ID is the function's logical id in template.yaml.
	ID string
	// RouteKey is its HttpApi event, "METHOD /path"; empty for the authorizer.
	RouteKey string

	// store opens the function's store; nil when it needs none. A field rather than a flag so
	// that only the bootstraps that use DynamoDB link the SDK.
	store func(context.Context) (Store, error)
	// pageURL says the function reads CHECKOUT_BASE_URL.
	pageURL bool
	// githubKeys says the function reads GITHUB_SECRET_SCANNING_KEYS_URL.
	githubKeys bool
	// route builds an HTTP route; authorize builds the authorizer's handler; scheduled builds the
	// handler of a function its Schedule events invoke. One of them is set.
	route     func(Deps) api.Route
	authorize func(Deps) any
	scheduled func(Deps) any
}

// NeedsStore reports whether the function uses DynamoDB.
func (f Function) NeedsStore() bool { return f.store != nil }

// NeedsPageURL reports whether the function reads CHECKOUT_BASE_URL.
func (f Function) NeedsPageURL() bool { return f.pageURL }

// NeedsGitHubKeys reports whether the function reads GITHUB_SECRET_SCANNING_KEYS_URL.
func (f Function) NeedsGitHubKeys() bool { return f.githubKeys }

// Scheduled reports whether the function is invoked by Schedule events rather than a route or as
// an authorizer.
func (f Function) Scheduled() bool { return f.scheduled != nil }

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
	if f.scheduled != nil {
		return f.scheduled(d)
	}
	return api.Handler(d.Log, f.route(d))
}

// Start builds the dependencies f needs from the environment: the checkout page from
// CHECKOUT_BASE_URL, then the store (one SDK client for the life of the process).
func (f Function) Start(ctx context.Context, log *slog.Logger) (Deps, error) {
	d := Deps{Now: time.Now, Log: log}
	if f.pageURL {
		u, err := api.CheckoutPageURL(os.Getenv("CHECKOUT_BASE_URL"))
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
	return d, nil
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
		ListProjectCheckouts,
		PublicGetButton, PublicCreateCheckout, PublicGetCheckout,
		GithubSecretScanning,
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
	SweepCheckouts = Function{ID: "SweepCheckoutsFunction", store: openDynamo, pageURL: true,
		scheduled: func(d Deps) any {
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

	PublicGetButton = Function{ID: "PublicGetButtonFunction", RouteKey: "GET /public/projects/{project_id}/buttons/{button_id}", store: openDynamo,
		route: func(d Deps) api.Route { return api.PublicGetButton{Buttons: d.Store} }}
	PublicCreateCheckout = Function{ID: "PublicCreateCheckoutFunction", RouteKey: "POST /public/projects/{project_id}/buttons/{button_id}/checkouts", store: openDynamo, pageURL: true,
		route: func(d Deps) api.Route {
			return api.PublicCreateCheckout{Buttons: d.Store, Checkouts: d.Store, Now: d.Now, PageURL: d.PageURL}
		}}
	PublicGetCheckout = Function{ID: "PublicGetCheckoutFunction", RouteKey: "GET /public/checkouts/{checkout_id}", store: openDynamo,
		route: func(d Deps) api.Route { return api.PublicGetCheckout{Checkouts: d.Store, Now: d.Now} }}

	// GithubSecretScanning is GitHub's secret scanning partner endpoint: leaked keys are revoked.
	GithubSecretScanning = Function{ID: "GithubSecretScanningFunction", RouteKey: "POST /public/secret-scanning/github", store: openDynamo, githubKeys: true,
		route: func(d Deps) api.Route {
			return api.GitHubSecretScanning{Verifier: d.GitHubKeys, Keys: d.Store, Now: d.Now}
		}}
)

func checkouts(d Deps) api.Checkouts {
	return api.Checkouts{Store: d.Store, Now: d.Now, PageURL: d.PageURL}
}

func events(d Deps) api.Events { return api.Events{Store: d.Store, Now: d.Now} }
