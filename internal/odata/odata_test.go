// SPDX-License-Identifier: Apache-2.0

package odata_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"portolan/internal/odata"
)

var certType = &odata.EntityType{
	Name:       "microsoft.graph.security.sslCertificate",
	Properties: props("id", "sha1", "subject"),
}

var portType = &odata.EntityType{
	Name: "microsoft.graph.security.hostPort",
	Properties: props("id", "port", "firstSeenDateTime", "lastSeenDateTime", "lastScanDateTime",
		"timesObserved", "status", "protocol", "banners", "services", "mostRecentSslCertificate", "host"),
	Expandable: map[string]*odata.EntityType{"mostRecentSslCertificate": certType},
}

// props describes string properties with the given names: $select and
// $expand look at names only.
func props(names ...string) []odata.Property {
	out := make([]odata.Property, len(names))
	for i, n := range names {
		out[i] = odata.Property{Name: n, Kind: odata.KindString}
	}
	return out
}

var portsSpec = &odata.Spec{Allowed: odata.Paging | odata.Select | odata.Expand, Type: portType}

var searchSpec = &odata.Spec{
	Allowed:      odata.Paging | odata.Search,
	Type:         certType,
	SearchFields: []string{"sha1", "subject/commonName"},
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		query string
		spec  *odata.Spec
		want  *odata.Query
	}{
		{"empty", "", portsSpec, &odata.Query{Top: 100}},
		{"stray ampersands", "&&", portsSpec, &odata.Query{Top: 100}},
		{"top skip count", "$top=5&$skip=10&$count=true", portsSpec, &odata.Query{
			Top: 5, Skip: 10, Count: true, Present: odata.Top | odata.Skip | odata.Count,
			Options: []odata.RawOption{{odata.Top, "$top=5"}, {odata.Skip, "$skip=10"}, {odata.Count, "$count=true"}},
		}},
		{"dollar-less and encoded", "top=1000&%24skip=0&COUNT=False", portsSpec, &odata.Query{
			Top: 1000, Present: odata.Top | odata.Skip | odata.Count,
			Options: []odata.RawOption{{odata.Top, "top=1000"}, {odata.Skip, "%24skip=0"}, {odata.Count, "COUNT=False"}},
		}},
		{"select", "$select=id,%20Port,host,id", portsSpec, &odata.Query{
			Top: 100, Present: odata.Select,
			Select:  &odata.Selection{Names: []string{"id", "port", "host"}, Mask: 1 | 2 | 1<<11},
			Options: []odata.RawOption{{odata.Select, "$select=id,%20Port,host,id"}},
		}},
		{"select star", "select=*", portsSpec, &odata.Query{
			Top: 100, Present: odata.Select,
			Select:  &odata.Selection{Names: []string{"*"}, Mask: 1<<12 - 1},
			Options: []odata.RawOption{{odata.Select, "select=*"}},
		}},
		{"expand", "$expand=mostRecentSslCertificate", portsSpec, &odata.Query{
			Top: 100, Present: odata.Expand,
			Expand:  []odata.ExpandItem{{Property: "mostRecentSslCertificate"}},
			Options: []odata.RawOption{{odata.Expand, "$expand=mostRecentSslCertificate"}},
		}},
		{"expand nested select", "expand=mostrecentsslcertificate(%24select%3Dsha1,id)", portsSpec, &odata.Query{
			Top: 100, Present: odata.Expand,
			Expand: []odata.ExpandItem{{Property: "mostRecentSslCertificate",
				Select: &odata.Selection{Names: []string{"sha1", "id"}, Mask: 3}}},
			Options: []odata.RawOption{{odata.Expand, "expand=mostrecentsslcertificate(%24select%3Dsha1,id)"}},
		}},
		{"expand empty parentheses", "$expand=mostRecentSslCertificate()", portsSpec, &odata.Query{
			Top: 100, Present: odata.Expand,
			Expand:  []odata.ExpandItem{{Property: "mostRecentSslCertificate"}},
			Options: []odata.RawOption{{odata.Expand, "$expand=mostRecentSslCertificate()"}},
		}},
		{"skiptoken", "$skiptoken=abc", portsSpec, &odata.Query{
			Top: 100, Present: odata.SkipToken, SkipToken: "abc",
			Options: []odata.RawOption{{odata.SkipToken, "$skiptoken=abc"}},
		}},
		{"search quoted", `$search=%22subject/CommonName:microsoft.com%22`, searchSpec, &odata.Query{
			Top: 100, Present: odata.Search,
			Search:  &odata.SearchTerm{Field: "subject/commonName", Value: "microsoft.com"},
			Options: []odata.RawOption{{odata.Search, `$search=%22subject/CommonName:microsoft.com%22`}},
		}},
		{"search escapes", `search="sha1:a\"b\\c"`, searchSpec, &odata.Query{
			Top: 100, Present: odata.Search,
			Search:  &odata.SearchTerm{Field: "sha1", Value: `a"b\c`},
			Options: []odata.RawOption{{odata.Search, `search="sha1:a\"b\\c"`}},
		}},
		{"search unquoted", `$search=sha1:abc`, searchSpec, &odata.Query{
			Top: 100, Present: odata.Search,
			Search:  &odata.SearchTerm{Field: "sha1", Value: "abc"},
			Options: []odata.RawOption{{odata.Search, `$search=sha1:abc`}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := odata.Parse(tt.query, tt.spec)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.query, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		query  string
		spec   *odata.Spec
		option string
		pos    int // -2: OptionError
		msg    string
	}{
		{"unknown dollar", "$foo=1", portsSpec, "$foo", -2, "Query option '$foo' is not supported."},
		{"unknown custom", "foo=1", portsSpec, "foo", -2, "Query option 'foo' is not supported."},
		{"filter", "$filter=port eq 1", portsSpec, "$filter", -2, "Query option '$filter' is not supported by this request."},
		{"orderby dollar-less", "orderby=port", portsSpec, "$orderby", -2, "Query option '$orderby' is not supported by this request."},
		{"search on ports", "$search=x", portsSpec, "$search", -2, "Query option '$search' is not supported by this request."},
		{"expand on search", "$expand=x", searchSpec, "$expand", -2, "Query option '$expand' is not supported by this request."},
		{"repeated", "$top=1&$top=2", portsSpec, "$top", -2, "Query option '$top' was specified more than once, but it must be specified at most once."},
		{"repeated mixed", "$top=1&TOP=1", portsSpec, "$top", -2, "Query option '$top' was specified more than once, but it must be specified at most once."},
		{"top zero", "$top=0", portsSpec, "$top", 0, "Invalid value '0' for query option '$top': it must be an integer from 1 to 1000."},
		{"top big", "$top=1001", portsSpec, "$top", 0, "Invalid value '1001' for query option '$top': it must be an integer from 1 to 1000."},
		{"top huge", "$top=99999999999999999999999", portsSpec, "$top", 0, "Invalid value '99999999999999999999999' for query option '$top': it must be an integer from 1 to 1000."},
		{"top negative", "$top=-1", portsSpec, "$top", 0, "Invalid value '-1' for query option '$top': it must be an integer from 1 to 1000."},
		{"top text", "$top=1x", portsSpec, "$top", 1, "Invalid value '1x' for query option '$top': it must be an integer from 1 to 1000."},
		{"top empty", "$top=", portsSpec, "$top", 0, "Invalid value '' for query option '$top': it must be an integer from 1 to 1000."},
		{"skip negative", "$skip=-3", portsSpec, "$skip", 0, "Invalid value '-3' for query option '$skip': it must be a non-negative integer."},
		{"skip huge", "$skip=2147483648", portsSpec, "$skip", 0, "Invalid value '2147483648' for query option '$skip': it must be a non-negative integer below 2147483648."},
		{"count", "$count=yes", portsSpec, "$count", 0, "Invalid value 'yes' for query option '$count': it must be true or false."},
		{"skiptoken empty", "$skiptoken=", portsSpec, "$skiptoken", 0, "Invalid value '' for query option '$skiptoken': it must not be empty."},
		{"bad escape in name", "%zz=1", portsSpec, "", -1, "The query string is malformed: a parameter name is not correctly percent-encoded."},
		{"no name", "=1", portsSpec, "", -1, "The query string is malformed: a parameter has no name."},
		{"bad escape in value", "$top=%zz", portsSpec, "$top", -1, "The value of query option '$top' is not correctly percent-encoded."},
		{"select unknown", "$select=id,nope", portsSpec, "$select", 3,
			"Parsing OData Select and Expand failed: Could not find a property named 'nope' on type 'microsoft.graph.security.hostPort'."},
		{"select nested", "$select=host/id", portsSpec, "$select", 0,
			"Parsing OData Select and Expand failed: Could not find a property named 'host/id' on type 'microsoft.graph.security.hostPort'."},
		{"select nested cert", "$select=mostRecentSslCertificate/id", portsSpec, "$select", 0,
			"Parsing OData Select and Expand failed: Could not find a property named 'mostRecentSslCertificate/id' on type 'microsoft.graph.security.hostPort'."},
		{"select empty", "$select=", portsSpec, "$select", 0, "Invalid value '' for query option '$select': it must list at least one property."},
		{"select empty item", "$select=id,,port", portsSpec, "$select", 3, "Invalid value 'id,,port' for query option '$select': a property name is missing."},
		{"expand host", "$expand=host", portsSpec, "$expand", 0,
			"Query option '$expand' is not supported for property 'host' on type 'microsoft.graph.security.hostPort'; only 'mostRecentSslCertificate' can be expanded."},
		{"expand unknown", "$expand=nope", portsSpec, "$expand", 0,
			"Parsing OData Select and Expand failed: Could not find a property named 'nope' on type 'microsoft.graph.security.hostPort'."},
		{"expand twice", "$expand=mostRecentSslCertificate,mostRecentSslCertificate", portsSpec, "$expand", 25,
			"Invalid value 'mostRecentSslCertificate,mostRecentSslCertificate' for query option '$expand': 'mostRecentSslCertificate' is expanded more than once."},
		{"expand nested unknown", "$expand=mostRecentSslCertificate($select=nope)", portsSpec, "$expand", 33,
			"Parsing OData Select and Expand failed: Could not find a property named 'nope' on type 'microsoft.graph.security.sslCertificate'."},
		{"expand nested top", "$expand=mostRecentSslCertificate($top=1)", portsSpec, "$expand", 25,
			"Nested query option '$top' is not supported in $expand; only $select is."},
		{"expand nested select twice", "$expand=mostRecentSslCertificate($select=id;$select=id)", portsSpec, "$expand", 36,
			"Nested query option '$select' is specified more than once in $expand."},
		{"expand unbalanced", "$expand=mostRecentSslCertificate($select=id", portsSpec, "$expand", 35,
			"Invalid value 'mostRecentSslCertificate($select=id' for query option '$expand': missing ')'."},
		{"expand close", "$expand=a)", portsSpec, "$expand", 1, "Invalid value 'a)' for query option '$expand': unbalanced ')'."},
		{"expand trailing", "$expand=mostRecentSslCertificate(select=id)x", portsSpec, "$expand", 36,
			"Invalid value 'mostRecentSslCertificate(select=id)x' for query option '$expand': unexpected text after ')'."},
		{"expand empty", "$expand=", portsSpec, "$expand", 0, "Invalid value '' for query option '$expand': it must name a navigation property."},
		{"search no colon", `$search="abc"`, searchSpec, "$search", 1, `Invalid value '"abc"' for query option '$search': it must be "field:value".`},
		{"search field", `$search="issuer:x"`, searchSpec, "$search", 1,
			`Invalid value '"issuer:x"' for query option '$search': 'issuer' is not a searchable field; use one of sha1, subject/commonName.`},
		{"search unterminated", `$search="sha1:x`, searchSpec, "$search", 7, `Invalid value '"sha1:x' for query option '$search': the closing quote is missing.`},
		{"search unopened", `$search=sha1:x"`, searchSpec, "$search", 6, `Invalid value 'sha1:x"' for query option '$search': the opening quote is missing.`},
		{"search inner quote", `$search=sha1:x"y`, searchSpec, "$search", 6, `Invalid value 'sha1:x"y' for query option '$search': a quote must enclose the whole phrase.`},
		{"search trailing", `$search="sha1:x"y`, searchSpec, "$search", 8, `Invalid value '"sha1:x"y' for query option '$search': unexpected text after the closing quote.`},
		{"search empty value", `$search="sha1:"`, searchSpec, "$search", 6, `Invalid value '"sha1:"' for query option '$search': the value after ':' is empty.`},
		{"search bad escape", `$search="sha1:\x"`, searchSpec, "$search", 6, `Invalid value '"sha1:\x"' for query option '$search': a backslash must be followed by " or \.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := odata.Parse(tt.query, tt.spec)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.query)
			}
			if err.Error() != tt.msg {
				t.Errorf("message\n got %s\nwant %s", err, tt.msg)
			}
			var oe *odata.OptionError
			var se *odata.SyntaxError
			switch {
			case tt.pos == -2:
				if !errors.As(err, &oe) {
					t.Fatalf("got %T, want *OptionError", err)
				}
				if oe.Option != tt.option {
					t.Errorf("Option = %q, want %q", oe.Option, tt.option)
				}
			case errors.As(err, &se):
				if se.Option != tt.option || se.Pos != tt.pos {
					t.Errorf("(Option, Pos) = (%q, %d), want (%q, %d)", se.Option, se.Pos, tt.option, tt.pos)
				}
			default:
				t.Fatalf("got %T, want *SyntaxError", err)
			}
		})
	}
}

func TestQueryHelpers(t *testing.T) {
	q, err := odata.Parse("$select=port&$expand=mostRecentSslCertificate", portsSpec)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Mask(portType); got != 2 {
		t.Errorf("Mask = %b, want 10", got)
	}
	if q.Expanded("mostRecentSslCertificate") == nil || q.Expanded("host") != nil {
		t.Errorf("Expanded = %+v", q.Expand)
	}
	all, _ := odata.Parse("", portsSpec)
	if got := all.Mask(portType); got != portType.All() {
		t.Errorf("Mask without $select = %b, want %b", got, portType.All())
	}
	if got := odata.Top.String(); got != "$top" {
		t.Errorf("Top.String() = %q", got)
	}
	if i := portType.Index("HOST"); i != 11 {
		t.Errorf("Index(HOST) = %d", i)
	}
}

func TestLongValuesAreClipped(t *testing.T) {
	_, err := odata.Parse("$top="+strings.Repeat("9", 500), portsSpec)
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error %q is not clipped", err)
	}
}

// FuzzParse checks that no query string panics the parser, that errors are
// typed and name an option, and that positions stay inside the value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "$top=5&$skip=10&$count=true", "select=id,port,host", "$select=host/id",
		"$expand=mostRecentSslCertificate($select=id,sha1)", "$expand=mostRecentSslCertificate(;;)",
		`$search="subject/commonName:microsoft.com"`, `$search="\"`, "$skiptoken=AbC-_", "%24top=%zz",
		"$expand=((()))", "$select=*,id", "$top=1&top=2",
	} {
		f.Add(s)
	}
	specs := []*odata.Spec{portsSpec, searchSpec}
	f.Fuzz(func(t *testing.T, query string) {
		for _, spec := range specs {
			q, err := odata.Parse(query, spec)
			if err == nil {
				if q.Top < 1 || q.Top > odata.MaxTop || q.Skip < 0 || q.Skip > odata.MaxSkip {
					t.Fatalf("Parse(%q) = top %d skip %d out of range", query, q.Top, q.Skip)
				}
				continue
			}
			var oe *odata.OptionError
			var se *odata.SyntaxError
			switch {
			case errors.As(err, &oe):
				if oe.Option == "" {
					t.Fatalf("Parse(%q): OptionError without option", query)
				}
			case errors.As(err, &se):
				if se.Pos < -1 || se.Pos > len(query) {
					t.Fatalf("Parse(%q): position %d outside the query", query, se.Pos)
				}
			default:
				t.Fatalf("Parse(%q): untyped error %T %v", query, err, err)
			}
			if err.Error() == "" {
				t.Fatalf("Parse(%q): empty message", query)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, bq := range []struct{ name, query string }{
		{"empty", ""},
		{"paging", "$top=20&$count=true&$skiptoken=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMk"},
		{"select-expand", "$select=id,port,status,host&$expand=mostRecentSslCertificate($select=id,sha1)&$top=50"},
	} {
		b.Run(bq.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := odata.Parse(bq.query, portsSpec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
