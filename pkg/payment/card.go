// Package payment takes a buyer's card and charges it through a Processor. The only processor
// shipped is TestProcessor, which follows Stripe's published test cards: every project is in test
// mode. A live processor is a PSP (Stripe, Adyen) behind the same interface, where raw card numbers
// never reach Codex at all.
package payment

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"codex/pkg/codex"
)

// Form fields a card error can be tied to: the param of the *codex.Error ParseCard returns.
const (
	FieldNumber = "card_number"
	FieldExpiry = "card_expiry"
	FieldCVC    = "card_cvc"
)

// maxExpiryYears is how far ahead an expiry may be: cards are issued for a few years, so anything
// further is a typing mistake.
const maxExpiryYears = 20

// Card is a parsed, checked card. Its number and CVC are unexported and never leave it except to a
// Processor: String, Format (every verb, %v and %+v and %#v included), LogValue and MarshalText
// show the brand and last four digits only, so a card passed by mistake to a log line or an error
// message cannot leak.
type Card struct {
	number   string // digits only
	cvc      string
	ExpMonth int
	ExpYear  int // four digits
	Brand    string
	Last4    string
}

// Number returns the card number, digits only, for a Processor.
func (c Card) Number() string { return c.number }

// CVC returns the card's security code, for a Processor.
func (c Card) CVC() string { return c.cvc }

func (c Card) String() string { return c.Brand + " •••• " + c.Last4 }

// GoString keeps %#v from printing the struct's fields.
func (c Card) GoString() string { return c.String() }

// Format makes every fmt verb print String.
func (c Card) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue makes slog log the brand and last four digits only.
func (c Card) LogValue() slog.Value {
	return slog.GroupValue(slog.String("brand", c.Brand), slog.String("last4", c.Last4))
}

// MarshalText keeps encoding/json and friends from reaching the fields.
func (c Card) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// ParseCard checks what a buyer typed: a number of 13 to 19 digits passing the Luhn check (spaces
// and dashes allowed), an expiry MM/YY or MM/YYYY that is this month or later (a card is valid to
// the end of its month), and a CVC of 3 digits, 4 for American Express. The first problem is
// returned as a parameter_invalid *codex.Error whose Param is the field (FieldNumber...) and whose
// message can be shown to the buyer; it never contains what was typed.
func ParseCard(number, expiry, cvc string, now time.Time) (Card, error) {
	digits, ok := cardDigits(number)
	switch {
	case strings.TrimSpace(number) == "":
		return Card{}, codex.Invalid(FieldNumber, "Enter your card number.")
	case !ok || len(digits) < 13 || len(digits) > 19 || !Luhn(digits):
		return Card{}, codex.Invalid(FieldNumber, "Your card number is incorrect.")
	}
	c := Card{number: digits, Brand: Brand(digits), Last4: digits[len(digits)-4:]}
	if c.Brand == "amex" && len(digits) != 15 {
		return Card{}, codex.Invalid(FieldNumber, "Your card number is incorrect.")
	}
	month, year, ok := parseExpiry(expiry)
	if !ok {
		return Card{}, codex.Invalid(FieldExpiry, "Enter the expiry date as MM/YY.")
	}
	now = now.UTC()
	if year < now.Year() || year == now.Year() && month < int(now.Month()) {
		return Card{}, codex.Invalid(FieldExpiry, "Your card's expiry date is in the past.")
	}
	if year > now.Year()+maxExpiryYears {
		return Card{}, codex.Invalid(FieldExpiry, "Your card's expiry year is invalid.")
	}
	c.ExpMonth, c.ExpYear = month, year
	want := 3
	if c.Brand == "amex" {
		want = 4
	}
	cvc = strings.TrimSpace(cvc)
	if len(cvc) != want || !allDigits(cvc) {
		return Card{}, codex.Invalid(FieldCVC, "Your card's security code must be %d digits.", want)
	}
	c.cvc = cvc
	return c, nil
}

// cardDigits removes the spaces and dashes people type between groups; ok is false if anything
// else than digits remains.
func cardDigits(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch >= '0' && ch <= '9':
			b.WriteByte(ch)
		case ch == ' ' || ch == '-':
		default:
			return "", false
		}
		if b.Len() > 19 {
			return "", false
		}
	}
	return b.String(), true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseExpiry reads MM/YY, MM/YYYY, MM / YY or MMYY (what the browser's cc-exp autofill and people
// type).
func parseExpiry(s string) (month, year int, ok bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	mm, yy, found := strings.Cut(s, "/")
	if !found {
		if len(s) != 4 {
			return 0, 0, false
		}
		mm, yy = s[:2], s[2:]
	}
	if len(mm) < 1 || len(mm) > 2 || !allDigits(mm) || (len(yy) != 2 && len(yy) != 4) || !allDigits(yy) {
		return 0, 0, false
	}
	month, _ = strconv.Atoi(mm)
	year, _ = strconv.Atoi(yy)
	if len(yy) == 2 {
		year += 2000
	}
	return month, year, month >= 1 && month <= 12
}

// Luhn reports whether a string of digits passes the Luhn check.
func Luhn(digits string) bool {
	sum := 0
	for i := 0; i < len(digits); i++ {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return len(digits) > 0 && sum%10 == 0
}

// Brand names the card network from the number's prefix, with Stripe's brand names.
func Brand(digits string) string {
	p := func(n int) int {
		if len(digits) < n {
			return -1
		}
		v, _ := strconv.Atoi(digits[:n])
		return v
	}
	switch {
	case p(1) == 4:
		return "visa"
	case p(2) >= 51 && p(2) <= 55, p(4) >= 2221 && p(4) <= 2720:
		return "mastercard"
	case p(2) == 34 || p(2) == 37:
		return "amex"
	case p(4) == 6011, p(2) == 65, p(3) >= 644 && p(3) <= 649:
		return "discover"
	case p(4) >= 3528 && p(4) <= 3589:
		return "jcb"
	case p(2) == 36, p(2) == 38, p(3) >= 300 && p(3) <= 305:
		return "diners"
	case p(2) == 62:
		return "unionpay"
	}
	return "unknown"
}
