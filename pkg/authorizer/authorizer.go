// Package authorizer is the API Gateway HTTP API Lambda authorizer for the merchant API (/v1). It
// resolves "Authorization: Bearer cmk_..." to the key's project with one strongly consistent read.
//
// Decisions: a malformed header or key is denied without touching DynamoDB (the key format carries a
// checksum for exactly this); an unknown or deleted key is denied; a key sent by a browser
// (BrowserReason) is denied and the exposure recorded in the project's audit log; an expired key is denied (the
// expiry is read with the key, never left to a TTL); a DynamoDB failure is returned as an error so
// API Gateway answers 500 — it fails closed and never allows. An allowed request records the
// key's last use only when the stored one is older than codex.LastUsedInterval, so the hot path
// stays one GetItem and a key costs at most 12 writes an hour.
package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"codex/pkg/api"
	"codex/pkg/apikey"
	"codex/pkg/codex"
)

// Handler is the authorizer. Build it with New.
type Handler struct {
	Keys codex.KeyLookup
	Log  *slog.Logger
	Now  codex.Clock

	exposures *exposureLog
}

// New returns the authorizer over keys.
func New(keys codex.KeyLookup, log *slog.Logger, now codex.Clock) Handler {
	return Handler{Keys: keys, Log: log, Now: now, exposures: &exposureLog{last: map[string]time.Time{}}}
}

// ErrLookup is what API Gateway gets when the key store cannot answer; the detail goes to the log.
var ErrLookup = errors.New("key lookup failed")

// errMalformed is returned by ParseAuthorization for anything that is not "Bearer <key>".
var errMalformed = errors.New("authorization header is not of the form Bearer <key>")

// ParseAuthorization accepts exactly "Bearer <key>": the scheme in any case, one space, then a
// well-formed key with a valid checksum. Errors never contain the header's value.
func ParseAuthorization(header string) (apikey.Key, error) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return apikey.Key{}, errMalformed
	}
	return apikey.Parse(token)
}

// BrowserReason says why a request looks sent by a web browser, or "" when it does not. A secret
// key in a browser is readable by anyone who opens the page, so such a request is refused even
// though the key is valid.
//
// Browsers add Origin to every cross-origin fetch, and Sec-Fetch-Mode together with Sec-Fetch-Site
// and Sec-Fetch-Dest to every request (page scripts can neither set nor remove them). Server-side
// clients send none of them, except Node's fetch, which sends Sec-Fetch-Mode: cors alone
// (docs/keys.md has the table of what curl, Go, Node and Python send): so Sec-Fetch-Mode counts
// only with one of its two companions.
//
// API Gateway hands the authorizer header names in lower case (payload 2.0), so these are plain map
// reads: on the hot path, where none of them is present, a case-insensitive search would walk every
// header three times.
func BrowserReason(headers map[string]string) string {
	if _, ok := headers["origin"]; ok {
		return "the request carries an Origin header: the key was exposed to a web browser; roll it"
	}
	mode, ok := headers["sec-fetch-mode"]
	if !ok {
		return ""
	}
	switch mode = strings.ToLower(strings.TrimSpace(mode)); mode {
	case "cors", "navigate", "no-cors":
	default:
		return ""
	}
	_, site := headers["sec-fetch-site"]
	_, dest := headers["sec-fetch-dest"]
	if !site && !dest {
		return ""
	}
	return "the request carries Sec-Fetch-Mode: " + mode + " with Sec-Fetch-Site or Sec-Fetch-Dest: the key was exposed to a web browser; roll it"
}

// lastUseTimeout bounds the last-use write: a slow write must not hold up the request it is about.
const lastUseTimeout = 300 * time.Millisecond

