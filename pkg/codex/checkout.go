package codex

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// CheckoutIDPrefix starts every checkout id. Buyers see checkout ids in the hosted page's URL, so
// they come from NewID: 130 random bits, unguessable.
const CheckoutIDPrefix = "chk_"

// Limits of a checkout. Amounts are integers in the currency's minor unit (cents for usd).
const (
	MaxLineItems         = 100
	MaxUnitAmount        = 99_999_999
	MaxQuantity          = 1000
	MaxLineItemName      = 250
	MaxURLLength         = 2048
	MaxClientReferenceID = 200
	MaxMetadataPairs     = 50
	MaxMetadataKey       = 40
	MaxMetadataValue     = 500
	MinExpiresIn         = 30 * 60
	MaxExpiresIn         = 24 * 60 * 60
	DefaultExpiresIn     = MaxExpiresIn

	// MaxAmountTotal is the largest amount_total the limits allow: 9,999,999,900,000. It is far
	// below 2^53 (9,007,199,254,740,992), so the sum never overflows an int64 and every amount
	// stays an exact integer in a JavaScript client, which parses JSON numbers as float64.
	MaxAmountTotal = MaxUnitAmount * MaxQuantity * MaxLineItems
	maxSafeInteger = 1<<53 - 1
)

// This constant only compiles while MaxAmountTotal <= maxSafeInteger: raising a limit so far that
// totals could lose precision in JavaScript breaks the build instead of a client.
const _ uint64 = maxSafeInteger - MaxAmountTotal

// CheckoutStatus is the lifecycle of a checkout.
type CheckoutStatus string

// Checkout statuses. Only open is stored at creation; expired is derived on read (see StatusAt), so
// no background job has to flip it on time.
const (
	CheckoutOpen     CheckoutStatus = "open"
	CheckoutComplete CheckoutStatus = "complete"
	CheckoutExpired  CheckoutStatus = "expired"
)

// PaymentStatus says whether a checkout has been paid.
type PaymentStatus string

// Payment statuses.
const (
	PaymentUnpaid PaymentStatus = "unpaid"
	PaymentPaid   PaymentStatus = "paid"
)

// LineItem is one line of a checkout.
type LineItem struct {
	Name       string `json:"name"`
	UnitAmount int64  `json:"unit_amount"`
	Quantity   int64  `json:"quantity"`
}

// CheckoutParams is what a merchant asks for when creating a checkout, validated and normalised by
// Validate. Its JSON encoding is canonical (fixed field order, sorted map keys), which Fingerprint
// relies on.
type CheckoutParams struct {
	LineItems         []LineItem        `json:"line_items"`
	Currency          string            `json:"currency"`
	SuccessURL        string            `json:"success_url"`
	CancelURL         string            `json:"cancel_url"`
	ClientReferenceID *string           `json:"client_reference_id"` // nil when not given
	Metadata          map[string]string `json:"metadata"`
	ExpiresIn         *int64            `json:"expires_in"` // seconds; nil for DefaultExpiresIn
}

// Validate checks every field and returns the normalised parameters: names trimmed, currency lower
// case, expires_in defaulted (never nil), metadata never nil. The first problem found is returned as an *Error
// whose Param names the field the way the request spells it, e.g. line_items[3].unit_amount.
func (p CheckoutParams) Validate() (CheckoutParams, error) {
	out := CheckoutParams{
		SuccessURL:        p.SuccessURL,
		CancelURL:         p.CancelURL,
		ClientReferenceID: p.ClientReferenceID,
	}
	switch n := len(p.LineItems); {
	case n == 0:
		return out, Missing("line_items")
	case n > MaxLineItems:
		return out, Invalid("line_items", "line_items must have at most %d items, got %d", MaxLineItems, n)
	}
	out.LineItems = make([]LineItem, len(p.LineItems))
	for i, li := range p.LineItems {
		prefix := fmt.Sprintf("line_items[%d].", i)
		name, err := ValidateLabel(prefix+"name", li.Name, MaxLineItemName)
		if err != nil {
			return out, err
		}
		if err := checkRange(prefix+"unit_amount", li.UnitAmount, 1, MaxUnitAmount); err != nil {
			return out, err
		}
		if err := checkRange(prefix+"quantity", li.Quantity, 1, MaxQuantity); err != nil {
			return out, err
		}
		out.LineItems[i] = LineItem{Name: name, UnitAmount: li.UnitAmount, Quantity: li.Quantity}
	}
	var err error
	if out.Currency, err = ValidateCurrency("currency", p.Currency); err != nil {
		return out, err
	}
	if err := ValidateRedirectURL("success_url", p.SuccessURL); err != nil {
		return out, err
	}
	if err := ValidateRedirectURL("cancel_url", p.CancelURL); err != nil {
		return out, err
	}
	if p.ClientReferenceID != nil {
		if err := validateClientReferenceID(*p.ClientReferenceID); err != nil {
			return out, err
		}
	}
	if out.Metadata, err = ValidateMetadata("metadata", p.Metadata); err != nil {
		return out, err
	}
	expiresIn := int64(DefaultExpiresIn)
	if p.ExpiresIn != nil {
		if err := checkRange("expires_in", *p.ExpiresIn, MinExpiresIn, MaxExpiresIn); err != nil {
			return out, err
		}
		expiresIn = *p.ExpiresIn
	}
	out.ExpiresIn = &expiresIn
	return out, nil
}

