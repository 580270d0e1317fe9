package secretscan

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestGitHubDocumentedExample: the example payload, signature and public key of GitHub's partner
// program documentation verify, and one byte changed anywhere in the body does not.
func TestGitHubDocumentedExample(t *testing.T) {
	doc := `{"public_keys":[{"key_identifier":"` + GitHubExample.KeyID + `","key":` + jsonString(GitHubExample.PublicKey) + `,"is_current":true}]}`
	s, _ := serve(t, func() string { return doc })
	ctx := context.Background()
	if err := s.Verify(ctx, GitHubExample.KeyID, GitHubExample.Signature, []byte(GitHubExample.Body)); err != nil {
		t.Fatalf("GitHub's documented example does not verify: %v", err)
	}
	for i := range len(GitHubExample.Body) {
		body := []byte(GitHubExample.Body)
		body[i] ^= 1
		if err := s.Verify(ctx, GitHubExample.KeyID, GitHubExample.Signature, body); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("byte %d changed: %v, want ErrBadSignature", i, err)
		}
	}
	sig, _ := base64.StdEncoding.DecodeString(GitHubExample.Signature)
	sig[len(sig)-1] ^= 1
	if err := s.Verify(ctx, GitHubExample.KeyID, base64.StdEncoding.EncodeToString(sig), []byte(GitHubExample.Body)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("signature changed: %v", err)
	}
}

// TestKeysAreCachedAndRefetchedOnUnknownID: the document is fetched once; a request naming an id
// it does not hold fetches it again (GitHub rotated its key), at most once per RefetchInterval.
func TestKeysAreCachedAndRefetchedOnUnknownID(t *testing.T) {
	first, second := newKey(t), newKey(t)
	current := `{"public_keys":[` + entry(t, "k1", first) + `]}`
	s, fetches := serve(t, func() string { return current })
	now := time.Unix(1_800_000_000, 0)
	s.Now = func() time.Time { return now }
	ctx := context.Background()
	body := []byte(`[{"token":"cmk_x","type":"t","url":"u"}]`)

	for range 3 {
		if err := s.Verify(ctx, "k1", sign(t, first, body), body); err != nil {
			t.Fatal(err)
		}
	}
	if fetches.Load() != 1 {
		t.Fatalf("%d fetches for three requests, want 1", fetches.Load())
	}
	// GitHub rotates: k2 is published and used.
	current = `{"public_keys":[` + entry(t, "k1", first) + `,` + entry(t, "k2", second) + `]}`
	now = now.Add(RefetchInterval)
	if err := s.Verify(ctx, "k2", sign(t, second, body), body); err != nil {
		t.Fatalf("a rotated key: %v", err)
	}
	// Made-up ids do not refetch within the interval.
	for range 5 {
		if err := s.Verify(ctx, "nope", sign(t, second, body), body); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("unknown id: %v", err)
		}
	}
	if fetches.Load() != 2 {
		t.Fatalf("%d fetches, want 2", fetches.Load())
	}
	// A key of the wrong id does not verify another's signature.
	if err := s.Verify(ctx, "k1", sign(t, second, body), body); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("k2's signature under k1: %v", err)
	}
}

// TestFetchFailureIsNotABadSignature: keys that cannot be fetched are an error GitHub retries, not
// a verdict on the request; the fetch is retried after RetryInterval, not on every request.
func TestFetchFailureIsNotABadSignature(t *testing.T) {
	fetches := new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	s, err := NewKeySet(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	s.Now = func() time.Time { return now }
	for range 3 {
		err = s.Verify(context.Background(), "k1", base64.StdEncoding.EncodeToString([]byte("sig")), []byte("[]"))
		if err == nil || errors.Is(err, ErrBadSignature) {
			t.Fatalf("keys unavailable: %v; want an error that is not ErrBadSignature (GitHub retries a 500)", err)
		}
	}
	now = now.Add(RetryInterval)
	_ = s.Verify(context.Background(), "k1", base64.StdEncoding.EncodeToString([]byte("sig")), []byte("[]"))
	if n := fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2: one, then one more after RetryInterval", n)
	}
	if _, err := NewKeySet("file:///etc/passwd"); err == nil {
		t.Fatal("a file URL is accepted")
	}
}

func serve(t *testing.T, doc func() string) (*KeySet, *atomic.Int64) {
	t.Helper()
	fetches := new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(doc()))
	}))
	t.Cleanup(srv.Close)
	s, err := NewKeySet(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return s, fetches
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func entry(t *testing.T, id string, k *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return `{"key_identifier":"` + id + `","key":` + jsonString(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))) + `,"is_current":true}`
}

func sign(t *testing.T, k *ecdsa.PrivateKey, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
