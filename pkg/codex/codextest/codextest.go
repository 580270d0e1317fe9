// Package codextest holds one fake of each storage interface of package codex, for handler tests
// that need no DynamoDB: each method calls the function field of the same name, which the test
// sets to the behaviour it needs. A method whose field is nil panics, so a test notices a call it
// did not expect (api.Handler answers it with a 500). Tests that depend on DynamoDB's own
// behaviour (conditions, transactions, consistent reads) use moto instead, as pkg/dynamo does.
package codextest

import (
	"context"
	"time"

	"codex/pkg/codex"
)

var (
	_ codex.ProjectStore    = (*ProjectStore)(nil)
	_ codex.KeyStore        = (*KeyStore)(nil)
	_ codex.KeyLookup       = (*KeyLookup)(nil)
	_ codex.ButtonStore     = (*ButtonStore)(nil)
	_ codex.CheckoutStore   = (*CheckoutStore)(nil)
	_ codex.CheckoutFinder  = (*CheckoutFinder)(nil)
	_ codex.CheckoutExpirer = (*CheckoutExpirer)(nil)
	_ codex.AuditLog        = (*AuditLog)(nil)
	_ codex.ProjectFinder   = (*ProjectFinder)(nil)
	_ codex.PaymentStore    = (*PaymentStore)(nil)
)

// ProjectStore is a fake codex.ProjectStore.
type ProjectStore struct {
	CreateProjectFn func(ctx context.Context, p codex.Project) error
	ListProjectsFn  func(ctx context.Context, userID string) ([]codex.Project, error)
	MembershipFn    func(ctx context.Context, userID, projectID string) (codex.Membership, error)
}

func (s *ProjectStore) CreateProject(ctx context.Context, p codex.Project) error {
	return s.CreateProjectFn(ctx, p)
}

func (s *ProjectStore) ListProjects(ctx context.Context, userID string) ([]codex.Project, error) {
	return s.ListProjectsFn(ctx, userID)
}

func (s *ProjectStore) Membership(ctx context.Context, userID, projectID string) (codex.Membership, error) {
	return s.MembershipFn(ctx, userID, projectID)
}

// KeyStore is a fake codex.KeyStore.
type KeyStore struct {
	CreateKeyFn       func(ctx context.Context, k codex.APIKey, hash string, hashVersion int, audit codex.AuditEvent) error
	ListKeysFn        func(ctx context.Context, projectID string) ([]codex.APIKey, error)
	DeleteKeyFn       func(ctx context.Context, projectID, keyID string, audit codex.AuditEvent) error
	RollKeyFn         func(ctx context.Context, r codex.RollKey) (codex.APIKey, error)
	RevokeLeakedKeyFn func(ctx context.Context, hash string, audit codex.AuditEvent) (bool, error)
}

func (s *KeyStore) CreateKey(ctx context.Context, k codex.APIKey, hash string, hashVersion int, audit codex.AuditEvent) error {
	return s.CreateKeyFn(ctx, k, hash, hashVersion, audit)
}

func (s *KeyStore) ListKeys(ctx context.Context, projectID string) ([]codex.APIKey, error) {
	return s.ListKeysFn(ctx, projectID)
}

func (s *KeyStore) DeleteKey(ctx context.Context, projectID, keyID string, audit codex.AuditEvent) error {
	return s.DeleteKeyFn(ctx, projectID, keyID, audit)
}

func (s *KeyStore) RollKey(ctx context.Context, r codex.RollKey) (codex.APIKey, error) {
	return s.RollKeyFn(ctx, r)
}

func (s *KeyStore) RevokeLeakedKey(ctx context.Context, hash string, audit codex.AuditEvent) (bool, error) {
	return s.RevokeLeakedKeyFn(ctx, hash, audit)
}

// AuditLog is a fake codex.AuditLog.
type AuditLog struct {
	ListAuditFn func(ctx context.Context, projectID string, now time.Time, limit int, cursor string) ([]codex.AuditEvent, string, error)
}

func (s *AuditLog) ListAudit(ctx context.Context, projectID string, now time.Time, limit int, cursor string) ([]codex.AuditEvent, string, error) {
	return s.ListAuditFn(ctx, projectID, now, limit, cursor)
}

// KeyLookup is a fake codex.KeyLookup.
type KeyLookup struct {
	LookupKeyFn    func(ctx context.Context, hash string) (codex.KeyGrant, error)
	RecordKeyUseFn func(ctx context.Context, hash string, use codex.KeyUse) error
	RecordAuditFn  func(ctx context.Context, e codex.AuditEvent) error
}

func (s *KeyLookup) LookupKey(ctx context.Context, hash string) (codex.KeyGrant, error) {
	return s.LookupKeyFn(ctx, hash)
}

func (s *KeyLookup) RecordKeyUse(ctx context.Context, hash string, use codex.KeyUse) error {
	return s.RecordKeyUseFn(ctx, hash, use)
}

func (s *KeyLookup) RecordAudit(ctx context.Context, e codex.AuditEvent) error {
	return s.RecordAuditFn(ctx, e)
}

// ButtonStore is a fake codex.ButtonStore.
type ButtonStore struct {
	CreateButtonFn  func(ctx context.Context, b codex.Button) error
	ListButtonsFn   func(ctx context.Context, projectID string) ([]codex.Button, error)
	GetButtonFn     func(ctx context.Context, projectID, id string) (codex.Button, error)
	ArchiveButtonFn func(ctx context.Context, projectID, id string, at time.Time) error
}

func (s *ButtonStore) CreateButton(ctx context.Context, b codex.Button) error {
	return s.CreateButtonFn(ctx, b)
}