// AmountTotal is the sum of unit_amount × quantity. Validated parameters cannot make it exceed
// MaxAmountTotal, so it cannot overflow.
func (p CheckoutParams) AmountTotal() int64 {
	var total int64
	for _, li := range p.LineItems {
		total += li.UnitAmount * li.Quantity
	}
	return total
}

// fingerprintVersion is part of every fingerprint, so a change to what is hashed makes old records
// mismatch (a 422 for a reused key) instead of silently matching a different request.
const fingerprintVersion = "checkout-create/v1"

// Fingerprint identifies the request for idempotency: the SHA-256 of the canonical JSON of the
// validated parameters. Hashing the validated form rather than the raw body means whitespace, key
// order, currency case, a defaulted expires_in and the padding around names do not make a retry
// look like a different request, while any change of meaning does.
func (p CheckoutParams) Fingerprint() string {
	b, err := json.Marshal(p)
	if err != nil {
		// CheckoutParams holds only strings, integers, a slice and a map of strings.
		panic(fmt.Sprintf("codex: marshal checkout params: %v", err))
	}
	h := sha256.New()
	h.Write([]byte(fingerprintVersion + "\n"))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// Checkout is a request for payment that a buyer completes on the hosted page.
type Checkout struct {
	ID                string
	ProjectID         string
	Status            CheckoutStatus // as stored; see StatusAt
	PaymentStatus     PaymentStatus
	Currency          string
	LineItems         []LineItem
	AmountTotal       int64
	SuccessURL        string
	CancelURL         string
	ClientReferenceID string // "" when not given
	Metadata          map[string]string
	CreatedAt         time.Time
	ExpiresAt         time.Time
	ButtonID          string // the buy button it was made from; "" when made with a key

	// Set by a payment: when it completed, the buyer's email and what paid (never the number).
	CompletedAt   time.Time // zero until complete
	CustomerEmail string
	PaymentMethod *PaymentMethod
	// LastPaymentError is the last declined attempt, cleared by a successful one.
	LastPaymentError *PaymentError
}

// PaymentMethod is all a checkout keeps of the card that paid it.
type PaymentMethod struct {
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

// PaymentError is a declined attempt: the processor's code and the message the buyer was shown.
type PaymentError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Completion is what a successful payment records on its checkout.
type Completion struct {
	CompletedAt   time.Time
	CustomerEmail string
	PaymentMethod PaymentMethod
}

// PaymentLease is the time a payment attempt holds a checkout for: claimed before the processor is
// called, so no second attempt (a double click, another tab) can charge, and no expiry can close the
// checkout under a charge in flight. Longer than a function's timeout (template.yaml, 10 s), so a
// lease outlives whoever took it. A checkout closer than this to expires_at cannot start a payment,
// so one that starts always has time to complete before the checkout expires.
const PaymentLease = 30 * time.Second

// PaymentStore moves a checkout through a payment. Each method is one conditional write.
type PaymentStore interface {
	// ClaimPayment takes the lease of checkout id for attempt lease until until: only if it is
	// open, expires after until and no other live lease holds it. Otherwise NotFound, or
	// CodeCheckoutNotOpen / CodeCheckoutExpired / CodePaymentInProgress, and the checkout as it is
	// (zero when NotFound).
	ClaimPayment(ctx context.Context, id, lease string, now, until time.Time) (Checkout, error)
	// CompletePayment moves the checkout to complete and paid: only if it is still open, not
	// expired as of c.CompletedAt and lease still holds it, live. It releases the lease and clears
	// last_payment_error.
	CompletePayment(ctx context.Context, id, lease string, c Completion, ev Event) error
	// FailPayment records a declined attempt and releases the lease, if lease still holds it.
	FailPayment(ctx context.Context, id, lease string, e PaymentError, now time.Time, ev Event) error
}

// NewCheckout builds an open, unpaid checkout of project from parameters Validate returned. now is
// truncated to milliseconds, the precision of stored timestamps, so what is returned equals what a
// later read returns.
func NewCheckout(projectID string, p CheckoutParams, now time.Time) Checkout {
	now = now.UTC().Truncate(time.Millisecond)
	c := Checkout{
		ID:            NewID(CheckoutIDPrefix),
		ProjectID:     projectID,
		Status:        CheckoutOpen,
		PaymentStatus: PaymentUnpaid,
		Currency:      p.Currency,
		LineItems:     p.LineItems,
		AmountTotal:   p.AmountTotal(),
		SuccessURL:    p.SuccessURL,
		CancelURL:     p.CancelURL,
		Metadata:      p.Metadata,
		CreatedAt:     now,
		ExpiresAt:     now.Add(time.Duration(*p.ExpiresIn) * time.Second),
	}
	if p.ClientReferenceID != nil {
		c.ClientReferenceID = *p.ClientReferenceID
	}
	return c
}

// StatusAt is the status as of now: an open checkout is expired from its expires_at on. Deriving it
// on read makes expiry exact to the millisecond without a timer or a write.
func (c Checkout) StatusAt(now time.Time) CheckoutStatus {
	if c.Status == CheckoutOpen && !now.Before(c.ExpiresAt) {
		return CheckoutExpired
	}
	return c.Status
}

func checkRange(param string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return Invalid(param, "%s must be an integer from %d to %d, got %d", param, lo, hi, v)
	}
	return nil
}

// ValidateRedirectURL checks a URL the buyer is sent to after the hosted page: absolute https, or
// http only for a loopback host so merchants can test locally; no user:password@ (a classic way to
// disguise where a link goes); no whitespace or control characters; at most MaxURLLength characters.
// The URL is kept exactly as given.
func ValidateRedirectURL(param, raw string) error {
	if raw == "" {
		return Missing(param)
	}
	if n := utf8.RuneCountInString(raw); n > MaxURLLength {
		return Invalid(param, "%s must be at most %d characters, got %d", param, MaxURLLength, n)
	}
	if strings.IndexFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return Invalid(param, "%s must not contain whitespace or control characters", param)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Hostname() == "" || u.Opaque != "" || !validPort(u.Port()) {
		return Invalid(param, "%s must be an absolute URL such as https://example.com/done", param)
	}
	if u.User != nil {
		return Invalid(param, "%s must not contain a user name or password", param)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return Invalid(param, "%s must use https (http is allowed only for localhost)", param)
		}
	default:
		return Invalid(param, "%s must use https", param)
	}
	return nil
}

