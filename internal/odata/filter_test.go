// SPDX-License-Identifier: Apache-2.0

package odata_test

import (
	"fmt"
	"strings"
	"testing"

	"portolan"
	"portolan/internal/odata"
)

// The types of these tests mirror the shape of the hostPort description in
// internal/httpapi (which is tested against the spec there).
var (
	tHost = &odata.EntityType{Name: "microsoft.graph.security.host", Properties: []odata.Property{
		{Name: "id", Kind: odata.KindString, Filterable: true, Sortable: true},
		{Name: "countryOrRegion", Kind: odata.KindString},
	}}
	tComponent = &odata.EntityType{Name: "microsoft.graph.security.hostComponent", Properties: []odata.Property{
		{Name: "name", Kind: odata.KindString, Filterable: true, Sortable: true},
		{Name: "version", Kind: odata.KindString, Filterable: true, Sortable: true, Version: true},
	}}
	tService = &odata.EntityType{Name: "microsoft.graph.security.hostPortComponent", Properties: []odata.Property{
		{Name: "isRecent", Kind: odata.KindBoolean, Filterable: true},
		{Name: "component", Kind: odata.KindEntity, Type: tComponent, Filterable: true},
	}}
	tBanner = &odata.EntityType{Name: "microsoft.graph.security.hostPortBanner", Properties: []odata.Property{
		{Name: "banner", Kind: odata.KindString, Filterable: true},
		{Name: "scanProtocol", Kind: odata.KindString, Filterable: true},
	}}
	tSubject = &odata.EntityType{Name: "microsoft.graph.security.sslCertificateEntity", Properties: []odata.Property{
		{Name: "commonName", Kind: odata.KindString, Filterable: true, Sortable: true},
		{Name: "alternateNames", Kind: odata.KindString, Collection: true, Filterable: true},
	}}
	tCert = &odata.EntityType{Name: "microsoft.graph.security.sslCertificate", Properties: []odata.Property{
		{Name: "expirationDateTime", Kind: odata.KindDateTime, Filterable: true, Sortable: true},
		{Name: "subject", Kind: odata.KindComplex, Type: tSubject, Filterable: true},
	}}
	tPort = &odata.EntityType{Name: "microsoft.graph.security.hostPort", Properties: []odata.Property{
		{Name: "id", Kind: odata.KindString, Filterable: true},
		{Name: "port", Kind: odata.KindInt32, Filterable: true, Sortable: true},
		{Name: "lastSeenDateTime", Kind: odata.KindDateTime, Filterable: true, Sortable: true},
		{Name: "timesObserved", Kind: odata.KindInt32},
		{Name: "status", Kind: odata.KindEnum, Members: []string{"open", "filtered", "closed", "unknownFutureValue"}, Filterable: true, Sortable: true},
		{Name: "banners", Kind: odata.KindComplex, Type: tBanner, Collection: true, Filterable: true},
		{Name: "services", Kind: odata.KindComplex, Type: tService, Collection: true, Filterable: true},
		{Name: "mostRecentSslCertificate", Kind: odata.KindEntity, Type: tCert, Filterable: true},
		{Name: "host", Kind: odata.KindEntity, Type: tHost, Filterable: true},
	}}
)

// render prints a checked expression in a canonical, fully parenthesised
// form, so that a test shows the tree it expects.
func render(e portolan.Expr) string {
	switch e := e.(type) {
	case *portolan.Logical:
		op := "and"
		if e.Or {
			op = "or"
		}
		return "(" + render(e.Left) + " " + op + " " + render(e.Right) + ")"
	case *portolan.Not:
		return "not " + render(e.Expr)
	case *portolan.Compare:
		return path(e.Path) + " " + e.Op.String() + " " + value(e.Value)
	case *portolan.In:
		var vs []string
		for _, v := range e.Values {
			vs = append(vs, value(v))
		}
		return path(e.Path) + " in (" + strings.Join(vs, ",") + ")"
	case *portolan.Match:
		return fmt.Sprintf("%s(%s,%q)", []string{"", "startswith", "endswith", "contains"}[e.Func], path(e.Path), e.Arg)
	case *portolan.InSubnet:
		return "inSubnet(" + path(e.Path) + "," + e.Prefix.String() + ")"
	case *portolan.Lambda:
		op := "any"
		if e.All {
			op = "all"
		}
		body := ""
		if e.Body != nil {
			body = e.Var + ": " + render(e.Body)
		}
		return path(e.Collection) + "/" + op + "(" + body + ")"
	}
	return fmt.Sprintf("?%T", e)
}

