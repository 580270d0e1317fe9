package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"codex/pkg/codex"
	"codex/pkg/codex/codextest"
	"codex/pkg/dynamo"
	"codex/pkg/payment"
)

// cardForm is the hosted page's form as a buyer fills it in with card number.
func cardForm(number string) url.Values {
	return url.Values{"email": {"buyer@example.com"}, "card_number": {number}, "card_expiry": {"12/34"}, "card_cvc": {"123"}}
}

// countingProcessor is the test processor, counting its calls and taking delay over each.
type countingProcessor struct {
	calls atomic.Int64
	delay time.Duration
}

func (p *countingProcessor) Pay(ctx context.Context, r payment.Request) (payment.Result, error) {
	p.calls.Add(1)
	time.Sleep(p.delay)
	return payment.TestProcessor{}.Pay(ctx, r)
}

// pageBench is the hosted page's two routes over a moto store, a clock and a counting processor.
type pageBench struct {
	t         *testing.T
	store     *dynamo.Store
	now       time.Time
	processor *countingProcessor
	project   string
}

var pageT0 = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

func newPageBench(t *testing.T) *pageBench {
	t.Helper()
	b := &pageBench{t: t, store: newTestStore(t), now: pageT0, processor: &countingProcessor{}}
	p := codex.Project{ID: codex.NewID(codex.ProjectIDPrefix), Name: "Tea & <Mugs>", CreatedAt: pageT0, CreatedBy: "alice"}
	if err := b.store.CreateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	b.project = p.ID
	return b
}

// checkout stores an open checkout of items in currency, expiring in expiresIn seconds.
func (b *pageBench) checkout(currency string, expiresIn int64, items ...codex.LineItem) codex.Checkout {
	b.t.Helper()
	if len(items) == 0 {
		items = []codex.LineItem{{Name: "Green tea", UnitAmount: 450, Quantity: 2}, {Name: "Mug", UnitAmount: 1200, Quantity: 1}}
	}
	p, err := codex.CheckoutParams{LineItems: items, Currency: currency, ExpiresIn: &expiresIn,
		SuccessURL: "https://shop.example/thanks?session={CHECKOUT_ID}", CancelURL: "http://localhost:8080/cart"}.Validate()
	if err != nil {
		b.t.Fatal(err)
	}
	c := codex.NewCheckout(b.project, p, b.now)
	ev, err := Checkouts{}.Event(codex.EventCheckoutCreated, c, b.now)
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.store.CreateCheckout(context.Background(), c, ev, nil); err != nil {
		b.t.Fatal(err)
	}
	return c
}

func (b *pageBench) clock() time.Time { return b.now }

func (b *pageBench) get(id string) Response {
	b.t.Helper()
	req := fixtureRequest(b.t, "public-request.json")
	req.RouteKey, req.PathParameters, req.Body = rkCheckoutPage, map[string]string{"checkout_id": id}, ""
	resp, _ := Handler(discardLog(), CheckoutPage{Checkouts: b.store, Projects: b.store, Now: b.clock})(context.Background(), req)
	return resp
}

func (b *pageBench) pay(id string, form url.Values) Response {
	b.t.Helper()
	req := fixtureRequest(b.t, "public-request.json")
	req.RouteKey, req.PathParameters, req.Body = rkPay, map[string]string{"checkout_id": id}, form.Encode()
	req.Headers["content-type"] = "application/x-www-form-urlencoded"
	return b.send(req)
}

func (b *pageBench) send(req Request) Response {
	resp, _ := Handler(discardLog(), PayCheckout{Checkouts: b.store, Projects: b.store, Payments: b.store,
		Processor: b.processor, Now: b.clock, Log: discardLog()})(context.Background(), req)
	return resp
}

func (b *pageBench) find(id string) codex.Checkout {
	b.t.Helper()
	c, err := b.store.FindCheckout(context.Background(), id)
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}

