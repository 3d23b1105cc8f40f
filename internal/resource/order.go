package resource

import (
	"fmt"
	"slices"
	"strings"

	"github.com/innovationsmotorer/motor/internal/rpc/errs"
)

// Orders are the orders one List serves, in their AIP-132 spelling
// ("create_time desc", "display_name"); the first is the list's default.
// Each is served by an index (or, for a small bounded collection, a sort
// in memory), so a list offers only the orders it can page through stably.
type Orders []string

// String lists the orders for a message: the default first, marked.
func (o Orders) String() string {
	parts := make([]string, len(o))
	for i, s := range o {
		parts[i] = s
		if i == 0 {
			parts[i] += " (the default)"
		}
	}
	return strings.Join(parts, ", ")
}

// Parse reads order_by (AIP-132: a comma-separated list of `field` or
// `field desc`; snake_case or lowerCamelCase; spaces anywhere between)
// and returns which of o it asks for: 0, the default, when it is empty.
// An order the list does not serve adds an order_by violation to v that
// names what is wrong with it and every order the list supports, and
// returns 0 so the rest of the request is still checked.
func (o Orders) Parse(v *errs.Violations, orderBy string) int {
	if strings.TrimSpace(orderBy) == "" {
		return 0
	}
	canon, err := CanonicalOrder(orderBy)
	if err != nil {
		v.Add("order_by", "%v; this list orders by %s", err, o)
		return 0
	}
	if i := slices.Index(o, canon); i >= 0 {
		return i
	}
	known := map[string]bool{}
	for _, s := range o {
		for _, item := range strings.Split(s, ", ") {
			known[strings.TrimSuffix(item, " desc")] = true
		}
	}
	var unknown []string
	for _, item := range strings.Split(canon, ", ") {
		if f := strings.TrimSuffix(item, " desc"); !known[f] && !slices.Contains(unknown, f) {
			unknown = append(unknown, f)
		}
	}
	if len(unknown) > 0 {
		v.Add("order_by", "%q: this list cannot be ordered by %s; it orders by %s", orderBy, strings.Join(unknown, ", "), o)
		return 0
	}
	v.Add("order_by", "%q is not an order this list supports; it orders by %s", orderBy, o)
	return 0
}

// CanonicalOrder writes an AIP-132 order_by in one spelling: snake_case
// fields, "desc" where descending, nothing for ascending, ", " between.
func CanonicalOrder(orderBy string) (string, error) {
	var out []string
	for i, item := range strings.Split(orderBy, ",") {
		words := strings.Fields(item)
		if len(words) == 0 || len(words) > 2 {
			return "", fmt.Errorf("part %d of %q is not `field` or `field desc`", i+1, orderBy)
		}
		field := MaskPath(words[0])
		if !validOrderField(field) {
			return "", fmt.Errorf("%q is not a field name", words[0])
		}
		if len(words) == 2 {
			switch strings.ToLower(words[1]) {
			case "asc":
			case "desc":
				field += " desc"
			default:
				return "", fmt.Errorf("%q after %s is not asc or desc", words[1], words[0])
			}
		}
		out = append(out, field)
	}
	return strings.Join(out, ", "), nil
}

// validOrderField accepts a field path: lower-case letters, digits, "_"
// and "." between parts.
func validOrderField(f string) bool {
	if f == "" || f[0] == '.' || f[len(f)-1] == '.' || strings.Contains(f, "..") {
		return false
	}
	for _, r := range f {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
