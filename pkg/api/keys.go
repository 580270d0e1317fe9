package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"codex/pkg/apikey"
	"codex/pkg/codex"
)

// keyView is a key on the wire. Secret is set only in the response that creates the key: it is the
// one moment the plaintext exists outside the merchant's hands.
type keyView struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	Prefix            string  `json:"prefix"`
	CreatedAt         string  `json:"created_at"`
	Status            string  `json:"status"`
	ExpiresAt         *string `json:"expires_at"`
	LastUsedAt        *string `json:"last_used_at"`
	LastUsedIP        *string `json:"last_used_ip"`
	LastUsedUserAgent *string `json:"last_used_user_agent"`
	Secret            string  `json:"key,omitempty"`
}

func viewKey(k codex.APIKey, now time.Time) keyView {
	v := keyView{ID: k.ID, Name: k.Name, Prefix: apikey.Mask(k.Prefix), CreatedAt: codex.FormatTime(k.CreatedAt),
		Status: string(k.Status(now)), ExpiresAt: optionalTime(k.ExpiresAt)}
	if !k.LastUsed.At.IsZero() {
		v.LastUsedAt = optionalTime(k.LastUsed.At)
		v.LastUsedIP, v.LastUsedUserAgent = &k.LastUsed.IP, &k.LastUsed.UserAgent
	}
	return v
}

func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := codex.FormatTime(t)
	return &s
}

// keyChanger starts every route that changes a project's keys: the caller must be a member of the
// project, and is the actor its audit events record (the JWT's subject and email claims).
func keyChanger(ctx context.Context, projects codex.ProjectStore, req *Request) (codex.Membership, codex.Actor, error) {
	m, err := memberProject(ctx, projects, req)
	if err != nil {
		return codex.Membership{}, codex.Actor{}, err
	}
	return m, codex.Actor{UserID: m.UserID, Email: req.RequestContext.Authorizer.JWT.Claims["email"]}, nil
}

// auditEvent starts the audit event of req: who, from where, when.
func auditEvent(req *Request, projectID string, action codex.AuditAction, who codex.Actor, now time.Time) codex.AuditEvent {
	ua := req.RequestContext.HTTP.UserAgent
	if ua == "" {
		ua, _ = Header(req.Headers, "user-agent")
	}
	return codex.AuditEvent{ID: codex.NewID(codex.AuditIDPrefix), ProjectID: projectID, Action: action, Actor: who,
		SourceIP: req.RequestContext.HTTP.SourceIP, UserAgent: ua, At: now}
}

// newSecret generates a key for projectID and the APIKey that describes it (without a name).
func newSecret(projectID, user string, now time.Time) (apikey.Key, codex.APIKey, error) {
	secret, err := apikey.Generate()
	if err != nil {
		return apikey.Key{}, codex.APIKey{}, fmt.Errorf("generate key: %w", err)
	}
	return secret, codex.APIKey{
		ID: codex.NewID(codex.KeyIDPrefix), ProjectID: projectID, Prefix: secret.DisplayPrefix(),
		CreatedAt: now, CreatedBy: user,
	}, nil
}

// created is the one response that holds the secret: no browser or proxy cache may keep it.
func created(k codex.APIKey, secret apikey.Key, now time.Time) Response {
	v := viewKey(k, now)
	v.Prefix = k.Prefix
	v.Secret = secret.Secret()
	return withHeader(JSON(http.StatusCreated, v), "cache-control", "no-store")
}

// CreateKey is POST /projects/{project_id}/keys.
type CreateKey struct {
	Projects codex.ProjectStore
	Keys     codex.KeyStore
	Now      codex.Clock
}

type createKeyBody struct {
	Name      string `json:"name"`
	ExpiresIn *int64 `json:"expires_in"`
}

