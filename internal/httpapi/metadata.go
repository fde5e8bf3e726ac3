// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"portolan/internal/odata"
)

// serveMetadata answers {root}/$metadata, open without a token like Graph's,
// so that tools can read the schema before signing in.
func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) error {
	if err := checkMethod(r); err != nil {
		return err
	}
	if _, err := parseQuery(r, noOptions); err != nil {
		return err
	}
	s.writeBody(w, r, headerXML, s.metadata)
	return nil
}

// metadataDocument is the CSDL of exactly what Portolan serves, generated
// once from the entity descriptions of entity.go: the types reachable from
// the security singleton with the properties the encoders write, declared
// where Graph's inheritance declares them (graph-api.md Part B, 2.1–2.11),
// the contained collections under security/threatIntelligence, and the
// capabilities a client reads before querying them. Navigation properties
// and collections Portolan does not serve (whois, passive DNS, trackers,
// ...) are left out rather than promised.
var metadataDocument = sync.OnceValue(func() []byte {
	return newCSDLWriter().document()
})

// metadataOrder is the order of the schema elements in the document: Graph's
// own (a type before the types that derive from it, each type's complex
// types after it), which also keeps the document Portolan served when it was
// written by hand. Every type and enumeration the descriptions reach must be
// listed, exactly once; the writer panics otherwise.
var metadataOrder = []string{
	entityType.Name,
	"microsoft.graph.physicalAddressType",
	physicalAddressType.Name,
	"microsoft.graph.security.hostPortStatus",
	"microsoft.graph.security.hostPortProtocol",
	securityType.Name,
	threatIntelligenceType.Name,
	artifactType.Name,
	hostType.Name,
	hostnameName,
	ipAddressName,
	autonomousSystemType.Name,
	hostPortType.Name,
	hostPortBannerType.Name,
	hostPortComponentType.Name,
	hostComponentType.Name,
	sslCertificateType.Name,
	sslCertificateEntityType.Name,
	hostSSLCertificateType.Name,
	hostSSLCertificatePortType.Name,
}

// schemaAliases are the namespaces of the document with their aliases, by
// which types are referred to.
var schemaAliases = map[string]string{
	"microsoft.graph":          "graph",
	"microsoft.graph.security": "self",
}

// csdlWriter writes the document.
type csdlWriter struct {
	b     bytes.Buffer
	types map[string]*odata.EntityType
	enums map[string][]string
}

// newCSDLWriter collects every type and enumeration reachable from the
// security singleton and the concrete hosts.
func newCSDLWriter() *csdlWriter {
	w := &csdlWriter{types: map[string]*odata.EntityType{}, enums: map[string][]string{}}
	for _, t := range []*odata.EntityType{securityType, hostnameType, ipAddressType} {
		w.collect(t)
	}
	return w
}

func (w *csdlWriter) collect(t *odata.EntityType) {
	if t == nil || w.types[t.Name] != nil {
		return
	}
	w.types[t.Name] = t
	w.collect(t.BaseType)
	for _, p := range slices.Concat(t.Properties, t.Paths) {
		w.collect(p.Type)
		if p.EnumName == "" {
			continue
		}
		if m, ok := w.enums[p.EnumName]; ok && !slices.Equal(m, p.Members) {
			panic("httpapi: enumeration " + p.EnumName + " is described with different members")
		}
		w.enums[p.EnumName] = p.Members
	}
}

