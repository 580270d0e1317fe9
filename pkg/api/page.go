package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"codex/pkg/codex"
	"codex/pkg/payment"
)

// The hosted checkout page: GET /c/{checkout_id} and POST /c/{checkout_id}/pay on the PublicApi.
// Server-rendered HTML, a plain form, no script at all, so it works with JavaScript off and its
// Content-Security-Policy can forbid every script. Every outcome, errors included, is a page.

//go:embed page.html
var pageHTML string

// pageCSS is the page's whole style sheet, inline in a <style> element that the CSP allows by its
// hash: no second request, nothing from another origin.
const pageCSS = `*{box-sizing:border-box}body{margin:0;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#f6f7f9}` +
	`.banner{padding:.5rem 1rem;background:#ffe8a3;color:#3d2c00;text-align:center;border-bottom:1px solid #d9b54a}.banner p{margin:0}` +
	`main{max-width:32rem;margin:1.5rem auto;padding:1.5rem;background:#fff;border:1px solid #d5d9e0;border-radius:8px}` +
	`h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.2rem;margin:1rem 0 .5rem}` +
	`table{width:100%;border-collapse:collapse;margin-bottom:1.5rem}caption{text-align:left;font-weight:600;padding-bottom:.25rem}` +
	`th,td{padding:.35rem 0;border-bottom:1px solid #e3e6eb;text-align:left;vertical-align:top}.n{text-align:right;padding-left:.75rem;white-space:nowrap}` +
	`tfoot th,tfoot td{border-bottom:0;font-weight:700;font-size:1.1rem}` +
	`fieldset{border:0;margin:0;padding:0}legend{font-weight:600;padding:0;margin-bottom:.25rem}` +
	`.field{margin-bottom:1rem;flex:1}.row{display:flex;gap:1rem}@media(max-width:24rem){.row{display:block}}label{display:block;font-weight:600}.hint{display:block;font-weight:400;color:#4a5261}` +
	`input{display:block;width:100%;margin-top:.25rem;padding:.6rem;font:inherit;border:1px solid #6b7280;border-radius:6px}` +
	`input[aria-invalid=true]{border:2px solid #b00020}.err{color:#b00020;margin:.25rem 0 0;font-weight:600}` +
	`:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}` +
	`button,.btn{display:inline-block;width:100%;padding:.75rem;font:inherit;font-weight:700;color:#fff;background:#1d4ed8;border:0;border-radius:6px;cursor:pointer;text-align:center;text-decoration:none}` +
	`button:hover,.btn:hover{background:#1e40af}.summary{border:2px solid #b00020;border-radius:6px;padding:.5rem 1rem;margin-bottom:1rem}` +
	`.summary h2{margin-top:.25rem}.summary a{color:#b00020}.notice{margin-top:0}.cancel{margin:1rem 0 0;text-align:center}a{color:#1d4ed8}`

// The template and the policy are built on first use, not at package initialisation: every
// function imports this package, and only the page's two should link html/template.
var (
	pageOnce   sync.Once
	pageTmpl   *template.Template
	pagePolicy string // the page's CSP but for form-action, which names the checkout's redirects
)

func pageTemplate() *template.Template {
	pageOnce.Do(func() {
		pageTmpl = template.Must(template.New("page").Parse(pageHTML))
		sum := sha256.Sum256([]byte(pageCSS))
		pagePolicy = "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
			"'; img-src data:; base-uri 'none'; frame-ancestors 'none'"
	})
	return pageTmpl
}

// pageData is what page.html renders.
type pageData struct {
	Title       string
	CSS         template.CSS
	ProjectName string
	Checkout    *checkoutSummary
	Notice      string // a heading for a page that is not (only) the form
	Detail      string
	Continue    string // a link to success_url, once paid
	Cancel      string // cancel_url, while the buyer can still leave
	Status      string // the checkout's page, to look again once a payment in progress ends
	Form        *payForm
	Errors      []fieldError // the form's errors, in the order of the fields
}

type checkoutSummary struct {
	Items []itemSummary
	Total string
}

type itemSummary struct {
	Name     string
	Quantity int64
	Amount   string
}

// payForm is the form as the buyer filled it in. Only the email and expiry are shown back: the card
// number and CVC never leave the request they came in.
type payForm struct {
	Action string
	Email  string
	Expiry string
	errs   map[string]string
	First  string // the first field in error, focused on load
}

// Error is the message tied to field, "" when it has none.
func (f *payForm) Error(field string) string { return f.errs[field] }

type fieldError struct {
	Field   string
	Message string
}

// formFields is the form's fields in page order.
var formFields = []string{"email", payment.FieldNumber, payment.FieldExpiry, payment.FieldCVC}