func path(p portolan.Path) string {
	s := p.String()
	if p.Version {
		s += "[v]"
	}
	if p.HostID {
		s += "[h]"
	}
	return s
}

func value(v portolan.Value) string {
	if v.Null {
		return "null"
	}
	switch v.Kind {
	case portolan.ValueInt:
		return fmt.Sprint(v.Int)
	case portolan.ValueTime:
		return v.Time.Format("2006-01-02T15:04:05Z07:00")
	case portolan.ValueBool:
		return fmt.Sprint(v.Bool)
	}
	return "'" + v.Str + "'"
}

func TestParseFilter(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"port eq 22", "port eq 22"},
		{"22 lt port", "port gt 22"},
		{"PORT Eq 22", "port eq 22"},
		{"status eq 'OPEN'", "status eq 'open'"},
		{"port eq 22 or port eq 80 and status ne 'closed'", "(port eq 22 or (port eq 80 and status ne 'closed'))"},
		{"(port eq 22 or port eq 80) and not (status eq 'closed')", "((port eq 22 or port eq 80) and not status eq 'closed')"},
		{"port in (22, 80,443)", "port in (22,80,443)"},
		{"lastSeenDateTime ge 2026-12-01T00:00:00Z", "lastSeenDateTime ge 2026-12-01T00:00:00Z"},
		{"lastSeenDateTime lt 2026-12-01T02:00:00+02:00", "lastSeenDateTime lt 2026-12-01T00:00:00Z"},
		{"mostRecentSslCertificate eq null", "mostRecentSslCertificate eq null"},
		{"mostRecentSslCertificate/expirationDateTime lt 2027-01-01T00:00:00Z", "mostRecentSslCertificate/expirationDateTime lt 2027-01-01T00:00:00Z"},
		{"mostRecentSslCertificate/subject/commonName eq 'It''s'", "mostRecentSslCertificate/subject/commonName eq 'It's'"},
		{"services/any(s: s/component/name eq 'nginx' and s/component/version lt '1.20')",
			"services/any(s: (s/component/name eq 'nginx' and s/component/version[v] lt '1.20'))"},
		{"services/any(s: s/isRecent)", "services/any(s: s/isRecent eq true)"},
		{"services/all(s: s/isRecent eq false)", "services/all(s: s/isRecent eq false)"},
		{"banners/any()", "banners/any()"},
		{"banners/any(b: b/scanProtocol eq 'ssh' and contains(b/banner, 'OpenSSH_7'))",
			"banners/any(b: (b/scanProtocol eq 'ssh' and contains(b/banner,\"OpenSSH_7\")))"},
		{"startsWith(host/id, '10.')", "startswith(host/id[h],\"10.\")"},
		{"endswith(host/id,'.example.com')", "endswith(host/id[h],\".example.com\")"},
		{"portolan.inSubnet(host/id, '10.20.1.2/16')", "inSubnet(host/id[h],10.20.0.0/16)"},
		{"portolan.inSubnet(host/id, '2001:db8::/32')", "inSubnet(host/id[h],2001:db8::/32)"},
		{"host/id eq 'www.example.com'", "host/id[h] eq 'www.example.com'"},
		{"mostRecentSslCertificate/subject/alternateNames/any(n: endswith(n, '.example.com'))",
			"mostRecentSslCertificate/subject/alternateNames/any(n: endswith(n,\".example.com\"))"},
		{"services/any(s: s/component/name eq 'x' and port eq 22)", "services/any(s: (s/component/name eq 'x' and port eq 22))"},
		{"port ne null", "port ne null"},
		{"port le -1", "port le -1"},
	} {
		e, err := odata.ParseFilter(c.in, tPort)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := render(e); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"port eq", "Invalid filter clause: expected a property or a value but found the end of the filter at position 7."},
		{"port eq 22 and", "Invalid filter clause: expected a property or a value but found the end of the filter at position 14."},
		{"port 22", "Invalid filter clause: expected a comparison operator (eq, ne, lt, le, gt, ge, in) but found '22' at position 5."},
		{"port eq 22)", "Invalid filter clause: unexpected ')' at position 10."},
		{"(port eq 22", "Invalid filter clause: expected ')' but found the end of the filter at position 11."},
		{"host/id eq 'abc", "Invalid filter clause: unterminated string literal at position 11."},
		{"port eq 'x'", "Invalid filter clause: 'x' is not a value of 'port' (a 32-bit integer) at position 8."},
		{"port eq 99999999999", "Invalid filter clause: '99999999999' is not a value of 'port' (a 32-bit integer) at position 8."},
		{"status eq 'opne'", "Invalid filter clause: 'opne' is not a value of 'status' (one of 'open', 'filtered', 'closed') at position 10."},
		{"lastSeenDateTime gt '2026-01-01'", "Invalid filter clause: '2026-01-01' is not a value of 'lastSeenDateTime' (an unquoted DateTimeOffset such as 2026-12-01T00:00:00Z) at position 20."},
		{"lastSeenDateTime gt 2026-13-01", "Invalid filter clause: '2026-13-01' is neither an integer nor a DateTimeOffset at position 20."},
		{"héllo eq 1", "Could not find a property named 'héllo' on type 'microsoft.graph.security.hostPort'."},
		{"port eq 1 €", "Invalid filter clause: unexpected '€' at position 10."},
		{"port eq 1 ;", "Invalid filter clause: unexpected character ';' at position 10."},
		{"port eq 1 & port eq 2", "Invalid filter clause: unexpected character '&' at position 10."},
		{"colour eq 'red'", "Could not find a property named 'colour' on type 'microsoft.graph.security.hostPort'."},
		{"services/any(s: s/component/vendor eq 'x')", "Could not find a property named 'vendor' on type 'microsoft.graph.security.hostComponent'."},
		{"timesObserved gt 3", "Unsupported query: filtering on 'timesObserved' of type 'microsoft.graph.security.hostPort' is not supported."},
		{"host/countryOrRegion eq 'FR'", "Unsupported query: filtering on 'countryOrRegion' of type 'microsoft.graph.security.host' is not supported."},
		{"services/component/name eq 'x'", "Unsupported query: 'services' is a collection; use services/any(x: ...) or services/all(x: ...)."},
		{"banners eq null", "Unsupported query: 'banners' is a collection; use banners/any(x: ...) or banners/all(x: ...)."},
		{"port eq port", "Unsupported query: a comparison of two properties ('port' and 'port')."},
		{"1 eq 1", "Unsupported query: a comparison of two values; one side must be a property."},
		{"status lt 'open'", "Unsupported query: 'lt' on 'status'; use eq, ne or in."},
		{"port lt null", "Unsupported query: 'lt null'; only eq null and ne null compare with null."},
		{"mostRecentSslCertificate eq 'x'", "Unsupported query: 'mostRecentSslCertificate' can only be compared with null."},
		{"length(host/id) eq 3", "Unsupported query: the function 'length'; use startswith, endswith, contains or portolan.inSubnet."},
		{"contains(port, '2')", "Unsupported query: 'contains' on 'port', which is not a string."},
		{"contains('x', host/id)", "Invalid filter clause: the first argument of 'contains' must be a property at position 9."},
		{"portolan.inSubnet(host/id, '10.0.0/8')", "Invalid filter clause: '10.0.0/8' is not an address range in CIDR notation (10.0.0.0/8, 2001:db8::/32) at position 27."},
		{"portolan.inSubnet(status, '10.0.0.0/8')", "Unsupported query: portolan.inSubnet applies to a host id ('host/id', or 'id' of a host)."},
		{"services/any(port: port eq 1)", "Invalid filter clause: 'port' cannot be a range variable (it is already a variable or a property) at position 13."},
		{"services/all()", "Invalid filter clause: 'all' needs a range variable and a predicate at position 13."},
		{"port/any(p: p eq 1)", "Invalid filter clause: 'any' applies to a collection property at position 5."},
		{"services/any(s: s eq null)", "Unsupported query: the range variable 's' stands for a structured element; name one of its properties."},
		{"port in (" + strings.Repeat("1,", 100) + "1)", "Unsupported query: 'in' lists more than 100 values."},
		{strings.Repeat("(", 17) + "port eq 1" + strings.Repeat(")", 17), "Unsupported query: the filter nests deeper than 16 levels."},
		{strings.Repeat("x", 4097), "Unsupported query: the filter is longer than 4096 characters."},
		{"", "Invalid filter clause: expected a property or a value but found the end of the filter at position 0."},
	} {
		_, err := odata.ParseFilter(c.in, tPort)
		if err == nil {
			t.Errorf("%.60s: no error, want %s", c.in, c.want)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("%.60s:\n got %s\nwant %s", c.in, err, c.want)
		}
		var se *odata.SyntaxError
		if !asSyntax(err, &se) || se.Option != "$filter" {
			t.Errorf("%.60s: error %T does not name $filter", c.in, err)
		}
	}
}

