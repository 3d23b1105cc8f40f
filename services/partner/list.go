package partner

import (
	"fmt"
	"math"
	"strings"
	"time"
)

const (
	defaultPageSize = 50
	maxPageSize     = 1000
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

// parseTerms reads `field = value` terms joined by AND; values may be quoted.
// allowed names the fields and says what each may hold.
func parseTerms(s string, allowed ...string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, term := range strings.Split(s, " AND ") {
		field, value, ok := strings.Cut(term, "=")
		field, value = strings.TrimSpace(field), strings.Trim(strings.TrimSpace(value), `"`)
		if !ok || field == "" || value == "" {
			return nil, fmt.Errorf("%q is not of the form field = VALUE", strings.TrimSpace(term))
		}
		if !contains(allowed, field) {
			return nil, fmt.Errorf("cannot filter on %q (fields: %s)", field, strings.Join(allowed, ", "))
		}
		if _, dup := out[field]; dup {
			return nil, fmt.Errorf("%s is given twice", field)
		}
		out[field] = value
	}
	return out, nil
}

// enumValue reads an enum value name of a filter, refusing the zero value.
func enumValue(values map[string]int32, field, value, example string) (int32, error) {
	n, ok := values[value]
	if !ok || n == 0 {
		return 0, fmt.Errorf("%s %q is not one of its values (e.g. %s)", field, value, example)
	}
	return n, nil
}
