package api

import (
	"context"
	"net/http"
	"time"

	"codex/pkg/codex"
)

// The public routes (/public/...) have no authorizer: a buy button's snippet on a merchant's page
// and the hosted checkout page call them from the buyer's browser. Nothing they receive is trusted.
// What a checkout charges comes only from the button stored server-side; the browser may choose a
// quantity and pass a reference, and any other field is refused by name (DecodeJSON), never
// silently ignored. CORS and throttling for these routes are configured on PublicApi in
// template.yaml: API Gateway answers preflights and adds the CORS headers itself.

// Cache-Control values of the public routes.
const (
	// A button changes rarely and is fetched on every view of the merchant's page; letting the
	// browser reuse it for a minute takes load off the throttled route. Archiving still takes
	// effect at once where it matters: creating a checkout reads the button afresh.
	buttonCacheControl = "public, max-age=60"
	// A checkout's status changes (it expires, it gets paid), so the buyer's view is never cached.
	checkoutCacheControl = "no-store"
)

// publicButtonView is what the snippet needs to render a button, and nothing else: not the redirect
// URLs, the project or when it was created.
type publicButtonView struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	UnitAmount int64  `json:"unit_amount"`
	Currency   string `json:"currency"`
}

// activeButton resolves the {project_id} and {button_id} path parameters to an active button. Ids of
// the wrong shape, unknown buttons, another project's buttons and archived ones all answer the same
// 404, so nothing can be learnt by probing.
func activeButton(ctx context.Context, store codex.ButtonStore, req *Request) (codex.Button, error) {
	pid, bid := req.PathParameters["project_id"], req.PathParameters["button_id"]
	if !codex.ValidID(codex.ProjectIDPrefix, pid) || !codex.ValidID(codex.ButtonIDPrefix, bid) {
		return codex.Button{}, codex.NotFound("button")
	}
	b, err := store.GetButton(ctx, pid, bid)
	if err != nil {
		return codex.Button{}, err
	}
	if !b.Active || b.ProjectID != pid {
		return codex.Button{}, codex.NotFound("button")
	}
	return b, nil
}

// PublicGetButton is GET /public/projects/{project_id}/buttons/{button_id}.
type PublicGetButton struct {
	Buttons codex.ButtonStore
}

func (h PublicGetButton) Serve(ctx context.Context, req *Request) (Response, error) {
	b, err := activeButton(ctx, h.Buttons, req)
	if err != nil {
		return Response{}, err
	}
	v := publicButtonView{ID: b.ID, Name: b.Name, UnitAmount: b.UnitAmount, Currency: b.Currency}
	return withHeader(JSON(http.StatusOK, v), "cache-control", buttonCacheControl), nil
}

// PublicCreateCheckout is POST /public/projects/{project_id}/buttons/{button_id}/checkouts: a
// normal checkout of the button's project (the merchant's key sees it in GET /v1/checkouts), of one
// line item priced by the button.
type PublicCreateCheckout struct {
	Buttons   codex.ButtonStore
	Checkouts codex.CheckoutStore
	Now       codex.Clock
	// PageURL is the hosted checkout page's base URL, as for Checkouts; "" for the /c page of the
	// API this request came to (it serves the page too).
	PageURL string
}

// publicCheckoutBody is everything a browser may send. DecodeJSON refuses any other field (a price,
// an amount, a currency, a name, line items) with a 400 naming it.
type publicCheckoutBody struct {
	Quantity          *int64  `json:"quantity"`
	ClientReferenceID *string `json:"client_reference_id"`
}

// publicCheckoutCreated is the answer to the browser: enough to send the buyer to the hosted page.
type publicCheckoutCreated struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	Status      string `json:"status"`
	AmountTotal int64  `json:"amount_total"`
	Currency    string `json:"currency"`
	ExpiresAt   string `json:"expires_at"`
}