func (h CreateKey) Serve(ctx context.Context, req *Request) (Response, error) {
	m, who, err := keyChanger(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	var body createKeyBody
	if err := DecodeJSON(req, &body); err != nil {
		return Response{}, err
	}
	name, err := codex.ValidateName("name", body.Name)
	if err != nil {
		return Response{}, err
	}
	now := h.Now().UTC().Truncate(time.Millisecond)
	secret, k, err := newSecret(m.Project.ID, m.UserID, now)
	if err != nil {
		return Response{}, err
	}
	k.Name = name
	if body.ExpiresIn != nil {
		d, err := codex.ValidateExpiresIn(body.ExpiresIn, codex.MinKeyExpiresIn, codex.MaxKeyExpiresIn)
		if err != nil {
			return Response{}, err
		}
		k.ExpiresAt = now.Add(d)
	}
	audit := auditEvent(req, m.Project.ID, codex.AuditKeyCreated, who, now)
	audit.KeyID, audit.ExpiresAt = k.ID, k.ExpiresAt
	if err := h.Keys.CreateKey(ctx, k, secret.Hash(), apikey.HashVersion, audit); err != nil {
		return Response{}, err
	}
	return created(k, secret, now), nil
}

// RollKey is POST /projects/{project_id}/keys/{key_id}/roll: a new key with the old one's name,
// shown once as at creation, and the old key expiring expires_in seconds from now (0: at once),
// in one transaction.
type RollKey struct {
	Projects codex.ProjectStore
	Keys     codex.KeyStore
	Now      codex.Clock
}

type rollKeyBody struct {
	ExpiresIn *int64 `json:"expires_in"`
}

func (h RollKey) Serve(ctx context.Context, req *Request) (Response, error) {
	m, who, err := keyChanger(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	id := req.PathParameters["key_id"]
	if !codex.ValidID(codex.KeyIDPrefix, id) {
		return Response{}, codex.NotFound("key")
	}
	var body rollKeyBody
	if err := DecodeJSON(req, &body); err != nil {
		return Response{}, err
	}
	grace, err := codex.ValidateExpiresIn(body.ExpiresIn, 0, codex.MaxRollGrace)
	if err != nil {
		return Response{}, err
	}
	now := h.Now().UTC().Truncate(time.Millisecond)
	secret, k, err := newSecret(m.Project.ID, m.UserID, now)
	if err != nil {
		return Response{}, err
	}
	k, err = h.Keys.RollKey(ctx, codex.RollKey{
		ProjectID: m.Project.ID, OldKeyID: id, New: k, Hash: secret.Hash(), HashVersion: apikey.HashVersion,
		GraceEnds: now.Add(grace), Audit: auditEvent(req, m.Project.ID, codex.AuditKeyRolled, who, now),
	})
	if err != nil {
		return Response{}, err
	}
	return created(k, secret, now), nil
}

// ListKeys is GET /projects/{project_id}/keys: names, masked prefixes, dates, status and last use,
// never a secret.
type ListKeys struct {
	Projects codex.ProjectStore
	Keys     codex.KeyStore
	Now      codex.Clock
}

func (h ListKeys) Serve(ctx context.Context, req *Request) (Response, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	keys, err := h.Keys.ListKeys(ctx, m.Project.ID)
	if err != nil {
		return Response{}, err
	}
	now := h.Now()
	out := List[keyView]{Data: make([]keyView, 0, len(keys))}
	for _, k := range keys {
		out.Data = append(out.Data, viewKey(k, now))
	}
	return JSON(http.StatusOK, out), nil
}

// DeleteKey is DELETE /projects/{project_id}/keys/{key_id}: revocation, effective for the very next
// request because the authorizer reads the keys table with strong consistency and never caches.
// Expired keys are deleted the same way.
type DeleteKey struct {
	Projects codex.ProjectStore
	Keys     codex.KeyStore
	Now      codex.Clock
}

func (h DeleteKey) Serve(ctx context.Context, req *Request) (Response, error) {
	m, who, err := keyChanger(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	id := req.PathParameters["key_id"]
	if !codex.ValidID(codex.KeyIDPrefix, id) {
		return Response{}, codex.NotFound("key")
	}
	audit := auditEvent(req, m.Project.ID, codex.AuditKeyRevoked, who, h.Now().UTC().Truncate(time.Millisecond))
	audit.KeyID = id
	if err := h.Keys.DeleteKey(ctx, m.Project.ID, id, audit); err != nil {
		return Response{}, err
	}
	return NoContent(), nil
}

// Audit log page sizes.
const (
	DefaultAuditLimit = 20
	MaxAuditLimit     = 100
)

// auditView is an audit event on the wire.
type auditView struct {
	ID        string     `json:"id"`
	Action    string     `json:"action"`
	CreatedAt string     `json:"created_at"`
	Actor     actorView  `json:"actor"`
	SourceIP  *string    `json:"source_ip"`
	UserAgent *string    `json:"user_agent"`
	KeyID     *string    `json:"key_id"`
	Details   auditExtra `json:"details"`
}

type actorView struct {
	Type   string  `json:"type"` // "user" or "system"
	UserID *string `json:"user_id"`
	Email  *string `json:"email"`
}

type auditExtra struct {
	NewKeyID  string `json:"new_key_id,omitempty"`
	ExpiresAt string `json:"expires_at,omitempty"`
	Reason    string `json:"reason,omitempty"`
	URL       string `json:"url,omitempty"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func viewAudit(e codex.AuditEvent) auditView {
	a := actorView{Type: "system"}
	if e.Actor.UserID != "" {
		a = actorView{Type: "user", UserID: optional(e.Actor.UserID), Email: optional(e.Actor.Email)}
	}
	return auditView{
		ID: e.ID, Action: string(e.Action), CreatedAt: codex.FormatTime(e.At), Actor: a,
		SourceIP: optional(e.SourceIP), UserAgent: optional(e.UserAgent), KeyID: optional(e.KeyID),
		Details: auditExtra{NewKeyID: e.NewKeyID, ExpiresAt: formatOptional(e.ExpiresAt), Reason: e.Reason, URL: e.URL},
	}
}

func formatOptional(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return codex.FormatTime(t)
}

// AuditPage is the body of GET /projects/{project_id}/audit-log.
type AuditPage struct {
	Data       []auditView `json:"data"`
	NextCursor *string     `json:"next_cursor"`
}

// ListAuditLog is GET /projects/{project_id}/audit-log?limit=&cursor=: the project's key events,
// newest first, members only.
type ListAuditLog struct {
	Projects codex.ProjectStore
	Audit    codex.AuditLog
	Now      codex.Clock
}

func (h ListAuditLog) Serve(ctx context.Context, req *Request) (Response, error) {
	m, err := memberProject(ctx, h.Projects, req)
	if err != nil {
		return Response{}, err
	}
	q := req.QueryStringParameters
	for k := range q {
		if k != "limit" && k != "cursor" {
			return Response{}, unknownParam(k, "")
		}
	}
	limit := DefaultAuditLimit
	if s, ok := q["limit"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || strings.ContainsAny(s, "+-") || n < 1 || n > MaxAuditLimit {
			return Response{}, codex.Invalid("limit", "limit must be an integer from 1 to %d", MaxAuditLimit)
		}
		limit = n
	}
	cursor, ok := q["cursor"]
	if ok && cursor == "" {
		return Response{}, codex.Invalid("cursor", "cursor must be a next_cursor from a previous page")
	}
	events, next, err := h.Audit.ListAudit(ctx, m.Project.ID, h.Now(), limit, cursor)
	if err != nil {
		return Response{}, err
	}
	out := AuditPage{Data: make([]auditView, 0, len(events)), NextCursor: optional(next)}
	for _, e := range events {
		out.Data = append(out.Data, viewAudit(e))
	}
	return JSON(http.StatusOK, out), nil
}
