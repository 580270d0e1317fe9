// Package webhook is how Codex delivers events to a merchant's endpoint: Standard Webhooks
// signatures (https://www.standardwebhooks.com), the retry schedule, the check of a receiver's
// URL, and the sender that refuses to reach anything but the public internet. It holds no AWS
// code: the pipeline's handlers (Fanout, Deliver) take their store, queue and key as interfaces.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every signing secret, as the spec and its libraries expect.
const SecretPrefix = "whsec_"

// secretBytes is the size of a signing key: 32 random bytes, as large as HMAC-SHA256's block
// needs to be no weaker than the hash.
const secretBytes = 32

// NewSecret returns a new signing key and its text form, whsec_ + base64 of the key: the text is
// what the merchant is shown, once; only the key (sealed) is kept.
func NewSecret() (key []byte, text string) {
	key = make([]byte, secretBytes)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
	return key, SecretText(key)
}

// SecretText is the whsec_ form of key.
func SecretText(key []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// ParseSecret reads a whsec_ secret back into its key.
func ParseSecret(text string) ([]byte, error) {
	rest, ok := strings.CutPrefix(text, SecretPrefix)
	if !ok {
		return nil, errors.New("a webhook secret starts with " + SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) == 0 {
		return nil, errors.New("a webhook secret is whsec_ followed by base64")
	}
	return key, nil
}

// Signature is the value of the webhook-signature header for a message: one "v1,<base64 of
// HMAC-SHA256(key, id.timestamp.body)>" per key, separated by spaces, so that during a rotation a
// receiver holding either secret can verify the message.
func Signature(id string, ts time.Time, body []byte, keys ...[]byte) string {
	unix := strconv.FormatInt(ts.Unix(), 10)
	sigs := make([]string, 0, len(keys))
	for _, k := range keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(unix))
		mac.Write([]byte{'.'})
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}

// Headers are the headers of one delivery of a message: its id (the event id, the same on every
// retry, so a receiver can drop duplicates), the time of this attempt and its signatures.
func Headers(id string, ts time.Time, body []byte, keys ...[]byte) map[string]string {
	return map[string]string{
		HeaderID:        id,
		HeaderTimestamp: strconv.FormatInt(ts.Unix(), 10),
		HeaderSignature: Signature(id, ts, body, keys...),
		"content-type":  "application/json",
	}
}

// Verify checks a message against key as a receiver does, with the spec's five minutes of
// tolerance around now. It is what make dev-listen reports; tests use the official library.
func Verify(key []byte, id, timestamp, signature string, body []byte, now time.Time) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not a Unix time")
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("webhook-timestamp is more than five minutes away from now")
	}
	want := Signature(id, ts, body, key)
	for _, s := range strings.Fields(signature) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("no signature matches the secret")
}