// validPort reports whether a URL's port is absent or 1-65535 (url.Parse checks only that it is
// digits).
func validPort(port string) bool {
	if port == "" {
		return true
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

func isLoopbackHost(host string) bool {
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// validateClientReferenceID checks the merchant's own reference (an order or cart id). It is an
// identifier, so it is not trimmed; an empty one is refused rather than taken as absent, since it is
// almost always a bug in the caller.
func validateClientReferenceID(s string) error {
	const param = "client_reference_id"
	if s == "" {
		return Invalid(param, "%s must not be empty; leave it out instead", param)
	}
	if n := utf8.RuneCountInString(s); n > MaxClientReferenceID {
		return Invalid(param, "%s must be at most %d characters, got %d", param, MaxClientReferenceID, n)
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, unprintable) >= 0 {
		return Invalid(param, "%s must be printable text", param)
	}
	return nil
}

// ValidateMetadata checks a project's free-form key-value pairs and returns them (an empty map for
// none). Keys are 1 to MaxMetadataKey printable characters without square brackets, which would make
// the param names of errors (metadata[key]) ambiguous; values are up to MaxMetadataValue characters.
func ValidateMetadata(param string, m map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(m))
	if len(m) > MaxMetadataPairs {
		return out, Invalid(param, "%s must have at most %d keys, got %d", param, MaxMetadataPairs, len(m))
	}
	// Sorted, so that of several bad keys the same one is reported every time.
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		if k == "" {
			return out, Invalid(param, "%s keys must not be empty", param)
		}
		p := fmt.Sprintf("%s[%s]", param, Truncate(k, MaxMetadataKey))
		if n := utf8.RuneCountInString(k); n > MaxMetadataKey {
			return out, Invalid(p, "%s keys must be at most %d characters, got %d", param, MaxMetadataKey, n)
		}
		if !utf8.ValidString(k) || strings.ContainsAny(k, "[]") || strings.IndexFunc(k, unprintable) >= 0 {
			return out, Invalid(p, "%s keys must be printable text without square brackets", param)
		}
		if n := utf8.RuneCountInString(v); n > MaxMetadataValue {
			return out, Invalid(p, "%s values must be at most %d characters, got %d", param, MaxMetadataValue, n)
		}
		// Text a merchant reads back; tabs and line breaks are fine, other control characters
		// (NUL, ESC, ...) are what breaks their logs and CSV exports.
		if !utf8.ValidString(v) || strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) && !strings.ContainsRune("\t\n\r", r) }) >= 0 {
			return out, Invalid(p, "%s values must be text without control characters other than tab and line breaks", param)
		}
		out[k] = v
	}
	return out, nil
}

