// Package filter owns the `filter` of every List (AIP-160): one parser for
// the grammar Motor accepts, the check of a parsed filter against the
// fields a list declares, and the plan that puts it onto one of the list's
// secondary indexes. What cannot be planned is refused with an error naming
// the part, never answered by a silent walk over every record.
//
// Accepted: comparisons `field = value`, `field != value` and `field :
// value` (on a repeated field: has a value equal to it), joined by AND, OR
// (which binds tighter, as AIP-160 says), juxtaposition (an implicit AND),
// NOT or a leading "-", and parentheses. Values are bare words or quoted
// strings ("…" or '…', with \ escaping the next character). Ordering
// comparators, functions and bare values (global search) are refused.
package filter

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLength bounds a filter: longer is refused before parsing.
const MaxLength = 2000

// maxDepth bounds the nesting of parentheses and NOTs, so a hostile filter
// cannot exhaust the stack.
const maxDepth = 32

// Op is the kind of an Expr node.
type Op int

const (
	OpCompare Op = iota
	OpAnd
	OpOr
	OpNot
)

// Expr is a parsed filter. A comparison has Field, Comparator ("=", "!=" or
// ":") and Value; AND and OR have two or more Args, NOT one.
type Expr struct {
	Op         Op
	Args       []*Expr
	Field      string
	Comparator string
	Value      string
}

func (e *Expr) String() string {
	switch e.Op {
	case OpCompare:
		return e.Field + " " + e.Comparator + " " + quote(e.Value)
	case OpNot:
		if a := e.Args[0]; a.Op == OpAnd || a.Op == OpOr {
			return "NOT (" + a.String() + ")"
		}
		return "NOT " + e.Args[0].String()
	}
	sep := " AND "
	if e.Op == OpOr {
		sep = " OR "
	}
	parts := make([]string, len(e.Args))
	for i, a := range e.Args {
		parts[i] = a.String()
		if a.Op == OpAnd || a.Op == OpOr {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, sep)
}

func quote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// Parse reads a filter; "" (or only blanks) is nil, which matches
// everything.
func Parse(s string) (*Expr, error) {
	if len(s) > MaxLength {
		return nil, fmt.Errorf("is longer than %d bytes", MaxLength)
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("is not valid UTF-8")
	}
	p := &parser{s: s}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if len(p.toks) == 0 {
		return nil, nil
	}
	e, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEnd {
		return nil, fmt.Errorf("unexpected %s at position %d", t, t.pos+1)
	}
	return e, nil
}

type tokKind int

const (
	tokEnd tokKind = iota
	tokWord
	tokString
	tokOp // = != : < <= > >=
	tokLParen
	tokRParen
	tokMinus
	tokComma
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tokEnd:
		return "end of filter"
	case tokString:
		return "string " + quote(t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

type parser struct {
	s    string
	toks []token
	i    int
}

func (p *parser) lex() error {
	s := p.s
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			i += size
		case r == '(':
			p.toks = append(p.toks, token{tokLParen, "(", i})
			i++
		case r == ')':
			p.toks = append(p.toks, token{tokRParen, ")", i})
			i++
		case r == ',':
			p.toks = append(p.toks, token{tokComma, ",", i})
			i++
		case r == '-' && (len(p.toks) == 0 || p.toks[len(p.toks)-1].kind != tokOp):
			// A leading minus is NOT; after a comparator it starts a value.
			p.toks = append(p.toks, token{tokMinus, "-", i})
			i++
		case r == '=' || r == ':':
			p.toks = append(p.toks, token{tokOp, string(r), i})
			i++
		case r == '!' || r == '<' || r == '>':
			if i+1 < len(s) && s[i+1] == '=' {
				p.toks = append(p.toks, token{tokOp, s[i : i+2], i})
				i += 2
				continue
			}
			if r == '!' {
				return fmt.Errorf("'!' at position %d is not an operator (use != or NOT)", i+1)
			}
			p.toks = append(p.toks, token{tokOp, string(r), i})
			i++
		case r == '"' || r == '\'':
			var b strings.Builder
			start := i
			i += size
			closed := false
			for i < len(s) {
				c, n := utf8.DecodeRuneInString(s[i:])
				i += n
				if c == r {
					closed = true
					break
				}
				if c == '\\' && i < len(s) {
					c, n = utf8.DecodeRuneInString(s[i:])
					i += n
				}
				b.WriteRune(c)
			}
			if !closed {
				return fmt.Errorf("the string at position %d is not closed", start+1)
			}
			p.toks = append(p.toks, token{tokString, b.String(), start})
		default:
			start := i
			for i < len(s) {
				c, n := utf8.DecodeRuneInString(s[i:])
				if unicode.IsSpace(c) || strings.ContainsRune(`()=!:<>"',`, c) {
					break
				}
				i += n
			}
			if i == start { // a lone character no rule takes
				return fmt.Errorf("unexpected %q at position %d", r, i+1)
			}
			p.toks = append(p.toks, token{tokWord, s[start:i], start})
		}
	}
	return nil
}

func (p *parser) peek() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return token{kind: tokEnd, pos: len(p.s)}
}

