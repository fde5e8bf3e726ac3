// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"portolan/internal/httpapi"
	"portolan/internal/odata"
)

// These tests tie the one description of each entity (entity.go) to the
// three things that must agree with it: the members the encoders write, the
// CSDL of $metadata, and the property tables of graph-api.md Part B (a copy
// in testdata, so that the test is hermetic; refresh it when the spec
// changes). Expected CSDL types are worked out here from the Kind, not by
// calling the writer's code.

// notServed lists what graph-api.md names but Portolan deliberately does not
// serve, "type.property" with the reason. An entry no longer needed fails
// the test, so the list stays honest.
var notServed = map[string]string{
	"host.childHostPairs":                  "host pairs come from web crawls, which Portolan does not make",
	"host.hostPairs":                       "host pairs come from web crawls, which Portolan does not make",
	"host.parentHostPairs":                 "host pairs come from web crawls, which Portolan does not make",
	"host.cookies":                         "cookies come from web crawls, which Portolan does not make",
	"host.trackers":                        "trackers come from web crawls, which Portolan does not make",
	"host.passiveDns":                      "Portolan has no passive DNS data",
	"host.passiveDnsReverse":               "Portolan has no passive DNS data",
	"host.reputation":                      "Portolan scores no reputation",
	"host.whois":                           "Portolan has no WHOIS data",
	"host.subdomains":                      "Portolan enumerates no DNS names",
	"threatIntelligence.articleIndicators": "articles are Microsoft's editorial content",
	"threatIntelligence.articles":          "articles are Microsoft's editorial content",
	"threatIntelligence.intelligenceProfileIndicators": "intelligence profiles are Microsoft's editorial content",
	"threatIntelligence.intelProfiles":                 "intelligence profiles are Microsoft's editorial content",
	"threatIntelligence.vulnerabilities":               "Portolan does not map components to vulnerabilities",
	"threatIntelligence.hostCookies":                   "cookies come from web crawls, which Portolan does not make",
	"threatIntelligence.hostPairs":                     "host pairs come from web crawls, which Portolan does not make",
	"threatIntelligence.hostTrackers":                  "trackers come from web crawls, which Portolan does not make",
	"threatIntelligence.passiveDnsRecords":             "Portolan has no passive DNS data",
	"threatIntelligence.subdomains":                    "Portolan enumerates no DNS names",
	"threatIntelligence.whoisHistoryRecords":           "Portolan has no WHOIS data",
	"threatIntelligence.whoisRecords":                  "Portolan has no WHOIS data",
}

// neverEncoded lists the described types no response carries as an object,
// with the reason.
var neverEncoded = map[string]string{
	"entity":             "abstract",
	"artifact":           "abstract",
	"host":               "abstract: hosts are written as hostname or ipAddress",
	"security":           "a container, not served as an entity",
	"threatIntelligence": "a container, not served as an entity",
	"autonomousSystem":   "Portolan has no routing data: ipAddress.autonomousSystem is always null",
}

func short(name string) string { return name[strings.LastIndexByte(name, '.')+1:] }

