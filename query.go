// SPDX-License-Identifier: Apache-2.0

package portolan

import (
	"context"
	"net/netip"
	"strings"
	"time"
)

// This file holds the typed expression tree of an estate-wide search
// (search-and-changes.md §2) and its semantics. internal/odata parses and
// checks a $filter into this tree against the entity descriptions; each store
// translates it to SQL with bound parameters; Evaluate is the same semantics
// in Go, which the property tests hold the stores to.

// ValueKind is the kind of a value in an expression.
type ValueKind uint8

// The kinds of values.
const (
	ValueString ValueKind = iota + 1
	ValueInt
	ValueTime
	ValueBool
	// ValueEnum values are strings from a closed set (status, protocol).
	ValueEnum
	// ValueStructured is a complex or entity value (a navigation target),
	// which may only be compared with null.
	ValueStructured
)

// Value is a literal of an expression, or a property's value. Null is
// set for null; otherwise the field of Kind holds the value.
type Value struct {
	Kind ValueKind
	Null bool
	Str  string
	Int  int64
	Time time.Time
	Bool bool
}

// Path names a property, relative to the item or to a lambda's range
// variable: "port", "host/id", "services/component/version" (with Var
// empty), or "component/name" with Var "s" inside
// services/any(s: ...). A path that is the range variable itself (over a
// collection of strings) has an empty Name.
type Path struct {
	Var  string
	Name string
	Kind ValueKind
	// Version is set when ordering comparisons treat the string as a
	// software version (CompareVersions).
	Version bool
	// HostID is set when the path holds a host id, so that a hostname
	// stands for the addresses it was seen with and portolan.inSubnet
	// applies.
	HostID bool
}

// String renders the path as written in a filter.
func (p Path) String() string {
	switch {
	case p.Var == "":
		return p.Name
	case p.Name == "":
		return p.Var
	}
	return p.Var + "/" + p.Name
}

// Expr is a node of a checked filter expression: *Compare, *In, *Match,
// *InSubnet, *Lambda, *Logical or *Not.
type Expr interface{ expr() }

// CompareOp is a comparison operator.
type CompareOp uint8

// The comparison operators of OData.
const (
	OpEq CompareOp = iota + 1
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe
)

var compareOpNames = [...]string{OpEq: "eq", OpNe: "ne", OpLt: "lt", OpLe: "le", OpGt: "gt", OpGe: "ge"}

// String returns the operator as written in OData.
func (op CompareOp) String() string { return compareOpNames[op] }

// Flip returns the operator with its operands exchanged (a lt b == b gt a).
func (op CompareOp) Flip() CompareOp {
	switch op {
	case OpLt:
		return OpGt
	case OpLe:
		return OpGe
	case OpGt:
		return OpLt
	case OpGe:
		return OpLe
	}
	return op
}

// Compare is `path op value`; the checker puts the path on the left.
type Compare struct {
	Op    CompareOp
	Path  Path
	Value Value
}

// In is `path in (values)`.
type In struct {
	Path   Path
	Values []Value
}

// MatchFunc is a string function of $filter.
type MatchFunc uint8

// The string functions.
const (
	StartsWith MatchFunc = iota + 1
	EndsWith
	Contains
)

// Match is startswith, endswith or contains of a string path and a literal.
type Match struct {
	Func MatchFunc
	Path Path
	Arg  string
}

// InSubnet is portolan.inSubnet(path, 'cidr'): true for an address host
// inside Prefix, false for hostnames.
type InSubnet struct {
	Path   Path
	Prefix netip.Prefix
}

// Lambda is `collection/any(v: body)` or `collection/all(v: body)`. Body is
// nil for any() without a predicate (the collection is not empty).
type Lambda struct {
	All        bool
	Collection Path
	Var        string
	Body       Expr
}

// Logical is `left and right` or `left or right`.
type Logical struct {
	Or          bool
	Left, Right Expr
}

// Not is `not expr`.
type Not struct{ Expr Expr }

func (*Compare) expr()  {}
func (*In) expr()       {}
func (*Match) expr()    {}
func (*InSubnet) expr() {}
func (*Lambda) expr()   {}
func (*Logical) expr()  {}
func (*Not) expr()      {}

// OrderKey is one key of $orderby.
type OrderKey struct {
	Path Path
	Desc bool
}

