package codex

import (
	"strings"

	"golang.org/x/text/currency"
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