// TestPayEveryCardOutcome: each test card through POST /c/{id}/pay against DynamoDB (moto): paid
// completes the checkout and redirects; a decline keeps it open with last_payment_error and shows
// the message tied to its field; a retry with a good card then pays and clears the error.
func TestPayEveryCardOutcome(t *testing.T) {
	t.Parallel()
	b := newPageBench(t)
	for _, tc := range []struct {
		number, code, field string
		status              int
	}{
		{"4242 4242 4242 4242", "", "", http.StatusSeeOther},
		{"5555555555554444", "", "", http.StatusSeeOther},
		{"4000 0000 0000 0002", payment.CodeCardDeclined, payment.FieldNumber, http.StatusPaymentRequired},
		{"4000 0000 0000 9995", payment.CodeInsufficientFunds, payment.FieldNumber, http.StatusPaymentRequired},
		{"4000 0000 0000 0069", payment.CodeExpiredCard, payment.FieldExpiry, http.StatusPaymentRequired},
		{"4000 0000 0000 0127", payment.CodeIncorrectCVC, payment.FieldCVC, http.StatusPaymentRequired},
		{"4111 1111 1111 1111", payment.CodeTestModeLiveCard, payment.FieldNumber, http.StatusPaymentRequired},
		{"4242 4242 4242 4241", "", payment.FieldNumber, http.StatusBadRequest}, // Luhn: refused before any charge
	} {
		t.Run(strings.ReplaceAll(tc.number, " ", ""), func(t *testing.T) {
			b.t = t
			c := b.checkout("eur", 3600)
			calls := b.processor.calls.Load()
			resp := b.pay(c.ID, cardForm(tc.number))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.500s", resp.StatusCode, tc.status, resp.Body)
			}
			if strings.Contains(resp.Body, strings.ReplaceAll(tc.number, " ", "")) || strings.Contains(resp.Body, tc.number) {
				t.Error("the page repeats the card number")
			}
			got := b.find(c.ID)
			switch {
			case tc.status == http.StatusSeeOther:
				if want := "https://shop.example/thanks?session=" + c.ID; resp.Headers["location"] != want {
					t.Errorf("location %q, want %q", resp.Headers["location"], want)
				}
				pm := got.PaymentMethod
				if got.Status != codex.CheckoutComplete || got.PaymentStatus != codex.PaymentPaid || !got.CompletedAt.Equal(b.now) ||
					got.CustomerEmail != "buyer@example.com" || pm == nil || pm.Last4 != tc.number[len(tc.number)-4:] || got.LastPaymentError != nil {
					t.Errorf("stored %+v, want complete and paid by %s", got, tc.number)
				}
				return
			case tc.code != "":
				if got.Status != codex.CheckoutOpen || got.PaymentStatus != codex.PaymentUnpaid || got.LastPaymentError == nil ||
					got.LastPaymentError.Code != tc.code || got.PaymentMethod != nil {
					t.Errorf("stored %+v, want open, unpaid, last_payment_error %s", got, tc.code)
				}
			default:
				if b.processor.calls.Load() != calls || got.LastPaymentError != nil {
					t.Errorf("an invalid card reached the processor or was recorded: %+v", got)
				}
			}
			// The message is by its field, the field is marked invalid and described by it, and
			// the error summary links to it.
			errID := tc.field + "-error"
			if !strings.Contains(resp.Body, `<p class="err" id="`+errID+`">`) ||
				!regexp.MustCompile(`id="`+tc.field+`"[^>]*aria-invalid="true" aria-describedby="[^"]*`+errID+`"[^>]* autofocus>`).MatchString(resp.Body) ||
				!strings.Contains(resp.Body, `<a href="#`+tc.field+`">`) {
				t.Errorf("the error is not tied to %s:\n%s", tc.field, resp.Body)
			}
			if !strings.Contains(resp.Body, `value="buyer@example.com"`) {
				t.Error("the email typed is not kept")
			}
			// Try again with a good card.
			if resp := b.pay(c.ID, cardForm("4242424242424242")); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("retry: %d %.300s", resp.StatusCode, resp.Body)
			}
			if got := b.find(c.ID); got.Status != codex.CheckoutComplete || got.LastPaymentError != nil {
				t.Errorf("after the retry: %+v", got)
			}
		})
	}
}