// TestEntityEncodersFollowDescriptions checks, for every entity, that the
// encoder writes exactly the described members, in the described order, each
// with a JSON value of its kind.
func TestEntityEncodersFollowDescriptions(t *testing.T) {
	types := httpapi.DescribedTypes()
	typ := func(s string) *odata.EntityType {
		t.Helper()
		for name, et := range types {
			if short(name) == s {
				return et
			}
		}
		t.Fatalf("no description of %s", s)
		return nil
	}
	fx := newFixture()
	s := newServer(t, fx)
	checked := map[string]bool{}
	get := func(target string) *jsonNode {
		t.Helper()
		w := s.get(t, target)
		wantStatus(t, w, 200)
		return parseOrdered(t, w.Body.Bytes())
	}
	esc := url.PathEscape

	hp := get("hostPorts/" + esc(seedPort().ID))
	checkMembers(t, "hostPort", hp, typ("hostPort"), true, checked)
	hp = get("hostPorts/" + esc(seedPort().ID) + "?$expand=mostRecentSslCertificate")
	checkMembers(t, "hostPort (expanded)", hp.get("mostRecentSslCertificate"), typ("sslCertificate"), true, checked)
	checkMembers(t, "ipAddress", get("hosts/85.13.139.18"), typ("ipAddress"), true, checked)
	checkMembers(t, "hostname", get("hosts/www.contoso.com"), typ("hostname"), true, checked)
	checkMembers(t, "hostComponent", get("hostComponents/"+esc(fx.comps[0].ID)), typ("hostComponent"), true, checked)
	checkMembers(t, "sslCertificate", get("sslCertificates/"+esc(seedCertID)), typ("sslCertificate"), true, checked)
	hsc := get("hostSslCertificates/" + esc(fx.hostCerts[0].ID))
	checkMembers(t, "hostSslCertificate", hsc, typ("hostSslCertificate"), true, checked)
	checkMembers(t, "hostSslCertificate.sslCertificate", hsc.get("sslCertificate"), typ("sslCertificate"), true, checked)

	for name := range types {
		if !checked[short(name)] && neverEncoded[short(name)] == "" {
			t.Errorf("no test response carries a complete %s", name)
		}
	}
}

// TestSelectBitsFollowDescriptions checks that each of the encoders' bit
// constants is the index of the property it stands for, and that every
// property of an encoded entity type has one.
func TestSelectBitsFollowDescriptions(t *testing.T) {
	seen := map[*odata.EntityType]map[int]bool{}
	for _, b := range httpapi.SelectBits {
		if b.Bit < 0 || b.Bit >= len(b.Type.Properties) || b.Type.Properties[b.Bit].Name != b.Name {
			t.Errorf("the bit of %s.%s is %d, but the description has it at %d", short(b.Type.Name), b.Name, b.Bit, b.Type.Index(b.Name))
		}
		if seen[b.Type] == nil {
			seen[b.Type] = map[int]bool{}
		}
		if seen[b.Type][b.Bit] {
			t.Errorf("two constants of %s have bit %d", short(b.Type.Name), b.Bit)
		}
		seen[b.Type][b.Bit] = true
	}
	for typ, bits := range seen {
		if len(bits) != len(typ.Properties) {
			t.Errorf("%s has %d properties but %d bit constants", short(typ.Name), len(typ.Properties), len(bits))
		}
	}
}

// checkMembers checks the object n against t: exactly t's members in order
// (exact), or an in-order subset of them (the id stubs of navigation
// properties). Complex values are checked exactly, entity values as stubs.
func checkMembers(t *testing.T, where string, n *jsonNode, et *odata.EntityType, exact bool, checked map[string]bool) {
	t.Helper()
	if n == nil || n.kind != '{' {
		t.Errorf("%s: not an object", where)
		return
	}
	var want []string
	for _, p := range et.Properties {
		want = append(want, p.Name)
	}
	var got []string
	for i, k := range n.keys {
		if k == "@odata.context" || (k == "@odata.type" && i <= 1) {
			continue
		}
		got = append(got, k)
	}
	if exact {
		checked[short(et.Name)] = true
		if !slices.Equal(got, want) {
			t.Errorf("%s members\n got %q\nwant %q (the description of %s)", where, got, want, et.Name)
		}
	} else if !isSubsequence(got, want) {
		t.Errorf("%s members %q are not in the order of %s's %q", where, got, et.Name, want)
	}
	for i, k := range n.keys {
		p := et.Property(k)
		if p == nil || p.Name != k {
			continue // reported above
		}
		v := n.vals[i]
		if p.Collection {
			if v.kind != '[' {
				t.Errorf("%s.%s: want an array, got %c", where, k, v.kind)
				continue
			}
			if len(v.vals) == 0 && p.Kind == odata.KindComplex {
				t.Errorf("%s.%s: the fixture should fill the collection so its items are checked", where, k)
			}
			for _, item := range v.vals {
				checkValue(t, where+"."+k+"[]", item, p, checked)
			}
			continue
		}
		checkValue(t, where+"."+k, v, p, checked)
	}
}