func (s *ButtonStore) ListButtons(ctx context.Context, projectID string) ([]codex.Button, error) {
	return s.ListButtonsFn(ctx, projectID)
}

func (s *ButtonStore) GetButton(ctx context.Context, projectID, id string) (codex.Button, error) {
	return s.GetButtonFn(ctx, projectID, id)
}

func (s *ButtonStore) ArchiveButton(ctx context.Context, projectID, id string, at time.Time) error {
	return s.ArchiveButtonFn(ctx, projectID, id, at)
}

// CheckoutStore is a fake codex.CheckoutStore.
type CheckoutStore struct {
	CreateCheckoutFn func(ctx context.Context, c codex.Checkout, ev codex.Event, rec *codex.IdempotencyRecord) (*codex.IdempotencyRecord, error)
	GetCheckoutFn    func(ctx context.Context, projectID, id string) (codex.Checkout, error)
	ListCheckoutsFn  func(ctx context.Context, projectID string, limit int, startingAfter string) ([]codex.Checkout, bool, error)
}

func (s *CheckoutStore) CreateCheckout(ctx context.Context, c codex.Checkout, ev codex.Event, rec *codex.IdempotencyRecord) (*codex.IdempotencyRecord, error) {
	return s.CreateCheckoutFn(ctx, c, ev, rec)
}

func (s *CheckoutStore) GetCheckout(ctx context.Context, projectID, id string) (codex.Checkout, error) {
	return s.GetCheckoutFn(ctx, projectID, id)
}

func (s *CheckoutStore) ListCheckouts(ctx context.Context, projectID string, limit int, startingAfter string) ([]codex.Checkout, bool, error) {
	return s.ListCheckoutsFn(ctx, projectID, limit, startingAfter)
}

// CheckoutFinder is a fake codex.CheckoutFinder.
type CheckoutFinder struct {
	FindCheckoutFn func(ctx context.Context, id string) (codex.Checkout, error)
}

func (s *CheckoutFinder) FindCheckout(ctx context.Context, id string) (codex.Checkout, error) {
	return s.FindCheckoutFn(ctx, id)
}

// CheckoutExpirer is a fake codex.CheckoutExpirer.
type CheckoutExpirer struct {
	ExpireCheckoutFn  func(ctx context.Context, c codex.Checkout, ev codex.Event, at time.Time) (codex.Checkout, error)
	DueCheckoutsFn    func(ctx context.Context, shard int, now time.Time, limit int, cursor string) ([]string, string, error)
	OpenShardsFn      func() int
	UnindexCheckoutFn func(ctx context.Context, id string) (bool, error)
}

func (s *CheckoutExpirer) ExpireCheckout(ctx context.Context, c codex.Checkout, ev codex.Event, at time.Time) (codex.Checkout, error) {
	return s.ExpireCheckoutFn(ctx, c, ev, at)
}

func (s *CheckoutExpirer) DueCheckouts(ctx context.Context, shard int, now time.Time, limit int, cursor string) ([]string, string, error) {
	return s.DueCheckoutsFn(ctx, shard, now, limit, cursor)
}

func (s *CheckoutExpirer) OpenShards() int { return s.OpenShardsFn() }

func (s *CheckoutExpirer) UnindexCheckout(ctx context.Context, id string) (bool, error) {
	return s.UnindexCheckoutFn(ctx, id)
}

// EventStore is a fake codex.EventStore.
type EventStore struct {
	GetEventFn   func(ctx context.Context, projectID, id string, now time.Time) (codex.Event, error)
	ListEventsFn func(ctx context.Context, projectID string, typ codex.EventType, limit int, startingAfter string, now time.Time) ([]codex.Event, bool, error)
}

func (s *EventStore) GetEvent(ctx context.Context, projectID, id string, now time.Time) (codex.Event, error) {
	return s.GetEventFn(ctx, projectID, id, now)
}

func (s *EventStore) ListEvents(ctx context.Context, projectID string, typ codex.EventType, limit int, startingAfter string, now time.Time) ([]codex.Event, bool, error) {
	return s.ListEventsFn(ctx, projectID, typ, limit, startingAfter, now)
}

// ProjectFinder is a fake codex.ProjectFinder.
type ProjectFinder struct {
	FindProjectFn func(ctx context.Context, id string) (codex.Project, error)
}

func (s *ProjectFinder) FindProject(ctx context.Context, id string) (codex.Project, error) {
	return s.FindProjectFn(ctx, id)
}

// PaymentStore is a fake codex.PaymentStore.
type PaymentStore struct {
	ClaimPaymentFn    func(ctx context.Context, id, lease string, now, until time.Time) (codex.Checkout, error)
	CompletePaymentFn func(ctx context.Context, id, lease string, c codex.Completion, ev codex.Event) error
	FailPaymentFn     func(ctx context.Context, id, lease string, e codex.PaymentError, now time.Time, ev codex.Event) error
}

func (s *PaymentStore) ClaimPayment(ctx context.Context, id, lease string, now, until time.Time) (codex.Checkout, error) {
	return s.ClaimPaymentFn(ctx, id, lease, now, until)
}

func (s *PaymentStore) CompletePayment(ctx context.Context, id, lease string, c codex.Completion, ev codex.Event) error {
	return s.CompletePaymentFn(ctx, id, lease, c, ev)
}

func (s *PaymentStore) FailPayment(ctx context.Context, id, lease string, e codex.PaymentError, now time.Time, ev codex.Event) error {
	return s.FailPaymentFn(ctx, id, lease, e, now, ev)
}
