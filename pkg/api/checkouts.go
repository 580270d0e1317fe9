package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"codex/pkg/codex"
)

// IdempotencyKeyHeader is the request header that makes a POST safe to retry, and
// IdempotentReplayedHeader the response header that marks an answer replayed from the first request.
const (
	IdempotencyKeyHeader     = "Idempotency-Key"
	IdempotentReplayedHeader = "Idempotent-Replayed"
)

// List limits of GET /v1/checkouts.
const (
	DefaultListLimit = 10
	MaxListLimit     = 100
)

// Checkouts holds what the three checkout routes share.
type Checkouts struct {
	Store codex.CheckoutStore
	Now   codex.Clock
	// PageURL is the hosted checkout page's base URL; a checkout's url is PageURL + "/" + id.
	PageURL string
}

// CheckoutPageURL checks a configured base URL for the hosted page and returns it without a
// trailing slash. Functions call it at start-up, so a bad CHECKOUT_BASE_URL fails the deployment's
// first invocation loudly rather than producing broken links.
func CheckoutPageURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("checkout base URL %q must be an absolute http(s) URL without query or fragment", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// checkoutView is a checkout on the wire. Field order is the documented order.
type checkoutView struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Status            string            `json:"status"`
	PaymentStatus     string            `json:"payment_status"`
	AmountTotal       int64             `json:"amount_total"`
	Currency          string            `json:"currency"`
	LineItems         []codex.LineItem  `json:"line_items"`
	URL               string            `json:"url"`
	SuccessURL        string            `json:"success_url"`
	CancelURL         string            `json:"cancel_url"`
	ClientReferenceID *string           `json:"client_reference_id"`
	Metadata          map[string]string `json:"metadata"`
	CreatedAt         string            `json:"created_at"`
	ExpiresAt         string            `json:"expires_at"`
	// Every project is in test mode (the only processor is payment.TestProcessor).
	Livemode         bool                 `json:"livemode"`
	ButtonID         *string              `json:"button_id"`
	CompletedAt      *string              `json:"completed_at"`
	CustomerEmail    *string              `json:"customer_email"`
	PaymentMethod    *codex.PaymentMethod `json:"payment_method"`
	LastPaymentError *codex.PaymentError  `json:"last_payment_error"`
}

