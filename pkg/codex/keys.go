package codex

import (
	"time"
	"unicode/utf8"
)

// Key lifetimes, in seconds: a key may be created to expire after MinKeyExpiresIn to
// MaxKeyExpiresIn; a roll keeps the old key working for 0 (revoked at once) to MaxRollGrace.
const (
	MinKeyExpiresIn = 3600
	MaxKeyExpiresIn = 365 * 24 * 3600
	MaxRollGrace    = 7 * 24 * 3600
)

// LastUsedInterval is how stale a key's recorded last use may get before the authorizer records a
// new one: at most one write per key per interval, whatever the key's traffic (12 an hour).
const LastUsedInterval = 5 * time.Minute

// MaxUserAgentLength bounds the user agent stored with a key's last use and in the audit log, in
// bytes: a client chooses it, so it must not decide an item's size.
const MaxUserAgentLength = 256

// KeyStatus is what the dashboard shows of a key's lifetime.
type KeyStatus string

// Key statuses.
const (
	KeyActive  KeyStatus = "active"
	KeyExpired KeyStatus = "expired"
)

// KeyUse is one use of a key, as the authorizer saw it.
type KeyUse struct {
	At        time.Time
	IP        string
	UserAgent string
}

// Expired reports whether a key with expiry expiresAt (zero: none) is expired at now. A key is
// refused from its expiry instant on.
func Expired(expiresAt, now time.Time) bool {
	return !expiresAt.IsZero() && !now.Before(expiresAt)
}

// Status is the key's status at now.
func (k APIKey) Status(now time.Time) KeyStatus {
	if Expired(k.ExpiresAt, now) {
		return KeyExpired
	}
	return KeyActive
}

// KeyGrant is what the authorizer reads of a key with its one GetItem: whom it grants, and what
// decides whether it still works and whether its last use is worth recording.
type KeyGrant struct {
	Principal
	ExpiresAt  time.Time // zero: the key does not expire
	LastUsedAt time.Time // zero: never used
}

// UseIsStale reports whether a use at now should be recorded: the recorded one is missing or
// older than LastUsedInterval.
func (g KeyGrant) UseIsStale(now time.Time) bool {
	return g.LastUsedAt.IsZero() || now.Sub(g.LastUsedAt) > LastUsedInterval
}

// ValidateExpiresIn checks an expires_in of seconds against [minimum, maximum].
func ValidateExpiresIn(seconds *int64, minimum, maximum int64) (time.Duration, error) {
	if seconds == nil {
		return 0, Missing("expires_in")
	}
	if *seconds < minimum || *seconds > maximum {
		return 0, Invalid("expires_in", "expires_in must be a number of seconds from %d to %d", minimum, maximum)
	}
	return time.Duration(*seconds) * time.Second, nil
}

// TruncateUTF8 returns s cut to at most n bytes without splitting a character.
func TruncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// RollKey is a roll: a new key with the old one's name, and the old key's expiry set to GraceEnds
// (or left earlier, when it already expires sooner), in one transaction.
type RollKey struct {
	ProjectID   string
	OldKeyID    string
	New         APIKey // its Name is filled in from the old key
	Hash        string // of the new key's secret
	HashVersion int
	GraceEnds   time.Time
	Audit       AuditEvent
}

// AuditAction names what an audit event records.
type AuditAction string

// Audit actions.
const (
	AuditKeyCreated        AuditAction = "key.created"
	AuditKeyRolled         AuditAction = "key.rolled"
	AuditKeyRevoked        AuditAction = "key.revoked"
	AuditKeyExpired        AuditAction = "key.expired"
	AuditKeyBrowserRefused AuditAction = "key.browser_refused"
	AuditKeyLeakRevoked    AuditAction = "key.leak_revoked"
)

// AuditRetention is how long the audit log keeps an event.
const AuditRetention = 365 * 24 * time.Hour

// AuditIDPrefix starts every audit event id.
const AuditIDPrefix = "aud_"

// Actor is who did what an audit event records: a dashboard user, or the system itself (an expiry,
// the authorizer, a leak report).
type Actor struct {
	UserID string // empty for the system
	Email  string
}

// SystemActor is the platform acting on its own.
var SystemActor = Actor{}

// AuditEvent is one entry of a project's audit log.
type AuditEvent struct {
	ID        string
	ProjectID string
	Action    AuditAction
	KeyID     string
	Actor     Actor
	SourceIP  string
	UserAgent string
	At        time.Time
	// What else the action has to say; empty when it does not apply.
	NewKeyID  string    // a roll's new key
	ExpiresAt time.Time // a created key's or a rolled key's expiry
	Reason    string    // why the authorizer refused
	URL       string    // where a leaked key was found
}

// ExpiryEventID is the id of the key.expired event of keyID. There is at most one pending at a
// time, so it is derived from the key: a roll or a revocation that moves the expiry replaces it.
func ExpiryEventID(keyID string) string {
	return AuditIDPrefix + keyID[len(KeyIDPrefix):]
}

// ExpiryEvent is the event that records keyID's expiry at expiresAt. It is written when the expiry
// is set and listed only from expiresAt on, which is exactly when the authorizer starts refusing
// the key: no sweeper, no TTL timing.
func ExpiryEvent(projectID, keyID string, expiresAt time.Time) AuditEvent {
	return AuditEvent{ID: ExpiryEventID(keyID), ProjectID: projectID, Action: AuditKeyExpired, KeyID: keyID,
		Actor: SystemActor, At: expiresAt, ExpiresAt: expiresAt}
}