func checkValue(t *testing.T, where string, v *jsonNode, p *odata.Property, checked map[string]bool) {
	t.Helper()
	if v.kind == 'z' {
		if p.NonNullable {
			t.Errorf("%s: null, but the description says it is never null", where)
		}
		return
	}
	want := map[odata.Kind]byte{
		odata.KindString: 's', odata.KindDateTime: 's', odata.KindEnum: 's', odata.KindInt32: 'n',
		odata.KindBoolean: 'b', odata.KindComplex: '{', odata.KindEntity: '{',
	}[p.Kind]
	if v.kind != want {
		t.Errorf("%s: JSON kind %c, want %c for %s", where, v.kind, want, p.Kind)
		return
	}
	switch p.Kind {
	case odata.KindEnum:
		if !slices.Contains(p.Members, v.text) {
			t.Errorf("%s: %q is not a member of %s", where, v.text, p.EnumName)
		}
	case odata.KindComplex:
		checkMembers(t, where, v, p.Type, true, checked)
	case odata.KindEntity:
		checkMembers(t, where, v, p.Type, false, checked)
	}
}

func isSubsequence(got, want []string) bool {
	i := 0
	for _, w := range want {
		if i < len(got) && got[i] == w {
			i++
		}
	}
	return i == len(got)
}

// jsonNode is a JSON value that keeps the order of object members.
type jsonNode struct {
	kind byte // '{', '[', 's' string, 'n' number, 'b' boolean, 'z' null
	keys []string
	vals []*jsonNode
	text string
}

func (n *jsonNode) get(key string) *jsonNode {
	if i := slices.Index(n.keys, key); i >= 0 {
		return n.vals[i]
	}
	return nil
}

func parseOrdered(t *testing.T, data []byte) *jsonNode {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	n, err := decodeOrdered(d)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return n
}

func decodeOrdered(d *json.Decoder) (*jsonNode, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		n := &jsonNode{kind: byte(v)}
		for d.More() {
			if v == '{' {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			child, err := decodeOrdered(d)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, child)
		}
		_, err := d.Token() // the closing delimiter
		return n, err
	case string:
		return &jsonNode{kind: 's', text: v}, nil
	case json.Number:
		return &jsonNode{kind: 'n', text: v.String()}, nil
	case bool:
		return &jsonNode{kind: 'b'}, nil
	case nil:
		return &jsonNode{kind: 'z'}, nil
	}
	return nil, io.ErrUnexpectedEOF
}

// csdl mirrors the parts of a CSDL document the tests read.
type csdl struct {
	Schemas []struct {
		Namespace   string       `xml:"Namespace,attr"`
		Alias       string       `xml:"Alias,attr"`
		Entities    []csdlType   `xml:"EntityType"`
		Complexes   []csdlType   `xml:"ComplexType"`
		Enums       []csdlEnum   `xml:"EnumType"`
		Annotations []csdlTarget `xml:"Annotations"`
	} `xml:"DataServices>Schema"`
}

type csdlType struct {
	Name     string     `xml:"Name,attr"`
	BaseType string     `xml:"BaseType,attr"`
	Abstract bool       `xml:"Abstract,attr"`
	Props    []csdlProp `xml:"Property"`
	Navs     []csdlProp `xml:"NavigationProperty"`
	complex  bool
	schema   string
}

type csdlProp struct {
	Name           string `xml:"Name,attr"`
	Type           string `xml:"Type,attr"`
	Nullable       string `xml:"Nullable,attr"`
	ContainsTarget bool   `xml:"ContainsTarget,attr"`
	nav            bool
}

