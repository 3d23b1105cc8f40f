package filter

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/innovationsmotorer/motor/internal/store"
)

// Field is one field a list may be filtered on, as its service declares it.
// The indexes of one list's fields order their entries alike after their
// prefixes (the list's order, then the key), so an AND of two indexed terms
// is read as an intersection of their scans (store.Query.Also).
type Field[T any] struct {
	Name    string   // the proto spelling: care_unit
	Aliases []string // other accepted spellings: careUnit
	// Values are the values the field can hold (an enum's names, true and
	// false); nil accepts any text.
	Values   []string
	Repeated bool // `:` asks whether one of the values is equal
	// Check validates and normalises a value beyond Values (a resource name
	// of the right region, say); nil accepts it as it is.
	Check func(value string) (string, error)
	// Fold normalises both sides before comparing (nil compares exactly).
	Fold func(string) string
	// Get returns a record's values of the field.
	Get func(T) []string
	// Index returns the scan that holds exactly the records where the field
	// equals value, when there is such an index (ok false: none for value).
	Index func(value string) (q store.Query, ok bool)
	// IndexOnly fields are never checked by walking another index: a filter
	// must use them as `field = value` joined to the rest by AND.
	IndexOnly bool
}

// Plan is how a List reads a filtered list: the scan to run and the
// predicate its records must meet (nil: every record of the scan).
type Plan[T any] struct {
	Query store.Query
	Match func(T) bool
	// Filter is the filter as it was understood, for page-token digests.
	Filter string
}

// Error is a filter the list cannot serve; its message names the part.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

func errorf(format string, args ...any) error { return &Error{fmt.Sprintf(format, args...)} }

// Compile parses s, checks it against fields and plans it: onto the index
// of the first field (in the order given) that the filter requires to equal
// a value, else onto base with the filter checked on each record.
func Compile[T any](s string, base store.Query, fields []Field[T]) (Plan[T], error) {
	e, err := Parse(s)
	if err != nil {
		return Plan[T]{}, &Error{err.Error()}
	}
	if e == nil {
		return Plan[T]{Query: base}, nil
	}
	byName := map[string]*Field[T]{}
	var names []string
	for i := range fields {
		f := &fields[i]
		names = append(names, f.Name)
		for _, n := range append([]string{f.Name}, f.Aliases...) {
			byName[n] = f
		}
	}
	if err := resolve(e, byName, names); err != nil {
		return Plan[T]{}, err
	}
	if err := twice(e, byName); err != nil {
		return Plan[T]{}, err
	}

	conjuncts := []*Expr{e}
	if e.Op == OpAnd {
		conjuncts = e.Args
	}
	plan := Plan[T]{Query: base, Filter: e.String()}
	indexed := ""
	for _, f := range fields {
		if f.Index == nil {
			continue
		}
		for _, c := range conjuncts {
			if c.Op != OpCompare || c.Field != f.Name || c.Comparator == "!=" {
				continue
			}
			q, ok := f.Index(c.Value)
			switch {
			case !ok:
			case indexed == "":
				plan.Query, indexed = q, f.Name
			default:
				// Another indexed term of the AND: the scan leaps between
				// the indexes instead of decoding what only one holds.
				plan.Query.Also = append(plan.Query.Also, store.Query{Index: q.Index, Prefix: q.Prefix})
			}
		}
	}
	for _, c := range conjuncts {
		if c.Op == OpCompare && c.Field == indexed && c.Comparator != "!=" {
			continue
		}
		if bad := indexOnly(c, byName); bad != "" {
			return Plan[T]{}, errorf("%s can only be filtered as %s = value, joined to the rest of the filter by AND", bad, bad)
		}
	}
	plan.Match = compile(e, byName)
	return plan, nil
}

// resolve checks every comparison against the declared fields and puts its
// field and value in their canonical form.
func resolve[T any](e *Expr, byName map[string]*Field[T], names []string) error {
	if e.Op != OpCompare {
		for _, a := range e.Args {
			if err := resolve(a, byName, names); err != nil {
				return err
			}
		}
		return nil
	}
	f, ok := byName[e.Field]
	if !ok {
		return errorf("cannot filter on %q (fields: %s)", e.Field, strings.Join(names, ", "))
	}
	e.Field = f.Name
	if e.Comparator == ":" && !f.Repeated {
		e.Comparator = "="
	}
	if f.Values != nil && !slices.Contains(f.Values, e.Value) {
		example := ""
		if len(f.Values) > 0 {
			example = " (one of " + strings.Join(f.Values, ", ") + ")"
		}
		return errorf("%s %q is not one of its values%s", f.Name, e.Value, example)
	}
	if f.Check != nil {
		v, err := f.Check(e.Value)
		if err != nil {
			return errorf("%s: %v", f.Name, err)
		}
		e.Value = v
	}
	if f.Fold != nil {
		e.Value = f.Fold(e.Value)
	}
	return nil
}

// twice refuses a field of one value required to equal something twice in
// one AND: at best redundant, at worst a list that is always empty, and
// most likely a mistake for OR.
func twice[T any](e *Expr, byName map[string]*Field[T]) error {
	if e.Op == OpAnd {
		seen := map[string]bool{}
		for _, a := range e.Args {
			if a.Op != OpCompare || a.Comparator != "=" || byName[a.Field].Repeated {
				continue
			}
			if seen[a.Field] {
				return errorf("%s is given twice in an AND; a record has one %s (use OR for either)", a.Field, a.Field)
			}
			seen[a.Field] = true
		}
	}
	for _, a := range e.Args {
		if err := twice(a, byName); err != nil {
			return err
		}
	}
	return nil
}

// indexOnly returns an index-only field used in e.
func indexOnly[T any](e *Expr, byName map[string]*Field[T]) string {
	if e.Op == OpCompare {
		if byName[e.Field].IndexOnly {
			return e.Field
		}
		return ""
	}
	for _, a := range e.Args {
		if bad := indexOnly(a, byName); bad != "" {
			return bad
		}
	}
	return ""
}

func compile[T any](e *Expr, byName map[string]*Field[T]) func(T) bool {
	switch e.Op {
	case OpNot:
		inner := compile(e.Args[0], byName)
		return func(t T) bool { return !inner(t) }
	case OpAnd, OpOr:
		args := make([]func(T) bool, len(e.Args))
		for i, a := range e.Args {
			args[i] = compile(a, byName)
		}
		and := e.Op == OpAnd
		return func(t T) bool {
			for _, a := range args {
				if a(t) != and {
					return !and
				}
			}
			return and
		}
	}
	f, value := byName[e.Field], e.Value
	has := func(t T) bool {
		for _, v := range f.Get(t) {
			if f.Fold != nil {
				v = f.Fold(v)
			}
			if v == value {
				return true
			}
		}
		return false
	}
	if e.Comparator == "!=" {
		return func(t T) bool { return !has(t) }
	}
	return has
}

// EnumValues lists an enum's value names but the zero one, which no
// record holds on purpose: what Field.Values takes for an enum field.
func EnumValues(enum protoreflect.EnumDescriptor) []string {
	var out []string
	for i := range enum.Values().Len() {
		if v := enum.Values().Get(i); v.Number() != 0 {
			out = append(out, string(v.Name()))
		}
	}
	return out
}

// Bools are the values of a bool field.
func Bools() []string { return []string{"true", "false"} }