// document writes the schemas in metadataOrder, the entity container in
// microsoft.graph and the capabilities next to threatIntelligence.
func (w *csdlWriter) document() []byte {
	w.b.WriteString(`<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
`)
	ns, done := "", map[string]bool{}
	for _, name := range metadataOrder {
		if n := namespace(name); n != ns {
			if done[n] {
				panic("httpapi: metadataOrder splits namespace " + n)
			}
			w.closeSchema(ns)
			done[n], ns = true, n
			w.b.WriteString(`    <Schema Namespace="` + n + `" Alias="` + schemaAliases[n] + `" xmlns="http://docs.oasis-open.org/odata/ns/edm">` + "\n")
		}
		if t := w.types[name]; t != nil {
			w.entityType(t)
			delete(w.types, name)
		} else if members, ok := w.enums[name]; ok {
			w.enumType(name, members)
			delete(w.enums, name)
		} else {
			panic("httpapi: metadataOrder lists " + name + ", which no description reaches, or twice")
		}
	}
	w.closeSchema(ns)
	for name := range w.types {
		panic("httpapi: metadataOrder lacks the type " + name)
	}
	for name := range w.enums {
		panic("httpapi: metadataOrder lacks the enumeration " + name)
	}
	w.b.WriteString("  </edmx:DataServices>\n</edmx:Edmx>\n")
	return w.b.Bytes()
}

func (w *csdlWriter) closeSchema(ns string) {
	switch ns {
	case "":
		return
	case namespace(entityType.Name):
		w.b.WriteString(`      <EntityContainer Name="GraphService">
        <Singleton Name="security" Type="` + securityType.Name + `" />
      </EntityContainer>
`)
	}
	if ns == namespace(threatIntelligenceType.Name) {
		for _, p := range threatIntelligenceType.Paths {
			if p.Collection {
				w.capabilities(threatIntelligenceType.Name+"/"+p.Name, p.Type)
			}
		}
	}
	w.b.WriteString("    </Schema>\n")
}

func (w *csdlWriter) enumType(name string, members []string) {
	w.b.WriteString(`      <EnumType Name="` + shortName(name) + `">` + "\n")
	for i, m := range members {
		w.b.WriteString(`        <Member Name="` + m + `" Value="` + strconv.Itoa(i) + `" />` + "\n")
	}
	w.b.WriteString("      </EnumType>\n")
}

// entityType writes t with the properties it declares, structural ones
// first and each group by name, as Graph's document does.
func (w *csdlWriter) entityType(t *odata.EntityType) {
	var props, navs []odata.Property
	for _, p := range t.Properties {
		if (p.DeclaredOn == "" || p.DeclaredOn == t.Name) && !declaredByBase(t, p.Name) {
			if p.Kind == odata.KindEntity {
				navs = append(navs, p)
			} else {
				props = append(props, p)
			}
		}
	}
	navs = append(navs, t.Paths...)
	byName := func(a, b odata.Property) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	}
	slices.SortStableFunc(props, byName)
	slices.SortStableFunc(navs, byName)

	element := "EntityType"
	if t.Complex {
		element = "ComplexType"
	}
	w.b.WriteString("      <" + element + ` Name="` + shortName(t.Name) + `"`)
	if t.BaseType != nil {
		w.b.WriteString(` BaseType="` + qualified(t.BaseType.Name) + `"`)
	}
	if t.Abstract {
		w.b.WriteString(` Abstract="true"`)
	}
	// Graph keys every entity by the id of its root type.
	key := !t.Complex && t.BaseType == nil
	if !key && len(props) == 0 && len(navs) == 0 {
		w.b.WriteString(" />\n")
		return
	}
	w.b.WriteString(">\n")
	if key {
		w.b.WriteString("        <Key>\n          <PropertyRef Name=\"id\" />\n        </Key>\n")
	}
	for _, p := range props {
		w.property("Property", p)
	}
	for _, p := range navs {
		w.property("NavigationProperty", p)
	}
	w.b.WriteString("      </" + element + ">\n")
}

func (w *csdlWriter) property(element string, p odata.Property) {
	w.b.WriteString("        <" + element + ` Name="` + p.Name + `" Type="` + edmType(p) + `"`)
	if p.NonNullable {
		w.b.WriteString(` Nullable="false"`)
	}
	if p.Contained {
		w.b.WriteString(` ContainsTarget="true"`)
	}
	w.b.WriteString(" />\n")
}