func (f *payForm) setError(field, msg string) {
	if f.errs == nil {
		f.errs = map[string]string{}
	}
	f.errs[field] = msg
}

func summarise(c codex.Checkout) *checkoutSummary {
	s := &checkoutSummary{Total: codex.FormatAmount(c.AmountTotal, c.Currency)}
	for _, li := range c.LineItems {
		s.Items = append(s.Items, itemSummary{Name: li.Name, Quantity: li.Quantity, Amount: codex.FormatAmount(li.UnitAmount*li.Quantity, c.Currency)})
	}
	return s
}

// render answers with the page, its security headers and status.
func render(status int, c *codex.Checkout, d pageData) Response {
	d.CSS = template.CSS(pageCSS)
	if d.Title == "" {
		d.Title = d.Notice
	}
	if d.Form != nil {
		for _, f := range formFields {
			if msg := d.Form.errs[f]; msg != "" {
				d.Errors = append(d.Errors, fieldError{Field: f, Message: msg})
				if d.Form.First == "" {
					d.Form.First = f
				}
			}
		}
	}
	var b bytes.Buffer
	tmpl := pageTemplate()
	if err := tmpl.Execute(&b, d); err != nil {
		// Only a programming error (a template that does not fit pageData) gets here.
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString("<!doctype html><title>Error</title><p>Something went wrong.</p>")
	}
	return Response{
		StatusCode: status,
		Headers: map[string]string{
			"content-type":            "text/html; charset=utf-8",
			"content-security-policy": pagePolicy + "; form-action " + formAction(c),
			"cache-control":           checkoutCacheControl,
			"referrer-policy":         "no-referrer",
			"x-frame-options":         "DENY",
		},
		Body: b.String(),
	}
}

// formAction is the CSP's form-action: the page itself, and the origins of the checkout's
// redirects, since Chromium applies form-action to the redirect that follows a form's POST.
func formAction(c *codex.Checkout) string {
	srcs := []string{"'self'"}
	if c != nil {
		for _, raw := range []string{c.SuccessURL, c.CancelURL} {
			if u, err := url.Parse(raw); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
				if o := u.Scheme + "://" + u.Host; !slices.Contains(srcs, o) {
					srcs = append(srcs, o)
				}
			}
		}
	}
	return strings.Join(srcs, " ")
}

// SuccessRedirect is the success_url a paid checkout sends its buyer to: a literal {CHECKOUT_ID} in
// it becomes the checkout's id, so the merchant's page knows which checkout to look up.
func SuccessRedirect(c codex.Checkout) string {
	return strings.ReplaceAll(c.SuccessURL, "{CHECKOUT_ID}", c.ID)
}

// statusPage is the page for a checkout that cannot be paid (anymore), with its status: expired
// 410, complete 200 on GET and 409 on a payment attempt.
func statusPage(c codex.Checkout, projectName string, now time.Time, onPay bool) (Response, bool) {
	switch c.StatusAt(now) {
	case codex.CheckoutExpired:
		return render(http.StatusGone, &c, pageData{ProjectName: projectName, Checkout: summarise(c),
			Notice: "This checkout has expired", Detail: "Nothing was charged. Return to the merchant to start again.", Cancel: c.CancelURL}), true
	case codex.CheckoutComplete:
		status := http.StatusOK
		if onPay {
			status = http.StatusConflict
		}
		detail := "Thank you: this checkout is already paid. Nothing more was charged."
		if c.PaymentMethod != nil {
			detail = "Thank you: this checkout is already paid with " + c.PaymentMethod.Brand + " ending " + c.PaymentMethod.Last4 + ". Nothing more was charged."
		}
		return render(status, &c, pageData{ProjectName: projectName, Checkout: summarise(c),
			Notice: "Paid", Detail: detail, Continue: SuccessRedirect(c)}), true
	}
	return Response{}, false
}

// notFoundPage answers an unknown or malformed checkout id.
func notFoundPage() Response {
	return render(http.StatusNotFound, nil, pageData{Notice: "Checkout not found",
		Detail: "This payment link is not valid. Check the link, or return to the merchant and start again."})
}

// htmlError turns an error into a page: the html routes' counterpart of the JSON envelope.
func htmlError(err error, requestID string) Response {
	switch codex.ErrorCode(err) {
	case codex.CodeNotFound:
		return notFoundPage()
	case codex.CodeBodyTooLarge, codex.CodeBodyInvalid, codex.CodeParameterInvalid, codex.CodeParameterUnknown, codex.CodeParameterMissing, codex.CodeUnsupportedMedia:
		status, _ := errorBody(err, requestID)
		var e *codex.Error
		errors.As(err, &e)
		return render(status, nil, pageData{Notice: "This request could not be understood", Detail: e.Message + " Go back to the checkout page and try again."})
	}
	return render(http.StatusInternalServerError, nil, pageData{Notice: "Something went wrong",
		Detail: "Try again in a moment. Reference: " + requestID})
}

