package authorizer

import (
	"errors"
	"strings"
	"testing"

	"codex/pkg/apikey"
)

func TestParseAuthorization(t *testing.T) {
	key, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	secret := key.Secret()
	for _, h := range []string{"Bearer " + secret, "bearer " + secret, "BEARER " + secret} {
		got, err := ParseAuthorization(h)
		if err != nil || got.Hash() != key.Hash() {
			t.Errorf("ParseAuthorization(%q scheme) = %v", h[:7], err)
		}
	}
	bad := []string{
		"",
		secret,
		"Bearer",
		"Bearer ",
		"Bearer  " + secret,
		"Bearer " + secret + " ",
		" Bearer " + secret,
		"Bearer\t" + secret,
		"Basic " + secret,
		"Token " + secret,
		"Bearer " + secret[:len(secret)-1],
		"Bearer " + secret + "x",
		"Bearer " + strings.Replace(secret, "cmk_", "sk_", 1),
		"Bearer " + secret + "," + secret,
	}
	for _, h := range bad {
		if _, err := ParseAuthorization(h); err == nil {
			t.Errorf("ParseAuthorization accepted a malformed header (len %d)", len(h))
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains the key", err)
		}
	}
	if _, err := ParseAuthorization("Basic x"); !errors.Is(err, errMalformed) {
		t.Errorf("wrong scheme: %v, want errMalformed", err)
	}
}

func FuzzParseAuthorization(f *testing.F) {
	key, _ := apikey.Generate()
	for _, s := range []string{"", "Bearer " + key.Secret(), "bearer x", "Basic abc", "Bearer  cmk_", "Bearer " + key.Secret() + " "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		k, err := ParseAuthorization(h)
		if err != nil {
			return
		}
		// Whatever is accepted is exactly a scheme, one space and a key that parses on its own.
		scheme, rest, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "bearer") || rest != k.Secret() {
			t.Fatalf("accepted %q", h)
		}
		if _, err := apikey.Parse(rest); err != nil {
			t.Fatalf("accepted a key apikey.Parse rejects: %v", err)
		}
	})
}
