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

// TestKeys_AgreeWithOf: Keys finds the trigrams Of finds, each once.
func TestKeys_AgreeWithOf(t *testing.T) {
	for _, s := range []string{"", "word", "Fall! natt-sensor  larm", "ÅÄÖ åäö öl", "x", "ab 12 a1b2c3", "ǅemal ΣΑΣ straße İstanbul", "upptäcka fall nattetid på äldreboenden"} {
		set := Of(s)
		keys := Keys([]Key{7}, s)
		if keys[0] != 7 {
			t.Fatalf("%q: Keys overwrote the buffer", s)
		}
		keys = keys[1:]
		if len(keys) != len(set) {
			t.Errorf("%q: %d keys, %d trigrams", s, len(keys), len(set))
		}
		for _, k := range keys {
			g := string([]rune{rune(k >> 42), rune(k >> 21 & (1<<21 - 1)), rune(k & (1<<21 - 1))})
			if _, ok := set[g]; !ok {
				t.Errorf("%q: key %q is no trigram of Of", s, g)
			}
		}
	}
}
