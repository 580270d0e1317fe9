package payment

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"codex/pkg/codex"
)

var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// TestTestCards: each of Stripe's test cards the issue lists gets its outcome; any other Luhn-valid
// number is declined as a live card.
func TestTestCards(t *testing.T) {
	for _, tc := range []struct {
		number, code, field string
	}{
		{"4242 4242 4242 4242", "", ""},
		{"5555 5555 5555 4444", "", ""},
		{"4000 0000 0000 0002", CodeCardDeclined, FieldNumber},
		{"4000 0000 0000 9995", CodeInsufficientFunds, FieldNumber},
		{"4000 0000 0000 0069", CodeExpiredCard, FieldExpiry},
		{"4000 0000 0000 0127", CodeIncorrectCVC, FieldCVC},
		{"4111 1111 1111 1111", CodeTestModeLiveCard, FieldNumber}, // a Luhn-valid Visa, not a test card of ours
		{"3782 822463 10005", CodeTestModeLiveCard, FieldNumber},   // Amex
	} {
		cvc := "123"
		if strings.HasPrefix(tc.number, "37") {
			cvc = "1234"
		}
		card, err := ParseCard(tc.number, "12/30", cvc, now)
		if err != nil {
			t.Fatalf("%s: %v", tc.number, err)
		}
		res, err := TestProcessor{}.Pay(context.Background(), Request{Key: "k", CheckoutID: "chk_x", Amount: 100, Currency: "eur", Card: card})
		if err != nil {
			t.Fatalf("%s: %v", tc.number, err)
		}
		switch {
		case tc.code == "" && (!res.Paid || res.Decline != nil):
			t.Errorf("%s: %+v, want paid", tc.number, res)
		case tc.code != "" && (res.Paid || res.Decline == nil || res.Decline.Code != tc.code || res.Decline.Field != tc.field || res.Decline.Message == ""):
			t.Errorf("%s: %+v, want declined %s on %s", tc.number, res, tc.code, tc.field)
		}
		if tc.code == CodeTestModeLiveCard && !strings.Contains(res.Decline.Message, "test mode") {
			t.Errorf("%s: message %q does not say test mode takes only test cards", tc.number, res.Decline.Message)
		}
	}
}

func TestParseCard(t *testing.T) {
	for _, tc := range []struct {
		name, number, exp, cvc string
		field                  string // "" for valid
		brand                  string
	}{
		{"visa", "4242424242424242", "12/30", "123", "", "visa"},
		{"spaces", " 4242 4242 4242 4242 ", "12 / 30", " 123 ", "", "visa"},
		{"dashes", "5555-5555-5555-4444", "12/2030", "123", "", "mastercard"},
		{"MMYY", "4242424242424242", "1230", "123", "", "visa"},
		{"this month", "4242424242424242", "12/26", "123", "", "visa"},
		{"amex", "378282246310005", "01/27", "1234", "", "amex"},
		{"empty number", "", "12/30", "123", FieldNumber, ""},
		{"Luhn failure", "4242424242424241", "12/30", "123", FieldNumber, ""},
		{"letters", "4242 4242 4242 424a", "12/30", "123", FieldNumber, ""},
		{"12 digits", "424242424242", "12/30", "123", FieldNumber, ""},
		{"20 digits", "42424242424242424242", "12/30", "123", FieldNumber, ""},
		{"amex of 16 digits", "3782822463100053", "12/30", "1234", FieldNumber, ""},
		{"last month", "4242424242424242", "11/26", "123", FieldExpiry, ""},
		{"last year", "4242424242424242", "12/25", "123", FieldExpiry, ""},
		{"month 0", "4242424242424242", "00/30", "123", FieldExpiry, ""},
		{"month 13", "4242424242424242", "13/30", "123", FieldExpiry, ""},
		{"no expiry", "4242424242424242", "", "123", FieldExpiry, ""},
		{"3-digit year", "4242424242424242", "12/300", "123", FieldExpiry, ""},
		{"far future", "4242424242424242", "12/2099", "123", FieldExpiry, ""},
		{"2-digit CVC", "4242424242424242", "12/30", "12", FieldCVC, ""},
		{"4-digit CVC on a Visa", "4242424242424242", "12/30", "1234", FieldCVC, ""},
		{"3-digit CVC on an Amex", "378282246310005", "12/30", "123", FieldCVC, ""},
		{"letters in the CVC", "4242424242424242", "12/30", "12a", FieldCVC, ""},
	} {
		c, err := ParseCard(tc.number, tc.exp, tc.cvc, now)
		var e *codex.Error
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field == "" && c.Brand != tc.brand:
			t.Errorf("%s: brand %q, want %q", tc.name, c.Brand, tc.brand)
		case tc.field != "" && (!asError(err, &e) || e.Param != tc.field || e.Code != codex.CodeParameterInvalid):
			t.Errorf("%s: %v, want an error on %s", tc.name, err, tc.field)
		}
		if err != nil && tc.number != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.number)) {
			t.Errorf("%s: the error %q repeats the number", tc.name, err)
		}
	}
}

