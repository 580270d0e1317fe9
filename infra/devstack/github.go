package devstack

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"os"
)

// GitHubKeysParameter is the template parameter naming the URL of GitHub's secret scanning
// public keys.
const GitHubKeysParameter = "GitHubSecretScanningKeysUrl"

// GitHubKeys stands in for GitHub's secret scanning public key document on loopback, so that the
// leaked-key route runs without the internet. It publishes one fresh P-256 key, GitHubKeyID, and
// signs reports with it as GitHub would.
type GitHubKeys struct {
	URL string
	key *ecdsa.PrivateKey
	srv *http.Server
}

// GitHubKeyID is the stand-in key's Github-Public-Key-Identifier.
const GitHubKeyID = "codex-local-github"

// StartGitHubKeys serves the document on a free loopback port until Close.
func StartGitHubKeys() (*GitHubKeys, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	doc, err := json.Marshal(map[string]any{"public_keys": []map[string]any{{
		"key_identifier": GitHubKeyID, "is_current": true,
		"key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
	}}})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &GitHubKeys{URL: "http://" + ln.Addr().String() + "/meta/public_keys/secret_scanning", key: key}
	g.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	})}
	go g.srv.Serve(ln)
	return g, nil
}

// Sign returns the Github-Public-Key-Signature of body.
func (g *GitHubKeys) Sign(body []byte) (string, error) {
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, g.key, sum[:])
	return base64.StdEncoding.EncodeToString(sig), err
}

// WritePrivateKey saves the signing key as PEM (mode 0600), for signing reports by hand.
func (g *GitHubKeys) WritePrivateKey(path string) error {
	der, err := x509.MarshalECPrivateKey(g.key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

// Close stops serving.
func (g *GitHubKeys) Close() error { return g.srv.Close() }
