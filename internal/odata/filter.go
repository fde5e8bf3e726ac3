// SPDX-License-Identifier: Apache-2.0

package odata

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"portolan"
)

// Limits of a $filter (search-and-changes.md §2).
const (
	MaxFilterLength = 4096
	MaxFilterDepth  = 16
	MaxInItems      = 100
)

// hostTypeName is the type whose id is a host id: a hostname filter covers
// its addresses, and portolan.inSubnet applies to it.
const hostTypeName = "microsoft.graph.security.host"

// ParseFilter parses and checks a $filter against the type of the items it
// selects and returns the typed expression. Every error is a *SyntaxError
// with a client-safe message in the three forms of search-and-changes.md
// §2: a syntax error with its position, an unknown property, or an
// unsupported query.
func ParseFilter(value string, t *EntityType) (portolan.Expr, error) {
	if utf8.RuneCountInString(value) > MaxFilterLength {
		return nil, &SyntaxError{Option: "$filter", Pos: -1, Msg: fmt.Sprintf("Unsupported query: the filter is longer than %d characters.", MaxFilterLength)}
	}
	p := &filterParser{src: value, item: t}
	p.next()
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind == tokBad {
		return nil, p.syntax(p.tok.pos, p.tok.text)
	}
	if p.tok.kind != tokEOF {
		return nil, p.syntax(p.tok.pos, "unexpected "+p.describe())
	}
	return e, nil
}

// token kinds of the filter lexer.
const (
	tokEOF = iota
	tokIdent
	tokString
	tokInt
	tokTime
	tokOpen
	tokClose
	tokComma
	tokSlash
	tokColon
	tokBad
)

type token struct {
	kind int
	text string // as written (identifiers), or the unescaped string
	pos  int    // byte offset
	num  int64
	time time.Time
}

type filterParser struct {
	src   string
	off   int
	tok   token
	item  *EntityType
	vars  []rangeVar
	depth int
}

// rangeVar is a lambda variable in scope: its name and the type (nil for a
// collection of primitives) or kind of its elements.
type rangeVar struct {
	name string
	typ  *EntityType
	elem *Property
}

// position converts a byte offset to the character position a message
// shows (0-based, as OData libraries report it).
func (p *filterParser) position(off int) int {
	if off > len(p.src) {
		off = len(p.src)
	}
	return utf8.RuneCountInString(p.src[:off])
}

func (p *filterParser) syntax(off int, what string) error {
	return &SyntaxError{Option: "$filter", Pos: off, Msg: fmt.Sprintf("Invalid filter clause: %s at position %d.", what, p.position(off))}
}

func unsupported(what string) error {
	return &SyntaxError{Option: "$filter", Pos: -1, Msg: "Unsupported query: " + what + "."}
}

func noFilterProperty(name string, t *EntityType) error {
	return &SyntaxError{Option: "$filter", Pos: -1, Msg: "Could not find a property named '" + clip(name) + "' on type '" + t.Name + "'."}
}

// isIdentStart accepts bytes of non-ASCII letters too, so that a name
// such as 'héllo' is reported whole as an unknown property.
func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '.'
}