// CheckoutPage is GET /c/{checkout_id}: the hosted checkout page.
type CheckoutPage struct {
	Checkouts codex.CheckoutFinder
	Projects  codex.ProjectFinder
	Now       codex.Clock
}

// ErrorPage implements htmlRoute.
func (CheckoutPage) ErrorPage(err error, requestID string) Response { return htmlError(err, requestID) }

func (h CheckoutPage) Serve(ctx context.Context, req *Request) (Response, error) {
	id := req.PathParameters["checkout_id"]
	c, name, err := findForPage(ctx, h.Checkouts, h.Projects, id)
	if err != nil {
		return Response{}, err
	}
	if resp, done := statusPage(c, name, h.Now(), false); done {
		return resp, nil
	}
	return formPage(http.StatusOK, c, name, &payForm{Action: id + "/pay"}), nil
}

func formPage(status int, c codex.Checkout, name string, f *payForm) Response {
	return render(status, &c, pageData{Title: "Pay " + name, ProjectName: name, Checkout: summarise(c), Form: f, Cancel: c.CancelURL})
}

// findForPage reads the checkout and its project's name: two GetItems, the second needing the
// first's project id.
func findForPage(ctx context.Context, checkouts codex.CheckoutFinder, projects codex.ProjectFinder, id string) (codex.Checkout, string, error) {
	if !codex.ValidID(codex.CheckoutIDPrefix, id) {
		return codex.Checkout{}, "", codex.NotFound("checkout")
	}
	c, err := checkouts.FindCheckout(ctx, id)
	if err != nil {
		return c, "", err
	}
	p, err := projects.FindProject(ctx, c.ProjectID)
	if err != nil {
		return c, "", err
	}
	return c, p.Name, nil
}

// PayCheckout is POST /c/{checkout_id}/pay, the hosted page's form.
//
// Exactly once: the attempt first claims the checkout's payment lease with a conditional write
// (codex.PaymentStore), and only the holder calls the processor; completion is one more
// conditional write that requires the lease. A double click, a second tab or fifty concurrent
// submissions make one charge: the others find the lease taken and get a page saying a payment is
// in progress, with a link to the checkout's page. (No automatic reload: a timed refresh fails
// WCAG 2.2.1.)
type PayCheckout struct {
	Checkouts codex.CheckoutFinder
	Projects  codex.ProjectFinder
	Payments  codex.PaymentStore
	Processor payment.Processor
	Now       codex.Clock
	Log       *slog.Logger
	// PageURL is the hosted page's base URL for the checkout in each event; "" for this API's.
	PageURL string
}

// ErrorPage implements htmlRoute.
func (PayCheckout) ErrorPage(err error, requestID string) Response { return htmlError(err, requestID) }

// maxFormBytes bounds the form: four short fields.
const maxFormBytes = 4 << 10

