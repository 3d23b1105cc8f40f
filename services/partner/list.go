package partner

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// newestFirst turns a create time into an index term that sorts the newest
// first.
func newestFirst(t time.Time) string {
	return fmt.Sprintf("%019d", math.MaxInt64-t.UnixNano())
}

// fold normalises a free-text value for index terms and filters: case
// folded, and without "/" (the term separator) or NUL (the store's).
func fold(s string) string {
	return strings.NewReplacer("/", " ", "\x00", "").Replace(strings.ToLower(strings.TrimSpace(s)))
}
