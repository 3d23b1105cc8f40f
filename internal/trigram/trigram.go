// Package trigram owns the text similarity that warns of duplicate ideas and
// needs and groups needs common to several regions: trigram sets and
// similarity the way PostgreSQL's pg_trgm forms them, so figures can be
// checked against `similarity()` in psql.
package trigram

import (
	"strings"
	"unicode"
)

// Set is the distinct trigrams of a text.
type Set map[string]struct{}

// Of splits s into words of letters and digits, lowercases each, pads it
// with two spaces before and one after, and collects every run of three
// characters.
func Of(s string) Set {
	set := Set{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		padded := []rune("  " + w + " ")
		for i := 0; i+3 <= len(padded); i++ {
			set[string(padded[i:i+3])] = struct{}{}
		}
	}
	return set
}

// Similarity is pg_trgm's: shared trigrams over the trigrams of either.
func Similarity(a, b Set) float64 {
	shared := 0
	for t := range a {
		if _, ok := b[t]; ok {
			shared++
		}
	}
	return Ratio(shared, len(a), len(b))
}

// Ratio is the similarity of two sets of sizes a and b that share shared
// trigrams, for callers that count shared trigrams themselves (an inverted
// index).
func Ratio(shared, a, b int) float64 {
	if a == 0 || b == 0 {
		return 0
	}
	return float64(shared) / float64(a+b-shared)
}