// Handle implements the authorizer with payload format 2.0 and simple responses.
func (h Handler) Handle(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	deny := events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}
	requestID := req.RequestContext.RequestID
	header, _ := api.Header(req.Headers, "authorization")
	key, err := ParseAuthorization(header)
	if err != nil {
		h.Log.InfoContext(ctx, "deny", "request_id", requestID, "reason", "malformed", "detail", err.Error())
		return deny, nil
	}
	// Short of the invocation's deadline, so a store that hangs is logged and answered as a failure
	// (still a 500 from API Gateway, never an allow) instead of being cut off by a timeout.
	lookupCtx, cancel := codex.ReserveDeadline(ctx)
	defer cancel()
	hash := key.Hash()
	g, err := h.Keys.LookupKey(lookupCtx, hash)
	switch {
	case codex.IsNotFound(err):
		h.Log.InfoContext(ctx, "deny", "request_id", requestID, "reason", "unknown key")
		return deny, nil
	case err != nil:
		h.Log.ErrorContext(ctx, "key lookup failed", "request_id", requestID, "error", err.Error())
		return deny, ErrLookup
	}
	now := h.Now()
	if reason := BrowserReason(req.Headers); reason != "" {
		h.Log.WarnContext(ctx, "deny", "request_id", requestID, "reason", "browser", "detail", reason,
			"project_id", g.ProjectID, "key_id", g.KeyID)
		h.recordExposure(lookupCtx, requestID, hash, g, req, now, reason)
		return deny, nil
	}
	if codex.Expired(g.ExpiresAt, now) {
		h.Log.InfoContext(ctx, "deny", "request_id", requestID, "reason", "expired",
			"project_id", g.ProjectID, "key_id", g.KeyID, "expires_at", codex.FormatTime(g.ExpiresAt))
		return deny, nil
	}
	if g.UseIsStale(now) {
		h.recordUse(lookupCtx, requestID, hash, codex.KeyUse{At: now, IP: req.RequestContext.HTTP.SourceIP, UserAgent: userAgent(req)})
	}
	h.Log.InfoContext(ctx, "allow", "request_id", requestID, "project_id", g.ProjectID, "key_id", g.KeyID)
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{
		IsAuthorized: true,
		Context:      map[string]any{"project_id": g.ProjectID, "key_id": g.KeyID},
	}, nil
}

func userAgent(req events.APIGatewayV2CustomAuthorizerV2Request) string {
	if ua := req.RequestContext.HTTP.UserAgent; ua != "" {
		return ua
	}
	ua, _ := api.Header(req.Headers, "user-agent")
	return ua
}

// recordUse writes the key's last use. A failure is logged and otherwise ignored: the request is
// allowed all the same, and the next one after it tries again.
func (h Handler) recordUse(ctx context.Context, requestID, hash string, use codex.KeyUse) {
	ctx, cancel := context.WithTimeout(ctx, lastUseTimeout)
	defer cancel()
	if err := h.Keys.RecordKeyUse(ctx, hash, use); err != nil {
		h.Log.WarnContext(ctx, "last use not recorded", "request_id", requestID, "error", err.Error())
	}
}

// recordExposure writes the refusal to the project's audit log, at most once per key per
// codex.LastUsedInterval from this instance: a page that keeps calling must not turn each of its
// requests into a write. A failure is logged; the request is refused either way.
func (h Handler) recordExposure(ctx context.Context, requestID, hash string, g codex.KeyGrant, req events.APIGatewayV2CustomAuthorizerV2Request, now time.Time, reason string) {
	if h.exposures != nil && !h.exposures.due(hash, now) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, lastUseTimeout)
	defer cancel()
	err := h.Keys.RecordAudit(ctx, codex.AuditEvent{
		ID: codex.NewID(codex.AuditIDPrefix), ProjectID: g.ProjectID, Action: codex.AuditKeyBrowserRefused, KeyID: g.KeyID,
		Actor: codex.SystemActor, SourceIP: req.RequestContext.HTTP.SourceIP, UserAgent: userAgent(req), At: now, Reason: reason,
	})
	if err != nil {
		h.Log.WarnContext(ctx, "browser refusal not recorded", "request_id", requestID, "error", err.Error())
	}
}

// exposureLog remembers when this instance last recorded a browser refusal of each key.
type exposureLog struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// maxExposures bounds the memory a flood of distinct keys can take; past it the log starts over.
const maxExposures = 10000

func (l *exposureLog) due(hash string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if at, ok := l.last[hash]; ok && now.Sub(at) < codex.LastUsedInterval {
		return false
	}
	if len(l.last) >= maxExposures {
		clear(l.last)
	}
	l.last[hash] = now
	return true
}
