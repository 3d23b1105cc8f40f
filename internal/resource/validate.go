package resource

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/innovationsmotorer/motor/internal/rpc/errs"
)

// MaxRequestID bounds a request_id.
const MaxRequestID = 128

// CheckText adds a violation for invalid UTF-8, control characters (other
// than line breaks and tabs), an empty required value or one longer than max
// characters. Text ends up in index terms, store keys and logs, where a NUL
// or an escape sequence does harm.
func CheckText(v *errs.Violations, field, s string, max int, required bool) {
	switch {
	case !utf8.ValidString(s):
		v.Add(field, "is not valid UTF-8")
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }) >= 0:
		v.Add(field, "holds control characters")
	case required && strings.TrimSpace(s) == "":
		v.Add(field, "is required")
	case utf8.RuneCountInString(s) > max:
		v.Add(field, "is %d characters long; at most %d are allowed", utf8.RuneCountInString(s), max)
	}
}

// CheckRequestID checks an optional request_id: it becomes part of a store
// key, so it holds no spaces, slashes or control characters.
func CheckRequestID(v *errs.Violations, rid string) {
	if rid == "" {
		return
	}
	switch {
	case !utf8.ValidString(rid) || utf8.RuneCountInString(rid) > MaxRequestID:
		v.Add("request_id", "must be valid UTF-8 of at most %d characters", MaxRequestID)
	case strings.IndexFunc(rid, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' }) >= 0:
		v.Add("request_id", "must not contain spaces, control characters or '/'")
	}
}

// ValidPhone accepts digits, spaces, +, - and parentheses with 6 to 15
// digits (E.164 allows 15).
func ValidPhone(p string) bool {
	digits := 0
	for _, r := range p {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '+' || r == '-' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= 6 && digits <= 15
}
