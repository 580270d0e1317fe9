// Package secretscan verifies the reports of GitHub's secret scanning partner program: GitHub
// signs each request body with ECDSA P-256 (SHA-256, an ASN.1 signature in base64 in the
// Github-Public-Key-Signature header) under the key named by Github-Public-Key-Identifier, one of
// the public keys GitHub publishes at https://api.github.com/meta/public_keys/secret_scanning.
//
// KeySet fetches that document once, keeps it for the life of the process, and fetches it again
// only when a request names a key id it does not hold (GitHub rotating its key), at most once per
// RefetchInterval so that requests with made-up ids cannot make it hammer the URL.
package secretscan

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// DefaultKeysURL is where GitHub publishes its secret scanning public keys.
const DefaultKeysURL = "https://api.github.com/meta/public_keys/secret_scanning"

// RefetchInterval is the least time between two fetches of the key document; RetryInterval the
// least time after a failed fetch before the next (meanwhile requests get the same error, a 500,
// and GitHub retries them later).
const (
	RefetchInterval = time.Minute
	RetryInterval   = 5 * time.Second
)

// ErrBadSignature is any request whose signature does not verify: an unknown key id, a malformed
// signature, or one that does not match the body.
var ErrBadSignature = errors.New("the signature does not verify")

// KeySet is GitHub's public keys, fetched from URL and cached.
type KeySet struct {
	URL    string
	Client *http.Client // default: a client with a 5 s timeout
	Now    func() time.Time

	mu        sync.Mutex
	keys      map[string]*ecdsa.PublicKey
	fetchedAt time.Time
	failure   error // of the last fetch, if it failed, at failedAt
	failedAt  time.Time
	static    bool // never fetched
}

// StaticKeySet holds the given keys and never fetches: for tests and events.
func StaticKeySet(keys map[string]*ecdsa.PublicKey) *KeySet {
	return &KeySet{keys: keys, static: true}
}

// GitHubExample is the example of GitHub's partner program documentation: a body, its signature
// and the public key (id and PEM) it verifies with.
var GitHubExample = struct{ Body, Signature, KeyID, PublicKey string }{
	Body:      `[{"token":"some_token","type":"some_type","url":"some_url"}]`,
	Signature: "MEUCIQDKZokqnCjrRtw0tni+2Ltvl/uiMJ1EGumEsp1BsNr32AIgQY1YXD2nlj+XNfGK4rBfkMJ1JDOQcYXxa2sY8FNkrKc=",
	KeyID:     "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a",
	PublicKey: "-----BEGIN PUBLIC KEY-----\n" +
		"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9MJJHnMfn2+H4xL4YaPDA4RpJqUq\n" +
		"kCmRCBnYERxZanmcpzQSXs1X/AljlKkbJ8qpVIW4clayyef9gWhFbNHWAA==\n" +
		"-----END PUBLIC KEY-----\n",
}

// NewKeySet returns a key set fetched from rawURL (an absolute http or https URL) on first use.
func NewKeySet(rawURL string) (*KeySet, error) {
	u, err := url.Parse(rawURL)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("GitHub's public keys URL %q must be an absolute http(s) URL", rawURL)
	}
	return &KeySet{URL: rawURL, Client: &http.Client{Timeout: 5 * time.Second}, Now: time.Now}, nil
}

// Verify checks that signature (base64 of an ASN.1 ECDSA signature) is keyID's over body. It
// returns ErrBadSignature for a request that does not verify, and another error when the keys
// cannot be fetched (GitHub then retries later).
func (s *KeySet) Verify(ctx context.Context, keyID, signature string, body []byte) error {
	if keyID == "" || signature == "" || len(keyID) > 256 || len(signature) > 512 {
		return ErrBadSignature
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return ErrBadSignature
	}
	key, err := s.key(ctx, keyID)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(key, sum[:], sig) {
		return ErrBadSignature
	}
	return nil
}

// key returns keyID's public key, fetching the document when it is not known yet.
func (s *KeySet) key(ctx context.Context, keyID string) (*ecdsa.PublicKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.keys[keyID]; ok {
		return k, nil
	}
	if s.static {
		return nil, ErrBadSignature
	}
	now := s.Now()
	if s.keys != nil && now.Sub(s.fetchedAt) < RefetchInterval {
		return nil, ErrBadSignature
	}
	if s.failure != nil && now.Sub(s.failedAt) < RetryInterval {
		return nil, s.failure
	}
	keys, err := s.fetch(ctx)
	if err != nil {
		s.failure, s.failedAt = err, now
		return nil, err
	}
	s.keys, s.fetchedAt, s.failure = keys, now, nil
	if k, ok := keys[keyID]; ok {
		return k, nil
	}
	return nil, ErrBadSignature
}

// document is GitHub's public key document.
type document struct {
	PublicKeys []struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"`
		IsCurrent     bool   `json:"is_current"`
	} `json:"public_keys"`
}

func (s *KeySet) fetch(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch GitHub's public keys: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch GitHub's public keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch GitHub's public keys: %s answered %s", s.URL, resp.Status)
	}
	var doc document
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("fetch GitHub's public keys: %w", err)
	}
	keys := map[string]*ecdsa.PublicKey{}
	for _, k := range doc.PublicKeys {
		pub, err := ParsePublicKey(k.Key)
		if err != nil {
			return nil, fmt.Errorf("GitHub's public key %s: %w", k.KeyIdentifier, err)
		}
		keys[k.KeyIdentifier] = pub
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("fetch GitHub's public keys: %s lists none", s.URL)
	}
	return keys, nil
}

// ParsePublicKey reads a PEM "PUBLIC KEY" (PKIX) holding a P-256 ECDSA key.
func ParsePublicKey(s string) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM public key")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 key")
	}
	return pub, nil
}

// Report is one token of a report.
type Report struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// Labels of a report's answer.
const (
	TruePositive  = "true_positive"
	FalsePositive = "false_positive"
)

// Answer is GitHub's expected answer for one reported token: its SHA-256 (hex), its type as
// reported, and whether it is a real key.
type Answer struct {
	TokenHash string `json:"token_hash"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

// TokenHash is the hex SHA-256 of a token, the way GitHub identifies it in an answer.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return fmt.Sprintf("%x", sum)
}