func (p *parser) next() token {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

func (p *parser) keyword(w string) bool {
	t := p.peek()
	return t.kind == tokWord && t.text == w
}

// expression := sequence { "AND" sequence }
func (p *parser) expression(depth int) (*Expr, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nests deeper than %d levels", maxDepth)
	}
	var args []*Expr
	for {
		e, err := p.sequence(depth)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
		if !p.keyword("AND") {
			break
		}
		p.next()
	}
	return join(OpAnd, args), nil
}

// sequence := factor { factor }: juxtaposed factors, an implicit AND.
func (p *parser) sequence(depth int) (*Expr, error) {
	var args []*Expr
	for {
		e, err := p.factor(depth)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
		t := p.peek()
		if t.kind == tokEnd || t.kind == tokRParen || p.keyword("AND") {
			break
		}
	}
	return join(OpAnd, args), nil
}

// factor := term { "OR" term }
func (p *parser) factor(depth int) (*Expr, error) {
	var args []*Expr
	for {
		e, err := p.term(depth)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
		if !p.keyword("OR") {
			break
		}
		p.next()
	}
	return join(OpOr, args), nil
}

// term := [ "NOT" | "-" ] simple ; simple := restriction | "(" expression ")"
func (p *parser) term(depth int) (*Expr, error) {
	if p.keyword("NOT") || p.peek().kind == tokMinus {
		p.next()
		e, err := p.term(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Expr{Op: OpNot, Args: []*Expr{e}}, nil
	}
	t := p.next()
	switch t.kind {
	case tokLParen:
		e, err := p.expression(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, fmt.Errorf("expected ) at position %d, found %s", c.pos+1, c)
		}
		return e, nil
	case tokWord:
		return p.restriction(t)
	case tokEnd:
		return nil, fmt.Errorf("a comparison is missing at the end")
	}
	return nil, fmt.Errorf("expected a field name at position %d, found %s", t.pos+1, t)
}

// restriction := field comparator value
func (p *parser) restriction(field token) (*Expr, error) {
	if field.text == "AND" || field.text == "OR" {
		return nil, fmt.Errorf("%s at position %d has nothing before it", field.text, field.pos+1)
	}
	if !validField(field.text) {
		return nil, fmt.Errorf("%q at position %d is not a field name", field.text, field.pos+1)
	}
	op := p.peek()
	switch {
	case op.kind == tokLParen:
		return nil, fmt.Errorf("functions such as %s(…) are not supported", field.text)
	case op.kind != tokOp:
		return nil, fmt.Errorf("%q at position %d has no comparison: searching for a bare value is not supported (use field = value)", field.text, field.pos+1)
	}
	p.next()
	switch op.text {
	case "=", "!=", ":":
	default:
		return nil, fmt.Errorf("the comparator %s (position %d) is not supported: use =, != or :", op.text, op.pos+1)
	}
	v := p.next()
	if v.kind != tokWord && v.kind != tokString {
		return nil, fmt.Errorf("%s %s needs a value at position %d, found %s", field.text, op.text, v.pos+1, v)
	}
	for _, r := range v.text {
		if unicode.IsControl(r) {
			return nil, fmt.Errorf("the value of %s contains a control character (%U)", field.text, r)
		}
	}
	return &Expr{Op: OpCompare, Field: field.text, Comparator: op.text, Value: v.text}, nil
}

// validField accepts names and member paths: a.b_c.
func validField(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

func join(op Op, args []*Expr) *Expr {
	if len(args) == 1 {
		return args[0]
	}
	var flat []*Expr
	for _, a := range args {
		if a.Op == op {
			flat = append(flat, a.Args...)
		} else {
			flat = append(flat, a)
		}
	}
	return &Expr{Op: op, Args: flat}
}