// TestPayRefusesWithoutCharging: unknown, expired and paid checkouts and bad forms get a page and
// never reach the processor or change the checkout.
func TestPayRefusesWithoutCharging(t *testing.T) {
	t.Parallel()
	b := newPageBench(t)
	open := b.checkout("usd", 3600)
	expiring := b.checkout("usd", codex.MinExpiresIn)
	paid := b.checkout("usd", 3600)
	wantStatus(t, b.pay(paid.ID, cardForm("4242424242424242")), http.StatusSeeOther)
	calls := b.processor.calls.Load()
	before := map[string]codex.Checkout{open.ID: b.find(open.ID), expiring.ID: b.find(expiring.ID), paid.ID: b.find(paid.ID)}

	form := func(edit func(url.Values)) url.Values {
		f := cardForm("4242424242424242")
		edit(f)
		return f
	}
	withBody := func(id, ct, body string) Response {
		req := fixtureRequest(t, "public-request.json")
		req.RouteKey, req.PathParameters, req.Body = rkPay, map[string]string{"checkout_id": id}, body
		if ct == "" {
			delete(req.Headers, "content-type")
		} else {
			req.Headers["content-type"] = ct
		}
		return b.send(req)
	}
	b.now = pageT0.Add(codex.MinExpiresIn*time.Second - codex.PaymentLease/2) // expiring is too close to its end to start a payment
	for _, tc := range []struct {
		name   string
		resp   Response
		status int
		says   string
	}{
		{"unknown", b.pay("chk_AAAAAAAAAAAAAAAAAAAAAAAAAA", cardForm("4242424242424242")), 404, "Checkout not found"},
		{"malformed id", b.pay("chk_x", cardForm("4242424242424242")), 404, "Checkout not found"},
		{"paid", b.pay(paid.ID, cardForm("4242424242424242")), 409, "already paid"},
		{"expiring", b.pay(expiring.ID, cardForm("4242424242424242")), 410, "This checkout has expired"},
		{"no email", b.pay(open.ID, form(func(f url.Values) { f.Del("email") })), 400, "Enter your email address."},
		{"bad email", b.pay(open.ID, form(func(f url.Values) { f.Set("email", "Buyer <b@example.com>") })), 400, "Enter an email address like"},
		{"invalid UTF-8 email", b.pay(open.ID, form(func(f url.Values) { f.Set("email", "b\xff@example.com") })), 400, "Enter an email address like"},
		{"email with a control character", b.pay(open.ID, form(func(f url.Values) { f.Set("email", "b\x01@example.com") })), 400, "Enter an email address like"},
		{"past expiry", b.pay(open.ID, form(func(f url.Values) { f.Set("card_expiry", "06/26") })), 400, "expiry date is in the past"},
		{"short CVC", b.pay(open.ID, form(func(f url.Values) { f.Set("card_cvc", "12") })), 400, "must be 3 digits"},
		{"unknown field", b.pay(open.ID, form(func(f url.Values) { f.Set("amount", "1") })), 400, "a field it should not have"},
		{"field twice", b.pay(open.ID, form(func(f url.Values) { f.Add("card_cvc", "123") })), 400, "more than once"},
		{"JSON", withBody(open.ID, "application/json", `{"card_number":"4242424242424242"}`), 415, "application/x-www-form-urlencoded"},
		{"no content type", withBody(open.ID, "", cardForm("4242424242424242").Encode()), 415, "application/x-www-form-urlencoded"},
		{"too large", withBody(open.ID, "application/x-www-form-urlencoded", cardForm("4242424242424242").Encode()+"&x="+strings.Repeat("a", maxFormBytes)), 413, "too large"},
		{"bad escape", withBody(open.ID, "application/x-www-form-urlencoded", "email=%zz"), 400, "could not be read"},
	} {
		if tc.resp.StatusCode != tc.status || !strings.Contains(tc.resp.Body, tc.says) {
			t.Errorf("%s: %d, want %d saying %q: %.400s", tc.name, tc.resp.StatusCode, tc.status, tc.says, tc.resp.Body)
		}
		if ct := tc.resp.Headers["content-type"]; ct != "text/html; charset=utf-8" {
			t.Errorf("%s: content-type %q", tc.name, ct)
		}
	}
	// The expired checkout's page says so too.
	b.now = pageT0.Add(codex.MinExpiresIn * time.Second)
	if r := b.get(expiring.ID); r.StatusCode != http.StatusGone || !strings.Contains(r.Body, "This checkout has expired") || strings.Contains(r.Body, "<form") {
		t.Errorf("expired page: %d %.300s", r.StatusCode, r.Body)
	}
	if n := b.processor.calls.Load(); n != calls {
		t.Errorf("the processor was called %d more times", n-calls)
	}
	for id, c := range before {
		if got := b.find(id); !reflect.DeepEqual(got, c) {
			t.Errorf("%s changed: %+v, was %+v", id, got, c)
		}
	}
}

