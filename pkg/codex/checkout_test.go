package codex

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func validParams() CheckoutParams {
	return CheckoutParams{
		LineItems:  []LineItem{{Name: "T-shirt", UnitAmount: 2000, Quantity: 2}, {Name: "Socks", UnitAmount: 500, Quantity: 1}},
		Currency:   "usd",
		SuccessURL: "https://shop.example/done?session={CHECKOUT_ID}",
		CancelURL:  "https://shop.example/cart",
	}
}

func TestValidateCheckoutNormalises(t *testing.T) {
	p := validParams()
	p.LineItems[0].Name = "  T-shirt\t"
	p.Currency = "USD"
	got, err := p.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if got.LineItems[0].Name != "T-shirt" || got.Currency != "usd" {
		t.Errorf("not normalised: %+v", got)
	}
	if got.ExpiresIn == nil || *got.ExpiresIn != DefaultExpiresIn {
		t.Errorf("expires_in = %v, want the default %d", got.ExpiresIn, DefaultExpiresIn)
	}
	if got.Metadata == nil || got.ClientReferenceID != nil {
		t.Errorf("metadata %v, client_reference_id %v", got.Metadata, got.ClientReferenceID)
	}
	if got.AmountTotal() != 4500 {
		t.Errorf("amount total = %d", got.AmountTotal())
	}
	if p.LineItems[0].Name != "  T-shirt\t" {
		t.Error("Validate modified its receiver's line items")
	}
}