// next reads the next token.
func (p *filterParser) next() {
	for p.off < len(p.src) && (p.src[p.off] == ' ' || p.src[p.off] == '\t') {
		p.off++
	}
	start := p.off
	if p.off >= len(p.src) {
		p.tok = token{kind: tokEOF, pos: start, text: "end of filter"}
		return
	}
	c := p.src[p.off]
	switch {
	case c == '(' || c == ')' || c == ',' || c == '/' || c == ':':
		p.off++
		p.tok = token{kind: map[byte]int{'(': tokOpen, ')': tokClose, ',': tokComma, '/': tokSlash, ':': tokColon}[c], pos: start, text: string(c)}
	case c == '\'':
		var b strings.Builder
		p.off++
		for {
			if p.off >= len(p.src) {
				p.tok = token{kind: tokBad, pos: start, text: "unterminated string literal"}
				return
			}
			if p.src[p.off] == '\'' {
				if p.off+1 < len(p.src) && p.src[p.off+1] == '\'' {
					b.WriteByte('\'')
					p.off += 2
					continue
				}
				p.off++
				break
			}
			b.WriteByte(p.src[p.off])
			p.off++
		}
		p.tok = token{kind: tokString, pos: start, text: b.String()}
	case isIdentStart(c):
		for p.off < len(p.src) && isIdentPart(p.src[p.off]) {
			p.off++
		}
		p.tok = token{kind: tokIdent, pos: start, text: p.src[start:p.off]}
	case c == '-' || c >= '0' && c <= '9':
		p.off++
		for p.off < len(p.src) && strings.IndexByte("0123456789-:.TZ+", p.src[p.off]) >= 0 {
			p.off++
		}
		text := p.src[start:p.off]
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			p.tok = token{kind: tokInt, pos: start, text: text, num: n}
			return
		}
		if t, err := time.Parse(time.RFC3339Nano, text); err == nil {
			p.tok = token{kind: tokTime, pos: start, text: text, time: t.UTC()}
			return
		}
		p.tok = token{kind: tokBad, pos: start, text: "'" + clip(text) + "' is neither an integer nor a DateTimeOffset"}
	default:
		r, _ := utf8.DecodeRuneInString(p.src[p.off:])
		p.tok = token{kind: tokBad, pos: start, text: fmt.Sprintf("unexpected character '%c'", r)}
	}
}

// keyword reports whether the current token is the identifier kw, ignoring
// case (Graph documents startsWith and accepts any case of operators).
func (p *filterParser) keyword(kw string) bool {
	return p.tok.kind == tokIdent && strings.EqualFold(p.tok.text, kw)
}

func (p *filterParser) expect(kind int, what string) error {
	if p.tok.kind == tokBad {
		return p.syntax(p.tok.pos, p.tok.text)
	}
	if p.tok.kind != kind {
		return p.syntax(p.tok.pos, "expected "+what+" but found "+p.describe())
	}
	p.next()
	return nil
}

func (p *filterParser) describe() string {
	if p.tok.kind == tokEOF {
		return "the end of the filter"
	}
	if p.tok.kind == tokString {
		return "'" + clip(strings.ReplaceAll(p.tok.text, "'", "''")) + "'"
	}
	return "'" + clip(p.tok.text) + "'"
}

func (p *filterParser) enter(off int) error {
	p.depth++
	if p.depth > MaxFilterDepth {
		return &SyntaxError{Option: "$filter", Pos: off, Msg: fmt.Sprintf("Unsupported query: the filter nests deeper than %d levels.", MaxFilterDepth)}
	}
	return nil
}

func (p *filterParser) parseOr() (portolan.Expr, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		p.next()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = &portolan.Logical{Or: true, Left: left, Right: right}
	}
	return left, nil
}

func (p *filterParser) parseAnd() (portolan.Expr, error) {
	left, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		p.next()
		right, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		left = &portolan.Logical{Left: left, Right: right}
	}
	return left, nil
}

func (p *filterParser) parseNot() (portolan.Expr, error) {
	if p.keyword("not") {
		off := p.tok.pos
		p.next()
		if err := p.enter(off); err != nil {
			return nil, err
		}
		e, err := p.parseNot()
		p.depth--
		if err != nil {
			return nil, err
		}
		return &portolan.Not{Expr: e}, nil
	}
	return p.parseComparison()
}

// operand is a parsed operand of a comparison: a path or a literal.
type operand struct {
	pos     int
	isPath  bool
	path    portolan.Path
	prop    *Property // the last property of the path; nil for a range variable over primitives
	literal token
}

var compareOps = map[string]portolan.CompareOp{
	"eq": portolan.OpEq, "ne": portolan.OpNe, "lt": portolan.OpLt,
	"le": portolan.OpLe, "gt": portolan.OpGt, "ge": portolan.OpGe,
}