type csdlEnum struct {
	Name    string `xml:"Name,attr"`
	Members []struct {
		Name  string `xml:"Name,attr"`
		Value string `xml:"Value,attr"`
	} `xml:"Member"`
}

type csdlTarget struct {
	Target      string `xml:"Target,attr"`
	Annotations []struct {
		Term   string `xml:"Term,attr"`
		Bool   string `xml:"Bool,attr"`
		Values []struct {
			Property string   `xml:"Property,attr"`
			Bool     string   `xml:"Bool,attr"`
			Paths    []string `xml:"Collection>PropertyPath"`
		} `xml:"Record>PropertyValue"`
	} `xml:"Annotation"`
}

// model is a parsed $metadata: types by short name (names are unique
// across Portolan's two namespaces).
type model struct {
	types   map[string]*csdlType
	enums   map[string]csdlEnum
	targets map[string]csdlTarget
}

func loadModel(t *testing.T) *model {
	t.Helper()
	s := newServer(t, newFixture())
	w := s.get(t, "/beta/$metadata")
	wantStatus(t, w, 200)
	var doc csdl
	if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	m := &model{types: map[string]*csdlType{}, enums: map[string]csdlEnum{}, targets: map[string]csdlTarget{}}
	for _, sc := range doc.Schemas {
		for i := range sc.Entities {
			ct := &sc.Entities[i]
			ct.schema = sc.Namespace
			m.types[ct.Name] = ct
		}
		for i := range sc.Complexes {
			ct := &sc.Complexes[i]
			ct.complex, ct.schema = true, sc.Namespace
			m.types[ct.Name] = ct
		}
		for _, e := range sc.Enums {
			m.enums[e.Name] = e
		}
		for _, a := range sc.Annotations {
			m.targets[a.Target] = a
		}
	}
	return m
}

// properties returns the properties of the CSDL type named name, inherited
// ones included, by name.
func (m *model) properties(t *testing.T, name string) map[string]csdlProp {
	t.Helper()
	out := map[string]csdlProp{}
	for ct := m.types[name]; ct != nil; ct = m.types[short(ct.BaseType)] {
		for _, p := range ct.Props {
			out[p.Name] = p
		}
		for _, p := range ct.Navs {
			p.nav = true
			out[p.Name] = p
		}
		if ct.BaseType == "" {
			break
		}
	}
	return out
}

// wantEdmType is the CSDL type of p, worked out independently of the writer.
func wantEdmType(p odata.Property) string {
	alias := func(name string) string {
		if strings.HasPrefix(name, "microsoft.graph.security.") {
			return "self." + short(name)
		}
		return "graph." + short(name)
	}
	s := map[odata.Kind]string{
		odata.KindString: "Edm.String", odata.KindInt32: "Edm.Int32",
		odata.KindDateTime: "Edm.DateTimeOffset", odata.KindBoolean: "Edm.Boolean",
	}[p.Kind]
	switch p.Kind {
	case odata.KindEnum:
		s = alias(p.EnumName)
	case odata.KindComplex, odata.KindEntity:
		s = alias(p.Type.Name)
	}
	if p.Collection {
		s = "Collection(" + s + ")"
	}
	return s
}

