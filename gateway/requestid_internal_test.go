package gateway

import (
	"regexp"
	"strings"
	"testing"
)

// validRequestID is the regexp it replaced, character for character.
func TestValidRequestIDAgreesWithRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9._:+/=-]{1,128}$`)
	ids := []string{"", "a", "req-1", "A.b_c:d+e/f=g-h", strings.Repeat("x", 128), strings.Repeat("x", 129), "a b", "ä", "a\n", "a,b", "a;b", "\x00"}
	for c := 0; c < 256; c++ {
		ids = append(ids, string([]byte{byte(c)}), "ok"+string([]byte{byte(c)}))
	}
	for _, id := range ids {
		if got, want := validRequestID(id), re.MatchString(id); got != want {
			t.Errorf("validRequestID(%q) = %v, the regexp says %v", id, got, want)
		}
	}
}
