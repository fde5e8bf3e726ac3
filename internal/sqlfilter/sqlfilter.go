// SPDX-License-Identifier: Apache-2.0

// Package sqlfilter translates the typed expression tree of a search
// (portolan.Expr, portolan.OrderKey) into SQL for the stores: a WHERE
// clause, an ORDER BY and a keyset condition, with every value a bound
// parameter, never text spliced into the statement. What differs between
// SQLite and PostgreSQL (placeholders, case folding, the version and address
// functions) is a Dialect; what a collection's paths are in a store's tables
// is a Schema, which each store writes next to its SQL.
//
// Semantics follow portolan.Evaluate, which the stores' property tests hold
// them to: a predicate on a null value is SQL NULL, which WHERE, AND and OR
// treat as false; NOT is written NOT COALESCE(p, false) so that it stays
// two-valued as OData's logic is.
package sqlfilter

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"portolan"
)

// Dialect is what the SQL of one database needs.
type Dialect struct {
	// Placeholder is the placeholder of the n-th parameter (from 1).
	Placeholder func(n int) string
	// FoldEqual is SQL true when the text of col equals the parameter
	// (already ASCII-lower-cased) ignoring ASCII case.
	FoldEqual func(col, param string) string
	// FoldLike is col LIKE param ignoring ASCII case, with '\' escaping.
	FoldLike func(col, param string) string
	// Binary wraps a text column so that < and > compare bytes.
	Binary func(col string) string
	// Time is the parameter value of an instant.
	Time func(time.Time) any
	// FromTime reads back a scanned time column value (for cursors).
	FromTime func(v any) (time.Time, bool)
	// VersionKey is SQL computing portolan.VersionKey of a text column.
	VersionKey func(col string) string
	// InSubnet is SQL true when the text column col is an address inside
	// prefix; it adds its parameters with p.
	InSubnet func(col string, prefix netip.Prefix, p *Builder) string
	// False is the boolean constant false.
	False string
	// Base64 is SQL for the standard base64 (with padding, no line breaks)
	// of a text expression's UTF-8 bytes: the ids of hostComponent and
	// hostSslCertificate (portolan.HostComponentID).
	Base64 func(expr string) string
	// Unindexed, when set, wraps a column so that the planner does not
	// look it up through an index (SQLite's unary +): inside EXISTS the
	// element must be found by its key, not by scanning an index of its
	// values once per item.
	Unindexed func(col string) string
	// NoLimit is the LIMIT that does not limit (an OFFSET needs one on
	// SQLite).
	NoLimit string
	// Typed, when set, gives a parameter its SQL type ("$1::text"): in a
	// VALUES list PostgreSQL has no column to infer a parameter's type
	// from, where SQLite needs none.
	Typed func(param, sqlType string) string
}

// Column is how a path reads in SQL.
type Column struct {
	// SQL is the expression; in a collection's columns "{a}" stands for the
	// alias of the collection's table.
	SQL string
	// Enum maps enum members to the stored values (status to its rank).
	Enum map[string]any
	// Order is the expression $orderby sorts by, when it is not SQL (an
	// enum sorts in the order of its members).
	Order string
	// Key, for a computed id, returns the condition that selects the item
	// with that id (false when it cannot be an id).
	Key func(id string, p *Builder) string
	// Lookup, when set, is how a filter reads the value through an index:
	// SQL (a correlated scalar subquery) stays what $orderby sorts by, and
	// a comparison becomes "the item's key is among the rows whose value
	// compares", which a database answers from an index on the value.
	Lookup *Lookup
}

// Lookup is a value kept in another table's rows, one per item key.
type Lookup struct {
	// Key is the item's expression that names the row ("hp.cert_sha1").
	Key string
	// Table and KeyColumn are where the row is and what names it.
	Table, KeyColumn string
	// Value is the value's column with "{a}" for the table's alias, and
	// Where a constant condition on the row ("{a}.field = 'x'"), or "".
	Value, Where string
}