func (p *filterParser) parseComparison() (portolan.Expr, error) {
	switch {
	case p.tok.kind == tokOpen:
		off := p.tok.pos
		p.next()
		if err := p.enter(off); err != nil {
			return nil, err
		}
		e, err := p.parseOr()
		p.depth--
		if err != nil {
			return nil, err
		}
		if err := p.expect(tokClose, "')'"); err != nil {
			return nil, err
		}
		return e, nil
	case p.tok.kind == tokIdent && p.peekIs('('):
		return p.parseCall()
	}
	left, lambda, err := p.parseOperand()
	if err != nil || lambda != nil {
		return lambda, err
	}
	if p.tok.kind == tokIdent {
		if op, ok := compareOps[strings.ToLower(p.tok.text)]; ok {
			p.next()
			right, lambda, err := p.parseOperand()
			if err != nil {
				return nil, err
			}
			if lambda != nil {
				return nil, unsupported("a lambda expression as an operand of '" + op.String() + "'")
			}
			return p.compare(op, left, right)
		}
		if p.keyword("in") {
			return p.parseIn(left)
		}
	}
	// A boolean property on its own is a predicate (s/isRecent).
	if left.isPath && left.path.Kind == portolan.ValueBool {
		return &portolan.Compare{Op: portolan.OpEq, Path: left.path, Value: portolan.Value{Kind: portolan.ValueBool, Bool: true}}, nil
	}
	if p.tok.kind == tokBad {
		return nil, p.syntax(p.tok.pos, p.tok.text)
	}
	return nil, p.syntax(p.tok.pos, "expected a comparison operator (eq, ne, lt, le, gt, ge, in) but found "+p.describe())
}

// peekIs reports whether the next non-blank byte after the current token
// is c.
func (p *filterParser) peekIs(c byte) bool {
	off := p.off
	for off < len(p.src) && p.src[off] == ' ' {
		off++
	}
	return off < len(p.src) && p.src[off] == c
}

// parseOperand reads a literal or a property path. A path ending in a
// lambda (services/any(...)) is a complete predicate, returned as lambda.
func (p *filterParser) parseOperand() (operand, portolan.Expr, error) {
	tok := p.tok
	switch tok.kind {
	case tokString, tokInt, tokTime:
		p.next()
		return operand{pos: tok.pos, literal: tok}, nil, nil
	case tokIdent:
		switch strings.ToLower(tok.text) {
		case "true", "false", "null":
			p.next()
			return operand{pos: tok.pos, literal: tok}, nil, nil
		}
		return p.parsePath()
	case tokBad:
		return operand{}, nil, p.syntax(tok.pos, tok.text)
	}
	return operand{}, nil, p.syntax(tok.pos, "expected a property or a value but found "+p.describe())
}

// parsePath resolves a/b/c against the item type or a range variable and
// parses a trailing /any(...) or /all(...).
func (p *filterParser) parsePath() (operand, portolan.Expr, error) {
	start := p.tok.pos
	op := operand{pos: start, isPath: true}
	typ := p.item
	var prop *Property
	var names []string
	owner := ""
	first := p.tok.text
	if v := p.lookupVar(first); v != nil {
		op.path.Var = v.name
		typ, prop = v.typ, v.elem
		p.next()
		if p.tok.kind != tokSlash {
			op.prop = prop
			return p.finishPath(op, prop, names, owner)
		}
		p.next()
	}
	for {
		if p.tok.kind != tokIdent {
			return op, nil, p.syntax(p.tok.pos, "expected a property name but found "+p.describe())
		}
		name := p.tok.text
		if strings.EqualFold(name, "any") || strings.EqualFold(name, "all") {
			if prop == nil || !prop.Collection {
				return op, nil, p.syntax(p.tok.pos, "'"+name+"' applies to a collection property")
			}
			op.path.Name = strings.Join(names, "/")
			lambda, err := p.parseLambda(op.path, prop)
			return op, lambda, err
		}
		if typ == nil {
			return op, nil, p.syntax(p.tok.pos, "'"+clip(prop.Name)+"' has no properties")
		}
		if prop != nil && prop.Collection {
			return op, nil, unsupported("'" + prop.Name + "' is a collection; use " + prop.Name + "/any(x: ...) or " + prop.Name + "/all(x: ...)")
		}
		next := typ.Property(name)
		if next == nil {
			return op, nil, noFilterProperty(name, typ)
		}
		if !next.Filterable {
			return op, nil, unsupported("filtering on '" + next.Name + "' of type '" + typ.Name + "' is not supported")
		}
		owner = typ.Name
		prop = next
		names = append(names, next.Name)
		typ = next.Type
		p.next()
		if p.tok.kind != tokSlash {
			break
		}
		p.next()
	}
	op.prop = prop
	return p.finishPath(op, prop, names, owner)
}