func TestValidateCheckoutAcceptsLimits(t *testing.T) {
	p := validParams()
	p.LineItems = make([]LineItem, MaxLineItems)
	for i := range p.LineItems {
		p.LineItems[i] = LineItem{Name: strings.Repeat("é", MaxLineItemName), UnitAmount: MaxUnitAmount, Quantity: MaxQuantity}
	}
	p.Currency = "jPy"
	p.SuccessURL = "https://x.example/" + strings.Repeat("a", MaxURLLength-len("https://x.example/"))
	p.CancelURL = "http://localhost:8080/cancel"
	p.ClientReferenceID = ptr(strings.Repeat("r", MaxClientReferenceID))
	p.Metadata = map[string]string{}
	for i := range MaxMetadataPairs {
		p.Metadata[fmt.Sprintf("%040d", i)] = strings.Repeat("v", MaxMetadataValue)
	}
	p.Metadata["empty"] = ""
	p.Metadata["address"] = "1 Main St\r\nFlat 2\tleft door"
	delete(p.Metadata, fmt.Sprintf("%040d", 0))
	delete(p.Metadata, fmt.Sprintf("%040d", 1))
	for _, e := range []int64{MinExpiresIn, MaxExpiresIn} {
		p.ExpiresIn = ptr(e)
		if _, err := p.Validate(); err != nil {
			t.Fatalf("expires_in %d: %v", e, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1/x", "http://[::1]:3000/", "HTTPS://EXAMPLE.COM", "https://shop.example:8443/a#frag", "https://shop.example:1/", "https://shop.example:65535/"} {
		p.SuccessURL = u
		if _, err := p.Validate(); err != nil {
			t.Errorf("success_url %q: %v", u, err)
		}
	}
	// Currencies newer than x/text's tables, in any case.
	for _, c := range []string{"MRU", "ves", "VED", "sle", "zwg"} {
		p.Currency = c
		if _, err := p.Validate(); err != nil {
			t.Errorf("currency %q: %v", c, err)
		}
	}
}

// TestAmountTotalBound proves the claim the API makes: with every limit at its maximum the total is
// exact as an int64 and as a float64, the type a JavaScript client parses it into.
func TestAmountTotalBound(t *testing.T) {
	p := CheckoutParams{LineItems: make([]LineItem, MaxLineItems)}
	for i := range p.LineItems {
		p.LineItems[i] = LineItem{UnitAmount: MaxUnitAmount, Quantity: MaxQuantity}
	}
	total := p.AmountTotal()
	if total != MaxAmountTotal {
		t.Fatalf("total = %d, MaxAmountTotal = %d", total, int64(MaxAmountTotal))
	}
	if want := int64(9_999_999_900_000); total != want {
		t.Fatalf("total = %d, want %d", total, want)
	}
	if total >= 1<<53 {
		t.Fatalf("total %d is not below 2^53", total)
	}
	if f := float64(total); int64(f) != total || f+1 == f {
		t.Fatalf("total %d is not exact as a float64", total)
	}
	if MaxAmountTotal > math.MaxInt64/2 {
		t.Fatal("no headroom")
	}
}

func TestValidateCheckoutRejects(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name  string
		edit  func(*CheckoutParams)
		code  Code
		param string
	}{
		{"no line items", func(p *CheckoutParams) { p.LineItems = nil }, CodeParameterMissing, "line_items"},
		{"too many line items", func(p *CheckoutParams) { p.LineItems = make([]LineItem, MaxLineItems+1) }, CodeParameterInvalid, "line_items"},
		{"blank name", func(p *CheckoutParams) { p.LineItems[1].Name = "  " }, CodeParameterMissing, "line_items[1].name"},
		{"long name", func(p *CheckoutParams) { p.LineItems[1].Name = long(MaxLineItemName + 1) }, CodeParameterInvalid, "line_items[1].name"},
		{"control in name", func(p *CheckoutParams) { p.LineItems[0].Name = "a\x07b" }, CodeParameterInvalid, "line_items[0].name"},
		{"zero amount", func(p *CheckoutParams) { p.LineItems[0].UnitAmount = 0 }, CodeParameterInvalid, "line_items[0].unit_amount"},
		{"negative amount", func(p *CheckoutParams) { p.LineItems[0].UnitAmount = -5 }, CodeParameterInvalid, "line_items[0].unit_amount"},
		{"huge amount", func(p *CheckoutParams) { p.LineItems[1].UnitAmount = MaxUnitAmount + 1 }, CodeParameterInvalid, "line_items[1].unit_amount"},
		{"zero quantity", func(p *CheckoutParams) { p.LineItems[0].Quantity = 0 }, CodeParameterInvalid, "line_items[0].quantity"},
		{"huge quantity", func(p *CheckoutParams) { p.LineItems[0].Quantity = MaxQuantity + 1 }, CodeParameterInvalid, "line_items[0].quantity"},
		{"no currency", func(p *CheckoutParams) { p.Currency = "" }, CodeParameterMissing, "currency"},
		{"unknown currency", func(p *CheckoutParams) { p.Currency = "abc" }, CodeParameterInvalid, "currency"},
		{"no-currency code", func(p *CheckoutParams) { p.Currency = "XXX" }, CodeParameterInvalid, "currency"},
		{"testing code", func(p *CheckoutParams) { p.Currency = "xts" }, CodeParameterInvalid, "currency"},
		{"gold", func(p *CheckoutParams) { p.Currency = "xau" }, CodeParameterInvalid, "currency"},
		{"withdrawn currency", func(p *CheckoutParams) { p.Currency = "dem" }, CodeParameterInvalid, "currency"},
		{"kuna, withdrawn in 2023", func(p *CheckoutParams) { p.Currency = "hrk" }, CodeParameterInvalid, "currency"},
		{"old ouguiya", func(p *CheckoutParams) { p.Currency = "mro" }, CodeParameterInvalid, "currency"},
		{"old bolívar", func(p *CheckoutParams) { p.Currency = "vef" }, CodeParameterInvalid, "currency"},
		{"funds code", func(p *CheckoutParams) { p.Currency = "usn" }, CodeParameterInvalid, "currency"},
		{"two letters", func(p *CheckoutParams) { p.Currency = "us" }, CodeParameterInvalid, "currency"},
		{"four letters", func(p *CheckoutParams) { p.Currency = "usdd" }, CodeParameterInvalid, "currency"},
		{"kelvin sign", func(p *CheckoutParams) { p.Currency = "\u212Arw" }, CodeParameterInvalid, "currency"},
		{"no success_url", func(p *CheckoutParams) { p.SuccessURL = "" }, CodeParameterMissing, "success_url"},
		{"relative success_url", func(p *CheckoutParams) { p.SuccessURL = "/done" }, CodeParameterInvalid, "success_url"},
		{"http success_url", func(p *CheckoutParams) { p.SuccessURL = "http://shop.example/done" }, CodeParameterInvalid, "success_url"},
		{"http lookalike host", func(p *CheckoutParams) { p.SuccessURL = "http://localhost.evil.example/" }, CodeParameterInvalid, "success_url"},
		{"javascript url", func(p *CheckoutParams) { p.SuccessURL = "javascript:alert(1)" }, CodeParameterInvalid, "success_url"},
		{"ftp url", func(p *CheckoutParams) { p.SuccessURL = "ftp://shop.example/" }, CodeParameterInvalid, "success_url"},
		{"userinfo", func(p *CheckoutParams) { p.SuccessURL = "https://shop.example@evil.example/" }, CodeParameterInvalid, "success_url"},
		{"no host", func(p *CheckoutParams) { p.SuccessURL = "https:///path" }, CodeParameterInvalid, "success_url"},
		{"space", func(p *CheckoutParams) { p.SuccessURL = "https://shop.example/a b" }, CodeParameterInvalid, "success_url"},
		{"newline", func(p *CheckoutParams) { p.SuccessURL = "https://shop.example/\n" }, CodeParameterInvalid, "success_url"},
		{"long url", func(p *CheckoutParams) { p.SuccessURL = "https://shop.example/" + long(MaxURLLength) }, CodeParameterInvalid, "success_url"},
		{"bad port", func(p *CheckoutParams) { p.SuccessURL = "https://shop.example:port/" }, CodeParameterInvalid, "success_url"},
		{"port only", func(p *CheckoutParams) { p.SuccessURL = "https://:443/done" }, CodeParameterInvalid, "success_url"},
		{"port 0", func(p *CheckoutParams) { p.SuccessURL = "https://shop.example:0/" }, CodeParameterInvalid, "success_url"},
		{"port 65536", func(p *CheckoutParams) { p.SuccessURL = "https://shop.example:65536/" }, CodeParameterInvalid, "success_url"},
		{"no cancel_url", func(p *CheckoutParams) { p.CancelURL = "" }, CodeParameterMissing, "cancel_url"},
		{"http cancel_url", func(p *CheckoutParams) { p.CancelURL = "http://10.0.0.1/" }, CodeParameterInvalid, "cancel_url"},
		{"empty client_reference_id", func(p *CheckoutParams) { p.ClientReferenceID = ptr("") }, CodeParameterInvalid, "client_reference_id"},
		{"long client_reference_id", func(p *CheckoutParams) { p.ClientReferenceID = ptr(long(MaxClientReferenceID + 1)) }, CodeParameterInvalid, "client_reference_id"},
		{"control in client_reference_id", func(p *CheckoutParams) { p.ClientReferenceID = ptr("a\nb") }, CodeParameterInvalid, "client_reference_id"},
		{"bidi override in client_reference_id", func(p *CheckoutParams) { p.ClientReferenceID = ptr("order-\u202e1") }, CodeParameterInvalid, "client_reference_id"},
		{"zero width in client_reference_id", func(p *CheckoutParams) { p.ClientReferenceID = ptr("order\u200b1") }, CodeParameterInvalid, "client_reference_id"},
		{"bidi override in line item name", func(p *CheckoutParams) { p.LineItems[0].Name = "gpj.\u202eexe" }, CodeParameterInvalid, "line_items[0].name"},
		{"zero width in metadata key", func(p *CheckoutParams) { p.Metadata = map[string]string{"order\ufeff": "v"} }, CodeParameterInvalid, "metadata[order\ufeff]"},
		{"too many metadata keys", func(p *CheckoutParams) {
			p.Metadata = map[string]string{}
			for i := range MaxMetadataPairs + 1 {
				p.Metadata[fmt.Sprint(i)] = "v"
			}
		}, CodeParameterInvalid, "metadata"},
		{"empty metadata key", func(p *CheckoutParams) { p.Metadata = map[string]string{"": "v"} }, CodeParameterInvalid, "metadata"},
		{"long metadata key", func(p *CheckoutParams) { p.Metadata = map[string]string{long(MaxMetadataKey + 1): "v"} }, CodeParameterInvalid, "metadata[" + long(MaxMetadataKey) + "…]"},
		{"bracket in metadata key", func(p *CheckoutParams) { p.Metadata = map[string]string{"a[b]": "v"} }, CodeParameterInvalid, "metadata[a[b]]"},
		{"control in metadata key", func(p *CheckoutParams) { p.Metadata = map[string]string{"a\tb": "v"} }, CodeParameterInvalid, "metadata[a\tb]"},
		{"NUL in metadata value", func(p *CheckoutParams) { p.Metadata = map[string]string{"order": "a\x00b"} }, CodeParameterInvalid, "metadata[order]"},
		{"escape in metadata value", func(p *CheckoutParams) { p.Metadata = map[string]string{"order": "\x1b[31m"} }, CodeParameterInvalid, "metadata[order]"},
		{"C1 control in metadata value", func(p *CheckoutParams) { p.Metadata = map[string]string{"order": "a\u0085"} }, CodeParameterInvalid, "metadata[order]"},
		{"long metadata value", func(p *CheckoutParams) { p.Metadata = map[string]string{"order": long(MaxMetadataValue + 1)} }, CodeParameterInvalid, "metadata[order]"},
		{"short expiry", func(p *CheckoutParams) { p.ExpiresIn = ptr[int64](MinExpiresIn - 1) }, CodeParameterInvalid, "expires_in"},
		{"zero expiry", func(p *CheckoutParams) { p.ExpiresIn = ptr[int64](0) }, CodeParameterInvalid, "expires_in"},
		{"long expiry", func(p *CheckoutParams) { p.ExpiresIn = ptr[int64](MaxExpiresIn + 1) }, CodeParameterInvalid, "expires_in"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := validParams()
			tc.edit(&p)
			_, err := p.Validate()
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code || e.Param != tc.param {
				t.Fatalf("Validate() = %v; want code %s, param %q", err, tc.code, tc.param)
			}
		})
	}
}