// Collection is a collection-valued path, for any and all.
type Collection struct {
	// From is the table with "{a}" for its alias ("port_components {a}").
	From string
	// Join ties an element to the item ("{a}.host = hp.host AND ...").
	Join string
	// Item and Elem, when set, are the same tie as lists of columns
	// ("hp.host, hp.port, hp.protocol" and "{a}.host, {a}.port,
	// {a}.protocol"), and Where the element's constant condition: any()
	// is then written as a semi-join, (Item) IN (SELECT Elem ...), which
	// a database can drive from an index on the elements' values.
	Item, Elem, Where string
	// Columns are the element's paths; "" is the element itself for a
	// collection of primitives.
	Columns map[string]Column
}

// Schema maps the paths of one collection to one store's tables.
type Schema struct {
	// Columns are the single-valued paths ("port", "host/id").
	Columns map[string]Column
	// Collections are the collection-valued paths ("services").
	Collections map[string]Collection
	// Aliases is SQL selecting the addresses a hostname covers, given the
	// placeholder of the (lower-case) name; nil where a host id stands for
	// itself only (the hosts collection).
	Aliases func(param string) string
	// Tiebreak are the item's key columns, which end every ordering.
	Tiebreak []Key
}

// Key is a key column of a collection's items.
type Key struct {
	SQL string
	// Text keys order by bytes (Dialect.Binary).
	Text bool
}

// Builder accumulates SQL parameters.
type Builder struct {
	Dialect *Dialect
	Args    []any
	// SemiJoin writes any() over a collection with Item and Elem as
	// (Item) IN (SELECT Elem ...), which an index on the elements' values
	// answers without reading every item: the plan of a count. A page is
	// better served by EXISTS, which lets the database walk the items in
	// the page's order and stop after the page when matches are dense.
	SemiJoin bool
	aliases  int
}

// Param adds a parameter and returns its placeholder.
func (b *Builder) Param(v any) string {
	b.Args = append(b.Args, v)
	return b.Dialect.Placeholder(len(b.Args))
}

func unsupported(what string) error {
	return portolan.Errorf(portolan.EINVALID, "Unsupported query: %s.", what)
}

// scopeVar is a lambda variable: the alias of its table and its collection.
type scopeVar struct {
	name  string
	alias string
	coll  *Collection
	outer *scopeVar
	// byKey: the element is correlated to the item (EXISTS), and found by
	// its key rather than through an index of its values.
	byKey bool
}

func (v *scopeVar) lookup(name string) *scopeVar {
	for ; v != nil; v = v.outer {
		if v.name == name {
			return v
		}
	}
	return nil
}

// Where translates e to a boolean SQL expression over the schema's tables.
func (b *Builder) Where(e portolan.Expr, s *Schema) (string, error) {
	return b.expr(e, s, nil)
}

