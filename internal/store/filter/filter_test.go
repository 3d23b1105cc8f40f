package filter

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/innovationsmotorer/motor/internal/store"
)

// thing is what the tests filter: a status (indexed), a flag, a unit and
// tags (repeated, folded), and a secret that may only be asked by index.
type thing struct {
	status, unit, secret string
	flag                 bool
	tags                 []string
}

func fields() []Field[thing] {
	fold := strings.ToLower
	return []Field[thing]{
		{Name: "status", Values: []string{"OPEN", "CLOSED"}, Get: func(t thing) []string { return []string{t.status} },
			Index: func(v string) (store.Query, bool) { return store.Query{Index: "by_status", Prefix: v + "/"}, true }},
		{Name: "tags", Aliases: []string{"tag"}, Repeated: true, Fold: fold, Get: func(t thing) []string { return t.tags },
			Index: func(v string) (store.Query, bool) { return store.Query{Index: "by_tag", Prefix: v + "/"}, true }},
		{Name: "flag", Values: Bools(), Get: func(t thing) []string {
			if t.flag {
				return []string{"true"}
			}
			return []string{"false"}
		}, Index: func(v string) (store.Query, bool) { return store.Query{Index: "flagged"}, v == "true" }},
		{Name: "care_unit", Aliases: []string{"careUnit"}, Fold: fold, Get: func(t thing) []string { return []string{t.unit} }},
		{Name: "secret", IndexOnly: true, Get: func(t thing) []string { return []string{t.secret} },
			Index: func(v string) (store.Query, bool) { return store.Query{Index: "by_secret", Prefix: v}, true }},
	}
}

var things = []thing{
	{status: "OPEN", unit: "Akuten", tags: []string{"AI", "triage"}, flag: true, secret: "s1"},
	{status: "OPEN", unit: "Akuten, NUS", tags: []string{"ai"}},
	{status: "CLOSED", unit: "IVA", tags: []string{"sensor"}, flag: true},
	{status: "CLOSED", unit: "akuten"},
}

func TestCompile(t *testing.T) {
	base := store.Query{Index: "all"}
	for _, tc := range []struct {
		filter string
		index  string // the planned scan
		prefix string
		match  []int // which things pass
	}{
		{"", "all", "", []int{0, 1, 2, 3}},
		{"  ", "all", "", []int{0, 1, 2, 3}},
		{"status = OPEN", "by_status", "OPEN/", []int{0, 1}},
		{"status != OPEN", "all", "", []int{2, 3}},
		{"NOT status = OPEN", "all", "", []int{2, 3}},
		{"-status = OPEN", "all", "", []int{2, 3}},
		{"status = OPEN AND careUnit = akuten", "by_status", "OPEN/", []int{0}},
		{"care_unit = AKUTEN", "all", "", []int{0, 3}},
		{`care_unit = "Akuten, NUS"`, "all", "", []int{1}},
		{`care_unit = 'Akuten, NUS'`, "all", "", []int{1}},
		{"status = OPEN OR flag = true", "all", "", []int{0, 1, 2}},
		{"flag = true", "flagged", "", []int{0, 2}},
		{"flag = false", "all", "", []int{1, 3}},
		{"tags : ai", "by_tag", "ai/", []int{0, 1}},
		{"tag:AI", "by_tag", "ai/", []int{0, 1}},
		{"tags : ai AND NOT tags : triage", "by_tag", "ai/", []int{1}},
		// OR binds tighter than AND (AIP-160).
		{"status = CLOSED AND care_unit = iva OR care_unit = akuten", "by_status", "CLOSED/", []int{2, 3}},
		{"(status = OPEN AND flag = true) OR status = CLOSED", "all", "", []int{0, 2, 3}},
		// Juxtaposition is AND.
		{"status = OPEN flag = false", "by_status", "OPEN/", []int{1}},
		// The first indexed field in declaration order wins.
		{"tags : sensor AND status = CLOSED", "by_status", "CLOSED/", []int{2}},
		{"secret = s1", "by_secret", "s1", []int{0}},
		{"secret = s1 AND status = OPEN", "by_status", "OPEN/", nil},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			p, err := Compile(tc.filter, base, fields())
			if tc.filter == "secret = s1 AND status = OPEN" {
				// status is planned first, so secret would be walked: refused.
				if err == nil || !strings.Contains(err.Error(), "secret can only be filtered as secret = value") {
					t.Fatalf("err = %v, want the index-only refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Query.Index != tc.index || p.Query.Prefix != tc.prefix {
				t.Errorf("planned %s/%q, want %s/%q", p.Query.Index, p.Query.Prefix, tc.index, tc.prefix)
			}
			var got []int
			for i, th := range things {
				if p.Match == nil || p.Match(th) {
					got = append(got, i)
				}
			}
			if !slices.Equal(got, tc.match) {
				t.Errorf("matches %v, want %v", got, tc.match)
			}
		})
	}
}