func (p *filterParser) finishPath(op operand, prop *Property, names []string, owner string) (operand, portolan.Expr, error) {
	op.path.Name = strings.Join(names, "/")
	if prop == nil {
		// A range variable over a collection of structured values names
		// an element, not a value.
		return op, nil, unsupported("the range variable '" + op.path.Var + "' stands for a structured element; name one of its properties")
	}
	if prop.Collection && len(names) > 0 {
		return op, nil, unsupported("'" + prop.Name + "' is a collection; use " + prop.Name + "/any(x: ...) or " + prop.Name + "/all(x: ...)")
	}
	op.path.Kind = valueKind(prop.Kind)
	op.path.Version = prop.Version
	op.path.HostID = owner == hostTypeName && prop.Name == "id"
	return op, nil, nil
}

func valueKind(k Kind) portolan.ValueKind {
	switch k {
	case KindString:
		return portolan.ValueString
	case KindInt32:
		return portolan.ValueInt
	case KindDateTime:
		return portolan.ValueTime
	case KindBoolean:
		return portolan.ValueBool
	case KindEnum:
		return portolan.ValueEnum
	}
	return portolan.ValueStructured
}

func (p *filterParser) lookupVar(name string) *rangeVar {
	for i := len(p.vars) - 1; i >= 0; i-- {
		if p.vars[i].name == name {
			return &p.vars[i]
		}
	}
	return nil
}

// parseLambda parses `any(v: body)`, `all(v: body)` or `any()` after a
// collection path.
func (p *filterParser) parseLambda(collection portolan.Path, prop *Property) (portolan.Expr, error) {
	off := p.tok.pos
	all := strings.EqualFold(p.tok.text, "all")
	p.next()
	if err := p.expect(tokOpen, "'('"); err != nil {
		return nil, err
	}
	if err := p.enter(off); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	lambda := &portolan.Lambda{All: all, Collection: collection}
	if p.tok.kind == tokClose {
		if all {
			return nil, p.syntax(p.tok.pos, "'all' needs a range variable and a predicate")
		}
		p.next()
		return lambda, nil
	}
	if p.tok.kind != tokIdent {
		return nil, p.syntax(p.tok.pos, "expected a range variable but found "+p.describe())
	}
	name := p.tok.text
	if p.lookupVar(name) != nil || p.item.Property(name) != nil || strings.Contains(name, ".") {
		return nil, p.syntax(p.tok.pos, "'"+clip(name)+"' cannot be a range variable (it is already a variable or a property)")
	}
	p.next()
	if err := p.expect(tokColon, "':'"); err != nil {
		return nil, err
	}
	v := rangeVar{name: name, typ: prop.Type}
	if prop.Type == nil {
		elem := *prop
		elem.Collection = false
		v.elem = &elem
	}
	p.vars = append(p.vars, v)
	body, err := p.parseOr()
	p.vars = p.vars[:len(p.vars)-1]
	if err != nil {
		return nil, err
	}
	if err := p.expect(tokClose, "')'"); err != nil {
		return nil, err
	}
	lambda.Var, lambda.Body = name, body
	return lambda, nil
}

