package trigram

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestIndex_AgreesWithSimilarity: the index finds exactly what comparing
// with every text finds, with the same similarity, in the same order; a
// replaced text is found by its new words only, and keep filters.
func TestIndex_AgreesWithSimilarity(t *testing.T) {
	words := strings.Fields("fall natt sensor larm boende hemtjänst kol syre dosering sår fot tolk video remiss akuten")
	r := rand.New(rand.NewPCG(5, 6))
	text := func() string {
		var w []string
		for range 3 + r.IntN(6) {
			w = append(w, words[r.IntN(len(words))])
		}
		return strings.Join(w, " ")
	}
	x := NewIndex()
	texts := map[string]string{}
	for i := range 400 {
		name := fmt.Sprintf("n%03d", i)
		texts[name] = text()
		x.Put(name, texts[name])
	}
	for i := range 50 { // replacements
		name := fmt.Sprintf("n%03d", i)
		texts[name] = text()
		x.Put(name, texts[name])
	}
	if x.Len() != 400 {
		t.Fatalf("Len %d, want 400", x.Len())
	}
	for range 30 {
		q := text()
		var want []Hit
		for name, s := range texts {
			if sim := Similarity(Of(q), Of(s)); sim >= 0.25 {
				want = append(want, Hit{name, sim})
			}
		}
		slices.SortFunc(want, func(a, b Hit) int {
			if a.Similarity != b.Similarity {
				if a.Similarity > b.Similarity {
					return -1
				}
				return 1
			}
			return strings.Compare(a.Name, b.Name)
		})
		got := x.Search(q, 0.25, len(texts), nil)
		if !slices.Equal(got, want) {
			t.Fatalf("query %q: index found %d hits, comparing with every text %d:\n%v\n%v", q, len(got), len(want), got, want)
		}
		even := func(name string) bool { return name[len(name)-1]%2 == 0 }
		var wantEven []Hit
		for _, h := range want {
			if even(h.Name) && len(wantEven) < 5 {
				wantEven = append(wantEven, h)
			}
		}
		if got := x.Search(q, 0.25, 5, even); !slices.Equal(got, wantEven) {
			t.Fatalf("query %q with keep and limit 5: %v, want %v", q, got, wantEven)
		}
	}
	if got := x.Search("   ", 0.25, 10, nil); got != nil {
		t.Errorf("empty query: %v", got)
	}
}
