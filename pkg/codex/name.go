package codex

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the longest project or key name, in characters (runes), after trimming.
const MaxNameLength = 100

// ValidateName checks a human label such as a project or key name and returns it trimmed. Names are
// labels, not identifiers: any printable Unicode is fine and duplicates are allowed, but control and
// format characters are refused (see unprintable).
func ValidateName(param, name string) (string, error) {
	return ValidateLabel(param, name, MaxNameLength)
}

// ValidateLabel applies ValidateName's rules with another maximum length, in characters.
func ValidateLabel(param, name string, maxLength int) (string, error) {
	if !utf8.ValidString(name) {
		return "", Invalid(param, "%s must be valid UTF-8", param)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return "", Missing(param)
	}
	if n := utf8.RuneCountInString(name); n > maxLength {
		return "", Invalid(param, "%s must be at most %d characters, got %d", param, maxLength, n)
	}
	if strings.IndexFunc(name, unprintable) >= 0 {
		return "", Invalid(param, "%s must not contain control or invisible format characters", param)
	}
	return name, nil
}

// unprintable reports the characters no label may hold: control characters, which break the
// dashboard's rendering and log lines, and format characters (Unicode category Cf: bidi overrides
// such as U+202E, zero-width U+200B, U+200D, U+FEFF), which are invisible yet make one label look
// like another or reverse the text shown after it.
func unprintable(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }
