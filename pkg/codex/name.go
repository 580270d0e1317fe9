package codex

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the longest project or key name, in characters (runes), after trimming.
const MaxNameLength = 100

// ValidateName checks a human label such as a project or key name and returns it trimmed. Names are
// labels, not identifiers: any printable Unicode is fine and duplicates are allowed, but control
// characters are refused because they break the dashboard's rendering and log lines.
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
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", Invalid(param, "%s must not contain control characters", param)
	}
	return name, nil
}
