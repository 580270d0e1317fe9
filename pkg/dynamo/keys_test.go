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
	if err := s.CreateKey(context.Background(), k, secret.Hash(), apikey.HashVersion); err != nil {
		t.Fatal(err)
	}
	return k, secret
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
	if err != nil || got != (codex.Principal{ProjectID: p.ID, KeyID: first.ID}) {
		t.Fatalf("LookupKey = %+v, %v", got, err)
	}

	// Another project's key id, an unknown id: not found, and nothing is deleted.
	if err := s.DeleteKey(ctx, p.ID, foreign.ID); !codex.IsNotFound(err) {
		t.Fatalf("deleting another project's key: %v, want not found", err)
	}
	if err := s.DeleteKey(ctx, p.ID, codex.NewID(codex.KeyIDPrefix)); !codex.IsNotFound(err) {
		t.Fatalf("deleting an unknown key: %v, want not found", err)
	}
	if theirs, _ := s.ListKeys(ctx, q.ID); len(theirs) != 1 {
		t.Fatalf("the other project lost its key: %+v", theirs)
	}

	// Revocation: once DeleteKey returns, the authorizer's lookup misses.
	if err := s.DeleteKey(ctx, p.ID, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupKey(ctx, firstSecret.Hash()); !codex.IsNotFound(err) {
		t.Fatalf("LookupKey after delete: %v, want not found", err)
	}
	if err := s.DeleteKey(ctx, p.ID, first.ID); !codex.IsNotFound(err) {
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
	// 5 keys + 5 references + project + membership: the scan saw everything written.
	if items != 12 {
		t.Fatalf("scanned %d items, want 12", items)
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