func asSyntax(err error, se **odata.SyntaxError) bool {
	s, ok := err.(*odata.SyntaxError)
	*se = s
	return ok
}

func TestParseOrderBy(t *testing.T) {
	keys, err := odata.ParseOrderBy("mostRecentSslCertificate/expirationDateTime desc, port,  host/id asc", tPort)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, fmt.Sprintf("%s desc=%v", path(k.Path), k.Desc))
	}
	want := "mostRecentSslCertificate/expirationDateTime desc=true|port desc=false|host/id[h] desc=false"
	if strings.Join(got, "|") != want {
		t.Errorf("got %s, want %s", strings.Join(got, "|"), want)
	}
	for _, c := range []struct{ in, want string }{
		{"banners", "Unsupported query: ordering by 'banners'."},
		{"services/component/name", "Unsupported query: ordering by 'services/component/name'."},
		{"timesObserved", "Unsupported query: ordering by 'timesObserved'."},
		{"colour", "Could not find a property named 'colour' on type 'microsoft.graph.security.hostPort'."},
		{"port sideways", "Invalid value 'port sideways' for query option '$orderby': 'sideways' is neither asc nor desc."},
		{"port, port desc", "Invalid value 'port, port desc' for query option '$orderby': 'port' is listed more than once."},
		{"port,", "Invalid value 'port,' for query option '$orderby': a property name is missing at position 5."},
		{"port,status,host/id,lastSeenDateTime", "Unsupported query: $orderby takes at most 3 properties."},
	} {
		_, err := odata.ParseOrderBy(c.in, tPort)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %s", c.in, err, c.want)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"port eq 22", "services/any(s: s/component/version lt '1.20')", "portolan.inSubnet(host/id,'10.0.0.0/8')",
		"not (status eq 'open') or contains(host/id,'x')", "banners/any(b: contains(b/banner,'SSH'))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := odata.ParseFilter(s, tPort)
		if err == nil && e == nil {
			t.Fatal("nil expression without error")
		}
		if err != nil {
			if _, ok := err.(*odata.SyntaxError); !ok {
				t.Fatalf("error of type %T", err)
			}
		}
	})
}

func FuzzParseOrderBy(f *testing.F) {
	for _, s := range []string{"port", "port desc, host/id asc", "mostRecentSslCertificate/expirationDateTime desc", ",", "port sideways"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := odata.ParseOrderBy(s, tPort)
		if err != nil {
			if _, ok := err.(*odata.SyntaxError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if len(keys) == 0 || len(keys) > odata.MaxOrderBy {
			t.Fatalf("%d keys without an error", len(keys))
		}
	})
}
