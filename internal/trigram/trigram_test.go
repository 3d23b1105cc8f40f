package trigram

import (
	"math"
	"testing"
)

// The expected values are what PostgreSQL's pg_trgm answers.
func TestSimilarity(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"word", "words", 4.0 / 7},
		{"word", "two words", 4.0 / 11},
		{"Word!", "word", 1},
		{"", "word", 0},
		{"abc", "xyz", 0},
	} {
		if got := Similarity(Of(tc.a), Of(tc.b)); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Similarity(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	if n := len(Of("word")); n != 5 {
		t.Errorf("Of(word) has %d trigrams, want 5 (\"  w\", \" wo\", \"wor\", \"ord\", \"rd \")", n)
	}
}
