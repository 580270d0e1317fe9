package codex

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestValidateName(t *testing.T) {
	ok := map[string]string{
		"Production server":            "Production server",
		"  padded\t":                   "padded",
		"日本のショップ":                      "日本のショップ",
		"emoji 🛒":                      "emoji 🛒",
		strings.Repeat("é", 100):       strings.Repeat("é", 100),
		" " + strings.Repeat("x", 100): strings.Repeat("x", 100),
	}
	for in, want := range ok {
		got, err := ValidateName("name", in)
		if err != nil || got != want {
			t.Errorf("ValidateName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]Code{
		"":                       CodeParameterMissing,
		"   \n":                  CodeParameterMissing,
		strings.Repeat("x", 101): CodeParameterInvalid,
		strings.Repeat("é", 101): CodeParameterInvalid,
		"tab\tinside":            CodeParameterInvalid,
		"nul\x00":                CodeParameterInvalid,
		"bad \xff utf8":          CodeParameterInvalid,
		"bidi \u202eoverride":    CodeParameterInvalid,
		"zero\u200bwidth":        CodeParameterInvalid,
		"\u200b":                 CodeParameterInvalid, // not space, so not trimmed to missing
		"joiner\u200d":           CodeParameterInvalid,
		"\ufeffbom":              CodeParameterInvalid,
		"soft\u00adhyphen":       CodeParameterInvalid,
		"isolate \u2066x\u2069":  CodeParameterInvalid,
	}
	for in, want := range bad {
		_, err := ValidateName("name", in)
		var e *Error
		if !errors.As(err, &e) || e.Code != want || e.Param != "name" {
			t.Errorf("ValidateName(%q) = %v; want code %s with param name", in, err, want)
		}
	}
}

func TestNewIDIsValidAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID(ProjectIDPrefix)
		if !ValidID(ProjectIDPrefix, id) {
			t.Fatalf("NewID gave %q, which ValidID rejects", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	for _, id := range []string{"", "prj_", "key_ABCDEFGHIJKLMNOPQRSTUVWXYZ", "prj_ABCDEFGHIJKLMNOPQRSTUVWXY", "prj_abcdefghijklmnopqrstuvwxyz", "prj_ABCDEFGHIJKLMNOPQRSTUVWXY1", "prj_ABCDEFGHIJKLMNOPQRSTUVWXYZA"} {
		if ValidID(ProjectIDPrefix, id) {
			t.Errorf("ValidID(%q) = true", id)
		}
	}
}

func TestErrorCode(t *testing.T) {
	if ErrorCode(nil) != "" {
		t.Error("nil error has a code")
	}
	if ErrorCode(errors.New("boom")) != CodeInternal {
		t.Error("a plain error is not internal")
	}
	wrapped := fmt.Errorf("context: %w", NotFound("key"))
	if !IsNotFound(wrapped) {
		t.Error("a wrapped NotFound is not found")
	}
}

func TestFormatTimeSortsLikeTime(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	prev := FormatTime(base)
	for _, d := range []time.Duration{time.Millisecond, 9 * time.Millisecond, 990 * time.Millisecond, time.Hour} {
		next := FormatTime(base.Add(d))
		if len(next) != len(prev) || next <= prev {
			t.Fatalf("%q does not sort after %q", next, prev)
		}
		prev = next
	}
	if got := FormatTime(base); got != "2026-01-02T02:04:05.000Z" {
		t.Fatalf("FormatTime = %q", got)
	}
}

func TestParseTimeReadsFormatTime(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 30, 15, 123e6, time.FixedZone("CET", 3600))
	got, err := ParseTime(FormatTime(at))
	if err != nil || !got.Equal(at) || got.Location() != time.UTC {
		t.Fatalf("ParseTime(FormatTime(%v)) = %v, %v", at, got, err)
	}
	if _, err := ParseTime("2026-11-25 09:30"); err == nil {
		t.Fatal("a time that is not RFC 3339 was accepted")
	}
}