func TestCompileRefuses(t *testing.T) {
	for _, tc := range []struct{ filter, want string }{
		{"colour = red", `cannot filter on "colour" (fields: status, tags, flag, care_unit, secret)`},
		{"status = open", `status "open" is not one of its values (one of OPEN, CLOSED)`},
		{"flag = yes", `flag "yes" is not one of its values`},
		{"status > OPEN", "the comparator > (position 8) is not supported"},
		{"status <= OPEN", "the comparator <= (position 8) is not supported"},
		{"akuten", "searching for a bare value is not supported"},
		{"has(tags)", "functions such as has(…) are not supported"},
		{"status =", "status = needs a value"},
		{"status = OPEN AND", "a comparison is missing at the end"},
		{"AND status = OPEN", "AND at position 1 has nothing before it"},
		{"(status = OPEN", "expected ) at position 15"},
		{"status = OPEN)", `unexpected ")" at position 14`},
		{`care_unit = "open`, "the string at position 13 is not closed"},
		{"care_unit = \"a\x00b\"", "the value of care_unit contains a control character (U+0000)"},
		{"care_unit = \"a\x1bb\"", "the value of care_unit contains a control character (U+001B)"},
		{"status ! OPEN", "'!' at position 8 is not an operator"},
		{"status = OPEN AND status = CLOSED", "status is given twice in an AND"},
		{"flag = true AND (care_unit = a OR flag = false) AND flag = false", "flag is given twice in an AND"},
		{"secret != s1", "secret can only be filtered as secret = value"},
		{"secret = s1 OR status = OPEN", "secret can only be filtered as secret = value"},
		{strings.Repeat("(", 40) + "status = OPEN" + strings.Repeat(")", 40), "nests deeper than 32 levels"},
		{strings.Repeat("x", MaxLength+1), "is longer than"},
		{"care_unit = \xff", "is not valid UTF-8"},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			_, err := Compile(tc.filter, store.Query{Index: "all"}, fields())
			var fe *Error
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Compile(%q) = %v, want a filter error containing %q", tc.filter, err, tc.want)
			}
		})
	}
}

// TestStringRoundTrips: a parsed filter printed and parsed again is the
// same filter, which is what page-token digests rely on.
func TestStringRoundTrips(t *testing.T) {
	for _, s := range []string{"a = b", `a = "x \"y\" \\z"`, "NOT (a = b OR c != d) AND e : f", "a = b c = d"} {
		e, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(e.String())
		if err != nil {
			t.Fatalf("Parse(%q) of %q: %v", e.String(), s, err)
		}
		if again.String() != e.String() {
			t.Errorf("%q printed %q, then %q", s, e.String(), again.String())
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"", "status = OPEN", "status != OPEN AND NOT (tags : ai OR flag = true)", `care_unit = "Akuten, NUS"`,
		"-flag = true", "secret = s1", "a = \"\\", "((((", "status = OPEN)", "x > 1", "tags:AI tag:b", "care_unit = '\t'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Compile(s, store.Query{Index: "all"}, fields())
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("Compile(%q): error of type %T", s, err)
			}
			return
		}
		if p.Match != nil {
			for _, th := range things {
				p.Match(th)
			}
		}
		// What was understood parses again to the same thing.
		if p.Filter != "" {
			e, err := Parse(p.Filter)
			if err != nil || e.String() != p.Filter {
				t.Fatalf("Compile(%q) understood %q, which parses as %v, %v", s, p.Filter, e, err)
			}
		}
	})
}

// TestCompileIntersects plans every further indexed term of an AND as an
// index the scan leaps to (store.Query.Also); terms under OR or NOT, and
// values without an index, stay checks on the records.
func TestCompileIntersects(t *testing.T) {
	for _, tc := range []struct {
		filter string
		scan   string
		also   []store.Query
	}{
		{"status = OPEN", "by_status/OPEN/", nil},
		{"status = OPEN AND tags : ai", "by_status/OPEN/", []store.Query{{Index: "by_tag", Prefix: "ai/"}}},
		{"tags : ai AND status = OPEN AND flag = true", "by_status/OPEN/", []store.Query{{Index: "by_tag", Prefix: "ai/"}, {Index: "flagged"}}},
		{"tags : ai AND tags : triage", "by_tag/ai/", []store.Query{{Index: "by_tag", Prefix: "triage/"}}},
		{"status = OPEN AND flag = false", "by_status/OPEN/", nil},
		{"status = OPEN AND NOT tags : ai", "by_status/OPEN/", nil},
		{"status = OPEN AND (tags : ai OR flag = true)", "by_status/OPEN/", nil},
		{"status = OPEN AND tags != ai", "by_status/OPEN/", nil},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			p, err := Compile(tc.filter, store.Query{Index: "all"}, fields())
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Query.Index + "/" + p.Query.Prefix; got != tc.scan {
				t.Errorf("scan %s, want %s", got, tc.scan)
			}
			if fmt.Sprint(p.Query.Also) != fmt.Sprint(tc.also) {
				t.Errorf("Also = %+v, want %+v", p.Query.Also, tc.also)
			}
		})
	}
}