// TestPayExactlyOnce: 50 concurrent submissions of the same checkout, against DynamoDB (moto), make
// one processor call and one completion; every other one gets the in-progress or already-paid
// page (409).
func TestPayExactlyOnce(t *testing.T) {
	t.Parallel()
	b := newPageBench(t)
	b.processor.delay = 50 * time.Millisecond // so that the submissions overlap the charge
	c := b.checkout("eur", 3600)
	const n = 50
	statuses := make([]Response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			statuses[i] = b.pay(c.ID, cardForm("4242424242424242"))
		})
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, r := range statuses {
		count[r.StatusCode]++
		if r.StatusCode == http.StatusConflict && !strings.Contains(r.Body, "already in progress") && !strings.Contains(r.Body, "already paid") {
			t.Errorf("a 409 that says neither: %.400s", r.Body)
		}
	}
	if count[http.StatusSeeOther] != 1 || count[http.StatusConflict] != n-1 {
		t.Errorf("statuses %v, want one 303 and %d 409", count, n-1)
	}
	if calls := b.processor.calls.Load(); calls != 1 {
		t.Errorf("the processor was called %d times, want once", calls)
	}
	if got := b.find(c.ID); got.Status != codex.CheckoutComplete || got.PaymentStatus != codex.PaymentPaid {
		t.Errorf("checkout %+v, want complete and paid", got)
	}
}

// TestCheckoutPage: the form's markup (labels, autocomplete purposes, test mode banner, total in
// the currency's minor unit, cancel link), its headers, no script, and its weight.
func TestCheckoutPage(t *testing.T) {
	t.Parallel()
	b := newPageBench(t)
	for _, tc := range []struct {
		currency string
		amount   int64
		total    string
	}{
		{"jpy", 2000, "¥2,000"}, {"eur", 2000, "€20.00"}, {"kwd", 12345, "12.345 KWD"}, {"usd", 123456, "$1,234.56"},
	} {
		c := b.checkout(tc.currency, 3600, codex.LineItem{Name: "Item", UnitAmount: tc.amount, Quantity: 1})
		r := b.get(c.ID)
		if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `<td class="n total">`+tc.total+`</td>`) || !strings.Contains(r.Body, "Pay "+tc.total) {
			t.Errorf("%s: total %q not shown: %d", tc.currency, tc.total, r.StatusCode)
		}
	}
	c := b.checkout("eur", 3600)
	r := b.get(c.ID)
	for _, want := range []string{
		`<h1>Tea &amp; &lt;Mugs&gt;</h1>`, `<strong>Test mode</strong>`, `<html lang="en">`,
		`<td>Green tea</td><td class="n">2</td><td class="n">€9.00</td>`, `€21.00`,
		`<label for="email">Email</label>`, `id="email" name="email" type="email" autocomplete="email"`,
		`<label for="card_number">Card number</label>`, `autocomplete="cc-number"`,
		`<label for="card_expiry">Expiry date`, `autocomplete="cc-exp"`,
		`<label for="card_cvc">Security code`, `autocomplete="cc-csc"`,
		`<form method="post" action="` + c.ID + `/pay"`, `<button type="submit">Pay €21.00</button>`,
		`<a href="http://localhost:8080/cart">Cancel and return to the merchant</a>`,
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(strings.ToLower(r.Body), "<script") || strings.Contains(r.Body, " on") && regexp.MustCompile(`\son[a-z]+=`).MatchString(r.Body) {
		t.Error("the page has script")
	}
	wantPageHeaders(t, r, "'self' https://shop.example http://localhost:8080")
	// Nothing is loaded from anywhere: the only URLs are links (cancel_url), the form's own
	// action and the data: favicon.
	for _, m := range regexp.MustCompile(`\s(src|href|action)="([^"]*)"`).FindAllStringSubmatch(r.Body, -1) {
		if v := m[2]; v != "data:," && v != "http://localhost:8080/cart" && v != c.ID+"/pay" && !strings.HasPrefix(v, "#") {
			t.Errorf("the page refers to %s=%q", m[1], v)
		}
	}

	// Paid: a page that says so, with a link on to success_url.
	wantStatus(t, b.pay(c.ID, cardForm("5555 5555 5555 4444")), http.StatusSeeOther)
	r = b.get(c.ID)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, "already paid with mastercard ending 4444") ||
		!strings.Contains(r.Body, `href="https://shop.example/thanks?session=`+c.ID+`"`) || strings.Contains(r.Body, "<form") {
		t.Errorf("paid page: %d %.500s", r.StatusCode, r.Body)
	}
	for _, id := range []string{"chk_AAAAAAAAAAAAAAAAAAAAAAAAAA", "chk_" + strings.Repeat("A", 4000), "../../v1"} {
		if r := b.get(id); r.StatusCode != http.StatusNotFound || !strings.Contains(r.Body, "Checkout not found") {
			t.Errorf("%.20s: %d, want the 404 page", id, r.StatusCode)
		}
	}
}