func (h PublicCreateCheckout) Serve(ctx context.Context, req *Request) (Response, error) {
	// The body is checked before the button is read: a tampered request costs no database read.
	var body publicCheckoutBody
	if err := DecodeJSON(req, &body); err != nil {
		return Response{}, err
	}
	if !codex.ValidID(codex.ProjectIDPrefix, req.PathParameters["project_id"]) || !codex.ValidID(codex.ButtonIDPrefix, req.PathParameters["button_id"]) {
		return Response{}, codex.NotFound("button")
	}
	q, err := codex.ButtonCheckoutParams{Quantity: body.Quantity, ClientReferenceID: body.ClientReferenceID}.Validate()
	if err != nil {
		return Response{}, err
	}
	b, err := activeButton(ctx, h.Buttons, req)
	if err != nil {
		return Response{}, err
	}
	params, err := b.CheckoutParams(q)
	if err != nil {
		return Response{}, err
	}
	now := h.Now().UTC().Truncate(time.Millisecond)
	c := codex.NewCheckout(b.ProjectID, params, now)
	c.ButtonID = b.ID
	ev, err := Checkouts{PageURL: pageBase(h.PageURL, req)}.Event(codex.EventCheckoutCreated, c, now)
	if err != nil {
		return Response{}, err
	}
	if _, err := h.Checkouts.CreateCheckout(ctx, c, ev, nil); err != nil {
		return Response{}, err
	}
	return JSON(http.StatusCreated, publicCheckoutCreated{
		ID:          c.ID,
		URL:         pageBase(h.PageURL, req) + "/" + c.ID,
		Status:      string(c.StatusAt(now)),
		AmountTotal: c.AmountTotal,
		Currency:    c.Currency,
		ExpiresAt:   codex.FormatTime(c.ExpiresAt),
	}), nil
}

// pageBase is the hosted page's base URL for a function of the PublicApi: the configured one, else
// the page on the API that received req (template.yaml cannot name the API to its own functions).
func pageBase(configured string, req *Request) string {
	if configured != "" {
		return configured
	}
	return "https://" + req.RequestContext.DomainName + "/c"
}

// buyerCheckoutView is the hosted page's view of a checkout: what the buyer is asked to pay and
// where to go afterwards. Never the project, metadata, client_reference_id or anything else the
// merchant keeps for itself.
type buyerCheckoutView struct {
	ID          string           `json:"id"`
	Status      string           `json:"status"`
	AmountTotal int64            `json:"amount_total"`
	Currency    string           `json:"currency"`
	LineItems   []codex.LineItem `json:"line_items"`
	SuccessURL  string           `json:"success_url"`
	CancelURL   string           `json:"cancel_url"`
	ExpiresAt   string           `json:"expires_at"`
}

// PublicGetCheckout is GET /public/checkouts/{checkout_id}, for the hosted checkout page. Its only
// credential is the checkout id, 130 random bits that only the buyer (and the merchant) know. A
// checkout made from a button that was archived since stays readable here.
type PublicGetCheckout struct {
	Checkouts codex.CheckoutFinder
	Now       codex.Clock
}

func (h PublicGetCheckout) Serve(ctx context.Context, req *Request) (Response, error) {
	id := req.PathParameters["checkout_id"]
	if !codex.ValidID(codex.CheckoutIDPrefix, id) {
		return Response{}, codex.NotFound("checkout")
	}
	c, err := h.Checkouts.FindCheckout(ctx, id)
	if err != nil {
		return Response{}, err
	}
	v := buyerCheckoutView{
		ID:          c.ID,
		Status:      string(c.StatusAt(h.Now())),
		AmountTotal: c.AmountTotal,
		Currency:    c.Currency,
		LineItems:   c.LineItems,
		SuccessURL:  c.SuccessURL,
		CancelURL:   c.CancelURL,
		ExpiresAt:   codex.FormatTime(c.ExpiresAt),
	}
	if v.LineItems == nil {
		v.LineItems = []codex.LineItem{}
	}
	return withHeader(JSON(http.StatusOK, v), "cache-control", checkoutCacheControl), nil
}