// TestMetadataFollowsDescriptions checks that $metadata declares, for every
// described type, exactly the described properties (inherited ones
// included) with their types, nullability and kind, the enumerations with
// their members, and the capabilities of each collection.
func TestMetadataFollowsDescriptions(t *testing.T) {
	m := loadModel(t)
	types := httpapi.DescribedTypes()
	if len(m.types) != len(types) {
		t.Errorf("$metadata declares %d types, the descriptions %d", len(m.types), len(types))
	}
	for name, et := range types {
		ct := m.types[short(name)]
		if ct == nil || ct.schema != name[:strings.LastIndexByte(name, '.')] {
			t.Errorf("%s is not declared in its namespace", name)
			continue
		}
		if ct.complex != et.Complex || ct.Abstract != et.Abstract {
			t.Errorf("%s: complex %v abstract %v, described %v %v", name, ct.complex, ct.Abstract, et.Complex, et.Abstract)
		}
		if base := et.BaseType; (base == nil) != (ct.BaseType == "") || base != nil && short(base.Name) != short(ct.BaseType) {
			t.Errorf("%s: BaseType %q, described %v", name, ct.BaseType, base)
		}
		// What the type has: its own properties, not its subtypes', and
		// the path-only navigations of its chain.
		want := map[string]odata.Property{}
		for _, p := range et.Properties {
			if p.DeclaredOn == "" || p.DeclaredOn == name {
				want[p.Name] = p
			}
		}
		for b := et; b != nil; b = b.BaseType {
			for _, p := range b.Paths {
				want[p.Name] = p
			}
		}
		got := m.properties(t, short(name))
		for n, p := range want {
			cp, ok := got[n]
			switch {
			case !ok:
				t.Errorf("%s.%s is described but not in $metadata", name, n)
			case cp.Type != wantEdmType(p):
				t.Errorf("%s.%s: Type %q, want %q", name, n, cp.Type, wantEdmType(p))
			case (cp.Nullable == "false") != p.NonNullable:
				t.Errorf("%s.%s: Nullable %q, described non-nullable %v", name, n, cp.Nullable, p.NonNullable)
			case cp.nav != (p.Kind == odata.KindEntity):
				t.Errorf("%s.%s: NavigationProperty %v, kind %s", name, n, cp.nav, p.Kind)
			case cp.ContainsTarget != p.Contained:
				t.Errorf("%s.%s: ContainsTarget %v, described %v", name, n, cp.ContainsTarget, p.Contained)
			}
			if p.Kind == odata.KindEnum {
				e, ok := m.enums[short(p.EnumName)]
				if !ok {
					t.Errorf("%s.%s: no EnumType %s", name, n, p.EnumName)
				}
				for i, mem := range p.Members {
					if i >= len(e.Members) || e.Members[i].Name != mem || e.Members[i].Value != string(rune('0'+i)) {
						t.Errorf("%s: member %d is not %s=%d: %v", p.EnumName, i, mem, i, e.Members)
					}
				}
			}
		}
		for n := range got {
			if _, ok := want[n]; !ok {
				t.Errorf("%s.%s is in $metadata but not described", name, n)
			}
		}
	}

	// The capabilities of each collection under threatIntelligence.
	ti := types["microsoft.graph.security.threatIntelligence"]
	for _, coll := range ti.Paths {
		target := ti.Name + "/" + coll.Name
		a, ok := m.targets[target]
		if !ok {
			t.Errorf("no Annotations of %s", target)
			continue
		}
		var nonFilterable, nonSortable []string
		for _, p := range slices.Concat(coll.Type.Properties, coll.Type.Paths) {
			path := p.Name
			if p.DeclaredOn != "" {
				path = p.DeclaredOn + "/" + p.Name
			}
			if !p.Filterable {
				nonFilterable = append(nonFilterable, path)
			}
			if !p.Sortable {
				nonSortable = append(nonSortable, path)
			}
		}
		terms := map[string][]string{}
		for _, an := range a.Annotations {
			term := strings.TrimPrefix(an.Term, "Org.OData.Capabilities.V1.")
			if an.Bool != "" {
				terms[term] = append(terms[term], an.Bool)
			}
			for _, v := range an.Values {
				terms[term+"."+v.Property] = append(terms[term+"."+v.Property], v.Bool)
				if v.Paths != nil {
					terms[term+"."+v.Property] = v.Paths
				}
			}
		}
		for term, want := range map[string][]string{
			"CountRestrictions.Countable": {"true"}, "TopSupported": {"true"}, "SkipSupported": {"true"},
			"SelectSupport.Supported": {"true"}, "FilterRestrictions.Filterable": {"true"}, "SortRestrictions.Sortable": {"true"},
			"FilterRestrictions.NonFilterableProperties": nonFilterable, "SortRestrictions.NonSortableProperties": nonSortable,
		} {
			if !slices.Equal(terms[term], want) {
				t.Errorf("%s: %s = %q, want %q", target, term, terms[term], want)
			}
		}
	}
}

