package webhook

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The official Go library of the Standard Webhooks spec verifies what Signature produces, byte for
// byte, for one secret and for the two a rotation signs with; and refuses a changed body, id or
// timestamp, and a secret that was not used.
func TestSignatureVerifiesWithTheOfficialLibrary(t *testing.T) {
	oldKey, oldText := NewSecret()
	newKey, newText := NewSecret()
	_, otherText := NewSecret()
	body := []byte(`{"id":"evt_X","object":"event","type":"checkout.completed","data":{"object":{"name":"Café ☕ <b>&"}}}`)
	now := time.Now()

	verify := func(secret string, h map[string]string, b []byte) error {
		t.Helper()
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		hdr := http.Header{}
		for k, v := range h {
			hdr.Set(k, v)
		}
		return wh.Verify(b, hdr)
	}

	one := Headers("evt_X", now, body, oldKey)
	if err := verify(oldText, one, body); err != nil {
		t.Fatalf("official library refuses a one-secret signature: %v", err)
	}
	// The library's own signature is the same bytes as ours.
	wh, _ := standardwebhooks.NewWebhook(oldText)
	theirs, err := wh.Sign("evt_X", time.Unix(now.Unix(), 0), body)
	if err != nil || theirs != one[HeaderSignature] {
		t.Fatalf("official Sign = %q, ours = %q", theirs, one[HeaderSignature])
	}

	two := Headers("evt_X", now, body, newKey, oldKey)
	if got := strings.Count(two[HeaderSignature], " "); got != 1 {
		t.Fatalf("two secrets: %q, want two space-separated signatures", two[HeaderSignature])
	}
	for _, secret := range []string{oldText, newText} {
		if err := verify(secret, two, body); err != nil {
			t.Errorf("during a rotation, a receiver with one of the secrets is refused: %v", err)
		}
	}
	if err := verify(otherText, two, body); err == nil {
		t.Error("a secret that signed nothing verifies")
	}
	if err := verify(oldText, one, bytes.Replace(body, []byte("Café"), []byte("Cafe"), 1)); err == nil {
		t.Error("a changed body verifies")
	}
	changedID := Headers("evt_X", now, body, oldKey)
	changedID[HeaderID] = "evt_Y"
	if err := verify(oldText, changedID, body); err == nil {
		t.Error("a changed webhook-id verifies")
	}
	old := Headers("evt_X", now.Add(-10*time.Minute), body, oldKey)
	if err := verify(oldText, old, body); err == nil {
		t.Error("a signature ten minutes old verifies (replay)")
	}

	// Our Verify (make dev-listen's) agrees with the library.
	if err := Verify(newKey, two[HeaderID], two[HeaderTimestamp], two[HeaderSignature], body, now); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := Verify(newKey, one[HeaderID], one[HeaderTimestamp], one[HeaderSignature], body, now); err == nil {
		t.Error("Verify accepts a signature made with another secret")
	}
}

func TestSecretFormat(t *testing.T) {
	key, text := NewSecret()
	if len(key) != 32 || !strings.HasPrefix(text, "whsec_") || len(text) != len("whsec_")+44 {
		t.Fatalf("NewSecret = %d bytes, %q", len(key), text)
	}
	back, err := ParseSecret(text)
	if err != nil || !bytes.Equal(back, key) {
		t.Fatalf("ParseSecret = %x, %v", back, err)
	}
	for _, bad := range []string{"", "whsec_", "whsec_!!", key2text(nil), "sk_abc"} {
		if _, err := ParseSecret(bad); err == nil {
			t.Errorf("ParseSecret(%q) accepted", bad)
		}
	}
}

func key2text(b []byte) string { return SecretText(b) }