func (h Checkouts) view(c codex.Checkout, now time.Time) checkoutView {
	v := checkoutView{
		ID:            c.ID,
		Object:        "checkout",
		Status:        string(c.StatusAt(now)),
		PaymentStatus: string(c.PaymentStatus),
		AmountTotal:   c.AmountTotal,
		Currency:      c.Currency,
		LineItems:     c.LineItems,
		URL:           h.PageURL + "/" + c.ID,
		SuccessURL:    c.SuccessURL,
		CancelURL:     c.CancelURL,
		Metadata:      c.Metadata,
		CreatedAt:     codex.FormatTime(c.CreatedAt),
		ExpiresAt:     codex.FormatTime(c.ExpiresAt),
	}
	if c.ClientReferenceID != "" {
		v.ClientReferenceID = &c.ClientReferenceID
	}
	if c.ButtonID != "" {
		v.ButtonID = &c.ButtonID
	}
	if !c.CompletedAt.IsZero() {
		at := codex.FormatTime(c.CompletedAt)
		v.CompletedAt = &at
	}
	if c.CustomerEmail != "" {
		v.CustomerEmail = &c.CustomerEmail
	}
	v.PaymentMethod, v.LastPaymentError = c.PaymentMethod, c.LastPaymentError
	if v.LineItems == nil {
		v.LineItems = []codex.LineItem{}
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	return v
}

// CreateCheckout is POST /v1/checkouts.
//
// With an Idempotency-Key, the checkout and a record of the response are written in one DynamoDB
// transaction, so there is never a checkout without its record or a record without its checkout: a
// crash at any point leaves either nothing (the retry creates the checkout) or both (the retry gets
// the replay). Validation happens first and writes nothing, so a corrected retry with the same key
// is processed normally.
type CreateCheckout struct{ Checkouts }

// createCheckoutBody is the wire form of the request. Line items and metadata values are decoded one
// by one: the number of items is checked before any is decoded, a null item is refused, and a
// metadata value is named by its (truncated) key in brackets, metadata[cart].
type createCheckoutBody struct {
	LineItems         []jsontext.Value          `json:"line_items"`
	Currency          string                    `json:"currency"`
	SuccessURL        string                    `json:"success_url"`
	CancelURL         string                    `json:"cancel_url"`
	ClientReferenceID *string                   `json:"client_reference_id"`
	Metadata          map[string]jsontext.Value `json:"metadata"`
	ExpiresIn         *int64                    `json:"expires_in"`
}

// lineItemBody is the wire form of a line item.
type lineItemBody struct {
	Name       string `json:"name"`
	UnitAmount *int64 `json:"unit_amount"`
	Quantity   *int64 `json:"quantity"`
}

func (h CreateCheckout) Serve(ctx context.Context, req *Request) (Response, error) {
	p, err := Principal(req)
	if err != nil {
		return Response{}, err
	}
	key, hasKey := Header(req.Headers, strings.ToLower(IdempotencyKeyHeader))
	if hasKey {
		if err := codex.ValidateIdempotencyKey(IdempotencyKeyHeader, key); err != nil {
			return Response{}, err
		}
	}
	params, err := decodeCheckoutParams(req)
	if err != nil {
		return Response{}, err
	}
	if params, err = params.Validate(); err != nil {
		return Response{}, err
	}

	now := h.Now().UTC().Truncate(time.Millisecond)
	c := codex.NewCheckout(p.ProjectID, params, now)
	// Rendered before the write because, with a key, the exact bytes are stored for replays.
	resp := JSON(http.StatusCreated, h.view(c, now))
	if resp.StatusCode != http.StatusCreated {
		// JSON could not encode the view; never store (and later replay) that as the outcome.
		return Response{}, errors.New("encode checkout view")
	}
	ev, err := h.Event(codex.EventCheckoutCreated, c, now)
	if err != nil {
		return Response{}, err
	}
	if !hasKey {
		if _, err := h.Store.CreateCheckout(ctx, c, ev, nil); err != nil {
			return Response{}, err
		}
		return resp, nil
	}

	rec := &codex.IdempotencyRecord{
		ProjectID:   p.ProjectID,
		Key:         key,
		Fingerprint: params.Fingerprint(),
		StatusCode:  resp.StatusCode,
		Body:        resp.Body,
		CreatedAt:   now,
		ExpiresAt:   now.Add(codex.IdempotencyTTL),
	}
	existing, err := h.Store.CreateCheckout(ctx, c, ev, rec)
	if err != nil {
		return Response{}, err
	}
	if existing == nil {
		return resp, nil
	}
	if existing.Fingerprint != rec.Fingerprint {
		return Response{}, &codex.Error{
			Code:    codex.CodeIdempotencyReused,
			Message: "this Idempotency-Key was already used with different parameters; use a new key for a new request",
			Param:   IdempotencyKeyHeader,
		}
	}
	// The first response, byte for byte: a client that lost it gets exactly what it missed.
	return Response{
		StatusCode: existing.StatusCode,
		Headers:    map[string]string{"content-type": "application/json", strings.ToLower(IdempotentReplayedHeader): "true"},
		Body:       existing.Body,
	}, nil
}

// decodeCheckoutParams decodes the body strictly and names the parameter at fault with its index or
// key, consistently with the names codex validation uses.
func decodeCheckoutParams(req *Request) (codex.CheckoutParams, error) {
	var body createCheckoutBody
	if err := DecodeJSON(req, &body); err != nil {
		return codex.CheckoutParams{}, err
	}
	p := codex.CheckoutParams{
		Currency:          body.Currency,
		SuccessURL:        body.SuccessURL,
		CancelURL:         body.CancelURL,
		ClientReferenceID: body.ClientReferenceID,
		ExpiresIn:         body.ExpiresIn,
	}
	if len(body.LineItems) > codex.MaxLineItems {
		// Refused before decoding each one; Validate says the same for a list that decodes.
		return p, codex.Invalid("line_items", "line_items must have at most %d items, got %d", codex.MaxLineItems, len(body.LineItems))
	}
	for i, raw := range body.LineItems {
		path := fmt.Sprintf("line_items[%d]", i)
		if bytes.Equal(raw, []byte("null")) {
			return p, codex.Invalid(path, "%s must be an object", path)
		}
		var li lineItemBody
		if err := decodeChecked(raw, &li, path); err != nil {
			return p, err
		}
		// Absent is told apart from 0 here, where it is still known: "is required", not "got 0".
		if li.UnitAmount == nil {
			return p, codex.Missing(path + ".unit_amount")
		}
		if li.Quantity == nil {
			return p, codex.Missing(path + ".quantity")
		}
		p.LineItems = append(p.LineItems, codex.LineItem{Name: li.Name, UnitAmount: *li.UnitAmount, Quantity: *li.Quantity})
	}
	if body.Metadata != nil {
		p.Metadata = make(map[string]string, len(body.Metadata))
		// Sorted, so that of several bad values the same one is reported every time.
		for _, k := range slices.Sorted(maps.Keys(body.Metadata)) {
			var v *string
			param := "metadata[" + codex.Truncate(k, codex.MaxMetadataKey) + "]"
			if err := decodeChecked(body.Metadata[k], &v, param); err != nil {
				return p, err
			}
			if v == nil {
				return p, codex.Invalid(param, "%s must be a string", param)
			}
			p.Metadata[k] = *v
		}
	}
	return p, nil
}

// GetCheckout is GET /v1/checkouts/{checkout_id}.
type GetCheckout struct{ Checkouts }

func (h GetCheckout) Serve(ctx context.Context, req *Request) (Response, error) {
	p, err := Principal(req)
	if err != nil {
		return Response{}, err
	}
	id := req.PathParameters["checkout_id"]
	if !codex.ValidID(codex.CheckoutIDPrefix, id) {
		return Response{}, codex.NotFound("checkout")
	}
	c, err := h.Store.GetCheckout(ctx, p.ProjectID, id)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, h.view(c, h.Now())), nil
}