// TestSpecTablesAgree checks graph-api.md Part B against $metadata and the
// descriptions: every property the spec lists is served with the spec's
// type, nullability and kind (or is in notServed, with its reason), and
// every served property is in the spec.
func TestSpecTablesAgree(t *testing.T) {
	raw, err := os.ReadFile("testdata/graph-api.md")
	if err != nil {
		t.Fatal(err)
	}
	spec := specSections(string(raw))
	m := loadModel(t)
	types := httpapi.DescribedTypes()
	described := map[string]*odata.EntityType{}
	for name, et := range types {
		described[short(name)] = et
	}
	used := map[string]bool{}
	// listed records what the spec says type typ has, for the comparison
	// with the description at the end.
	listed := map[string]map[string]bool{}
	list := func(typ, prop string) {
		if listed[typ] == nil {
			listed[typ] = map[string]bool{}
		}
		listed[typ][prop] = true
	}
	unalias := func(s string) string {
		return strings.NewReplacer("self.", "", "graph.", "", "microsoft.graph.security.", "", "microsoft.graph.", "").Replace(s)
	}

	// 2.1: kind, base type and abstractness of every type.
	for _, row := range tableRows(spec["2.1"]) {
		typ := row["Type"]
		ct := m.types[typ]
		if ct == nil {
			t.Errorf("2.1: %s is not in $metadata", typ)
			continue
		}
		if (row["Kind"] == "complex") != ct.complex {
			t.Errorf("2.1: %s kind %s, $metadata complex %v", typ, row["Kind"], ct.complex)
		}
		base := strings.Fields(strings.NewReplacer("*", "", "`", "", "—", "").Replace(row["Base"]))
		if wantBase := ""; len(base) > 0 && short(base[0]) != short(ct.BaseType) || len(base) == 0 && ct.BaseType != wantBase {
			t.Errorf("2.1: %s base %q, $metadata %q", typ, row["Base"], ct.BaseType)
		}
		if strings.HasPrefix(row["Abstract"], "yes") != ct.Abstract {
			t.Errorf("2.1: %s abstract %q, $metadata %v", typ, row["Abstract"], ct.Abstract)
		}
	}

	// 2.2–2.6: property tables.
	for _, tab := range []struct{ section, typ string }{
		{"2.2", "hostPort"}, {"2.3", "hostPortBanner"}, {"2.4", "hostPortComponent"}, {"2.5", "hostComponent"}, {"2.6", "sslCertificate"},
	} {
		got := m.properties(t, tab.typ)
		rows := tableRows(spec[tab.section])
		if len(rows) == 0 {
			t.Errorf("%s: no property table", tab.section)
		}
		for _, row := range rows {
			for _, name := range strings.Split(row["Property"], " / ") {
				name = strings.TrimSpace(name)
				list(tab.typ, name)
				cp, ok := got[name]
				if !ok {
					continue // reported with the description comparison
				}
				where := tab.section + " " + tab.typ + "." + name
				if typ := unalias(cp.Type); typ != row["EDM type"] {
					t.Errorf("%s: $metadata type %s, spec %s", where, cp.Type, row["EDM type"])
				}
				if null := strings.Trim(row["Null"], "*"); (null == "no") != (cp.Nullable == "false") {
					t.Errorf("%s: $metadata Nullable %q, spec nullable %q", where, cp.Nullable, row["Null"])
				}
				if kind := strings.Trim(row["Kind"], "*"); kind != "" && (kind == "N") != cp.nav {
					t.Errorf("%s: $metadata navigation %v, spec kind %q", where, cp.nav, row["Kind"])
				}
			}
		}
	}

	// 2.7–2.10 and 2.12 list properties in sentences: names, and
	// nullability where the sentence states it for all of them.
	for _, pr := range []struct{ section, prefix, typ string }{
		{"2.7", "All nullable", "sslCertificateEntity"},
		{"2.8", "Beta members", "physicalAddress"},
		{"2.9", "`host` (abstract) structural", "host"},
		{"2.9", "`host` navigation", "host"},
		{"2.9", "autonomousSystem (complex", "autonomousSystem"},
		{"2.10", "hostSslCertificate (artifact)", "hostSslCertificate"},
		{"2.10", "hostSslCertificatePort (complex", "hostSslCertificatePort"},
		{"2.12", "Contained collections", "threatIntelligence"},
	} {
		head, names := proseNames(spec[pr.section], pr.prefix)
		if len(names) == 0 {
			t.Errorf("%s: no property list starting %q", pr.section, pr.prefix)
		}
		got := m.properties(t, pr.typ)
		allNull := strings.Contains(strings.ToLower(head), "all nullable")
		noneNull := strings.Contains(head, "all **non-nullable**")
		for _, name := range names {
			list(pr.typ, name)
			if cp, ok := got[name]; ok && (allNull && cp.Nullable == "false" || noneNull && cp.Nullable != "false") {
				t.Errorf("%s: %s.%s has Nullable %q, the spec says %q", pr.section, pr.typ, name, cp.Nullable, head)
			}
		}
	}
	// 2.9: the subtypes' own properties are declared on the subtypes.
	for _, row := range tableRows(spec["2.9"]) {
		sub := row["Subtype"]
		ct := m.types[sub]
		if ct == nil {
			t.Errorf("2.9: %s is not in $metadata", sub)
			continue
		}
		_, names := proseNames(":"+row["Extra structural properties"], ":")
		var own []string
		for _, p := range ct.Props {
			own = append(own, p.Name)
		}
		slices.Sort(names)
		if !slices.Equal(own, names) {
			t.Errorf("2.9: $metadata declares %q on %s, the spec %q", own, sub, names)
		}
		for _, name := range names {
			list(sub, name)
		}
	}

	// 2.11: enumerations.
	for _, row := range tableRows(spec["2.11"]) {
		name := short(strings.Trim(row["Enum"], "`"))
		_, members := proseNames(":"+row["Members (value)"], ":")
		e, ok := m.enums[name]
		if !ok {
			t.Errorf("2.11: no EnumType %s in $metadata", name)
			continue
		}
		var got []string
		for i, mem := range e.Members {
			got = append(got, mem.Name)
			if mem.Value != string(rune('0'+i)) {
				t.Errorf("2.11: %s.%s has value %s, want %d", name, mem.Name, mem.Value, i)
			}
		}
		if !slices.Equal(got, members) {
			t.Errorf("2.11: %s members %q, spec %q", name, got, members)
		}
	}

	// Each described type against what the spec lists for it.
	for typ, props := range listed {
		et := described[typ]
		if et == nil {
			t.Errorf("the spec describes %s, which Portolan does not", typ)
			continue
		}
		// The spec lists a concrete host's own properties only (2.9), and
		// may leave out the id every entity inherits.
		served := map[string]bool{}
		for _, p := range slices.Concat(et.Properties, et.Paths) {
			if p.DeclaredOn == et.Name || p.DeclaredOn == "" && et.BaseType != hostType(described) {
				served[p.Name] = true
			}
		}
		if !props["id"] {
			delete(served, "id")
		}
		for name := range props {
			key := typ + "." + name
			switch {
			case served[name] && notServed[key] != "":
				t.Errorf("%s is served but listed in notServed", key)
			case !served[name] && notServed[key] == "":
				t.Errorf("the spec lists %s, which Portolan does not serve; add it to notServed with the reason", key)
			}
			used[key] = true
		}
		for name := range served {
			if !props[name] {
				t.Errorf("%s.%s is served but not in the spec", typ, name)
			}
		}
	}
	for key := range notServed {
		if !used[key] {
			t.Errorf("notServed lists %s, which the spec does not name", key)
		}
	}
}