func asError(err error, e **codex.Error) bool {
	ce, ok := err.(*codex.Error)
	*e = ce
	return ok
}

func TestLuhnAndBrand(t *testing.T) {
	for number, brand := range map[string]string{
		"4242424242424242": "visa", "5555555555554444": "mastercard", "2223003122003222": "mastercard",
		"378282246310005": "amex", "6011111111111117": "discover", "3566002020360505": "jcb",
		"36227206271667": "diners", "6200000000000005": "unionpay",
	} {
		if !Luhn(number) || Brand(number) != brand {
			t.Errorf("%s: Luhn %v, brand %q; want true, %q", number, Luhn(number), Brand(number), brand)
		}
	}
	for _, bad := range []string{"4242424242424241", "", "1"} {
		if Luhn(bad) {
			t.Errorf("Luhn(%q) = true", bad)
		}
	}
}

// TestCardNeverPrints: whatever prints or logs a card, by mistake or not, shows its brand and last
// four digits and never the number or the CVC.
func TestCardNeverPrints(t *testing.T) {
	c, err := ParseCard("4000 0025 0000 3155", "12/30", "987", now)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("pay", "card", c, "ptr", &c)
	js, _ := json.Marshal(map[string]any{"card": c})
	outputs := []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s %q %x %d", c, c, c, c, c, c, c), fmt.Sprintf("%v %+v", &c, &c),
		fmt.Sprintf("%v", struct{ C Card }{c}), fmt.Sprintf("%+v", []Card{c}), c.String(), logged.String(), string(js),
		fmt.Sprint(fmt.Errorf("wrapped: %v", c)),
	}
	for _, out := range outputs {
		if strings.Contains(out, "400002500000") || strings.Contains(out, "4000002500003155") || strings.Contains(out, "987") {
			t.Errorf("a card printed its number or CVC: %s", out)
		}
	}
	if !strings.Contains(logged.String(), `"card":{"brand":"visa","last4":"3155"}`) {
		t.Errorf("slog line %s does not show brand and last4", logged.String())
	}
	if c.Number() != "4000002500003155" || c.CVC() != "987" {
		t.Error("the processor does not get the number and CVC")
	}
}

// FuzzParseCard: any input either parses to a card whose number passes Luhn and whose CVC is
// digits, or fails with an error tied to one field; an error never repeats the input.
func FuzzParseCard(f *testing.F) {
	for _, s := range [][3]string{
		{"4242 4242 4242 4242", "12/30", "123"}, {"378282246310005", "0127", "1234"}, {"", "", ""},
		{"4242-4242-4242-4242", "12 / 2030", "12"}, {"４２４２", "1/30", "１２３"}, {"4242\x004242", "12/30", "123"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, number, exp, cvc string) {
		c, err := ParseCard(number, exp, cvc, now)
		if err != nil {
			e, ok := err.(*codex.Error)
			if !ok || (e.Param != FieldNumber && e.Param != FieldExpiry && e.Param != FieldCVC) {
				t.Fatalf("error %v is not tied to a field", err)
			}
			if digits, _ := cardDigits(number); len(digits) >= 6 && strings.Contains(e.Message, digits) {
				t.Fatalf("error %q repeats the number", e.Message)
			}
			return
		}
		if !Luhn(c.Number()) || len(c.Number()) < 13 || len(c.Number()) > 19 || !allDigits(c.CVC()) || c.Last4 != c.Number()[len(c.Number())-4:] {
			t.Fatalf("accepted a bad card: %q %q %q", number, exp, cvc)
		}
		if c.ExpYear < now.Year() || c.ExpMonth < 1 || c.ExpMonth > 12 {
			t.Fatalf("accepted expiry %d/%d", c.ExpMonth, c.ExpYear)
		}
		if s := fmt.Sprintf("%v", c); strings.Contains(s, c.Number()) {
			t.Fatalf("%%v printed the number")
		}
	})
}
