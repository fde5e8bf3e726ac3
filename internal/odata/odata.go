// SPDX-License-Identifier: Apache-2.0

// Package odata parses the OData system query options Portolan serves
// ($count, $skip, $top, $select, $expand, $search, $skiptoken) from a raw
// query string, validating them against what one request supports and the
// entity type it returns. It is pure: no net/http, no storage. Every error is
// an *OptionError or a *SyntaxError that names the option, so that the HTTP
// layer can answer 400 with a message a client can act on (graph-api.md,
// Part A: unknown, repeated or unsupported options are never ignored).
package odata

import (
	"net/url"

	"portolan"
	"strconv"
	"strings"
)

// Option is a set of system query options, used to say which ones a request
// supports.
type Option uint16

// The system query options Portolan implements.
const (
	Count Option = 1 << iota
	Skip
	Top
	Select
	Expand
	Search
	SkipToken
	Filter
	OrderBy
	// DeltaToken is the state token of a delta query's deltaLink.
	DeltaToken
)

// Paging is the set of options every paged collection supports.
const Paging = Count | Skip | Top | SkipToken

// optionNames maps each option to its canonical spelling.
var optionNames = map[Option]string{
	Count:      "$count",
	Skip:       "$skip",
	Top:        "$top",
	Select:     "$select",
	Expand:     "$expand",
	Search:     "$search",
	SkipToken:  "$skiptoken",
	Filter:     "$filter",
	OrderBy:    "$orderby",
	DeltaToken: "$deltatoken",
}

// byName maps the lower-cased name (with its '$') to the option. Options
// that OData defines but Portolan does not implement map to 0, so that they
// are refused as unsupported rather than as unknown.
var byName = map[string]Option{
	"$count": Count, "$skip": Skip, "$top": Top, "$select": Select,
	"$expand": Expand, "$search": Search, "$skiptoken": SkipToken,
	"$filter": Filter, "$orderby": OrderBy, "$format": 0, "$apply": 0, "$compute": 0,
	"$levels": 0, "$index": 0, "$schemaversion": 0, "$deltatoken": DeltaToken, "$id": 0,
}

// String returns the canonical name of a single option ("$top").
func (o Option) String() string {
	if s, ok := optionNames[o]; ok {
		return s
	}
	return "option(" + strconv.Itoa(int(o)) + ")"
}

// Limits of $top and $skip (graph-api.md Part A).
const (
	DefaultTop = 100
	MaxTop     = 1000
	// MaxSkip keeps offsets within what every store can bind as an int32.
	MaxSkip = 1<<31 - 1
)

// EntityType describes a Graph entity or complex type as the query options
// see it: its properties in serialisation order, with their types and what
// each may be used for. It is the one description $select, $expand,
// $filter and $orderby are checked against.
type EntityType struct {
	// Name is the qualified type name used in messages
	// ("microsoft.graph.security.hostPort").
	Name string
	// Properties are the properties, structural and navigation, in the
	// order they are serialised. At most 64.
	Properties []Property
	// Expandable maps the navigation properties that $expand accepts to the
	// type of their target, against which a nested $select is checked.
	Expandable map[string]*EntityType

	// The fields below describe the type for $metadata; the query options
	// do not read them.

	// BaseType is the entity type this one derives from, nil for a complex
	// type and for the root of the hierarchy (microsoft.graph.entity).
	// Properties still lists what a base type declares, since it is
	// serialised; $metadata declares each property on the first type of
	// the chain that lists it.
	BaseType *EntityType
	// Abstract marks a type that is never returned as such (host is
	// always a hostname or an ipAddress).
	Abstract bool
	// Complex marks a complex type: structured, without key or identity.
	Complex bool
	// Paths are the navigation properties reached only as a path of their
	// own (hosts/{id}/ports), never written as members: $metadata declares
	// them, while $select, $expand, $filter and $orderby do not see them.
	Paths []Property
}

// Kind is the kind of value a property holds.
type Kind uint8

// The kinds of property values.
const (
	KindString Kind = iota + 1
	KindInt32
	KindDateTime
	KindBoolean
	// KindEnum values are strings from Property.Members.
	KindEnum
	// KindComplex and KindEntity values are structured; Property.Type
	// describes them. KindEntity is a navigation property.
	KindComplex
	KindEntity
)

// String names the kind as messages show it.
func (k Kind) String() string {
	switch k {
	case KindString:
		return "Edm.String"
	case KindInt32:
		return "Edm.Int32"
	case KindDateTime:
		return "Edm.DateTimeOffset"
	case KindBoolean:
		return "Edm.Boolean"
	case KindEnum:
		return "enum"
	case KindComplex:
		return "complex"
	case KindEntity:
		return "entity"
	}
	return "unknown"
}

