package trigram

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// Key is one trigram packed into an integer: its three runes, 21 bits
// each. Keys are what Of's strings are, without a string or a map per
// text: an index built from many texts allocates only its postings.
type Key uint64

// Keys appends the distinct trigrams of s to buf, in ascending order, and
// returns it: the same trigrams as Of (words of letters and digits,
// lowercased, padded with two spaces before and one after).
func Keys(buf []Key, s string) []Key {
	start := len(buf)
	eachKey(s, func(k Key) { buf = append(buf, k) })
	tail := buf[start:]
	slices.Sort(tail)
	return buf[:start+len(slices.Compact(tail))]
}

// eachKey calls f with every trigram of s, a trigram as often as it occurs.
func eachKey(s string, f func(Key)) {
	const space = Key(' ')
	var a, b Key // the two runes before the current one
	in := false
	for i := 0; i < len(s); {
		r := rune(s[i])
		size := 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		r = unicode.ToLower(r)
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			if in {
				f(a<<42 | b<<21 | space)
				in = false
			}
			continue
		}
		if !in {
			a, b, in = space, space, true
		}
		f(a<<42 | b<<21 | Key(r))
		a, b = b, Key(r)
	}
	if in {
		f(a<<42 | b<<21 | space)
	}
}