func (p *filterParser) parseIn(left operand) (portolan.Expr, error) {
	p.next()
	if !left.isPath {
		return nil, unsupported("'in' needs a property on its left")
	}
	if err := p.checkComparable(left, portolan.OpEq); err != nil {
		return nil, err
	}
	if err := p.expect(tokOpen, "'('"); err != nil {
		return nil, err
	}
	in := &portolan.In{Path: left.path}
	for {
		tok := p.tok
		if tok.kind == tokBad {
			return nil, p.syntax(tok.pos, tok.text)
		}
		if tok.kind != tokString && tok.kind != tokInt && tok.kind != tokTime && tok.kind != tokIdent {
			return nil, p.syntax(tok.pos, "expected a value but found "+p.describe())
		}
		p.next()
		v, err := p.literal(left, tok)
		if err != nil {
			return nil, err
		}
		in.Values = append(in.Values, v)
		if len(in.Values) > MaxInItems {
			return nil, &SyntaxError{Option: "$filter", Pos: tok.pos, Msg: fmt.Sprintf("Unsupported query: 'in' lists more than %d values.", MaxInItems)}
		}
		if p.tok.kind == tokComma {
			p.next()
			continue
		}
		if err := p.expect(tokClose, "',' or ')'"); err != nil {
			return nil, err
		}
		return in, nil
	}
}

// checkComparable refuses comparisons the store cannot answer: a
// structured value other than against null, ordering on enums and
// booleans.
func (p *filterParser) checkComparable(o operand, op portolan.CompareOp) error {
	if o.path.Kind == portolan.ValueStructured && op != portolan.OpEq && op != portolan.OpNe {
		return unsupported("'" + o.path.String() + "' can only be compared with null")
	}
	if (o.path.Kind == portolan.ValueEnum || o.path.Kind == portolan.ValueBool) && op != portolan.OpEq && op != portolan.OpNe {
		return unsupported("'" + op.String() + "' on '" + o.path.String() + "'; use eq, ne or in")
	}
	return nil
}

func (p *filterParser) compare(op portolan.CompareOp, left, right operand) (portolan.Expr, error) {
	switch {
	case left.isPath && right.isPath:
		return nil, unsupported("a comparison of two properties ('" + left.path.String() + "' and '" + right.path.String() + "')")
	case !left.isPath && !right.isPath:
		return nil, unsupported("a comparison of two values; one side must be a property")
	case !left.isPath:
		left, right = right, left
		op = op.Flip()
	}
	if err := p.checkComparable(left, op); err != nil {
		return nil, err
	}
	isNull := right.literal.kind == tokIdent && strings.EqualFold(right.literal.text, "null")
	if left.path.Kind == portolan.ValueStructured && !isNull {
		return nil, unsupported("'" + left.path.String() + "' can only be compared with null")
	}
	v, err := p.literal(left, right.literal)
	if err != nil {
		return nil, err
	}
	if v.Null && op != portolan.OpEq && op != portolan.OpNe {
		return nil, unsupported("'" + op.String() + " null'; only eq null and ne null compare with null")
	}
	return &portolan.Compare{Op: op, Path: left.path, Value: v}, nil
}