// Property is one property of an EntityType.
type Property struct {
	// Name is the property's name as serialised.
	Name string
	// Kind is the kind of its values (of its items for a collection).
	Kind Kind
	// Collection is set for a collection-valued property.
	Collection bool
	// Type describes the values of a KindComplex or KindEntity property.
	Type *EntityType
	// Members are the values of a KindEnum property.
	Members []string
	// Filterable says that $filter may use the property; for a structured
	// property, that $filter may follow a path or lambda through it.
	Filterable bool
	// Sortable says that $orderby may use the property (a single-valued
	// primitive, or a single-valued path ending in one).
	Sortable bool
	// Version says that ordering comparisons treat the string as a
	// software version (runs of digits compare as numbers).
	Version bool

	// The fields below describe the property for $metadata.

	// NonNullable says that the value is never null (CSDL
	// Nullable="false"); the zero value is nullable, as in CSDL.
	NonNullable bool
	// EnumName is the qualified name of the enumeration type of a KindEnum
	// property ("microsoft.graph.security.hostPortStatus"); its members
	// are Members, valued 0, 1, ... in that order.
	EnumName string
	// DeclaredOn is the qualified name of the derived type that declares
	// the property, when the EntityType lists it on behalf of its subtypes
	// (countryOrRegion of an ipAddress on host); "" when the type itself or
	// one of its base types declares it.
	DeclaredOn string
	// Contained marks a navigation property whose targets exist only
	// through it (CSDL ContainsTarget="true").
	Contained bool
}

// Index returns the position of the property named name (compared
// case-insensitively, as Graph does) or -1.
func (t *EntityType) Index(name string) int {
	for i := range t.Properties {
		if strings.EqualFold(t.Properties[i].Name, name) {
			return i
		}
	}
	return -1
}

// PathProperty returns the navigation property named name
// (case-insensitively) that t, or a type it derives from, declares as a path
// of its own (Paths), or nil.
func (t *EntityType) PathProperty(name string) *Property {
	for ; t != nil; t = t.BaseType {
		for i := range t.Paths {
			if strings.EqualFold(t.Paths[i].Name, name) {
				return &t.Paths[i]
			}
		}
	}
	return nil
}

// Property returns the property named name (case-insensitively) or nil.
func (t *EntityType) Property(name string) *Property {
	if i := t.Index(name); i >= 0 {
		return &t.Properties[i]
	}
	return nil
}

// All is the mask that selects every property of t.
func (t *EntityType) All() uint64 {
	if len(t.Properties) >= 64 {
		return ^uint64(0)
	}
	return 1<<len(t.Properties) - 1
}

// Spec is what one request supports.
type Spec struct {
	// Allowed are the options the request accepts; any other is an error.
	Allowed Option
	// Type is the entity type of the result, for $select and $expand. It
	// must be set when Allowed includes Select or Expand.
	Type *EntityType
	// SearchFields are the fields `$search="field:value"` accepts.
	SearchFields []string
}

// Query is a parsed and validated set of query options.
type Query struct {
	// Count is $count=true.
	Count bool
	// Skip is $skip, 0 when absent.
	Skip int
	// Top is $top, DefaultTop when absent.
	Top int
	// Select is nil when $select is absent.
	Select *Selection
	// Expand lists the expanded navigation properties in request order.
	Expand []ExpandItem
	// Search is nil when $search is absent.
	Search *SearchTerm
	// SkipToken is the opaque $skiptoken, "" when absent.
	SkipToken string
	// DeltaToken is the opaque $deltatoken, "" when absent.
	DeltaToken string
	// Filter is the checked $filter, nil when absent.
	Filter portolan.Expr
	// OrderBy are the $orderby keys, nil when absent.
	OrderBy []portolan.OrderKey
	// Options are the options as they arrived, in order, so that a next
	// link can repeat them verbatim.
	Options []RawOption
	// Present is the set of options that were given.
	Present Option
}

// Selection is a parsed $select list.
type Selection struct {
	// Names are the selected properties in their canonical spelling, in
	// request order, without repeats; "*" when every property was asked for.
	Names []string
	// Mask has bit i set when Type.Properties[i] is selected.
	Mask uint64
}

// ExpandItem is one expanded navigation property.
type ExpandItem struct {
	// Property is the canonical name of the navigation property.
	Property string
	// Select is the nested $select, nil when absent.
	Select *Selection
}

// SearchTerm is a `$search="field:value"` term.
type SearchTerm struct {
	// Field is the canonical spelling of one of Spec.SearchFields.
	Field string
	// Value is what the field must equal.
	Value string
}

