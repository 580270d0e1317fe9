package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"codex/pkg/apikey"
	"codex/pkg/codex"
	"codex/pkg/secretscan"
)

// SignatureVerifier checks a signed request body; *secretscan.KeySet is one.
type SignatureVerifier interface {
	Verify(ctx context.Context, keyID, signature string, body []byte) error
}

// MaxLeakReports bounds the tokens one report may carry; GitHub batches a few at a time.
const MaxLeakReports = 100

// GitHubSecretScanning is POST /public/secret-scanning/github, the endpoint of GitHub's secret
// scanning partner program: GitHub posts the cmk_ keys it found in public code, signed with its
// published keys. Each live key is revoked at once (its expiry set to now, the project's audit
// log told where it was found); the answer labels each token. A request whose signature does not
// verify changes nothing and gets 400.
type GitHubSecretScanning struct {
	Verifier SignatureVerifier
	Keys     codex.KeyStore
	Now      codex.Clock
}

func (h GitHubSecretScanning) Serve(ctx context.Context, req *Request) (Response, error) {
	body, err := rawBody(req)
	if err != nil {
		return Response{}, err
	}
	keyID, _ := Header(req.Headers, "github-public-key-identifier")
	sig, _ := Header(req.Headers, "github-public-key-signature")
	if err := h.Verifier.Verify(ctx, keyID, sig, body); errors.Is(err, secretscan.ErrBadSignature) {
		return Response{}, codex.Errorf(codex.CodeSignatureInvalid,
			"Github-Public-Key-Signature does not verify over the body with the key Github-Public-Key-Identifier names")
	} else if err != nil {
		return Response{}, err
	}
	var reports []secretscan.Report
	if err := json.Unmarshal(body, &reports); err != nil {
		return Response{}, codex.Errorf(codex.CodeBodyInvalid, "request body must be a JSON array of {token, type, url, source}")
	}
	if len(reports) > MaxLeakReports {
		return Response{}, codex.Errorf(codex.CodeBodyInvalid, "at most %d tokens per request", MaxLeakReports)
	}
	answers := make([]secretscan.Answer, 0, len(reports))
	for _, r := range reports {
		label, err := h.report(ctx, req, r)
		if err != nil {
			return Response{}, err // GitHub retries the whole report; revoking twice changes nothing
		}
		answers = append(answers, secretscan.Answer{TokenHash: secretscan.TokenHash(r.Token), TokenType: r.Type, Label: label})
	}
	return JSON(http.StatusOK, answers), nil
}

// report revokes one reported token if it is a live key and says whether it is one of ours.
func (h GitHubSecretScanning) report(ctx context.Context, req *Request, r secretscan.Report) (string, error) {
	key, err := apikey.Parse(r.Token)
	if err != nil {
		return secretscan.FalsePositive, nil // not a key: the checksum says so without a lookup
	}
	audit := auditEvent(req, "", codex.AuditKeyLeakRevoked, codex.SystemActor, h.Now().UTC().Truncate(time.Millisecond))
	audit.URL = codex.TruncateUTF8(r.URL, 2048)
	if _, err := h.Keys.RevokeLeakedKey(ctx, key.Hash(), audit); codex.IsNotFound(err) {
		return secretscan.FalsePositive, nil
	} else if err != nil {
		return "", err
	}
	// Revoked now or expired before: a real key either way.
	return secretscan.TruePositive, nil
}
