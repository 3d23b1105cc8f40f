package trigram

import (
	"fmt"
	"math"
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

	// CoverWords finds the texts where Share of each word is at least the
	// threshold, and Shares says what Share says of each text.
	for range 30 {
		q := text()
		if r.IntN(3) == 0 {
			q = words[r.IntN(len(words))][:2] + " " + q // a short word, left out
		}
		shares := x.Shares(q)
		var want []Hit
		for name, s := range texts {
			share := Share(q, s)
			if got := shares(name); math.Abs(got-share) > 1e-12 {
				t.Fatalf("query %q, text %q: Shares %v, Share %v", q, s, got, share)
			}
			each := true
			for _, w := range searchWords(q) {
				each = each && Share(w, s) >= 0.6
			}
			if each {
				want = append(want, Hit{name, share})
			}
		}
		sortHits(want)
		got := x.CoverWords(q, 0.6, nil)
		if len(got) != len(want) {
			t.Fatalf("query %q: CoverWords found %d, Share %d", q, len(got), len(want))
		}
		for i := range got {
			if got[i].Name != want[i].Name || math.Abs(got[i].Similarity-want[i].Similarity) > 1e-12 {
				t.Fatalf("query %q: CoverWords %v, Share %v", q, got, want)
			}
		}
	}
	if got := x.Shares("x")("nobody"); got != 0 {
		t.Errorf("Shares of a name not held: %v", got)
	}
}

// TestIndex_Cover: a text's share of the query's trigrams, whatever else
// the text holds; folded texts find each other without accents.
func TestIndex_Cover(t *testing.T) {
	x := NewIndex()
	x.Put("short", Fold("Videobesök"))
	x.Put("long", Fold("Långa resor till kontroller; varannan kontroll som videobesök hemifrån"))
	x.Put("other", Fold("Fallsensor i golvet"))
	got := x.Cover(Fold("videobesok"), 0.6, nil)
	want := []Hit{{"long", 1}, {"short", 1}}
	if !slices.Equal(got, want) {
		t.Errorf("Cover(videobesok) = %v, want %v", got, want)
	}
	// "videobesok fall": the long text holds 12 of its 16 trigrams (the 11
	// of videobesok and "all" of kontroll), enough for Cover but not for
	// CoverWords, which wants each word.
	if got := x.Cover(Fold("videobesok fall"), 0.6, nil); len(got) != 2 || got[0] != (Hit{"long", 0.75}) {
		t.Errorf("Cover(videobesok fall) = %v, want long at 0.75 and short", got)
	}
	if got := x.CoverWords(Fold("videobesok fall"), 0.6, nil); len(got) != 0 {
		t.Errorf("CoverWords of two words, one of them nowhere: %v, want none", got)
	}
	if got := x.CoverWords(Fold("kontroll i videobesok"), 0.6, nil); len(got) != 1 || got[0] != (Hit{"long", 1}) {
		t.Errorf("CoverWords(kontroll i videobesok) = %v, want long alone at 1 (\"i\" left out)", got)
	}
	if got := x.CoverWords(Fold("golvet fallsensr"), 0.6, nil); len(got) != 1 || got[0].Name != "other" || got[0].Similarity >= 1 {
		t.Errorf("CoverWords with a misspelt word: %v, want other below 1", got)
	}
	if got := x.Cover("videobesok", 0.6, func(name string) bool { return name == "short" }); len(got) != 1 || got[0].Name != "short" {
		t.Errorf("Cover with keep: %v", got)
	}
	if got, want := Share("kontroll i videobesok", Fold("Varannan kontroll som videobesök")), 1.0; got != want {
		t.Errorf("Share = %v, want %v", got, want)
	}
	if got := Share("fall natt", "fall i golvet"); got != 0.5 {
		t.Errorf("Share(fall natt, fall i golvet) = %v, want 0.5 (all of fall, none of natt)", got)
	}
	if got := x.Cover(" ", 0, nil); got != nil {
		t.Errorf("empty query: %v", got)
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Videobesök":   "videobesok",
		"ÅÄÖ åäö":      "aao aao",
		"Dialys":       "dialys",
		"Crème brûlée": "creme brulee",
		"Søren Æble":   "soren aeble",
		"Straße":       "strasse",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}
