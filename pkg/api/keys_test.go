package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"codex/pkg/apikey"
	"codex/pkg/codex"
)

func TestCreateKeyExpiresIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pp := map[string]string{"project_id": w.project("alice", "Shop")}
	for _, body := range []string{`{"name":"k","expires_in":3599}`, `{"name":"k","expires_in":31536001}`, `{"name":"k","expires_in":"3600"}`, `{"name":"k","expires_in":-1}`} {
		wantError(t, w.dashboard("alice", "POST /projects/{project_id}/keys", pp, body), http.StatusBadRequest, codex.CodeParameterInvalid, "expires_in")
	}
	k := decodeInto[keyView](t, w.dashboard("alice", "POST /projects/{project_id}/keys", pp, `{"name":"k","expires_in":3600}`))
	created, _ := codex.ParseTime(k.CreatedAt)
	if k.ExpiresAt == nil || *k.ExpiresAt != codex.FormatTime(created.Add(time.Hour)) || k.Status != "active" {
		t.Fatalf("created %+v; want expires_at an hour after created_at", k)
	}
	w.clock.Add(time.Hour)
	list := decodeInto[List[keyView]](t, w.dashboard("alice", "GET /projects/{project_id}/keys", pp, ""))
	if len(list.Data) != 1 || list.Data[0].Status != "expired" {
		t.Fatalf("an hour later the key is listed as %+v; want expired", list.Data)
	}
	// An expired key can be deleted.
	wantStatus(t, w.dashboard("alice", "DELETE /projects/{project_id}/keys/{key_id}", map[string]string{"project_id": pp["project_id"], "key_id": k.ID}, ""), http.StatusNoContent)
}

func TestRollKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	pp := map[string]string{"project_id": project}
	old := decodeInto[keyView](t, w.dashboard("alice", "POST /projects/{project_id}/keys", pp, `{"name":"Production server"}`))
	roll := func(id, body string) Response {
		return w.dashboard("alice", "POST /projects/{project_id}/keys/{key_id}/roll", map[string]string{"project_id": project, "key_id": id}, body)
	}
	for body, param := range map[string]string{`{}`: "expires_in", `{"expires_in":604801}`: "expires_in", `{"expires_in":-1}`: "expires_in"} {
		resp := roll(old.ID, body)
		if resp.StatusCode != http.StatusBadRequest || decodeEnvelope(t, resp).Error.Param != param {
			t.Fatalf("roll %s: %d %s; want 400 naming %s", body, resp.StatusCode, resp.Body, param)
		}
	}
	wantError(t, roll(codex.NewID(codex.KeyIDPrefix), `{"expires_in":0}`), http.StatusNotFound, codex.CodeNotFound, "")
	if resp := w.dashboard("bob", "POST /projects/{project_id}/keys/{key_id}/roll", map[string]string{"project_id": project, "key_id": old.ID}, `{"expires_in":0}`); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a non-member's roll: %d", resp.StatusCode)
	}

	resp := roll(old.ID, `{"expires_in":3600}`)
	wantStatus(t, resp, http.StatusCreated)
	if resp.Headers["cache-control"] != "no-store" {
		t.Fatal("the new secret may be cached")
	}
	rolled := decodeInto[keyView](t, resp)
	if rolled.Name != "Production server" || rolled.ID == old.ID || !strings.HasPrefix(rolled.Secret, apikey.Prefix) || rolled.ExpiresAt != nil {
		t.Fatalf("rolled key %+v; want a new key of the same name without expiry", rolled)
	}
	list := decodeInto[List[keyView]](t, w.dashboard("alice", "GET /projects/{project_id}/keys", pp, ""))
	if len(list.Data) != 2 || list.Data[0].ID != rolled.ID || list.Data[1].ID != old.ID || list.Data[1].ExpiresAt == nil || list.Data[1].Status != "active" {
		t.Fatalf("after the roll: %+v; want the new key and the old one expiring", list.Data)
	}
	// A second roll with a longer grace never extends the old key's life.
	before := *list.Data[1].ExpiresAt
	wantStatus(t, roll(old.ID, `{"expires_in":604800}`), http.StatusCreated)
	list = decodeInto[List[keyView]](t, w.dashboard("alice", "GET /projects/{project_id}/keys", pp, ""))
	if got := *list.Data[2].ExpiresAt; got != before {
		t.Fatalf("a longer second grace moved the expiry from %s to %s", before, got)
	}
	// Rolling with 0 refuses the old key at once; it cannot be rolled again.
	wantStatus(t, roll(old.ID, `{"expires_in":0}`), http.StatusCreated)
	if g, err := w.store.LookupKey(context.Background(), mustParse(t, rolled.Secret).Hash()); err != nil || codex.Expired(g.ExpiresAt, w.clock.Now()) {
		t.Fatalf("the first new key: %+v, %v", g, err)
	}
	w.clock.Add(time.Millisecond)
	wantError(t, roll(old.ID, `{"expires_in":0}`), http.StatusConflict, codex.CodeKeyExpired, "")
}

