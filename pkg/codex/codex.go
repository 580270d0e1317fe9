// Package codex holds the domain of the Codex checkout platform: its types, the rules that apply to
// them, the errors they produce and the storage interfaces the adapters implement. It depends on no
// AWS or HTTP package, so every rule here can be tested with plain unit tests.
package codex

import (
	"context"
	"crypto/rand"
	"strings"
	"time"
)

// Project is a merchant's workspace. API keys, buttons and checkouts belong to exactly one project.
type Project struct {
	ID        string
	Name      string
	CreatedAt time.Time
	CreatedBy string // user id (the JWT subject) of the creator, who becomes its owner
}

// Role is a user's role in a project.
type Role string

// RoleOwner is given to the user who creates a project.
const RoleOwner Role = "owner"

// Membership says that a user may act on a project. Dashboard routes find the project through the
// membership so that a non-member cannot tell a project that exists from one that does not.
type Membership struct {
	UserID  string
	Role    Role
	Project Project
}

// APIKey is what is kept of a key: never the secret, only its hash (stored by the adapter) and what a
// dashboard user needs to recognise the key.
type APIKey struct {
	ID        string
	ProjectID string
	Name      string
	Prefix    string // display prefix, e.g. "cmk_AbCd"
	CreatedAt time.Time
	CreatedBy string
	ExpiresAt time.Time // zero: the key does not expire
	LastUsed  KeyUse    // zero At: never used
}

// Principal is the identity an API key grants on the merchant API.
type Principal struct {
	ProjectID string
	KeyID     string
}

// ID prefixes make an id's kind obvious in logs, support tickets and URLs.
const (
	ProjectIDPrefix = "prj_"
	KeyIDPrefix     = "key_"
)

// NewID returns prefix followed by 26 base32 characters from crypto/rand (130 bits), enough that ids
// can be shown to anyone without being guessable.
func NewID(prefix string) string {
	return prefix + rand.Text()
}

// ValidID reports whether s has the shape NewID(prefix) produces. Checking the shape first lets a
// handler answer 404 to junk without a database call.
func ValidID(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != 26 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// TimeFormat is RFC 3339 in UTC with fixed millisecond precision: fixed width keeps lexical order
// equal to time order, which the storage sort keys rely on.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// FormatTime renders t in TimeFormat.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ParseTime reads a time written by FormatTime (or any RFC 3339 time) and returns it in UTC.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	return t.UTC(), err
}

// Clock returns the current time; handlers take one so tests can move time.
type Clock func() time.Time

// ProjectStore keeps projects and memberships.
type ProjectStore interface {
	// CreateProject stores p and makes p.CreatedBy its owner, atomically.
	CreateProject(ctx context.Context, p Project) error
	// ListProjects returns the projects userID is a member of, newest first.
	ListProjects(ctx context.Context, userID string) ([]Project, error)
	// Membership returns userID's membership of projectID, or an error with code NotFound.
	Membership(ctx context.Context, userID, projectID string) (Membership, error)
}

// KeyStore keeps API keys by the hash of the secret. Every change writes its audit event in the
// same transaction.
type KeyStore interface {
	// CreateKey stores k under hash, the digest of the secret computed with scheme hashVersion.
	CreateKey(ctx context.Context, k APIKey, hash string, hashVersion int, audit AuditEvent) error
	// ListKeys returns a project's keys, newest first, read with strong consistency.
	ListKeys(ctx context.Context, projectID string) ([]APIKey, error)
	// DeleteKey revokes a key: once it returns, LookupKey no longer finds it. NotFound when the key
	// does not exist in that project.
	DeleteKey(ctx context.Context, projectID, keyID string, audit AuditEvent) error
	// RollKey creates r.New with the old key's name and sets the old key's expiry, atomically, and
	// returns the new key. NotFound when the old key does not exist in that project;
	// CodeKeyExpired when it has already expired.
	RollKey(ctx context.Context, r RollKey) (APIKey, error)
	// RevokeLeakedKey expires the key with hash at audit.At and records audit, atomically. It
	// returns false when the key had already expired (nothing changes); NotFound when there is no
	// such key.
	RevokeLeakedKey(ctx context.Context, hash string, audit AuditEvent) (bool, error)
}

// AuditLog lists a project's audit events.
type AuditLog interface {
	// ListAudit returns up to limit events of projectID that happened at or before now, newest
	// first, from after cursor ("" for the newest), and the cursor of the next page ("" when
	// there is none).
	ListAudit(ctx context.Context, projectID string, now time.Time, limit int, cursor string) ([]AuditEvent, string, error)
}

// KeyLookup is what the authorizer needs of the key store.
type KeyLookup interface {
	// LookupKey resolves a key hash with one strongly consistent read; NotFound when there is no
	// such key.
	LookupKey(ctx context.Context, hash string) (KeyGrant, error)
	// RecordKeyUse stores use as the key's last use unless a use after use.At-LastUsedInterval is
	// already stored (a conditional write), and never brings a deleted key back.
	RecordKeyUse(ctx context.Context, hash string, use KeyUse) error
	// RecordAudit appends an event to a project's audit log.
	RecordAudit(ctx context.Context, e AuditEvent) error
}

// ProjectFinder reads a project by id alone, for the buyer's hosted page, which shows its name.
type ProjectFinder interface {
	// FindProject returns the project; NotFound if none.
	FindProject(ctx context.Context, id string) (Project, error)
}
