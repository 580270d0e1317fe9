package api

import (
	"context"
	"net/http"

	"codex/pkg/codex"
)

// ExpireCheckout is POST /v1/checkouts/{checkout_id}/expire: the merchant closes an open checkout
// at once (the buyer changed their mind, the stock ran out), so that it can no longer be paid.
//
// The checkout is read first, scoped to the key's project, then moved by the store's one
// conditional write (still open, no payment in progress), so a payment that completes in
// between wins and this answers 409 checkout_not_open: never a paid checkout marked expired.
type ExpireCheckout struct {
	Checkouts
	Expirer codex.CheckoutExpirer
}

func (h ExpireCheckout) Serve(ctx context.Context, req *Request) (Response, error) {
	p, err := Principal(req)
	if err != nil {
		return Response{}, err
	}
	// No parameters: an empty body or {} (DecodeJSON names any member sent).
	if err := DecodeJSON(req, &struct{}{}); err != nil {
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
	now := h.Now()
	if c.StatusAt(now) != codex.CheckoutOpen {
		// Past expires_at it reads as expired already: the sweeper stores that, not this route.
		return Response{}, codex.Errorf(codex.CodeCheckoutNotOpen, "the checkout is %s, not open", c.StatusAt(now))
	}
	expired := c
	expired.Status = codex.CheckoutExpired
	ev, err := h.Event(codex.EventCheckoutExpired, expired, now)
	if err != nil {
		return Response{}, err
	}
	c, err = h.Expirer.ExpireCheckout(ctx, c, ev, now)
	if err != nil {
		return Response{}, err
	}
	return JSON(http.StatusOK, h.view(c, now)), nil
}