func TestAuditLog(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	pp := map[string]string{"project_id": project}
	k := decodeInto[keyView](t, w.dashboard("alice", "POST /projects/{project_id}/keys", pp, `{"name":"Server"}`))
	wantStatus(t, w.dashboard("alice", "POST /projects/{project_id}/keys/{key_id}/roll", map[string]string{"project_id": project, "key_id": k.ID}, `{"expires_in":60}`), http.StatusCreated)
	temp := decodeInto[keyView](t, w.dashboard("alice", "POST /projects/{project_id}/keys", pp, `{"name":"Temp"}`))
	wantStatus(t, w.dashboard("alice", "DELETE /projects/{project_id}/keys/{key_id}", map[string]string{"project_id": project, "key_id": temp.ID}, ""), http.StatusNoContent)

	page := decodeInto[AuditPage](t, w.dashboard("alice", "GET /projects/{project_id}/audit-log", pp, ""))
	var actions []string
	for _, e := range page.Data {
		actions = append(actions, e.Action)
	}
	// Newest first; the rolled key's expiry is not listed before it happens.
	if got := strings.Join(actions, " "); got != "key.revoked key.created key.rolled key.created" {
		t.Fatalf("audit log %s", got)
	}
	e := page.Data[0]
	if e.Actor.Type != "user" || *e.Actor.UserID != "alice" || e.Actor.Email == nil || *e.Actor.Email == "" ||
		e.SourceIP == nil || e.UserAgent == nil || *e.KeyID != temp.ID || page.NextCursor != nil {
		t.Fatalf("revocation event %+v, cursor %v", e, page.NextCursor)
	}
	if page.Data[2].Details.NewKeyID == "" || page.Data[2].Details.ExpiresAt == "" {
		t.Fatalf("roll event %+v", page.Data[2])
	}

	// A minute later the expiry shows, by the system, and pages follow the cursor.
	w.clock.Add(time.Minute)
	var all []auditView
	query := []string{"limit", "2"}
	for range 5 {
		page = decodeInto[AuditPage](t, w.dashboard("alice", "GET /projects/{project_id}/audit-log", pp, "", query...))
		all = append(all, page.Data...)
		if page.NextCursor == nil {
			break
		}
		query = []string{"limit", "2", "cursor", *page.NextCursor}
	}
	if len(all) != 5 || all[0].Action != "key.expired" || all[0].Actor.Type != "system" || *all[0].KeyID != k.ID {
		t.Fatalf("audit log after the grace: %+v", all)
	}
	if resp := w.dashboard("bob", "GET /projects/{project_id}/audit-log", pp, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a non-member reads the audit log: %d", resp.StatusCode)
	}
	wantError(t, w.dashboard("alice", "GET /projects/{project_id}/audit-log", pp, "", "limit", "101"), http.StatusBadRequest, codex.CodeParameterInvalid, "limit")
	wantError(t, w.dashboard("alice", "GET /projects/{project_id}/audit-log", pp, "", "before", "x"), http.StatusBadRequest, codex.CodeParameterUnknown, "before")
	for _, cursor := range []string{"", "UFJPSkVDVCM" /* PROJECT# */, "QVVESVQjOTk5OQ" /* AUDIT#9999, after now */, "not base64!"} {
		wantError(t, w.dashboard("alice", "GET /projects/{project_id}/audit-log", pp, "", "cursor", cursor), http.StatusBadRequest, codex.CodeParameterInvalid, "cursor")
	}
}

