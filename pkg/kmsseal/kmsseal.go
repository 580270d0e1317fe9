// Package kmsseal seals webhook signing keys with a KMS key of the stack (envelope-free: a key is
// 32 bytes, far under KMS's 4 KB limit for direct encryption). The encryption context names the
// project and the endpoint, so a sealed key moved onto another endpoint's item does not open, and
// CloudTrail shows which endpoint each decryption was for.
package kmsseal

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"codex/pkg/awsenv"
	"codex/pkg/codex"
)

// API is the part of the KMS client the sealer uses.
type API interface {
	Encrypt(ctx context.Context, in *kms.EncryptInput, opts ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

var _ codex.Sealer = (*Sealer)(nil)

// Sealer implements codex.Sealer with KMS.
type Sealer struct {
	kms   API
	keyID string

	mu    sync.Mutex
	cache map[[32]byte]cached
}

type cached struct {
	key     []byte
	expires time.Time
}

// cacheFor bounds how long an opened key stays in memory: a warm delivery function then makes
// one Decrypt per endpoint every few minutes rather than one per delivery.
const cacheFor = 5 * time.Minute

// New returns a Sealer encrypting with keyID (a key id, ARN or alias).
func New(api API, keyID string) *Sealer {
	return &Sealer{kms: api, keyID: keyID, cache: map[[32]byte]cached{}}
}

// Open builds a Sealer from the function's environment: WEBHOOK_KEY_ID, which template.yaml sets
// to the stack's WebhookKey, and the AWS configuration of package awsenv.
func Open() (*Sealer, error) {
	keyID := os.Getenv("WEBHOOK_KEY_ID")
	if keyID == "" {
		return nil, errors.New("WEBHOOK_KEY_ID must be set")
	}
	cfg, err := awsenv.Config()
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return New(kms.NewFromConfig(cfg), keyID), nil
}

func encryptionContext(projectID, endpointID string) map[string]string {
	return map[string]string{"project_id": projectID, "webhook_endpoint_id": endpointID}
}

// Seal encrypts key for the endpoint.
func (s *Sealer) Seal(ctx context.Context, projectID, endpointID string, key []byte) ([]byte, error) {
	out, err := s.kms.Encrypt(ctx, &kms.EncryptInput{
		KeyId: &s.keyID, Plaintext: key, EncryptionContext: encryptionContext(projectID, endpointID),
	})
	if err != nil {
		return nil, fmt.Errorf("seal webhook secret: %w", err)
	}
	return out.CiphertextBlob, nil
}

// Open decrypts a key sealed for the endpoint; KMS refuses one sealed for another.
func (s *Sealer) Open(ctx context.Context, projectID, endpointID string, sealed []byte) ([]byte, error) {
	id := sha256.Sum256(append([]byte(projectID+"\x00"+endpointID+"\x00"), sealed...))
	now := time.Now()
	s.mu.Lock()
	c, ok := s.cache[id]
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.key, nil
	}
	out, err := s.kms.Decrypt(ctx, &kms.DecryptInput{
		KeyId: &s.keyID, CiphertextBlob: sealed, EncryptionContext: encryptionContext(projectID, endpointID),
	})
	if err != nil {
		return nil, fmt.Errorf("open webhook secret: %w", err)
	}
	s.mu.Lock()
	for k, v := range s.cache {
		if now.After(v.expires) {
			delete(s.cache, k)
		}
	}
	s.cache[id] = cached{key: out.Plaintext, expires: now.Add(cacheFor)}
	s.mu.Unlock()
	return out.Plaintext, nil
}