// Truncate shortens s to n characters, marking the cut with "…", for echoing input in messages.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * time.Hour

// MaxIdempotencyKey is the longest Idempotency-Key, in bytes.
const MaxIdempotencyKey = 255

// ValidateIdempotencyKey checks an Idempotency-Key header value: 1 to MaxIdempotencyKey printable
// ASCII characters (a UUID is typical). ASCII keeps it safe to store in a sort key and to log.
func ValidateIdempotencyKey(param, key string) error {
	if key == "" {
		return Invalid(param, "%s must not be empty; leave the header out instead", param)
	}
	if len(key) > MaxIdempotencyKey {
		return Invalid(param, "%s must be at most %d characters, got %d", param, MaxIdempotencyKey, len(key))
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return Invalid(param, "%s must be printable ASCII", param)
		}
	}
	return nil
}

// IdempotencyRecord is the remembered outcome of a request made with an Idempotency-Key: enough to
// recognise a retry (Fingerprint) and to answer it exactly as the first time (StatusCode, Body).
type IdempotencyRecord struct {
	ProjectID   string
	Key         string
	Fingerprint string
	StatusCode  int
	Body        string
	CreatedAt   time.Time
	ExpiresAt   time.Time // after this the key is free again, whether or not DynamoDB has swept it
}

// CheckoutStore keeps checkouts and the idempotency records of their creation.
type CheckoutStore interface {
	// CreateCheckout stores c and ev, its checkout.created event, atomically (and with rec, rec
	// too): all or nothing. If a live record (ExpiresAt not passed as of rec.CreatedAt) already
	// holds rec's project and key, it stores nothing and returns that record for the caller to
	// replay or refuse. A concurrent request holding the same key returns an error with code
	// CodeIdempotencyInUse.
	CreateCheckout(ctx context.Context, c Checkout, ev Event, rec *IdempotencyRecord) (existing *IdempotencyRecord, err error)
	// GetCheckout returns a project's checkout; NotFound if there is none with that id in that
	// project, so another project's id looks exactly like a missing one.
	GetCheckout(ctx context.Context, projectID, id string) (Checkout, error)
	// ListCheckouts returns up to limit of a project's checkouts, newest first, starting after the
	// checkout startingAfter ("" for the first page), and whether more follow. A startingAfter that
	// is not a checkout of the project gives NotFound.
	ListCheckouts(ctx context.Context, projectID string, limit int, startingAfter string) (page []Checkout, hasMore bool, err error)
}
