package codex

import (
	"strings"
	"testing"
	"time"
)

func validButtonParams() ButtonParams {
	return ButtonParams{
		Name:       "  Poster A2 ",
		UnitAmount: ptr(int64(2500)),
		Currency:   "EUR",
		SuccessURL: "https://shop.example/thanks",
		CancelURL:  "http://localhost:3000/back",
	}
}

func TestButtonParamsValidate(t *testing.T) {
	got, err := validButtonParams().Validate()
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Poster A2" || got.Currency != "eur" || *got.UnitAmount != 2500 {
		t.Fatalf("not normalised: %+v", got)
	}
	b := NewButton("prj_P", "user-1", got, time.Date(2026, 1, 2, 3, 4, 5, 678_999_999, time.FixedZone("x", 3600)))
	if !ValidID(ButtonIDPrefix, b.ID) || !b.Active || b.ProjectID != "prj_P" || b.CreatedBy != "user-1" ||
		!b.CreatedAt.Equal(time.Date(2026, 1, 2, 2, 4, 5, 678_000_000, time.UTC)) || b.CreatedAt.Location() != time.UTC {
		t.Fatalf("new button %+v", b)
	}

	// The checkout rules, under the button's own parameter names.
	for name, tc := range map[string]struct {
		edit  func(*ButtonParams)
		code  Code
		param string
	}{
		"no name":          {func(p *ButtonParams) { p.Name = " " }, CodeParameterMissing, "name"},
		"long name":        {func(p *ButtonParams) { p.Name = strings.Repeat("n", MaxLineItemName+1) }, CodeParameterInvalid, "name"},
		"control in name":  {func(p *ButtonParams) { p.Name = "a\x07b" }, CodeParameterInvalid, "name"},
		"format in name":   {func(p *ButtonParams) { p.Name = "a\u200db" }, CodeParameterInvalid, "name"},
		"no amount":        {func(p *ButtonParams) { p.UnitAmount = nil }, CodeParameterMissing, "unit_amount"},
		"zero amount":      {func(p *ButtonParams) { p.UnitAmount = ptr(int64(0)) }, CodeParameterInvalid, "unit_amount"},
		"negative amount":  {func(p *ButtonParams) { p.UnitAmount = ptr(int64(-5)) }, CodeParameterInvalid, "unit_amount"},
		"too large amount": {func(p *ButtonParams) { p.UnitAmount = ptr(int64(MaxUnitAmount + 1)) }, CodeParameterInvalid, "unit_amount"},
		"no currency":      {func(p *ButtonParams) { p.Currency = "" }, CodeParameterMissing, "currency"},
		"XXX currency":     {func(p *ButtonParams) { p.Currency = "XXX" }, CodeParameterInvalid, "currency"},
		"no success_url":   {func(p *ButtonParams) { p.SuccessURL = "" }, CodeParameterMissing, "success_url"},
		"http success_url": {func(p *ButtonParams) { p.SuccessURL = "http://shop.example/ok" }, CodeParameterInvalid, "success_url"},
		"userinfo cancel":  {func(p *ButtonParams) { p.CancelURL = "https://a:b@shop.example/" }, CodeParameterInvalid, "cancel_url"},
		"no cancel_url":    {func(p *ButtonParams) { p.CancelURL = "" }, CodeParameterMissing, "cancel_url"},
	} {
		t.Run(name, func(t *testing.T) {
			p := validButtonParams()
			tc.edit(&p)
			_, err := p.Validate()
			var e *Error
			if ErrorCode(err) != tc.code || !asError(err, &e) || e.Param != tc.param {
				t.Fatalf("got %v, want %s on %s", err, tc.code, tc.param)
			}
		})
	}

	// The limits themselves are accepted.
	p := validButtonParams()
	p.Name, p.UnitAmount = strings.Repeat("é", MaxLineItemName), ptr(int64(MaxUnitAmount))
	if _, err := p.Validate(); err != nil {
		t.Fatalf("limits refused: %v", err)
	}
}

func asError(err error, e **Error) bool {
	var ok bool
	*e, ok = err.(*Error)
	return ok
}

func TestButtonCheckoutParams(t *testing.T) {
	bp, err := validButtonParams().Validate()
	if err != nil {
		t.Fatal(err)
	}
	b := NewButton("prj_P", "u", bp, time.Now())

	p, err := b.CheckoutParams(ButtonCheckoutParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.LineItems) != 1 || p.LineItems[0] != (LineItem{Name: "Poster A2", UnitAmount: 2500, Quantity: 1}) ||
		p.Currency != "eur" || p.SuccessURL != b.SuccessURL || p.CancelURL != b.CancelURL ||
		p.ClientReferenceID != nil || len(p.Metadata) != 0 || *p.ExpiresIn != DefaultExpiresIn || p.AmountTotal() != 2500 {
		t.Fatalf("checkout params %+v", p)
	}

	p, err = b.CheckoutParams(ButtonCheckoutParams{Quantity: ptr(int64(MaxButtonQuantity)), ClientReferenceID: ptr("cart-7")})
	if err != nil || p.LineItems[0].Quantity != MaxButtonQuantity || *p.ClientReferenceID != "cart-7" || p.AmountTotal() != 2500*MaxButtonQuantity {
		t.Fatalf("checkout params %+v, %v", p, err)
	}

	for name, tc := range map[string]struct {
		q     ButtonCheckoutParams
		param string
	}{
		"quantity 0":        {ButtonCheckoutParams{Quantity: ptr(int64(0))}, "quantity"},
		"quantity 101":      {ButtonCheckoutParams{Quantity: ptr(int64(MaxButtonQuantity + 1))}, "quantity"},
		"negative quantity": {ButtonCheckoutParams{Quantity: ptr(int64(-1))}, "quantity"},
		"empty reference":   {ButtonCheckoutParams{ClientReferenceID: ptr("")}, "client_reference_id"},
		"long reference":    {ButtonCheckoutParams{ClientReferenceID: ptr(strings.Repeat("r", MaxClientReferenceID+1))}, "client_reference_id"},
		"control reference": {ButtonCheckoutParams{ClientReferenceID: ptr("a\nb")}, "client_reference_id"},
		"format reference":  {ButtonCheckoutParams{ClientReferenceID: ptr("a\u202eb")}, "client_reference_id"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := b.CheckoutParams(tc.q)
			var e *Error
			if ErrorCode(err) != CodeParameterInvalid || !asError(err, &e) || e.Param != tc.param {
				t.Fatalf("got %v, want parameter_invalid on %s", err, tc.param)
			}
		})
	}

	// A stored button that no longer passes the rules is the platform's problem, not the buyer's: an
	// internal error that names no parameter the buyer never sent.
	stale := b
	stale.Currency = "xxx"
	if _, err := stale.CheckoutParams(ButtonCheckoutParams{}); err == nil || ErrorCode(err) != CodeInternal {
		t.Fatalf("stale button: %v, want an internal error", err)
	}
}
