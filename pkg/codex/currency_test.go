package codex

import "testing"

// TestFormatAmount: amounts in the currency's minor unit, shown with its own number of decimals,
// its symbol before the number where it has one, else the ISO code after it.
func TestFormatAmount(t *testing.T) {
	for _, tc := range []struct {
		amount int64
		code   string
		want   string
	}{
		{2000, "jpy", "¥2,000"},
		{2000, "eur", "€20.00"},
		{12345, "kwd", "12.345 KWD"},
		{5, "usd", "$0.05"},
		{123456789, "usd", "$1,234,567.89"},
		{MaxAmountTotal, "eur", "€99,999,999,000.00"},
		{100, "cad", "CA$1.00"},
		{100, "chf", "1.00 CHF"},
		{1000, "gbp", "£10.00"},
		{0, "eur", "€0.00"},
		{999, "clp", "999 CLP"}, // no decimals, no symbol of its own in English
	} {
		if got := FormatAmount(tc.amount, tc.code); got != tc.want {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", tc.amount, tc.code, got, tc.want)
		}
	}
}