func (h PayCheckout) Serve(ctx context.Context, req *Request) (Response, error) {
	id := req.PathParameters["checkout_id"]
	if !codex.ValidID(codex.CheckoutIDPrefix, id) {
		return Response{}, codex.NotFound("checkout")
	}
	form, err := decodeForm(req)
	if err != nil {
		return Response{}, err
	}
	c, name, err := findForPage(ctx, h.Checkouts, h.Projects, id)
	if err != nil {
		return Response{}, err
	}
	now := h.Now().UTC()
	if resp, done := statusPage(c, name, now, true); done {
		return resp, nil
	}

	f := &payForm{Action: "pay", Email: form["email"], Expiry: form[payment.FieldExpiry]}
	email, emailErr := parseEmail(form["email"])
	if emailErr != "" {
		f.setError("email", emailErr)
	}
	card, err := payment.ParseCard(form[payment.FieldNumber], form[payment.FieldExpiry], form[payment.FieldCVC], now)
	var cardErr *codex.Error
	if errors.As(err, &cardErr) {
		f.setError(cardErr.Param, cardErr.Message)
	} else if err != nil {
		return Response{}, err
	}
	if len(f.errs) > 0 {
		return formPage(http.StatusBadRequest, c, name, f), nil
	}

	lease := codex.NewID("pay_")
	c, err = h.Payments.ClaimPayment(ctx, id, lease, now, now.Add(codex.PaymentLease))
	switch codex.ErrorCode(err) {
	case "":
	case codex.CodePaymentInProgress:
		return render(http.StatusConflict, &c, pageData{ProjectName: name, Checkout: summarise(c),
			Notice: "A payment is already in progress", Detail: "This checkout is being paid in another tab or by an earlier click. Nothing more was charged.",
			Status: "../" + id}), nil
	case codex.CodeCheckoutExpired:
		c.Status = codex.CheckoutExpired
		resp, _ := statusPage(c, name, now, true)
		return resp, nil
	case codex.CodeCheckoutNotOpen:
		if resp, done := statusPage(c, name, now, true); done {
			return resp, nil
		}
		fallthrough
	default:
		return Response{}, err
	}

	res, err := h.Processor.Pay(ctx, payment.Request{Key: lease, CheckoutID: id, Amount: c.AmountTotal, Currency: c.Currency, Card: card})
	if err != nil {
		// The outcome is unknown; the lease stays until it lapses, so a retry cannot charge twice
		// while a processor might still be charging.
		return Response{}, err
	}
	events := Checkouts{PageURL: pageBase(h.PageURL, req)}
	if !res.Paid {
		d := res.Decline
		pe := codex.PaymentError{Code: d.Code, Message: d.Message}
		failed := c
		failed.LastPaymentError = &pe
		ev, err := events.Event(codex.EventCheckoutPaymentFailed, failed, now)
		if err != nil {
			return Response{}, err
		}
		if err := h.Payments.FailPayment(ctx, id, lease, pe, now, ev); err != nil {
			return Response{}, err
		}
		f.setError(d.Field, d.Message)
		return formPage(http.StatusPaymentRequired, c, name, f), nil
	}
	done := codex.Completion{CompletedAt: h.Now().UTC().Truncate(time.Millisecond), CustomerEmail: email,
		PaymentMethod: codex.PaymentMethod{Brand: card.Brand, Last4: card.Last4}}
	paid := c
	paid.Status, paid.PaymentStatus, paid.CompletedAt = codex.CheckoutComplete, codex.PaymentPaid, done.CompletedAt
	paid.CustomerEmail, paid.PaymentMethod, paid.LastPaymentError = done.CustomerEmail, &done.PaymentMethod, nil
	ev, err := events.Event(codex.EventCheckoutCompleted, paid, done.CompletedAt)
	if err != nil {
		return Response{}, err
	}
	if err := h.Payments.CompletePayment(ctx, id, lease, done, ev); err != nil {
		// Charged but not completed: only a lease that lapsed during the processor call gets
		// here. A live processor would refund; the test processor charged nothing.
		h.Log.ErrorContext(ctx, "payment not recorded", "request_id", req.RequestContext.RequestID, "checkout_id", id, "card", card, "error", err.Error())
		return Response{}, err
	}
	return Response{
		StatusCode: http.StatusSeeOther,
		Headers: map[string]string{
			"location":        SuccessRedirect(c),
			"cache-control":   checkoutCacheControl,
			"referrer-policy": "no-referrer",
		},
	}, nil
}

// parseEmail checks the buyer's email: one plain address, at most 254 characters. It returns the
// address, or a message for the field.
func parseEmail(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "Enter your email address."
	}
	// Valid UTF-8 without control characters first: DynamoDB refuses invalid UTF-8, and that must
	// not be found out after the card was charged.
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 || len(s) > 254 {
		return "", "Enter an email address like name@example.com."
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", "Enter an email address like name@example.com."
	}
	return s, ""
}

// decodeForm reads an application/x-www-form-urlencoded body strictly: only the form's four
// fields, each at most once. Anything else is a 4xx page that changes nothing.
func decodeForm(req *Request) (map[string]string, error) {
	ct, _ := Header(req.Headers, "content-type")
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/x-www-form-urlencoded" {
		return nil, codex.Errorf(codex.CodeUnsupportedMedia, "The payment form must be sent as application/x-www-form-urlencoded.")
	}
	body := req.Body
	if len(body) > base64.StdEncoding.EncodedLen(maxFormBytes) {
		return nil, codex.Errorf(codex.CodeBodyTooLarge, "The form is too large.")
	}
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return nil, codex.Errorf(codex.CodeBodyInvalid, "The form could not be read.")
		}
		body = string(b)
	}
	if len(body) > maxFormBytes {
		return nil, codex.Errorf(codex.CodeBodyTooLarge, "The form is too large.")
	}
	vals, err := url.ParseQuery(body)
	if err != nil {
		return nil, codex.Errorf(codex.CodeBodyInvalid, "The form could not be read.")
	}
	out := map[string]string{}
	for k, v := range vals {
		if !slices.Contains(formFields, k) {
			return nil, codex.Errorf(codex.CodeParameterUnknown, "The form has a field it should not have.")
		}
		if len(v) != 1 {
			return nil, codex.Errorf(codex.CodeParameterInvalid, "The form has a field more than once.")
		}
		out[k] = v[0]
	}
	return out, nil
}
