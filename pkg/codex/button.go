package codex

import (
	"context"
	"fmt"
	"time"
)

// ButtonIDPrefix starts every buy button id. Button ids are public (they are in the snippet on the
// merchant's page), so they need not be secret, but they come from NewID like every id.
const ButtonIDPrefix = "btn_"

// MaxButtonQuantity is the largest quantity a buyer may ask for through a button: a browser is
// untrusted, so it gets a tighter bound than a merchant's server (MaxQuantity).
const MaxButtonQuantity = 100

// Button is a buy button: a product with a fixed price that anyone may turn into a checkout of its
// project through the public endpoints, without a key. Everything a checkout made from it charges
// (name, unit amount, currency) comes from here, never from the browser.
type Button struct {
	ID         string
	ProjectID  string
	Name       string
	UnitAmount int64
	Currency   string
	SuccessURL string
	CancelURL  string
	// Active is false once the button is archived (DELETE in the dashboard): it then answers 404
	// publicly, while the checkouts already made from it stay readable and its id is never reused.
	Active    bool
	CreatedAt time.Time
	CreatedBy string // user id of the dashboard user who created it
}

// ButtonParams is what a dashboard user asks for when creating a button.
type ButtonParams struct {
	Name       string
	UnitAmount *int64 // nil when not given
	Currency   string
	SuccessURL string
	CancelURL  string
}

// Validate checks every field with the rules of a checkout (a button's name is a line item's name,
// its unit amount a line item's unit amount, its currency and URLs those of the checkout), so every
// button makes a valid checkout. It returns the normalised parameters: name trimmed, currency lower
// case. Errors name the button's own fields (name, unit_amount, ...).
func (p ButtonParams) Validate() (ButtonParams, error) {
	out := ButtonParams{UnitAmount: p.UnitAmount, SuccessURL: p.SuccessURL, CancelURL: p.CancelURL}
	var err error
	if out.Name, err = ValidateLabel("name", p.Name, MaxLineItemName); err != nil {
		return out, err
	}
	if p.UnitAmount == nil {
		return out, Missing("unit_amount")
	}
	if err := checkRange("unit_amount", *p.UnitAmount, 1, MaxUnitAmount); err != nil {
		return out, err
	}
	if out.Currency, err = ValidateCurrency("currency", p.Currency); err != nil {
		return out, err
	}
	if err := ValidateRedirectURL("success_url", p.SuccessURL); err != nil {
		return out, err
	}
	if err := ValidateRedirectURL("cancel_url", p.CancelURL); err != nil {
		return out, err
	}
	return out, nil
}

// NewButton builds an active button of project from parameters Validate returned. now is truncated to
// milliseconds, the precision of stored timestamps.
func NewButton(projectID, createdBy string, p ButtonParams, now time.Time) Button {
	return Button{
		ID:         NewID(ButtonIDPrefix),
		ProjectID:  projectID,
		Name:       p.Name,
		UnitAmount: *p.UnitAmount,
		Currency:   p.Currency,
		SuccessURL: p.SuccessURL,
		CancelURL:  p.CancelURL,
		Active:     true,
		CreatedAt:  now.UTC().Truncate(time.Millisecond),
		CreatedBy:  createdBy,
	}
}

// ButtonCheckoutParams is all a buyer's browser may say when it creates a checkout from a button.
type ButtonCheckoutParams struct {
	Quantity          *int64  // 1 to MaxButtonQuantity; nil for 1
	ClientReferenceID *string // the merchant page's own reference (a cart id), optional
}

// Validate checks what the browser sent and returns it with the quantity defaulted to 1 (never nil).
// It needs no button, so a request can be refused before anything is read.
func (q ButtonCheckoutParams) Validate() (ButtonCheckoutParams, error) {
	quantity := int64(1)
	if q.Quantity != nil {
		if err := checkRange("quantity", *q.Quantity, 1, MaxButtonQuantity); err != nil {
			return q, err
		}
		quantity = *q.Quantity
	}
	if q.ClientReferenceID != nil {
		if err := validateClientReferenceID(*q.ClientReferenceID); err != nil {
			return q, err
		}
	}
	return ButtonCheckoutParams{Quantity: &quantity, ClientReferenceID: q.ClientReferenceID}, nil
}

// CheckoutParams returns the validated parameters of a checkout of this button: one line item whose
// name and unit amount are the button's, in the button's currency, with its redirect URLs. Only the
// quantity and the client reference come from the buyer. The result has passed
// CheckoutParams.Validate, the very rules of POST /v1/checkouts.
func (b Button) CheckoutParams(q ButtonCheckoutParams) (CheckoutParams, error) {
	q, err := q.Validate()
	if err != nil {
		return CheckoutParams{}, err
	}
	p, err := CheckoutParams{
		LineItems:         []LineItem{{Name: b.Name, UnitAmount: b.UnitAmount, Quantity: *q.Quantity}},
		Currency:          b.Currency,
		SuccessURL:        b.SuccessURL,
		CancelURL:         b.CancelURL,
		ClientReferenceID: q.ClientReferenceID,
	}.Validate()
	if err != nil {
		// The buyer's fields were checked above, so the stored button itself no longer passes
		// (a rule got stricter since it was created). That is not the buyer's doing: report it as
		// internal (%v, not %w, so the client sees no parameter it never sent).
		return CheckoutParams{}, fmt.Errorf("button %s no longer makes a valid checkout: %v", b.ID, err)
	}
	return p, nil
}

// ButtonStore keeps buy buttons.
type ButtonStore interface {
	// CreateButton stores b.
	CreateButton(ctx context.Context, b Button) error
	// ListButtons returns a project's buttons, archived ones included, newest first.
	ListButtons(ctx context.Context, projectID string) ([]Button, error)
	// GetButton returns a project's button, archived or not, read with strong consistency; NotFound
	// if there is none with that id in that project, so another project's button id looks exactly
	// like a missing one.
	GetButton(ctx context.Context, projectID, id string) (Button, error)
	// ArchiveButton marks an active button archived as of at; NotFound if the project has no
	// active button with that id.
	ArchiveButton(ctx context.Context, projectID, id string, at time.Time) error
}

// CheckoutFinder reads a checkout by its id alone, for the buyer's hosted page, which knows nothing
// else. The id's 130 random bits are what keeps a checkout from being found by anyone but its buyer.
type CheckoutFinder interface {
	// FindCheckout returns the checkout with that id, of whatever project; NotFound if none.
	FindCheckout(ctx context.Context, id string) (Checkout, error)
}