// hostType is the description of the abstract host, the base of the
// concrete hosts.
func hostType(described map[string]*odata.EntityType) *odata.EntityType {
	return described["host"]
}

// specSections splits a Markdown file into its "### n.m" sections by number.
func specSections(md string) map[string]string {
	out := map[string]string{}
	var cur string
	for _, line := range strings.SplitAfter(md, "\n") {
		if strings.HasPrefix(line, "#") {
			cur = ""
			if f := strings.Fields(line); len(f) > 1 && f[0] == "###" {
				cur = f[1]
			}
			continue
		}
		if cur != "" {
			out[cur] += line
		}
	}
	return out
}

// tableRows returns the rows of the first Markdown table of text, each by
// column heading, cells trimmed and backticks removed from whole-cell code.
func tableRows(text string) []map[string]string {
	var head []string
	var rows []map[string]string
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "|") {
			if head != nil {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case head == nil:
			head = cells
		case strings.HasPrefix(cells[0], "---"):
		default:
			row := map[string]string{}
			for i, c := range cells {
				if i < len(head) {
					if strings.Count(c, "`") == 2 && strings.HasPrefix(c, "`") && strings.HasSuffix(c, "`") {
						c = strings.Trim(c, "`")
					}
					row[head[i]] = c
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// proseNames reads a sentence of the form "<head>: `a` (note), `b`, ... ." in
// the paragraph of text that starts with prefix: it returns the head and the
// backticked names of the list, parenthesised notes dropped.
func proseNames(text, prefix string) (head string, names []string) {
	i := strings.Index(text, prefix)
	if i < 0 {
		return "", nil
	}
	para := text[i:]
	if j := strings.Index(para, "\n\n"); j >= 0 {
		para = para[:j]
	}
	head, _, _ = strings.Cut(para, ":")
	var b strings.Builder
	depth := 0
	for _, r := range para {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	_, body, _ := strings.Cut(b.String(), ":")
	if j := strings.IndexByte(body, '.'); j >= 0 {
		body = body[:j]
	}
	parts := strings.Split(body, "`")
	for k := 1; k < len(parts); k += 2 {
		names = append(names, parts[k])
	}
	return head, names
}

// TestSelectNavigations checks that $select accepts every navigation
// property $metadata declares on every entity type, as a member or as a path
// of its own, and that a single host refuses its sibling type's properties.
func TestSelectNavigations(t *testing.T) {
	types := httpapi.DescribedTypes()
	for name, typ := range types {
		if typ.Complex {
			continue
		}
		var navs []string
		for _, p := range typ.Properties {
			if p.Kind == odata.KindEntity {
				navs = append(navs, p.Name)
			}
		}
		for b := typ; b != nil; b = b.BaseType {
			for _, p := range b.Paths {
				navs = append(navs, p.Name)
			}
		}
		for _, nav := range navs {
			if _, err := odata.Parse("$select="+nav, &odata.Spec{Allowed: odata.Select, Type: typ}); err != nil {
				t.Errorf("%s: $select=%s: %v", name, nav, err)
			}
		}
	}
	host := types["microsoft.graph.security.host"]
	q, err := odata.Parse("$select=registrar,ports", &odata.Spec{Allowed: odata.Select, Type: host})
	if err != nil {
		t.Fatal(err)
	}
	if q.CheckSelect(types["microsoft.graph.security.hostname"]) != nil || q.CheckSelect(types["microsoft.graph.security.ipAddress"]) == nil {
		t.Error("registrar: want it selectable on hostname only")
	}
}
