// Package resource owns what every service's resource-oriented API shares
// (docs/architecture.md, "Contracts and REST routes"): parsing resource names, new ids, the NOT_FOUND answer for a
// region the deployment does not serve, request fingerprints for
// idempotency, and List pagination (page sizes and opaque page tokens bound
// to the query they came from).
package resource

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
)

// Split checks that name is collection/id pairs in the given collections
// ("regions", "ideas") and returns the ids.
func Split(name string, collections ...string) ([]string, error) {
	pattern := make([]string, len(collections))
	for i, c := range collections {
		pattern[i] = c + "/{" + strings.TrimSuffix(c, "s") + "}"
	}
	parts := strings.Split(name, "/")
	if len(parts) != 2*len(collections) {
		return nil, fmt.Errorf("%q is not of the form %s", name, strings.Join(pattern, "/"))
	}
	ids := make([]string, len(collections))
	for i, c := range collections {
		if parts[2*i] != c {
			return nil, fmt.Errorf("%q is not of the form %s", name, strings.Join(pattern, "/"))
		}
		if err := CheckSegment(parts[2*i+1]); err != nil {
			return nil, fmt.Errorf("%s id: %w", strings.TrimSuffix(c, "s"), err)
		}
		ids[i] = parts[2*i+1]
	}
	return ids, nil
}

// ParseRegion parses a parent of the form regions/{region}.
func ParseRegion(parent string) (string, error) {
	ids, err := Split(parent, "regions")
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// CheckSegment keeps ids to what is safe in a URL path, a store key and a log
// line: lowercase ASCII letters, digits and hyphens.
func CheckSegment(s string) error {
	if s == "" {
		return fmt.Errorf("is empty")
	}
	if len(s) > 63 {
		return fmt.Errorf("is longer than 63 characters")
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("%q may hold only a-z, 0-9 and '-'", s)
		}
	}
	return nil
}

// NewID returns a random 16-character id (80 bits from crypto/rand), so
// collisions are not a practical concern; a create that did collide fails
// with ALREADY_EXISTS instead of overwriting.
func NewID() string { return strings.ToLower(rand.Text()[:16]) }

// Served answers NOT_FOUND for a region the deployment does not serve, with
// a message that tells a mistyped region from one served elsewhere.
func Served(d errs.Domain, served config.Served, region string) error {
	if served.Has(region) {
		return nil
	}
	if !config.KnownRegion(region) {
		return d.NotFound("REGION_NOT_FOUND", "region %q does not exist (use one of Sweden's 21 region ids, e.g. vasterbotten)", region)
	}
	return d.NotFound("REGION_NOT_SERVED", "region %q is not served by this deployment (it serves %s)", region, served)
}

// Fingerprint identifies the request a request_id was first used with.
// Deterministic marshalling keeps it stable across retries of one client.
func Fingerprint(m proto.Message) string {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Page sizes of every List (docs/architecture.md, "Contracts and REST routes").
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// MaxPageBytes bounds one list page in bytes as well as in count: a page of
// a thousand large records ends early, with a next page token, so a burst
// of big lists cannot take a process's memory (nor pass the gRPC message
// limit).
const MaxPageBytes = 1 << 20

// PageBytes adds up the size of a page's records.
type PageBytes int

// Add counts n more bytes and reports whether the page is full.
func (p *PageBytes) Add(n int) bool {
	*p += PageBytes(n)
	return *p >= MaxPageBytes
}

// PageSize reads page_size: 0 means the default, more than the maximum is
// the maximum (AIP-158), negative is a violation.
func PageSize(v *errs.Violations, n int32) int {
	switch {
	case n < 0:
		v.Add("page_size", "must not be negative")
		return DefaultPageSize
	case n == 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return int(n)
}

// token is what a page token carries: where the list stopped, and a digest
// of the query, so a token is refused when used with other parameters.
type token struct {
	After string `json:"a"`
	Query string `json:"q"`
}

// Digest names a list query (parent, filter, order…) inside its tokens.
func Digest(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:8])
}

// EncodeToken makes the next_page_token that continues after position after.
func EncodeToken(after, query string) string {
	b, _ := json.Marshal(token{After: after, Query: query})
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeToken returns the position a page token continues after ("" for no
// token), adding a page_token violation to v when the token is not one this
// query handed out.
func DecodeToken(v *errs.Violations, s, query string) string {
	if s == "" {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var t token
	if err != nil || json.Unmarshal(b, &t) != nil || t.After == "" {
		v.Add("page_token", "is not a page token returned by this list")
		return ""
	}
	if t.Query != query {
		v.Add("page_token", "belongs to a list with other parameters (parent, filter, order or q changed)")
		return ""
	}
	return t.After
}

// MaskPath turns an update_mask path into its proto spelling: REST clients
// send the JSON one (careArea), gRPC clients the proto one (care_area).
func MaskPath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// UpdatePaths reads an update_mask: each path in its proto spelling, once,
// in order, without "name" and "etag". Those two say which resource and
// which version are meant; the gateway puts them in the mask because it
// derives the mask from every field of a PATCH body.
func UpdatePaths(paths []string) []string {
	var out []string
	for _, p := range paths {
		p = MaskPath(p)
		if p != "name" && p != "etag" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// WithoutOutputOnly drops the paths of an update_mask that name an
// output-only field (or a field inside one), as AIP-203 asks: a client may
// send back the resource it read, and what the server sets is not the
// client's to change. It returns the paths left and the top-level fields
// ignored, so that a mask with nothing else left can say why.
func WithoutOutputOnly(paths []string, outputOnly func(field string) bool) (keep, ignored []string) {
	for _, p := range paths {
		top, _, _ := strings.Cut(p, ".")
		if outputOnly(top) {
			if !slices.Contains(ignored, top) {
				ignored = append(ignored, top)
			}
			continue
		}
		keep = append(keep, p)
	}
	return keep, ignored
}

// IgnoredNote is what a mask left with nothing to change adds to its
// refusal: the output-only fields it named, ignored, and how they change.
func IgnoredNote(ignored []string, why map[string]string) string {
	if len(ignored) == 0 {
		return ""
	}
	var parts []string
	for _, f := range ignored {
		w := why[f]
		if w == "" {
			w = "is set by the server"
		}
		parts = append(parts, f+" "+w)
	}
	return " (output-only fields are ignored: " + strings.Join(parts, "; ") + ")"
}
