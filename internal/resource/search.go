package resource

import (
	"strings"
	"unicode/utf8"

	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/trigram"
)

// MaxQuery bounds a List's q: a search is a few words, not a text to
// compare (that is :findSimilar).
const MaxQuery = 200

// SearchQuery checks a List's q (and that it comes without order_by: hits
// come by relevance, best first) into v and returns q folded for case and
// accents, as the search indexes hold their texts.
func SearchQuery(v *errs.Violations, q, orderBy string) string {
	raw := strings.TrimSpace(q)
	folded := trigram.Fold(raw)
	switch n := utf8.RuneCountInString(raw); {
	case n > MaxQuery:
		v.Add("q", "is %d characters long; a search is at most %d", n, MaxQuery)
	case len(trigram.Keys(nil, folded)) == 0:
		v.Add("q", "has no letters or digits to search for")
	}
	if orderBy != "" {
		v.Add("order_by", "must be empty with q: search results come by relevance, best first")
	}
	return folded
}
