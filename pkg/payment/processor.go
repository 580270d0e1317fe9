package payment

import (
	"context"
)

// Request is one payment: an amount in the currency's minor unit, charged to a card. Key is unique
// per attempt and the same on a retry of that attempt, for a PSP's idempotency key.
type Request struct {
	Key        string
	CheckoutID string
	Amount     int64
	Currency   string // lower-case ISO 4217
	Card       Card
}

// Result is a processor's answer. Paid, or declined with a Stripe-style code and a message the buyer
// can be shown; Field is the form field the decline is about (FieldNumber, FieldExpiry, FieldCVC).
type Result struct {
	Paid    bool
	Decline *Decline
}

// Decline is why a payment was refused.
type Decline struct {
	Code    string
	Message string
	Field   string
}

// Processor creates and confirms a payment in one call. An error means the outcome is unknown
// (network, outage), never a decline: declines are Results.
type Processor interface {
	Pay(ctx context.Context, r Request) (Result, error)
}

// Decline codes, as Stripe names them.
const (
	CodeCardDeclined      = "card_declined"
	CodeInsufficientFunds = "insufficient_funds"
	CodeExpiredCard       = "expired_card"
	CodeIncorrectCVC      = "incorrect_cvc"
	// CodeTestModeLiveCard is Stripe's decline_code for a real card used in test mode.
	CodeTestModeLiveCard = "test_mode_live_card"
)

// TestProcessor is the test-mode processor: Stripe's published test card numbers decide the
// outcome, and any other (Luhn-valid) number is declined, because test mode never charges a real
// card. It has no state and makes no network call.
type TestProcessor struct{}

// testCards are Stripe's test numbers this processor knows; a nil Decline succeeds.
var testCards = map[string]*Decline{
	"4242424242424242": nil,
	"5555555555554444": nil,
	"4000000000000002": {CodeCardDeclined, "Your card was declined.", FieldNumber},
	"4000000000009995": {CodeInsufficientFunds, "Your card has insufficient funds.", FieldNumber},
	"4000000000000069": {CodeExpiredCard, "Your card has expired.", FieldExpiry},
	"4000000000000127": {CodeIncorrectCVC, "Your card's security code is incorrect.", FieldCVC},
}

// Pay implements Processor.
func (TestProcessor) Pay(_ context.Context, r Request) (Result, error) {
	d, known := testCards[r.Card.Number()]
	if !known {
		return Result{Decline: &Decline{
			Code:    CodeTestModeLiveCard,
			Message: "Your card was declined: this checkout is in test mode and takes only test cards, such as 4242 4242 4242 4242.",
			Field:   FieldNumber,
		}}, nil
	}
	if d != nil {
		cp := *d
		return Result{Decline: &cp}, nil
	}
	return Result{Paid: true}, nil
}