func TestCurrencies(t *testing.T) {
	for _, code := range []string{"usd", "EUR", "jpy", "Krw", "bhd", "kwd", "chf", "xof", "xcd"} {
		got, err := ValidateCurrency("currency", code)
		if err != nil || got != strings.ToLower(code) {
			t.Errorf("ValidateCurrency(%q) = %q, %v", code, got, err)
		}
	}
	if len(currencies) < 140 {
		t.Errorf("only %d currencies", len(currencies))
	}
}

// TestFingerprint checks that a retry of the same request matches however it is spelled, and that
// any change of meaning does not.
func TestFingerprint(t *testing.T) {
	mustValidate := func(p CheckoutParams) CheckoutParams {
		t.Helper()
		v, err := p.Validate()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	base := validParams()
	base.Metadata = map[string]string{"a": "1", "b": "2", "c": "3"}
	fp := mustValidate(base).Fingerprint()
	if len(fp) != 64 {
		t.Fatalf("fingerprint %q", fp)
	}

	same := validParams()
	same.Currency = "USD"
	same.LineItems[0].Name = " T-shirt "
	same.ExpiresIn = ptr[int64](DefaultExpiresIn)
	same.Metadata = map[string]string{"c": "3", "b": "2", "a": "1"}
	if got := mustValidate(same).Fingerprint(); got != fp {
		t.Error("an equivalent request has another fingerprint")
	}

	for name, edit := range map[string]func(*CheckoutParams){
		"amount":       func(p *CheckoutParams) { p.LineItems[0].UnitAmount++ },
		"item order":   func(p *CheckoutParams) { p.LineItems[0], p.LineItems[1] = p.LineItems[1], p.LineItems[0] },
		"currency":     func(p *CheckoutParams) { p.Currency = "eur" },
		"url":          func(p *CheckoutParams) { p.CancelURL += "?x" },
		"reference":    func(p *CheckoutParams) { p.ClientReferenceID = ptr("order-1") },
		"metadata":     func(p *CheckoutParams) { p.Metadata["a"] = "2" },
		"metadata key": func(p *CheckoutParams) { p.Metadata["d"] = "" },
		"expiry":       func(p *CheckoutParams) { p.ExpiresIn = ptr[int64](3600) },
	} {
		p := validParams()
		p.Metadata = map[string]string{"a": "1", "b": "2", "c": "3"}
		edit(&p)
		if mustValidate(p).Fingerprint() == fp {
			t.Errorf("changing the %s keeps the fingerprint", name)
		}
	}
}

func TestNewCheckoutAndExpiry(t *testing.T) {
	p, err := validParams().Validate()
	if err != nil {
		t.Fatal(err)
	}
	p.ExpiresIn = ptr[int64](3600)
	p.ClientReferenceID = ptr("cart-9")
	now := time.Date(2026, 3, 4, 5, 6, 7, 891_234_567, time.FixedZone("x", -3600))
	c := NewCheckout("prj_X", p, now)
	if !ValidID(CheckoutIDPrefix, c.ID) {
		t.Errorf("id %q", c.ID)
	}
	wantCreated := time.Date(2026, 3, 4, 6, 6, 7, 891_000_000, time.UTC)
	if !c.CreatedAt.Equal(wantCreated) || c.CreatedAt.Location() != time.UTC {
		t.Errorf("created_at %v, want %v", c.CreatedAt, wantCreated)
	}
	if !c.ExpiresAt.Equal(wantCreated.Add(time.Hour)) {
		t.Errorf("expires_at %v", c.ExpiresAt)
	}
	if c.Status != CheckoutOpen || c.PaymentStatus != PaymentUnpaid || c.AmountTotal != 4500 || c.ClientReferenceID != "cart-9" || c.ProjectID != "prj_X" {
		t.Errorf("checkout %+v", c)
	}
	for _, tc := range []struct {
		at   time.Time
		want CheckoutStatus
	}{
		{c.CreatedAt, CheckoutOpen},
		{c.ExpiresAt.Add(-time.Millisecond), CheckoutOpen},
		{c.ExpiresAt, CheckoutExpired},
		{c.ExpiresAt.Add(time.Hour), CheckoutExpired},
	} {
		if got := c.StatusAt(tc.at); got != tc.want {
			t.Errorf("StatusAt(%v) = %s, want %s", tc.at, got, tc.want)
		}
	}
	done := c
	done.Status = CheckoutComplete
	if done.StatusAt(c.ExpiresAt.Add(time.Hour)) != CheckoutComplete {
		t.Error("a complete checkout expired")
	}
}

func TestValidateIdempotencyKey(t *testing.T) {
	for _, k := range []string{"a", "0b1f3c2e-7d8a-4f4e-9b1a-2c3d4e5f6a7b", "order 42 / attempt #1", strings.Repeat("k", MaxIdempotencyKey)} {
		if err := ValidateIdempotencyKey("Idempotency-Key", k); err != nil {
			t.Errorf("%q: %v", k, err)
		}
	}
	for _, k := range []string{"", strings.Repeat("k", MaxIdempotencyKey+1), "tab\there", "é", "nul\x00", "del\x7f"} {
		err := ValidateIdempotencyKey("Idempotency-Key", k)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeParameterInvalid || e.Param != "Idempotency-Key" {
			t.Errorf("%q: %v", k, err)
		}
	}
}
