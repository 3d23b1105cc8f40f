package needs

import (
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/innovationsmotorer/motor/internal/trigram"
)

func TestTrigrams_AsPgTrgm(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"word", []string{"  w", " wo", "wor", "ord", "rd "}},
		{"Fall!", []string{"  f", " fa", "fal", "all", "ll "}},
		{"å ö", []string{"  å", " å ", "  ö", " ö "}},
		{"a-b", []string{"  a", " a ", "  b", " b "}},
		{"KOL KOL", []string{"  k", " ko", "kol", "ol "}},
		{"  ..  ", nil},
	} {
		got := []string{}
		for tri := range trigram.Of(tc.in) {
			got = append(got, tri)
		}
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if diff := cmp.Diff(want, got, cmpEmpty()); diff != "" {
			t.Errorf("trigram.Of(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func cmpEmpty() cmp.Option {
	return cmp.Transformer("nilToEmpty", func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	})
}

func TestSimilarity(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		// pg_trgm: similarity('word', 'words') = 4/7 ≈ 0.571429.
		{"word", "words", 4.0 / 7},
		{"word", "word", 1},
		{"Fall nattetid", "fall NATTETID", 1},
		{"abc", "xyz", 0},
		{"", "abc", 0},
		{"", "", 0},
	} {
		if got := trigram.Similarity(trigram.Of(tc.a), trigram.Of(tc.b)); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("similarity(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
