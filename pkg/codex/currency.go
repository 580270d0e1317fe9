package codex

import (
	"strconv"
	"strings"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
)

// currencies holds the lower-case ISO 4217 code of every currency Codex accepts. It is built once
// from x/text's CLDR tables: the currencies that are legal tender in at least one region today.
// That excludes what currency.ParseISO alone would let through but nobody can pay with: XXX (no
// currency), XTS (testing), precious metals (XAU...), funds codes (USN, CLF...) and withdrawn
// currencies (DEM...).
var currencies = func() map[string]bool {
	m := map[string]bool{}
	for it := currency.Query(); it.Next(); {
		m[strings.ToLower(it.Unit().String())] = true
	}
	// x/text's tables are CLDR 32's (2017); ISO 4217 has changed since. Introduced since:
	for _, code := range []string{
		"mru", // Mauritanian ouguiya, 2018, replacing MRO
		"ves", // Venezuelan bolívar soberano, 2018, replacing VEF
		"ved", // Venezuelan digital bolívar, 2021
		"sle", // Sierra Leonean leone, 2022, redenominating SLL
		"zwg", // Zimbabwe gold, 2024
	} {
		m[code] = true
	}
	// Withdrawn since: nobody can be charged in them any more.
	for _, code := range []string{
		"mro", // by MRU
		"vef", // by VES
		"hrk", // Croatian kuna, by the euro in 2023
	} {
		delete(m, code)
	}
	return m
}()

// ValidateCurrency checks an ISO 4217 code in any case and returns it in lower case, the form Codex
// stores and answers with. Amounts are always integers of the currency's minor unit.
func ValidateCurrency(param, code string) (string, error) {
	if code == "" {
		return "", Missing(param)
	}
	lower := strings.ToLower(code)
	if !currencies[lower] || len(code) != 3 {
		return "", Invalid(param, "%s must be a three-letter ISO 4217 currency code in use, such as usd or eur", param)
	}
	return lower, nil
}

// FormatAmount renders an amount of a currency's minor unit for a buyer, in English: the symbol
// before the number when the currency has one of its own (¥2,000, €20.00, $1,234.50), else the
// number and the ISO code (12.345 KWD). The number of decimals is the currency's minor unit as ISO
// 4217 has it (x/text's CLDR tables): 0 for jpy, 2 for eur, 3 for kwd. Integer arithmetic only, so
// no amount is ever rounded.
func FormatAmount(amount int64, code string) string {
	unit, err := currency.ParseISO(code)
	if err != nil {
		return strconv.FormatInt(amount, 10) + " " + strings.ToUpper(code)
	}
	scale, _ := currency.Standard.Rounding(unit)
	neg := amount < 0
	if neg {
		amount = -amount
	}
	pow := int64(1)
	for range scale {
		pow *= 10
	}
	whole := strconv.FormatInt(amount/pow, 10)
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if scale > 0 {
		frac := strconv.FormatInt(amount%pow, 10)
		b.WriteString("." + strings.Repeat("0", scale-len(frac)) + frac)
	}
	num := b.String()
	if neg {
		num = "-" + num
	}
	iso := unit.String()
	if sym := currencySymbol(unit); sym != iso {
		return sym + num
	}
	return num + " " + iso
}

// currencySymbol is CLDR's English symbol of unit (CA$ for cad, € for eur), or its ISO code where
// English has no symbol of its own.
func currencySymbol(unit currency.Unit) string {
	var st englishState
	currency.Symbol(unit.Amount(0)).Format(&st, 'v')
	sym, _, _ := strings.Cut(st.String(), " ")
	return sym
}

// englishState is the fmt.State x/text's formatters render in English with (its Language method),
// rather than a message.Printer, whose catalog machinery every function importing this package
// would link.
type englishState struct{ strings.Builder }

func (*englishState) Width() (int, bool)     { return 0, false }
func (*englishState) Precision() (int, bool) { return 0, false }
func (*englishState) Flag(int) bool          { return false }
func (*englishState) Language() language.Tag { return language.English }