// capabilities writes the Org.OData.Capabilities.V1 annotations of the
// collection at target whose items are of type t, in the form of Graph's
// own document: what $filter and $orderby may not use comes from the
// description's Filterable and Sortable flags; $count, $top, $skip and
// $select are supported on every collection.
func (w *csdlWriter) capabilities(target string, t *odata.EntityType) {
	var nonFilterable, nonSortable []string
	filterable, sortable := false, false
	for _, p := range slices.Concat(t.Properties, t.Paths) {
		path := p.Name
		if p.DeclaredOn != "" && p.DeclaredOn != t.Name {
			path = p.DeclaredOn + "/" + p.Name // a type cast to the subtype
		}
		if p.Filterable {
			filterable = true
		} else {
			nonFilterable = append(nonFilterable, path)
		}
		if p.Sortable {
			sortable = true
		} else {
			nonSortable = append(nonSortable, path)
		}
	}
	const term = `        <Annotation Term="Org.OData.Capabilities.V1.`
	w.b.WriteString(`      <Annotations Target="` + target + `">` + "\n")
	w.record("CountRestrictions", "Countable", true, "", nil)
	w.record("FilterRestrictions", "Filterable", filterable, "NonFilterableProperties", nonFilterable)
	w.record("SelectSupport", "Supported", true, "", nil)
	w.b.WriteString(term + `SkipSupported" Bool="true" />` + "\n")
	w.record("SortRestrictions", "Sortable", sortable, "NonSortableProperties", nonSortable)
	w.b.WriteString(term + `TopSupported" Bool="true" />` + "\n")
	w.b.WriteString("      </Annotations>\n")
}

// record writes an annotation whose value is a record of one Boolean and,
// when paths is not empty, a collection of property paths.
func (w *csdlWriter) record(term, flag string, value bool, list string, paths []string) {
	w.b.WriteString(`        <Annotation Term="Org.OData.Capabilities.V1.` + term + `">` + "\n")
	w.b.WriteString("          <Record>\n")
	w.b.WriteString(`            <PropertyValue Property="` + flag + `" Bool="` + boolText(value) + `" />` + "\n")
	if len(paths) > 0 {
		w.b.WriteString(`            <PropertyValue Property="` + list + `">` + "\n")
		w.b.WriteString("              <Collection>\n")
		for _, p := range paths {
			w.b.WriteString("                <PropertyPath>" + p + "</PropertyPath>\n")
		}
		w.b.WriteString("              </Collection>\n")
		w.b.WriteString("            </PropertyValue>\n")
	}
	w.b.WriteString("          </Record>\n")
	w.b.WriteString("        </Annotation>\n")
}

// declaredByBase reports whether a base type of t declares the property
// named name itself.
func declaredByBase(t *odata.EntityType, name string) bool {
	for b := t.BaseType; b != nil; b = b.BaseType {
		for _, p := range b.Properties {
			if p.Name == name && (p.DeclaredOn == "" || p.DeclaredOn == b.Name) {
				return true
			}
		}
	}
	return false
}

// edmType is the CSDL Type attribute of p.
func edmType(p odata.Property) string {
	var s string
	switch p.Kind {
	case odata.KindString, odata.KindInt32, odata.KindDateTime, odata.KindBoolean:
		s = p.Kind.String()
	case odata.KindEnum:
		s = qualified(p.EnumName)
	case odata.KindComplex, odata.KindEntity:
		s = qualified(p.Type.Name)
	default:
		panic("httpapi: property " + p.Name + " has no type")
	}
	if p.Collection {
		s = "Collection(" + s + ")"
	}
	return s
}

// namespace is the namespace of a qualified name.
func namespace(name string) string {
	return name[:strings.LastIndexByte(name, '.')]
}

// shortName is the name without its namespace.
func shortName(name string) string {
	return name[strings.LastIndexByte(name, '.')+1:]
}

// qualified is the name qualified by its namespace's alias
// ("self.hostPort").
func qualified(name string) string {
	alias, ok := schemaAliases[namespace(name)]
	if !ok {
		panic("httpapi: no schema for " + name)
	}
	return alias + "." + shortName(name)
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