// ListCheckouts is GET /v1/checkouts?limit=&starting_after=: a project's checkouts, newest first.
type ListCheckouts struct{ Checkouts }

// Page is the body of a paginated list: has_more says whether another request with
// starting_after set to the last id would return more.
type Page[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"has_more"`
}

func (h ListCheckouts) Serve(ctx context.Context, req *Request) (Response, error) {
	p, err := Principal(req)
	if err != nil {
		return Response{}, err
	}
	return h.list(ctx, p.ProjectID, req)
}

// ListProjectCheckouts is GET /projects/{project_id}/checkouts?limit=&starting_after=: the same
// list for a member of the project, with a Cognito token (the dashboard's Checkouts tab).
type ListProjectCheckouts struct {
	Checkouts
	Projects codex.ProjectStore
}

func (h ListProjectCheckouts) Serve(ctx context.Context, req *Request) (Response, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	return h.list(ctx, m.Project.ID, req)
}

// list answers a page of project's checkouts, newest first.
func (h Checkouts) list(ctx context.Context, project string, req *Request) (Response, error) {
	limit, after, err := listParams(req.QueryStringParameters)
	if err != nil {
		return Response{}, err
	}
	checkouts, hasMore, err := h.Store.ListCheckouts(ctx, project, limit, after)
	if codex.IsNotFound(err) && after != "" {
		// Another project's checkout is answered exactly like one that does not exist.
		return Response{}, codex.Invalid("starting_after", "no such checkout: %s", after)
	}
	if err != nil {
		return Response{}, err
	}
	now := h.Now()
	out := Page[json.RawMessage]{Data: make([]json.RawMessage, 0, len(checkouts)), HasMore: hasMore}
	size := 0
	for i, c := range checkouts {
		b, err := encodeJSON(h.view(c, now))
		if err != nil {
			return Response{}, err
		}
		// Counted as Lambda's response payload carries it: the body is a JSON string in there,
		// so its quotes and backslashes are escaped again, and its <, > and & become \u003c...
		inPayload, err := json.Marshal(string(b))
		if err != nil {
			return Response{}, err
		}
		if size += len(inPayload) - 1; size > MaxPageBytes && i > 0 {
			// The rest is where starting_after=<the last id returned> goes on.
			out.HasMore = true
			break
		}
		out.Data = append(out.Data, b)
	}
	return JSON(http.StatusOK, out), nil
}

// MaxPageBytes bounds the checkouts of one page as they sit in Lambda's response payload. That
// payload is at most 6 MB (over it, API Gateway answers a bare 500), and 100 checkouts each at
// every field's limit come to more than that, so a page ends early, with has_more, once the next
// checkout would take it past this.
const MaxPageBytes = 4 << 20

// listParams reads limit and starting_after. Unknown parameters are refused like unknown body
// fields, so a misspelt one (startingAfter) is an error rather than silently ignored.
func listParams(q map[string]string) (limit int, after string, err error) {
	for k := range q {
		if k != "limit" && k != "starting_after" {
			return 0, "", unknownParam(k, "")
		}
	}
	limit = DefaultListLimit
	if s, ok := q["limit"]; ok {
		n, err := strconv.Atoi(s)
		// Atoi accepts a sign; a limit is plain digits.
		if err != nil || strings.ContainsAny(s, "+-") || n < 1 || n > MaxListLimit {
			return 0, "", codex.Invalid("limit", "limit must be an integer from 1 to %d", MaxListLimit)
		}
		limit = n
	}
	if s, ok := q["starting_after"]; ok {
		if !codex.ValidID(codex.CheckoutIDPrefix, s) {
			return 0, "", codex.Invalid("starting_after", "starting_after must be a checkout id (chk_...)")
		}
		after = s
	}
	return limit, after, nil
}