func (b *Builder) expr(e portolan.Expr, s *Schema, vars *scopeVar) (string, error) {
	switch e := e.(type) {
	case *portolan.Logical:
		l, err := b.expr(e.Left, s, vars)
		if err != nil {
			return "", err
		}
		r, err := b.expr(e.Right, s, vars)
		if err != nil {
			return "", err
		}
		op := " AND "
		if e.Or {
			op = " OR "
		}
		return "(" + l + op + r + ")", nil
	case *portolan.Not:
		x, err := b.expr(e.Expr, s, vars)
		if err != nil {
			return "", err
		}
		return "NOT COALESCE(" + x + ", " + b.Dialect.False + ")", nil
	case *portolan.Compare:
		return b.compare(e, s, vars)
	case *portolan.In:
		var parts []string
		for _, v := range e.Values {
			p, err := b.compare(&portolan.Compare{Op: portolan.OpEq, Path: e.Path, Value: v}, s, vars)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return "(" + strings.Join(parts, " OR ") + ")", nil
	case *portolan.Match:
		col, err := b.column(e.Path, s, vars)
		if err != nil {
			return "", err
		}
		if col.Key != nil || col.Enum != nil {
			return "", unsupported("'" + e.Path.String() + "' with startswith, endswith or contains")
		}
		pattern := escapeLike(portolan.FoldASCII(e.Arg))
		switch e.Func {
		case portolan.StartsWith:
			pattern += "%"
		case portolan.EndsWith:
			pattern = "%" + pattern
		default:
			pattern = "%" + pattern + "%"
		}
		if col.Lookup != nil {
			return b.lookup(col.Lookup, false, func(value string) (string, error) {
				return b.Dialect.FoldLike(value, b.Param(pattern)), nil
			})
		}
		return b.Dialect.FoldLike(col.SQL, b.Param(pattern)), nil
	case *portolan.InSubnet:
		col, err := b.column(e.Path, s, vars)
		if err != nil {
			return "", err
		}
		return b.Dialect.InSubnet(col.SQL, e.Prefix, b), nil
	case *portolan.Lambda:
		return b.lambda(e, s, vars)
	}
	return "", unsupported("this expression")
}

// escapeLike escapes the LIKE wildcards of s with '\'.
func escapeLike(s string) string {
	if !strings.ContainsAny(s, `\%_`) {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

func (b *Builder) lambda(e *portolan.Lambda, s *Schema, vars *scopeVar) (string, error) {
	if e.Collection.Var != "" {
		return "", unsupported("a lambda over a collection of a range variable")
	}
	coll, ok := s.Collections[e.Collection.Name]
	if !ok {
		return "", unsupported("any or all over '" + e.Collection.Name + "'")
	}
	b.aliases++
	alias := "l" + strconv.Itoa(b.aliases)
	from := strings.ReplaceAll(coll.From, "{a}", alias)
	join := strings.ReplaceAll(coll.Join, "{a}", alias)
	body := ""
	if e.Body != nil {
		semi := b.SemiJoin && coll.Item != "" && !e.All
		inner := &scopeVar{name: e.Var, alias: alias, coll: &coll, outer: vars, byKey: !semi}
		var err error
		if body, err = b.expr(e.Body, s, inner); err != nil {
			return "", err
		}
	}
	if b.SemiJoin && coll.Item != "" && !e.All {
		conds := []string{}
		if coll.Where != "" {
			conds = append(conds, strings.ReplaceAll(coll.Where, "{a}", alias))
		}
		if body != "" {
			conds = append(conds, body)
		}
		return "(" + coll.Item + ") IN (SELECT " + strings.ReplaceAll(coll.Elem, "{a}", alias) + " FROM " + from + where(conds) + ")", nil
	}
	if e.Body == nil {
		return "EXISTS (SELECT 1 FROM " + from + " WHERE " + join + ")", nil
	}
	if e.All {
		return "NOT EXISTS (SELECT 1 FROM " + from + " WHERE " + join + " AND NOT COALESCE(" + body + ", " + b.Dialect.False + "))", nil
	}
	return "EXISTS (SELECT 1 FROM " + from + " WHERE " + join + " AND " + body + ")", nil
}

// column resolves a path to its column.
func (b *Builder) column(p portolan.Path, s *Schema, vars *scopeVar) (Column, error) {
	if p.Var != "" {
		v := vars.lookup(p.Var)
		if v == nil {
			return Column{}, unsupported("the range variable '" + p.Var + "' outside its lambda")
		}
		col, ok := v.coll.Columns[p.Name]
		if !ok {
			return Column{}, unsupported("filtering on '" + p.String() + "'")
		}
		col.SQL = strings.ReplaceAll(col.SQL, "{a}", v.alias)
		col.Order = strings.ReplaceAll(col.Order, "{a}", v.alias)
		if v.byKey && b.Dialect.Unindexed != nil && strings.HasPrefix(col.SQL, v.alias+".") {
			col.SQL = b.Dialect.Unindexed(col.SQL)
		}
		return col, nil
	}
	col, ok := s.Columns[p.Name]
	if !ok {
		return Column{}, unsupported("filtering on '" + p.Name + "'")
	}
	return col, nil
}

var sqlOps = [...]string{portolan.OpEq: "=", portolan.OpNe: "<>", portolan.OpLt: "<", portolan.OpLe: "<=", portolan.OpGt: ">", portolan.OpGe: ">="}

// compare translates one comparison; the result is NULL (false) where the
// column is null, except for eq null and ne, as in portolan.Evaluate.
func (b *Builder) compare(e *portolan.Compare, s *Schema, vars *scopeVar) (string, error) {
	col, err := b.column(e.Path, s, vars)
	if err != nil {
		return "", err
	}
	if l := col.Lookup; l != nil {
		valueOf := func(value string) Column { return Column{SQL: value} }
		switch {
		case e.Value.Null && e.Op == portolan.OpEq:
			return b.lookup(l, true, nil)
		case e.Value.Null:
			return b.lookup(l, false, nil)
		case e.Op == portolan.OpNe:
			// null ne x is true: the items without the row, or whose
			// row's value is not x.
			eq := *e
			eq.Op = portolan.OpEq
			return b.lookup(l, true, func(value string) (string, error) { return b.compareColumn(&eq, valueOf(value), s) })
		}
		return b.lookup(l, false, func(value string) (string, error) { return b.compareColumn(e, valueOf(value), s) })
	}
	return b.compareColumn(e, col, s)
}

// lookup is the condition that the item's key is (or, with not, is not)
// among the keys of the lookup table's rows that satisfy pred (all rows
// when pred is nil). "Is not among" includes items whose key is null.
func (b *Builder) lookup(l *Lookup, not bool, pred func(value string) (string, error)) (string, error) {
	b.aliases++
	alias := "k" + strconv.Itoa(b.aliases)
	var conds []string
	if l.Where != "" {
		conds = append(conds, strings.ReplaceAll(l.Where, "{a}", alias))
	}
	if pred != nil {
		p, err := pred(strings.ReplaceAll(l.Value, "{a}", alias))
		if err != nil {
			return "", err
		}
		conds = append(conds, p)
	}
	in := "(SELECT " + alias + "." + l.KeyColumn + " FROM " + l.Table + " " + alias + where(conds) + ")"
	if not {
		return "(" + l.Key + " IS NULL OR " + l.Key + " NOT IN " + in + ")", nil
	}
	return l.Key + " IN " + in, nil
}

// compareColumn translates a comparison of one column.
func (b *Builder) compareColumn(e *portolan.Compare, col Column, s *Schema) (string, error) {
	v := e.Value
	if v.Null {
		if e.Op == portolan.OpEq {
			return col.SQL + " IS NULL", nil
		}
		return col.SQL + " IS NOT NULL", nil
	}
	var pos string // the positive comparison, for eq; ne is its complement
	switch {
	case col.Key != nil:
		pos = col.Key(v.Str, b)
	case e.Path.HostID && s.Aliases != nil && (e.Op == portolan.OpEq || e.Op == portolan.OpNe):
		name := portolan.FoldASCII(v.Str)
		pos = "(" + b.Dialect.FoldEqual(col.SQL, b.Param(name)) + " OR " + col.SQL + " IN (" + s.Aliases(b.Param(name)) + "))"
	case col.Enum != nil:
		stored, ok := col.Enum[v.Str]
		if !ok {
			pos = b.Dialect.False
		} else {
			pos = col.SQL + " = " + b.Param(stored)
		}
	case v.Kind == portolan.ValueString && (e.Op == portolan.OpEq || e.Op == portolan.OpNe):
		pos = b.Dialect.FoldEqual(col.SQL, b.Param(portolan.FoldASCII(v.Str)))
	case v.Kind == portolan.ValueString && e.Path.Version:
		if v.Str == "" {
			return b.Dialect.False, nil
		}
		return "(" + col.SQL + " <> '' AND " + b.Dialect.VersionKey(col.SQL) + " " + sqlOps[e.Op] + " " + b.Param(portolan.VersionKey(v.Str)) + ")", nil
	case v.Kind == portolan.ValueString:
		return b.Dialect.Binary(col.SQL) + " " + sqlOps[e.Op] + " " + b.Param(v.Str), nil
	default:
		if e.Op == portolan.OpNe {
			// null ne x is true, as in portolan.Evaluate.
			return "(" + col.SQL + " IS NULL OR " + col.SQL + " <> " + b.Param(b.literal(v)) + ")", nil
		}
		return col.SQL + " " + sqlOps[e.Op] + " " + b.Param(b.literal(v)), nil
	}
	if e.Op == portolan.OpEq {
		return pos, nil
	}
	if e.Op != portolan.OpNe {
		return "", unsupported("'" + e.Op.String() + "' on '" + e.Path.String() + "'")
	}
	return "(" + col.SQL + " IS NULL OR NOT COALESCE(" + pos + ", " + b.Dialect.False + "))", nil
}

func (b *Builder) literal(v portolan.Value) any {
	switch v.Kind {
	case portolan.ValueInt:
		return v.Int
	case portolan.ValueTime:
		return b.Dialect.Time(v.Time)
	case portolan.ValueBool:
		return v.Bool
	}
	return v.Str
}

// Order is a translated $orderby: the ORDER BY clause and the expressions
// a page query selects so that its last row gives the next keyset
// position.
type Order struct {
	// Exprs are the sort expressions, keys first, then the tiebreak.
	Exprs []string
	desc  []bool
	// keys is how many leading Exprs are $orderby's (nullable); the
	// tiebreak columns after them are never null.
	keys int
}

// OrderBy translates keys, ending with the schema's tiebreak columns.
// Nulls sort first ascending and last descending on both databases.
func (b *Builder) OrderBy(keys []portolan.OrderKey, s *Schema) (*Order, error) {
	o := &Order{}
	for _, k := range keys {
		col, err := b.column(k.Path, s, nil)
		if err != nil {
			return nil, err
		}
		expr := col.SQL
		switch kind := k.Path.Kind; {
		case col.Order != "":
			expr = col.Order
		case col.Key != nil:
			return nil, unsupported("ordering by '" + k.Path.String() + "'")
		case k.Path.Version:
			expr = b.Dialect.VersionKey(col.SQL)
		case kind == portolan.ValueString || kind == portolan.ValueEnum:
			expr = b.Dialect.Binary(col.SQL)
		}
		o.Exprs = append(o.Exprs, expr)
		o.desc = append(o.desc, k.Desc)
	}
	o.keys = len(o.Exprs)
	for _, t := range s.Tiebreak {
		expr := t.SQL
		if t.Text {
			// Byte order whatever the database's collation, as the
			// ids' and hosts' order is defined.
			expr = b.Dialect.Binary(expr)
		}
		o.Exprs = append(o.Exprs, expr)
		o.desc = append(o.desc, false)
	}
	return o, nil
}

// Clause is the ORDER BY clause (without the keywords).
func (o *Order) Clause() string {
	parts := make([]string, len(o.Exprs))
	for i, e := range o.Exprs {
		switch {
		case i >= o.keys:
			// A key column is never null; without a NULLS clause an
			// index on it gives the order (PostgreSQL's ascending
			// indexes keep nulls last).
			parts[i] = e
		case o.desc[i]:
			parts[i] = e + " DESC NULLS LAST"
		default:
			parts[i] = e + " ASC NULLS FIRST"
		}
	}
	return strings.Join(parts, ", ")
}

// After is the condition selecting the rows after the keyset position pos
// (the values of o.Exprs in the last row of the previous page). A position
// that does not fit the ordering is EINVALID.
func (b *Builder) After(o *Order, pos []any) (string, error) {
	if len(pos) != len(o.Exprs) {
		return "", invalidToken()
	}
	var ors []string
	for i := range o.Exprs {
		var ands []string
		for j := 0; j < i; j++ {
			if pos[j] == nil {
				ands = append(ands, o.Exprs[j]+" IS NULL")
			} else {
				ands = append(ands, o.Exprs[j]+" = "+b.Param(pos[j]))
			}
		}
		switch {
		case pos[i] == nil && !o.desc[i]:
			ands = append(ands, o.Exprs[i]+" IS NOT NULL")
		case pos[i] == nil:
			continue // nothing sorts after null descending
		case o.desc[i]:
			ands = append(ands, "("+o.Exprs[i]+" < "+b.Param(pos[i])+" OR "+o.Exprs[i]+" IS NULL)")
		default:
			ands = append(ands, o.Exprs[i]+" > "+b.Param(pos[i]))
		}
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	if len(ors) == 0 {
		return b.Dialect.False, nil
	}
	return "(" + strings.Join(ors, " OR ") + ")", nil
}

func invalidToken() error {
	return portolan.Errorf(portolan.EINVALID, "The $skiptoken is not valid for this query; follow the @odata.nextLink as returned.")
}

// cursorValue is one value of an encoded keyset position.
type cursorValue struct {
	S *string `json:"s,omitempty"`
	I *int64  `json:"i,omitempty"`
	B []byte  `json:"b,omitempty"`
	T *string `json:"t,omitempty"`
}

// EncodeCursor encodes the keyset position of a row (the values scanned
// for o.Exprs) as an opaque token. The HTTP layer signs it, so that a
// position a client sends back is one a store made.
func (d *Dialect) EncodeCursor(values []any) string {
	out := make([]*cursorValue, len(values))
	for i, v := range values {
		switch v := v.(type) {
		case nil:
		case string:
			out[i] = &cursorValue{S: &v}
		case int64, int32, int16, int:
			n, _ := asInt64(v)
			out[i] = &cursorValue{I: &n}
		case bool:
			n := int64(0)
			if v {
				n = 1
			}
			out[i] = &cursorValue{I: &n}
		case []byte:
			out[i] = &cursorValue{B: append([]byte{}, v...)}
			if len(v) == 0 {
				s := ""
				out[i] = &cursorValue{S: &s, B: nil}
			}
		case time.Time:
			s := v.UTC().Format(time.RFC3339Nano)
			out[i] = &cursorValue{T: &s}
		default:
			s := fmt.Sprint(v)
			out[i] = &cursorValue{S: &s}
		}
	}
	data, _ := json.Marshal(out)
	return base64.RawURLEncoding.EncodeToString(data)
}

// DecodeCursor decodes a token of EncodeCursor into parameter values; a
// token that is not one is EINVALID.
func (d *Dialect) DecodeCursor(token string) ([]any, error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, invalidToken()
	}
	var in []*cursorValue
	if err := json.Unmarshal(data, &in); err != nil || len(in) == 0 || len(in) > 16 {
		return nil, invalidToken()
	}
	out := make([]any, len(in))
	for i, v := range in {
		switch {
		case v == nil:
		case v.S != nil:
			out[i] = *v.S
		case v.I != nil:
			out[i] = *v.I
		case v.B != nil:
			out[i] = v.B
		case v.T != nil:
			t, err := time.Parse(time.RFC3339Nano, *v.T)
			if err != nil {
				return nil, invalidToken()
			}
			out[i] = d.Time(t)
		default:
			return nil, invalidToken()
		}
	}
	return out, nil
}

// Plan is the SQL of one page of a search and of its count.
type Plan struct {
	// PageSQL selects the values of Order.Exprs of the page's rows, in
	// order, one row more than the page so that the store knows whether a
	// next page exists.
	PageSQL  string
	PageArgs []any
	// CountSQL counts the matching rows; "" when no count was asked for.
	CountSQL  string
	CountArgs []any
	dialect   *Dialect
}

// NewPlan plans q over from (a table with its alias) where base holds (the
// condition every item meets, "" for none); the page query selects the
// ordering's values, then extra.
func NewPlan(d *Dialect, s *Schema, from, base string, q portolan.SearchQuery, extra []string) (*Plan, error) {
	var conds []string
	if base != "" {
		conds = append(conds, base)
	}
	countBuilder := &Builder{Dialect: d, SemiJoin: true}
	b := &Builder{Dialect: d}
	if q.Filter != nil {
		w, err := b.Where(q.Filter, s)
		if err != nil {
			return nil, err
		}
		conds = append(conds, w)
	}
	plan := &Plan{dialect: d}
	if q.Count {
		// The same translation against a builder of its own, so that the
		// count's placeholders number from 1.
		countConds := conds
		if q.Filter != nil {
			w, err := countBuilder.Where(q.Filter, s)
			if err != nil {
				return nil, err
			}
			countConds = append(append([]string{}, conds[:len(conds)-1]...), w)
		}
		plan.CountSQL = "SELECT count(*) FROM " + from + where(countConds)
		plan.CountArgs = countBuilder.Args
	}
	order, err := b.OrderBy(q.OrderBy, s)
	if err != nil {
		return nil, err
	}
	if q.After != "" {
		pos, err := d.DecodeCursor(q.After)
		if err != nil {
			return nil, err
		}
		after, err := b.After(order, pos)
		if err != nil {
			return nil, err
		}
		conds = append(conds, after)
	}
	sql := "SELECT " + strings.Join(append(append([]string{}, order.Exprs...), extra...), ", ") + " FROM " + from + where(conds) + " ORDER BY " + order.Clause()
	if q.Top > 0 {
		sql += " LIMIT " + b.Param(int64(q.Top)+1)
	} else {
		sql += " LIMIT " + d.NoLimit
	}
	if q.Skip > 0 {
		sql += " OFFSET " + b.Param(int64(q.Skip))
	}
	plan.PageSQL, plan.PageArgs = sql, b.Args
	return plan, nil
}

func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// Next returns the token of the position after a row whose selected values
// are values.
func (p *Plan) Next(values []any) string { return p.dialect.EncodeCursor(values) }