// RawOption is one name=value pair of the query string, still encoded.
type RawOption struct {
	// Option is the option it sets.
	Option Option
	// Encoded is the pair exactly as received ("%24top=5").
	Encoded string
}

// Mask returns the selection mask of the top-level properties: every
// property when $select is absent.
func (q *Query) Mask(t *EntityType) uint64 {
	if q.Select == nil {
		return t.All()
	}
	return q.Select.Mask
}

// Expanded returns the expand item of the navigation property named name, or
// nil.
func (q *Query) Expanded(name string) *ExpandItem {
	for i := range q.Expand {
		if q.Expand[i].Property == name {
			return &q.Expand[i]
		}
	}
	return nil
}

// Parse parses the raw (still percent-encoded) query string of a request and
// validates it against spec. Names are accepted with or without '$' and in
// any case, as on Graph beta.
func Parse(rawQuery string, spec *Spec) (*Query, error) {
	q := &Query{Top: DefaultTop}
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if pair == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			return nil, &SyntaxError{Pos: -1, Msg: "The query string is malformed: a parameter name is not correctly percent-encoded."}
		}
		if name == "" {
			return nil, &SyntaxError{Pos: -1, Msg: "The query string is malformed: a parameter has no name."}
		}
		canonical := strings.ToLower(name)
		if !strings.HasPrefix(canonical, "$") {
			canonical = "$" + canonical
		}
		opt, known := byName[canonical]
		if !known {
			return nil, &OptionError{Option: name, Reason: Unknown}
		}
		if opt == 0 || spec.Allowed&opt == 0 {
			return nil, &OptionError{Option: canonical, Reason: Unsupported}
		}
		if q.Present&opt != 0 {
			return nil, &OptionError{Option: canonical, Reason: Repeated}
		}
		q.Present |= opt
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, &SyntaxError{Option: canonical, Pos: -1, Msg: "The value of query option '" + canonical + "' is not correctly percent-encoded."}
		}
		if err := q.set(opt, value, spec); err != nil {
			return nil, err
		}
		q.Options = append(q.Options, RawOption{Option: opt, Encoded: pair})
	}
	return q, nil
}

func (q *Query) set(opt Option, value string, spec *Spec) error {
	switch opt {
	case Count:
		switch strings.ToLower(value) {
		case "true":
			q.Count = true
		case "false":
			q.Count = false
		default:
			return invalidValue(opt, value, 0, "it must be true or false")
		}
	case Top:
		n, pos, ok := parseInt(value)
		if !ok {
			return invalidValue(opt, value, pos, "it must be an integer from 1 to 1000")
		}
		if n < 1 || n > MaxTop {
			return invalidValue(opt, value, 0, "it must be an integer from 1 to 1000")
		}
		q.Top = n
	case Skip:
		n, pos, ok := parseInt(value)
		if !ok {
			return invalidValue(opt, value, pos, "it must be a non-negative integer")
		}
		if n > MaxSkip {
			return invalidValue(opt, value, 0, "it must be a non-negative integer below 2147483648")
		}
		q.Skip = n
	case SkipToken:
		if value == "" {
			return invalidValue(opt, value, 0, "it must not be empty")
		}
		q.SkipToken = value
	case DeltaToken:
		if value == "" {
			return invalidValue(opt, value, 0, "it must not be empty")
		}
		q.DeltaToken = value
	case Filter:
		e, err := ParseFilter(value, spec.Type)
		if err != nil {
			return err
		}
		q.Filter = e
	case OrderBy:
		keys, err := ParseOrderBy(value, spec.Type)
		if err != nil {
			return err
		}
		q.OrderBy = keys
	case Select:
		sel, err := parseSelect(value, 0, "$select", spec.Type)
		if err != nil {
			return err
		}
		q.Select = sel
	case Expand:
		items, err := parseExpand(value, spec.Type)
		if err != nil {
			return err
		}
		q.Expand = items
	case Search:
		term, err := parseSearch(value, spec.SearchFields)
		if err != nil {
			return err
		}
		q.Search = term
	}
	return nil
}

// parseInt accepts decimal digits only (no sign, no spaces), as OData's
// integer literal for $top and $skip. On failure it returns the position of
// the first offending byte.
func parseInt(s string) (n, pos int, ok bool) {
	if s == "" {
		return 0, 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, i, false
		}
		if n > MaxSkip { // keep accumulating bounded; the caller reports the range
			continue
		}
		n = n*10 + int(c-'0')
	}
	return n, 0, true
}

func invalidValue(opt Option, value string, pos int, why string) error {
	return &SyntaxError{
		Option: opt.String(),
		Pos:    pos,
		Msg:    "Invalid value '" + clip(value) + "' for query option '" + opt.String() + "': " + why + ".",
	}
}

// clip keeps messages short when a client sends a huge value.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}
