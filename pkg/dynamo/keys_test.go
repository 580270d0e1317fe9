package dynamo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"codex/pkg/apikey"
	"codex/pkg/codex"
)

func newProject(t *testing.T, s *Store, user, name string, at time.Time) codex.Project {
	t.Helper()
	p := codex.Project{ID: codex.NewID(codex.ProjectIDPrefix), Name: name, CreatedAt: at, CreatedBy: user}
	if err := s.CreateProject(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProjectsAndMemberships(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	older := newProject(t, s, "user-a", "Older", t0)
	newer := newProject(t, s, "user-a", "Newer ☕", t0.Add(time.Second))
	other := newProject(t, s, "user-b", "Not yours", t0.Add(2*time.Second))

	got, err := s.ListProjects(ctx, "user-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != newer.ID || got[1].ID != older.ID {
		t.Fatalf("ListProjects(user-a) = %+v; want [%s %s]", got, newer.ID, older.ID)
	}
	if got[0].Name != "Newer ☕" || !got[0].CreatedAt.Equal(newer.CreatedAt) || got[0].CreatedBy != "user-a" {
		t.Fatalf("project read back as %+v", got[0])
	}

	m, err := s.Membership(ctx, "user-a", older.ID)
	if err != nil || m.Role != codex.RoleOwner || m.Project.ID != older.ID || m.Project.Name != "Older" {
		t.Fatalf("Membership = %+v, %v", m, err)
	}
	if _, err := s.Membership(ctx, "user-a", other.ID); !codex.IsNotFound(err) {
		t.Fatalf("membership of another user's project: %v, want not found", err)
	}
	if _, err := s.Membership(ctx, "user-a", codex.NewID(codex.ProjectIDPrefix)); !codex.IsNotFound(err) {
		t.Fatalf("membership of a missing project: %v, want not found", err)
	}
	if none, err := s.ListProjects(ctx, "nobody"); err != nil || len(none) != 0 {
		t.Fatalf("ListProjects(nobody) = %v, %v", none, err)
	}
}

func newKey(t *testing.T, s *Store, projectID, name string, at time.Time) (codex.APIKey, apikey.Key) {
	t.Helper()
	secret, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	k := codex.APIKey{
		ID: codex.NewID(codex.KeyIDPrefix), ProjectID: projectID, Name: name,
		Prefix: secret.DisplayPrefix(), CreatedAt: at, CreatedBy: "user-a",
	}
	if err := s.CreateKey(context.Background(), k, secret.Hash(), apikey.HashVersion, testAudit(projectID, codex.AuditKeyCreated)); err != nil {
		t.Fatal(err)
	}
	return k, secret
}

// testAudit is an audit event by user-a at t0 + 10 s.
func testAudit(projectID string, action codex.AuditAction) codex.AuditEvent {
	return codex.AuditEvent{ID: codex.NewID(codex.AuditIDPrefix), ProjectID: projectID, Action: action,
		Actor: codex.Actor{UserID: "user-a", Email: "a@example.com"}, SourceIP: "192.0.2.1", UserAgent: "test", At: t0.Add(10 * time.Second)}
}

func TestKeysLifecycle(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	p := newProject(t, s, "user-a", "Shop", t0)
	q := newProject(t, s, "user-b", "Other shop", t0)

	first, firstSecret := newKey(t, s, p.ID, "Production server", t0.Add(time.Second))
	second, secondSecret := newKey(t, s, p.ID, "Production server", t0.Add(2*time.Second)) // names may repeat
	foreign, _ := newKey(t, s, q.ID, "Theirs", t0.Add(3*time.Second))

	keys, err := s.ListKeys(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != second.ID || keys[1].ID != first.ID {
		t.Fatalf("ListKeys = %+v; want newest first [%s %s]", keys, second.ID, first.ID)
	}
	if keys[1].Name != first.Name || keys[1].Prefix != first.Prefix || !keys[1].CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("key read back as %+v, want %+v", keys[1], first)
	}

	got, err := s.LookupKey(ctx, firstSecret.Hash())
	if err != nil || got != (codex.KeyGrant{Principal: codex.Principal{ProjectID: p.ID, KeyID: first.ID}}) {
		t.Fatalf("LookupKey = %+v, %v", got, err)
	}

	// Another project's key id, an unknown id: not found, and nothing is deleted.
	if err := s.DeleteKey(ctx, p.ID, foreign.ID, testAudit(p.ID, codex.AuditKeyRevoked)); !codex.IsNotFound(err) {
		t.Fatalf("deleting another project's key: %v, want not found", err)
	}
	if err := s.DeleteKey(ctx, p.ID, codex.NewID(codex.KeyIDPrefix), testAudit(p.ID, codex.AuditKeyRevoked)); !codex.IsNotFound(err) {
		t.Fatalf("deleting an unknown key: %v, want not found", err)
	}
	if theirs, _ := s.ListKeys(ctx, q.ID); len(theirs) != 1 {
		t.Fatalf("the other project lost its key: %+v", theirs)
	}

	// Revocation: once DeleteKey returns, the authorizer's lookup misses.
	if err := s.DeleteKey(ctx, p.ID, first.ID, testAudit(p.ID, codex.AuditKeyRevoked)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupKey(ctx, firstSecret.Hash()); !codex.IsNotFound(err) {
		t.Fatalf("LookupKey after delete: %v, want not found", err)
	}
	if err := s.DeleteKey(ctx, p.ID, first.ID, testAudit(p.ID, codex.AuditKeyRevoked)); !codex.IsNotFound(err) {
		t.Fatalf("second delete: %v, want not found", err)
	}
	if _, err := s.LookupKey(ctx, secondSecret.Hash()); err != nil {
		t.Fatalf("the other key of the project stopped working: %v", err)
	}
	keys, _ = s.ListKeys(ctx, p.ID)
	if len(keys) != 1 || keys[0].ID != second.ID {
		t.Fatalf("after delete ListKeys = %+v", keys)
	}
}

// TestNoPlaintextKeyStored scans both tables after keys are created: no attribute of any item may hold
// the secret, whole or as its random part.
func TestNoPlaintextKeyStored(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	p := newProject(t, s, "user-a", "Shop", t0)
	var secrets []string
	for i := range 5 {
		_, secret := newKey(t, s, p.ID, "k", t0.Add(time.Duration(i)*time.Second))
		secrets = append(secrets, secret.Secret())
	}
	items := 0
	for _, table := range []string{s.tables.Keys, s.tables.App} {
		out, err := testEnv.DynamoDB.Scan(ctx, &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range out.Items {
			items++
			dump := strings.ToLower(dumpItem(item))
			for _, secret := range secrets {
				if strings.Contains(dump, strings.ToLower(secret)) || strings.Contains(dump, strings.ToLower(secret[4:47])) {
					t.Fatalf("table %s holds a plaintext key in %s", table, dumpItem(item))
				}
			}
		}
	}
	// 5 keys + 5 references + 5 audit events + project + membership: the scan saw everything written.
	if items != 17 {
		t.Fatalf("scanned %d items, want 17", items)
	}
}

// dumpItem renders every attribute of an item, nested ones included, as text to search.
func dumpItem(item map[string]types.AttributeValue) string {
	var m map[string]any
	if err := attributevalue.UnmarshalMap(item, &m); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%v", m)
}

// TestListKeysReadsEveryKeyConsistently: more keys than one BatchGetItem takes, each listed at
// once, newest first, with what the authorizer last wrote.
func TestListKeysReadsEveryKeyConsistently(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	p := newProject(t, s, "user-a", "Shop", t0)
	var ids []string
	var last apikey.Key
	for i := range 105 {
		k, secret := newKey(t, s, p.ID, fmt.Sprintf("k%d", i), t0.Add(time.Duration(i)*time.Millisecond))
		ids, last = append(ids, k.ID), secret
	}
	use := codex.KeyUse{At: t0.Add(time.Hour), IP: "192.0.2.9", UserAgent: strings.Repeat("é", 200)}
	if err := s.RecordKeyUse(ctx, last.Hash(), use); err != nil {
		t.Fatal(err)
	}
	keys, err := s.ListKeys(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(ids) {
		t.Fatalf("listed %d keys, want %d", len(keys), len(ids))
	}
	for i, k := range keys {
		if k.ID != ids[len(ids)-1-i] {
			t.Fatalf("key %d is %s, want %s (newest first)", i, k.ID, ids[len(ids)-1-i])
		}
	}
	if u := keys[0].LastUsed; !u.At.Equal(use.At) || u.IP != use.IP || len(u.UserAgent) != codex.MaxUserAgentLength {
		t.Fatalf("last use %+v; want the recorded one, its user agent cut to %d bytes", u, codex.MaxUserAgentLength)
	}
}

// TestRollRaces: two rolls of one key at once both succeed (each a new key; the old key keeps the
// sooner expiry), and a roll racing a delete leaves no new key without the old one's fate settled.
func TestRollRaces(t *testing.T) {
	t.Parallel()
	s, ctx := newTestStore(t), context.Background()
	p := newProject(t, s, "user-a", "Shop", t0)
	old, oldSecret := newKey(t, s, p.ID, "server", t0)
	roll := func(grace time.Duration) error {
		secret, err := apikey.Generate()
		if err != nil {
			return err
		}
		_, err = s.RollKey(ctx, codex.RollKey{ProjectID: p.ID, OldKeyID: old.ID, Hash: secret.Hash(), HashVersion: apikey.HashVersion,
			New:       codex.APIKey{ID: codex.NewID(codex.KeyIDPrefix), ProjectID: p.ID, Prefix: secret.DisplayPrefix(), CreatedAt: t0},
			GraceEnds: t0.Add(grace), Audit: testAudit(p.ID, codex.AuditKeyRolled)})
		return err
	}
	errs := make(chan error, 2)
	go func() { errs <- roll(time.Hour) }()
	go func() { errs <- roll(2 * time.Hour) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent roll: %v", err)
		}
	}
	g, err := s.LookupKey(ctx, oldSecret.Hash())
	if err != nil || !g.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("old key after two rolls: %+v, %v; want the sooner expiry", g, err)
	}
	keys, _ := s.ListKeys(ctx, p.ID)
	if len(keys) != 3 {
		t.Fatalf("%d keys after two rolls, want 3", len(keys))
	}
	if err := s.DeleteKey(ctx, p.ID, old.ID, testAudit(p.ID, codex.AuditKeyRevoked)); err != nil {
		t.Fatal(err)
	}
	if err := roll(0); !codex.IsNotFound(err) {
		t.Fatalf("rolling a deleted key: %v, want not found", err)
	}
	// The delete dropped the old key's pending expiry event: nothing says it will expire.
	events, _, err := s.ListAudit(ctx, p.ID, t0.Add(365*24*time.Hour), 100, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Action == codex.AuditKeyExpired {
			t.Fatalf("a deleted key's expiry is still in the log: %+v", e)
		}
	}
}