// wantPageHeaders checks the security headers of a page, and that the CSP's style hash is the
// page's <style>.
func wantPageHeaders(t *testing.T, r Response, formAction string) {
	t.Helper()
	h := r.Headers
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(r.Body)
	if style == nil {
		t.Fatal("no <style>")
	}
	sum := sha256.Sum256([]byte(style[1]))
	csp := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; img-src data:; base-uri 'none'; " +
		"frame-ancestors 'none'; form-action " + formAction
	for k, v := range map[string]string{
		"content-security-policy": csp, "cache-control": "no-store", "referrer-policy": "no-referrer",
		"x-content-type-options": "nosniff", "x-frame-options": "DENY", "content-type": "text/html; charset=utf-8",
	} {
		if h[k] != v {
			t.Errorf("%s: %q, want %q", k, h[k], v)
		}
	}
}

// maxPageBytes is the hosted page's weight budget: the page with its CSS, as sent.
const maxPageBytes = 30 << 10

// TestCheckoutPageWeight: a checkout of 20 line items with long names, on the form with every
// field in error (the largest page a buyer normally sees), stays within 30 KB, CSS included.
func TestCheckoutPageWeight(t *testing.T) {
	t.Parallel()
	b := newPageBench(t)
	items := make([]codex.LineItem, 20)
	for i := range items {
		items[i] = codex.LineItem{Name: strings.Repeat("Organic green tea, loose leaf ", 3), UnitAmount: 99_999_999, Quantity: 1000}
	}
	c := b.checkout("eur", 3600, items...)
	get := b.get(c.ID)
	bad := b.pay(c.ID, url.Values{"email": {"x"}, "card_number": {"1"}, "card_expiry": {"1"}, "card_cvc": {"1"}})
	for name, r := range map[string]Response{"form": get, "form in error": bad} {
		if n := len(r.Body); n > maxPageBytes {
			t.Errorf("%s: %d bytes, over %d", name, n, maxPageBytes)
		}
		t.Logf("%s: %d bytes (CSS %d)", name, len(r.Body), len(pageCSS))
	}
}

// TestPayInProgressPage: a submission that finds another payment's lease gets a 409 page that
// says so and links to the checkout's page, and charges nothing.
func TestPayInProgressPage(t *testing.T) {
	t.Parallel()
	c := codex.Checkout{ID: "chk_AAAAAAAAAAAAAAAAAAAAAAAAAA", ProjectID: "prj_A", Status: codex.CheckoutOpen, PaymentStatus: codex.PaymentUnpaid,
		Currency: "eur", LineItems: []codex.LineItem{{Name: "Tea", UnitAmount: 450, Quantity: 1}}, AmountTotal: 450,
		SuccessURL: "https://shop.example/ok", CancelURL: "https://shop.example/cart", CreatedAt: pageT0, ExpiresAt: pageT0.Add(time.Hour)}
	processor := &countingProcessor{}
	h := PayCheckout{
		Checkouts: &codextest.CheckoutFinder{FindCheckoutFn: func(context.Context, string) (codex.Checkout, error) { return c, nil }},
		Projects:  &codextest.ProjectFinder{FindProjectFn: func(context.Context, string) (codex.Project, error) { return codex.Project{Name: "Shop"}, nil }},
		Payments: &codextest.PaymentStore{ClaimPaymentFn: func(context.Context, string, string, time.Time, time.Time) (codex.Checkout, error) {
			return c, codex.Errorf(codex.CodePaymentInProgress, "a payment of this checkout is in progress")
		}},
		Processor: processor, Now: func() time.Time { return pageT0 }, Log: discardLog(),
	}
	req := fixtureRequest(t, "public-request.json")
	req.RouteKey, req.PathParameters, req.Body = rkPay, map[string]string{"checkout_id": c.ID}, cardForm("4242424242424242").Encode()
	req.Headers["content-type"] = "application/x-www-form-urlencoded"
	resp, _ := Handler(discardLog(), h)(context.Background(), req)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(resp.Body, "A payment is already in progress") ||
		!strings.Contains(resp.Body, `<a class="btn" href="../`+c.ID+`">`) || strings.Contains(resp.Body, "http-equiv") {
		t.Errorf("%d %s", resp.StatusCode, resp.Body)
	}
	if processor.calls.Load() != 0 {
		t.Error("the processor was called")
	}
}