// literal converts a literal token to a value of the path's type, or says
// why it does not fit.
func (p *filterParser) literal(path operand, tok token) (portolan.Value, error) {
	kind := path.path.Kind
	if tok.kind == tokIdent && strings.EqualFold(tok.text, "null") {
		return portolan.Value{Kind: kind, Null: true}, nil
	}
	mismatch := func(want string) error {
		return p.syntax(tok.pos, "'"+clip(tok.text)+"' is not a value of '"+path.path.String()+"' ("+want+")")
	}
	switch kind {
	case portolan.ValueString:
		if tok.kind != tokString {
			return portolan.Value{}, mismatch("a string in single quotes")
		}
		return portolan.Value{Kind: kind, Str: tok.text}, nil
	case portolan.ValueEnum:
		if tok.kind != tokString {
			return portolan.Value{}, mismatch("one of " + quoteList(path.prop.Members))
		}
		for _, m := range path.prop.Members {
			if strings.EqualFold(m, tok.text) {
				return portolan.Value{Kind: kind, Str: m}, nil
			}
		}
		return portolan.Value{}, mismatch("one of " + quoteList(path.prop.Members))
	case portolan.ValueInt:
		if tok.kind != tokInt || tok.num < -1<<31 || tok.num > 1<<31-1 {
			return portolan.Value{}, mismatch("a 32-bit integer")
		}
		return portolan.Value{Kind: kind, Int: tok.num}, nil
	case portolan.ValueTime:
		if tok.kind != tokTime {
			return portolan.Value{}, mismatch("an unquoted DateTimeOffset such as 2026-12-01T00:00:00Z")
		}
		return portolan.Value{Kind: kind, Time: tok.time}, nil
	case portolan.ValueBool:
		if tok.kind != tokIdent || !strings.EqualFold(tok.text, "true") && !strings.EqualFold(tok.text, "false") {
			return portolan.Value{}, mismatch("true or false")
		}
		return portolan.Value{Kind: kind, Bool: strings.EqualFold(tok.text, "true")}, nil
	}
	return portolan.Value{}, mismatch("null")
}

func quoteList(members []string) string {
	var out []string
	for _, m := range members {
		if m != "unknownFutureValue" {
			out = append(out, "'"+m+"'")
		}
	}
	return strings.Join(out, ", ")
}

// parseCall parses startswith, endswith, contains and portolan.inSubnet.
func (p *filterParser) parseCall() (portolan.Expr, error) {
	name, off := p.tok.text, p.tok.pos
	fn := strings.ToLower(name)
	var match portolan.MatchFunc
	switch fn {
	case "startswith":
		match = portolan.StartsWith
	case "endswith":
		match = portolan.EndsWith
	case "contains":
		match = portolan.Contains
	case "portolan.insubnet":
	default:
		return nil, unsupported("the function '" + clip(name) + "'; use startswith, endswith, contains or portolan.inSubnet")
	}
	p.next()
	if err := p.expect(tokOpen, "'('"); err != nil {
		return nil, err
	}
	if err := p.enter(off); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	arg, lambda, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	if lambda != nil || !arg.isPath {
		return nil, p.syntax(arg.pos, "the first argument of '"+name+"' must be a property")
	}
	if err := p.expect(tokComma, "','"); err != nil {
		return nil, err
	}
	lit := p.tok
	if lit.kind == tokBad {
		return nil, p.syntax(lit.pos, lit.text)
	}
	if lit.kind != tokString {
		return nil, p.syntax(lit.pos, "the second argument of '"+name+"' must be a string in single quotes")
	}
	p.next()
	if err := p.expect(tokClose, "')'"); err != nil {
		return nil, err
	}
	if match == 0 {
		if !arg.path.HostID {
			return nil, unsupported("portolan.inSubnet applies to a host id ('host/id', or 'id' of a host)")
		}
		prefix, err := netip.ParsePrefix(strings.TrimSpace(lit.text))
		if err != nil {
			return nil, p.syntax(lit.pos, "'"+clip(lit.text)+"' is not an address range in CIDR notation (10.0.0.0/8, 2001:db8::/32)")
		}
		return &portolan.InSubnet{Path: arg.path, Prefix: prefix.Masked()}, nil
	}
	if arg.path.Kind != portolan.ValueString {
		return nil, unsupported("'" + name + "' on '" + arg.path.String() + "', which is not a string")
	}
	return &portolan.Match{Func: match, Path: arg.path, Arg: lit.text}, nil
}
