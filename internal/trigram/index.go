package trigram

import (
	"cmp"
	"slices"
)

// Index is an inverted trigram index of named texts: a search counts the
// trigrams it shares with each text through the postings of its own
// trigrams, instead of comparing with every text. Replacing a text gives it
// a new slot and marks the old one dead, which keeps postings append-only.
// Trigrams are numbered as they first come (packed Keys, no strings, no
// sort), so a text costs its postings and one map lookup per trigram. An Index is not safe
// for concurrent use.
type Index struct {
	docs     []doc
	byName   map[string]int32
	ids      map[Key]int32 // trigram → its postings
	postings [][]int32
	last     []int32 // by trigram: the doc that last added it, +1
}

type doc struct {
	name  string
	grams int32
	alive bool
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{byName: map[string]int32{}, ids: map[Key]int32{}}
}

// Put adds the text of name, or replaces it.
func (x *Index) Put(name, text string) {
	if old, ok := x.byName[name]; ok {
		x.docs[old].alive = false
	}
	id := int32(len(x.docs))
	grams := int32(0)
	eachKey(text, func(k Key) {
		t, ok := x.ids[k]
		if !ok {
			t = int32(len(x.postings))
			x.ids[k] = t
			x.postings = append(x.postings, nil)
			x.last = append(x.last, 0)
		}
		if x.last[t] == id+1 { // a trigram the text had before
			return
		}
		x.last[t] = id + 1
		x.postings[t] = append(x.postings[t], id)
		grams++
	})
	x.docs = append(x.docs, doc{name: name, grams: grams, alive: true})
	x.byName[name] = id
}

// Len is the number of texts the index holds.
func (x *Index) Len() int { return len(x.byName) }

// Hit is a text found by Search.
type Hit struct {
	Name       string
	Similarity float64
}

// Search returns the texts at least threshold similar to text, most similar
// first and by name among equals, that keep accepts (nil accepts all), at
// most limit of them. Similarity is Similarity's.
func (x *Index) Search(text string, threshold float64, limit int, keep func(name string) bool) []Hit {
	q := Keys(nil, text)
	if len(q) == 0 {
		return nil
	}
	counts := make([]uint16, len(x.docs))
	for _, k := range q {
		t, ok := x.ids[k]
		if !ok {
			continue
		}
		for _, d := range x.postings[t] {
			counts[d]++
		}
	}
	var hits []Hit
	for d, c := range counts {
		if c == 0 || !x.docs[d].alive {
			continue
		}
		if sim := Ratio(int(c), len(q), int(x.docs[d].grams)); sim >= threshold {
			hits = append(hits, Hit{x.docs[d].name, sim})
		}
	}
	slices.SortFunc(hits, func(a, b Hit) int {
		if c := cmp.Compare(b.Similarity, a.Similarity); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	out := hits[:0]
	for _, h := range hits {
		if len(out) == limit {
			break
		}
		if keep == nil || keep(h.Name) {
			out = append(out, h)
		}
	}
	return out
}