// FoldASCII lower-cases ASCII letters only: string equality, in and the
// string functions of a filter ignore ASCII case, as Graph's directory
// queries do (search-and-changes.md §2). Stores mirror it with SQLite's
// NOCASE / LIKE and PostgreSQL's lower() under the "C" collation.
func FoldASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// VersionKey encodes a version so that comparing keys byte by byte orders
// versions as search-and-changes.md §2 says: runs of digits compare as
// numbers, other runs as text, and a missing part is less (1.9 < 1.20,
// 2.4.9 < 2.4.71, 9.2p1 < 9.3, 1.0 < 1.0.1). A digit run becomes 0x01, its
// length without leading zeros (one byte) and those digits; a text run
// becomes 0x02 and its bytes, each raised by one so that no text byte is
// 0x00 and a run ends before any byte of a longer one. Stores keep the key
// in a column so that an index answers version comparisons. An empty
// version has an empty key, which no ordering comparison matches.
func VersionKey(v string) []byte {
	key := make([]byte, 0, len(v)+4)
	for i := 0; i < len(v); {
		j := i
		if isDigit(v[i]) {
			for j < len(v) && isDigit(v[j]) {
				j++
			}
			digits := strings.TrimLeft(v[i:j], "0")
			if len(digits) > 255 {
				digits = digits[:255]
			}
			key = append(key, 0x01, byte(len(digits)))
			key = append(key, digits...)
		} else {
			for j < len(v) && !isDigit(v[j]) {
				j++
			}
			key = append(key, 0x02)
			for k := i; k < j; k++ {
				c := v[k]
				if c == 0xff {
					c = 0xfe // keeps the key within a byte; 0xff is not UTF-8
				}
				key = append(key, c+1)
			}
		}
		i = j
	}
	return key
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// CompareVersions orders two versions as VersionKey does: -1, 0 or +1.
func CompareVersions(a, b string) int {
	return strings.Compare(string(VersionKey(a)), string(VersionKey(b)))
}

// Record is what Evaluate reads: one item of a collection, or one element
// of a collection property inside a lambda.
type Record interface {
	// Value returns the value at a single-valued path ("port", "host/id",
	// "mostRecentSslCertificate/subject/commonName"); a null value has
	// Null set. For a structured path (a navigation), Null tells whether
	// the target exists.
	Value(path string) Value
	// Elements returns the elements of a collection-valued path
	// ("services"); each element is a Record whose paths are relative to
	// it. An element of a collection of strings answers Value("") with
	// itself.
	Elements(path string) []Record
	// HostIDs returns the host ids a host id value covers: itself and, for
	// a hostname, the addresses it was seen with.
	HostIDs(id string) []string
}

// Evaluate reports whether r satisfies e, with the semantics of
// search-and-changes.md §2: two-valued logic in which a comparison with a
// null value is false except `eq null` and `ne` (null ne 'x' is true).
func Evaluate(e Expr, r Record) bool {
	return evaluate(e, r, nil)
}

// scope binds the lambda range variables in force.
type scope struct {
	name   string
	record Record
	outer  *scope
}

func (s *scope) lookup(name string) Record {
	for ; s != nil; s = s.outer {
		if s.name == name {
			return s.record
		}
	}
	return nil
}

func evaluate(e Expr, item Record, vars *scope) bool {
	switch e := e.(type) {
	case *Logical:
		if e.Or {
			return evaluate(e.Left, item, vars) || evaluate(e.Right, item, vars)
		}
		return evaluate(e.Left, item, vars) && evaluate(e.Right, item, vars)
	case *Not:
		return !evaluate(e.Expr, item, vars)
	case *Compare:
		v := valueAt(e.Path, item, vars)
		if e.Path.HostID && !v.Null && !e.Value.Null && (e.Op == OpEq || e.Op == OpNe) {
			in := hostMatches(item, v.Str, e.Value.Str)
			return in == (e.Op == OpEq)
		}
		return compareValues(e.Op, v, e.Value, e.Path.Version)
	case *In:
		v := valueAt(e.Path, item, vars)
		for _, want := range e.Values {
			if e.Path.HostID && !v.Null && !want.Null {
				if hostMatches(item, v.Str, want.Str) {
					return true
				}
			} else if compareValues(OpEq, v, want, false) {
				return true
			}
		}
		return false
	case *Match:
		v := valueAt(e.Path, item, vars)
		if v.Null {
			return false
		}
		s, arg := FoldASCII(v.Str), FoldASCII(e.Arg)
		switch e.Func {
		case StartsWith:
			return strings.HasPrefix(s, arg)
		case EndsWith:
			return strings.HasSuffix(s, arg)
		default:
			return strings.Contains(s, arg)
		}
	case *InSubnet:
		v := valueAt(e.Path, item, vars)
		if v.Null {
			return false
		}
		addr, err := netip.ParseAddr(v.Str)
		return err == nil && e.Prefix.Contains(addr.Unmap())
	case *Lambda:
		var elements []Record
		if r := vars.lookup(e.Collection.Var); e.Collection.Var != "" && r != nil {
			elements = r.Elements(e.Collection.Name)
		} else {
			elements = item.Elements(e.Collection.Name)
		}
		for _, el := range elements {
			ok := e.Body == nil || evaluate(e.Body, item, &scope{name: e.Var, record: el, outer: vars})
			if e.All && !ok {
				return false
			}
			if !e.All && ok {
				return true
			}
		}
		return e.All
	}
	return false
}

// hostMatches reports whether the host id have is covered by the host id
// want: equal ignoring ASCII case, or an address of the hostname want.
func hostMatches(item Record, have, want string) bool {
	have = FoldASCII(have)
	for _, id := range item.HostIDs(FoldASCII(want)) {
		if FoldASCII(id) == have {
			return true
		}
	}
	return false
}

func valueAt(p Path, item Record, vars *scope) Value {
	if p.Var != "" {
		if r := vars.lookup(p.Var); r != nil {
			return r.Value(p.Name)
		}
	}
	return item.Value(p.Name)
}

// compareValues applies op to a property value v and a literal w.
func compareValues(op CompareOp, v, w Value, version bool) bool {
	if v.Null || w.Null {
		switch op {
		case OpEq:
			return v.Null == w.Null
		case OpNe:
			return v.Null != w.Null
		}
		return false
	}
	var c int
	switch v.Kind {
	case ValueInt:
		c = cmpOrdered(v.Int, w.Int)
	case ValueTime:
		c = v.Time.Compare(w.Time)
	case ValueBool:
		c = cmpOrdered(boolInt(v.Bool), boolInt(w.Bool))
	default:
		if op == OpEq || op == OpNe {
			return (FoldASCII(v.Str) == FoldASCII(w.Str)) == (op == OpEq)
		}
		if version {
			if v.Str == "" || w.Str == "" {
				return false
			}
			c = CompareVersions(v.Str, w.Str)
		} else {
			c = strings.Compare(v.Str, w.Str)
		}
	}
	switch op {
	case OpEq:
		return c == 0
	case OpNe:
		return c != 0
	case OpLt:
		return c < 0
	case OpLe:
		return c <= 0
	case OpGt:
		return c > 0
	default:
		return c >= 0
	}
}

func cmpOrdered[T int | int64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SearchQuery selects, orders and pages the items of an estate-wide
// collection (search-and-changes.md §1–3).
type SearchQuery struct {
	// Filter is the checked $filter; nil selects every item.
	Filter Expr
	// OrderBy are the $orderby keys; the item's key ends every ordering.
	OrderBy []OrderKey
	// After is the opaque keyset position of a previous page's Next.
	After string
	// Skip skips this many items after After.
	Skip int
	// Top is the page size; 0 means no limit, and a negative Top asks for
	// the count alone.
	Top int
	// Count asks for the number of matching items (ignoring After, Skip
	// and Top); otherwise Page.Total is -1.
	Count bool
}

// Page is one page of a search.
type Page[T any] struct {
	Items []T
	// Total is the number of matching items, -1 when not asked for.
	Total int
	// Next is the keyset position after the last item, "" on the last page.
	Next string
}

// SearchService answers estate-wide queries.
type SearchService interface {
	// SearchHostPorts returns a page of the hostPort records that match.
	// EINVALID when the query uses what the store cannot answer.
	SearchHostPorts(ctx context.Context, q SearchQuery) (Page[*HostPort], error)
	// SearchHosts returns a page of the hosts that match: every host
	// hosts/{id} answers, addresses and hostnames.
	SearchHosts(ctx context.Context, q SearchQuery) (Page[*Host], error)
	// FilterSSLCertificates returns a page of the certificates that match
	// (SSLCertificateService.SearchSSLCertificates is $search's field:value
	// lookup).
	FilterSSLCertificates(ctx context.Context, q SearchQuery) (Page[*SSLCertificate], error)
	// SearchHostComponents returns a page of the hostComponents that match.
	SearchHostComponents(ctx context.Context, q SearchQuery) (Page[*HostComponent], error)
	// SearchHostSSLCertificates returns a page of the hostSslCertificates
	// that match.
	SearchHostSSLCertificates(ctx context.Context, q SearchQuery) (Page[*HostSSLCertificate], error)
}
