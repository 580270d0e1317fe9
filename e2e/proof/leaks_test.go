package proof

import (
	"net/http"
	"strings"
	"testing"

	"codex/e2e/e2etest"
)

// TestLeakedKeyReport: GitHub's secret scanning, with a key pair of our own standing in for
// GitHub's (the stack fetches its public key from a loopback server, never the internet). A
// report whose signature does not verify (one byte of the body changed) gets 400 and changes no
// item; the signed report revokes the key for the very next request, labels it a true positive,
// and the project's audit log says where it was found.
func TestLeakedKeyReport(t *testing.T) {
	m := newMerchant(t, "leak")
	other, _ := newKey(t, m, "other")
	e2etest.Want(t, client.Call(t, "", "GET", "/v1/whoami", e2etest.Bearer(m.key), ""), http.StatusOK)
	report := `[{"token":"` + m.key + `","type":"codex_secret_key","url":"https://github.com/octo/shop/blob/1/.env","source":"content"}]`

	before := scanTables(t)
	tampered := strings.Replace(report, "octo", "octp", 1)
	e2etest.Want(t, client.Call(t, "PublicApi", "POST", "/public/secret-scanning/github", githubHeader(t, report), tampered), http.StatusBadRequest)
	if d := before.diff(scanTables(t)); d != "" {
		t.Fatalf("a report that does not verify changed the tables:\n%s", d)
	}
	e2etest.Want(t, client.Call(t, "", "GET", "/v1/whoami", e2etest.Bearer(m.key), ""), http.StatusOK)

	r := client.Call(t, "PublicApi", "POST", "/public/secret-scanning/github", githubHeader(t, report), report)
	e2etest.Want(t, r, http.StatusOK)
	answers := e2etest.Decode[[]struct {
		TokenHash string `json:"token_hash"`
		TokenType string `json:"token_type"`
		Label     string `json:"label"`
	}](t, r)
	if len(answers) != 1 || answers[0].Label != "true_positive" || answers[0].TokenType != "codex_secret_key" || len(answers[0].TokenHash) != 64 {
		t.Fatalf("answers %s", r.Body)
	}
	e2etest.Want(t, client.Call(t, "", "GET", "/v1/whoami", e2etest.Bearer(m.key), ""), http.StatusForbidden)
	e2etest.Want(t, client.Call(t, "", "GET", "/v1/whoami", e2etest.Bearer(other), ""), http.StatusOK)

	log := e2etest.Decode[struct {
		Data []struct {
			Action  string `json:"action"`
			KeyID   string `json:"key_id"`
			Details struct {
				URL string `json:"url"`
			} `json:"details"`
		} `json:"data"`
	}](t, client.Call(t, "", "GET", "/projects/"+m.project+"/audit-log", e2etest.Bearer(m.token), ""))
	found := false
	for _, e := range log.Data {
		found = found || e.Action == "key.leak_revoked" && e.KeyID == m.keyID && e.Details.URL == "https://github.com/octo/shop/blob/1/.env"
	}
	if !found {
		t.Fatalf("the audit log has no leak revocation of %s: %+v", m.keyID, log.Data)
	}
}
