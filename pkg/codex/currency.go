package codex

import (
	"strings"

	"golang.org/x/text/currency"
)

// currencies maps the lower-case ISO 4217 code of every currency Codex accepts to its number of
// minor-unit decimals (2 for usd: amounts are cents; 0 for jpy). It is built once from x/text's CLDR
// tables: the currencies that are legal tender in at least one region today. That excludes what
// currency.ParseISO alone would let through but nobody can pay with: XXX (no currency), XTS
// (testing), precious metals (XAU...), funds codes (USN, CLF...) and withdrawn currencies (DEM...).
var currencies = func() map[string]int {
	m := map[string]int{}
	for it := currency.Query(); it.Next(); {
		u := it.Unit()
		scale, _ := currency.Standard.Rounding(u)
		m[strings.ToLower(u.String())] = scale
	}
	// x/text's tables are CLDR 32's (2017); ISO 4217 has changed since. Currencies introduced
	// since, with their minor units:
	for code, decimals := range map[string]int{
		"mru": 2, // Mauritanian ouguiya, 2018, replacing MRO
		"ves": 2, // Venezuelan bolívar soberano, 2018, replacing VEF
		"ved": 2, // Venezuelan digital bolívar, 2021
		"sle": 2, // Sierra Leonean leone, 2022, redenominating SLL
		"zwg": 2, // Zimbabwe gold, 2024
	} {
		m[code] = decimals
	}
	// and withdrawn since: nobody can be charged in them any more.
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
// stores and answers with.
func ValidateCurrency(param, code string) (string, error) {
	if code == "" {
		return "", Missing(param)
	}
	lower := strings.ToLower(code)
	if _, ok := currencies[lower]; !ok || len(code) != 3 {
		return "", Invalid(param, "%s must be a three-letter ISO 4217 currency code in use, such as usd or eur", param)
	}
	return lower, nil
}

// CurrencyDecimals returns how many decimals a currency's minor unit has (2 for usd, 0 for jpy, 3
// for bhd), so that an amount in minor units can be shown as money. ok is false for a code
// ValidateCurrency would refuse.
func CurrencyDecimals(code string) (decimals int, ok bool) {
	decimals, ok = currencies[strings.ToLower(code)]
	return decimals, ok
}