func TestGitHubLeakReport(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	project := w.project("alice", "Shop")
	pp := map[string]string{"project_id": project}
	k := decodeInto[keyView](t, w.dashboard("alice", "POST /projects/{project_id}/keys", pp, `{"name":"Server","expires_in":86400}`))
	stranger, _ := apikey.Generate()
	report := `[{"token":"` + k.Secret + `","type":"codex_secret_key","url":"https://github.com/octo/shop/blob/1/.env","source":"content"},` +
		`{"token":"` + stranger.Secret() + `","type":"codex_secret_key","url":"u","source":"content"},` +
		`{"token":"cmk_notakey","type":"codex_secret_key","url":"u","source":"content"}]`

	// A bad signature: 400, and the key still works.
	for _, sig := range []string{"", "not base64!", githubSign(t, report[1:])} {
		wantError(t, w.github(report, sig), http.StatusBadRequest, codex.CodeSignatureInvalid, "")
	}
	if g, err := w.store.LookupKey(context.Background(), mustParse(t, k.Secret).Hash()); err != nil || codex.Expired(g.ExpiresAt, w.clock.Now()) {
		t.Fatalf("after bad reports the key is %+v, %v", g, err)
	}

	resp := w.github(report, githubSign(t, report))
	wantStatus(t, resp, http.StatusOK)
	answers := decodeInto[[]map[string]string](t, resp)
	if len(answers) != 3 || answers[0]["label"] != "true_positive" || answers[1]["label"] != "false_positive" || answers[2]["label"] != "false_positive" ||
		answers[0]["token_type"] != "codex_secret_key" || len(answers[0]["token_hash"]) != 64 {
		t.Fatalf("answers %s", resp.Body)
	}
	if strings.Contains(resp.Body, k.Secret) || strings.Contains(w.logs.String(), k.Secret) {
		t.Fatal("the answer or the log holds the reported key")
	}
	g, err := w.store.LookupKey(context.Background(), mustParse(t, k.Secret).Hash())
	if err != nil || !codex.Expired(g.ExpiresAt, w.clock.Now()) {
		t.Fatalf("the reported key is %+v, %v; want expired", g, err)
	}
	// Reported again (GitHub retries): still a true positive, nothing more recorded.
	if again := decodeInto[[]map[string]string](t, w.github(report, githubSign(t, report))); again[0]["label"] != "true_positive" {
		t.Fatalf("second report: %v", again)
	}
	page := decodeInto[AuditPage](t, w.dashboard("alice", "GET /projects/{project_id}/audit-log", pp, ""))
	var leaks, expiries int
	for _, e := range page.Data {
		switch e.Action {
		case "key.leak_revoked":
			leaks++
			if e.Details.URL != "https://github.com/octo/shop/blob/1/.env" || e.Actor.Type != "system" || *e.KeyID != k.ID {
				t.Fatalf("leak event %+v", e)
			}
		case "key.expired":
			expiries++
		}
	}
	if leaks != 1 || expiries != 1 {
		t.Fatalf("audit log %+v; want one leak revocation and one expiry (the day-long one dropped)", page.Data)
	}
}
