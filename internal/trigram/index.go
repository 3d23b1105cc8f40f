package trigram

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
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
// most limit of them (all of them when limit < 0). Similarity is
// Similarity's.
func (x *Index) Search(text string, threshold float64, limit int, keep func(name string) bool) []Hit {
	q := Keys(nil, text)
	if len(q) == 0 {
		return nil
	}
	if limit == 0 {
		return nil
	}
	// Only the best limit hits are kept as they come, in order: a region
	// of near-twins (every text above the threshold) costs a comparison
	// with the worst kept per text, not a sort of all of them.
	var top []Hit
	for d, c := range x.count(q) {
		if c == 0 || !x.docs[d].alive {
			continue
		}
		sim := Ratio(int(c), len(q), int(x.docs[d].grams))
		if sim < threshold {
			continue
		}
		h := Hit{x.docs[d].name, sim}
		if limit > 0 && len(top) == limit && !better(h, top[limit-1]) {
			continue
		}
		if keep != nil && !keep(h.Name) {
			continue
		}
		if limit < 0 { // all of them: sorted once at the end
			top = append(top, h)
			continue
		}
		i, _ := slices.BinarySearchFunc(top, h, func(a, b Hit) int {
			if better(a, b) {
				return -1
			}
			return 1
		})
		top = slices.Insert(top, i, h)
		if len(top) > limit {
			top = top[:limit]
		}
	}
	if limit < 0 {
		sortHits(top)
	}
	return top
}

// better says whether a comes before b: more similar, or as similar and
// first by name.
func better(a, b Hit) bool {
	if a.Similarity != b.Similarity {
		return a.Similarity > b.Similarity
	}
	return a.Name < b.Name
}

// Cover returns the texts that hold at least threshold of the trigrams of
// query, with that share as their Similarity, most first and by name among
// equals, that keep accepts (nil accepts all). Unlike Similarity it does not
// count the trigrams of the text the query lacks: a search of two words
// finds a long text that has both as well as a short one.
func (x *Index) Cover(query string, threshold float64, keep func(name string) bool) []Hit {
	q := Keys(nil, query)
	if len(q) == 0 {
		return nil
	}
	var hits []Hit
	for d, c := range x.count(q) {
		if c == 0 || !x.docs[d].alive {
			continue
		}
		if share := float64(c) / float64(len(q)); share >= threshold && (keep == nil || keep(x.docs[d].name)) {
			hits = append(hits, Hit{x.docs[d].name, share})
		}
	}
	sortHits(hits)
	return hits
}

// CoverWords is Cover word by word: a text must hold threshold of the
// trigrams of every word of query, and its Similarity is the mean of its
// shares, so a search of two words finds what has both, each perhaps
// misspelt or inflected. Words of one or two letters ("i", "på") are left
// out when the query has longer ones: nearly every text has them.
func (x *Index) CoverWords(query string, threshold float64, keep func(name string) bool) []Hit {
	words := searchWords(query)
	if len(words) <= 1 {
		return x.Cover(query, threshold, keep)
	}
	sum := map[string]float64{}
	for i, w := range words {
		next := map[string]float64{}
		for _, h := range x.Cover(w, threshold, func(name string) bool {
			_, ok := sum[name]
			return (i == 0 || ok) && (keep == nil || keep(name))
		}) {
			next[h.Name] = sum[h.Name] + h.Similarity
		}
		sum = next
		if len(sum) == 0 {
			return nil
		}
	}
	hits := make([]Hit, 0, len(sum))
	for name, s := range sum {
		hits = append(hits, Hit{name, s / float64(len(words))})
	}
	sortHits(hits)
	return hits
}

// searchWords are the words of a query CoverWords and Share look for.
func searchWords(query string) []string {
	var words, short []string
	for _, w := range strings.FieldsFunc(query, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if utf8.RuneCountInString(w) < 3 {
			short = append(short, w)
		} else if !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	if len(words) == 0 {
		return short
	}
	return words
}

// Share is what CoverWords would give text for query, without a
// threshold: the mean over the query's words of the share of each word's
// trigrams that text holds.
func Share(query, text string) float64 {
	words := searchWords(query)
	if len(words) == 0 {
		return 0
	}
	// The query's trigrams, word after word, are few: the text's are
	// looked up among them as they come, without collecting and sorting
	// the text's.
	var keys []Key
	ends := make([]int, len(words))
	for i, w := range words {
		keys = Keys(keys, w)
		ends[i] = len(keys)
	}
	seen := make([]bool, len(keys))
	eachKey(text, func(k Key) {
		for i, q := range keys {
			if q == k {
				seen[i] = true
			}
		}
	})
	sum, start := 0.0, 0
	for _, end := range ends {
		n := 0
		for _, ok := range seen[start:end] {
			if ok {
				n++
			}
		}
		sum += float64(n) / float64(end-start)
		start = end
	}
	return sum / float64(len(words))
}

// Shares returns what Share gives the text of a name for query, counted
// through the postings once for all texts instead of text by text (0 for a
// name the index does not hold). The function is valid until the next Put.
func (x *Index) Shares(query string) func(name string) float64 {
	words := searchWords(query)
	counts := make([][]uint16, len(words))
	sizes := make([]int, len(words))
	for i, w := range words {
		k := Keys(nil, w)
		counts[i], sizes[i] = x.count(k), len(k)
	}
	return func(name string) float64 {
		d, ok := x.byName[name]
		if !ok || len(words) == 0 {
			return 0
		}
		sum := 0.0
		for i := range words {
			sum += float64(counts[i][d]) / float64(sizes[i])
		}
		return sum / float64(len(words))
	}
}

// count is how many of the trigrams q each text holds, by slot.
func (x *Index) count(q []Key) []uint16 {
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
	return counts
}

func sortHits(hits []Hit) {
	slices.SortFunc(hits, func(a, b Hit) int {
		if c := cmp.Compare(b.Similarity, a.Similarity); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
}

// RankKey is a hit's place in a ranked list as a string that sorts best
// first: by similarity (to a millionth), then by then (an order of its own
// for equal scores, e.g. newest first), then by name. A page token holds
// the last key shown.
func RankKey(similarity float64, then, name string) string {
	micro := max(0, min(int64(math.Round(similarity*1e6)), 9_999_999))
	return fmt.Sprintf("%07d/%s/%s", 9_999_999-micro, then, name)
}
