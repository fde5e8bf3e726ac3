// SPDX-License-Identifier: Apache-2.0

package httpapi

import "portolan/internal/odata"

// This file describes each Graph entity Portolan serves, once: its
// properties in serialisation order (the documented member order of
// graph-api.md), their types and nullability, which are navigations, where
// Graph's inheritance declares them, and which $filter and $orderby may use.
// $select masks, $expand, the $filter checker and $metadata (metadata.go)
// are derived from these descriptions; the encoders write members in the
// same order with bit constants equal to the properties' indexes, and
// entity_test.go ties those constants, the encoders' output, the CSDL and
// the property tables of graph-api.md together.

// Property constructors, to keep the tables below one line per property.
func prop(name string, kind odata.Kind) odata.Property {
	return odata.Property{Name: name, Kind: kind}
}

// filterable marks p usable in $filter and, when it is single-valued and
// primitive, in $orderby.
func filterable(p odata.Property) odata.Property {
	p.Filterable = true
	p.Sortable = !p.Collection && p.Kind != odata.KindComplex && p.Kind != odata.KindEntity
	return p
}

// key is the id every entity type inherits from microsoft.graph.entity.
func key() odata.Property {
	p := filterable(prop("id", odata.KindString))
	p.NonNullable = true
	return p
}

// unordered marks p as not usable in $orderby: a hostPort's id is base64
// of "host$$port", whose order means nothing and which the stores do not
// keep as a column ($orderby=host/id,port orders by the same key).
func unordered(p odata.Property) odata.Property {
	p.Sortable = false
	return p
}

// nonNullable marks p Nullable="false".
func nonNullable(p odata.Property) odata.Property {
	p.NonNullable = true
	return p
}

// on marks p as declared by the derived type named typeName.
func on(typeName string, p odata.Property) odata.Property {
	p.DeclaredOn = typeName
	return p
}

func enum(name, enumName string, members ...string) odata.Property {
	return odata.Property{Name: name, Kind: odata.KindEnum, EnumName: enumName, Members: members}
}

func structured(name string, kind odata.Kind, t *odata.EntityType, collection bool) odata.Property {
	return odata.Property{Name: name, Kind: kind, Type: t, Collection: collection}
}

// entityType is microsoft.graph.entity, the abstract root of every Graph
// entity type: it declares the key, id.
var entityType = &odata.EntityType{
	Name:       "microsoft.graph.entity",
	Abstract:   true,
	Properties: []odata.Property{key()},
}

// artifactType is microsoft.graph.security.artifact, the abstract base of
// the threat-intelligence artifacts (graph-api.md 2.1).
var artifactType = &odata.EntityType{
	Name:       "microsoft.graph.security.artifact",
	BaseType:   entityType,
	Abstract:   true,
	Properties: []odata.Property{key()},
}

// physicalAddressType is microsoft.graph.physicalAddress, the address of a
// certificate entity.
var physicalAddressType = &odata.EntityType{
	Name:    "microsoft.graph.physicalAddress",
	Complex: true,
	Properties: []odata.Property{
		filterable(prop("city", odata.KindString)),
		filterable(prop("countryOrRegion", odata.KindString)),
		filterable(prop("postalCode", odata.KindString)),
		prop("postOfficeBox", odata.KindString),
		filterable(prop("state", odata.KindString)),
		filterable(prop("street", odata.KindString)),
		enum("type", "microsoft.graph.physicalAddressType", "unknown", "home", "business", "other"),
	},
}

// sslCertificateEntityType is microsoft.graph.security.sslCertificateEntity,
// the subject or issuer of a certificate, in the member order of the
// documented certificate examples (commonName first, alternateNames last).
var sslCertificateEntityType = &odata.EntityType{
	Name:    "microsoft.graph.security.sslCertificateEntity",
	Complex: true,
	Properties: []odata.Property{
		filterable(prop("commonName", odata.KindString)),
		filterable(structured("address", odata.KindComplex, physicalAddressType, false)),
		filterable(prop("email", odata.KindString)),
		filterable(prop("givenName", odata.KindString)),
		filterable(prop("organizationName", odata.KindString)),
		filterable(prop("organizationUnitName", odata.KindString)),
		filterable(prop("serialNumber", odata.KindString)),
		filterable(prop("surname", odata.KindString)),
		filterable(odata.Property{Name: "alternateNames", Kind: odata.KindString, Collection: true}),
	},
}

// sslCertificateType is microsoft.graph.security.sslCertificate, properties
// in the order of the documented examples (which also carry an undeclared
// sslVersion that Portolan does not invent, graph-api.md Q5). relatedHosts is
// served as its own path, not as a selectable member (Paths, set in init).
var sslCertificateType = &odata.EntityType{
	Name:     "microsoft.graph.security.sslCertificate",
	BaseType: artifactType,
	Properties: []odata.Property{
		key(),
		filterable(prop("firstSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastSeenDateTime", odata.KindDateTime)),
		filterable(prop("fingerprint", odata.KindString)),
		filterable(prop("expirationDateTime", odata.KindDateTime)),
		filterable(prop("issueDateTime", odata.KindDateTime)),
		filterable(prop("sha1", odata.KindString)),
		filterable(prop("serialNumber", odata.KindString)),
		filterable(structured("subject", odata.KindComplex, sslCertificateEntityType, false)),
		filterable(structured("issuer", odata.KindComplex, sslCertificateEntityType, false)),
	},
}

// Qualified names of the concrete host types.
const (
	hostnameName  = "microsoft.graph.security.hostname"
	ipAddressName = "microsoft.graph.security.ipAddress"
)

// hostType is the abstract microsoft.graph.security.host with the
// properties of both subtypes: a $select may name any of them, and each
// entity writes those its concrete type has (ipAddress: countryOrRegion,
// netblock, autonomousSystem, hostingProvider; hostname: registrar,
// registrant), which $metadata declares on the subtype (DeclaredOn).
// Portolan has no WHOIS data, and address data only when serve is given
// MaxMind-format databases (internal/mmdb, added as hosts are read): without
// them those are null, as in the documented relatedHosts example
// (graph-api.md E10). None can be filtered on. Its navigations (components, ports, sslCertificates) are
// paths of their own, set in init.
var hostType = &odata.EntityType{
	Name:     "microsoft.graph.security.host",
	BaseType: artifactType,
	Abstract: true,
	Properties: []odata.Property{
		key(),
		filterable(prop("firstSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastSeenDateTime", odata.KindDateTime)),
		on(ipAddressName, prop("countryOrRegion", odata.KindString)),
		on(ipAddressName, prop("netblock", odata.KindString)),
		on(ipAddressName, structured("autonomousSystem", odata.KindComplex, autonomousSystemType, false)),
		on(ipAddressName, prop("hostingProvider", odata.KindString)),
		on(hostnameName, prop("registrar", odata.KindString)),
		on(hostnameName, prop("registrant", odata.KindString)),
	},
}

// hostnameType and ipAddressType are the concrete hosts; their properties
// are those of hostType that they have, in the same order (set in init).
var (
	hostnameType  = &odata.EntityType{Name: hostnameName, BaseType: hostType}
	ipAddressType = &odata.EntityType{Name: ipAddressName, BaseType: hostType}
)

// autonomousSystemType is microsoft.graph.security.autonomousSystem, whose
// members Graph declares non-nullable (graph-api.md 2.9).
var autonomousSystemType = &odata.EntityType{
	Name:    "microsoft.graph.security.autonomousSystem",
	Complex: true,
	Properties: []odata.Property{
		nonNullable(prop("name", odata.KindString)),
		nonNullable(prop("number", odata.KindInt32)),
		nonNullable(prop("organization", odata.KindString)),
		nonNullable(prop("value", odata.KindString)),
	},
}

// hostComponentType is microsoft.graph.security.hostComponent.
var hostComponentType = &odata.EntityType{
	Name:     "microsoft.graph.security.hostComponent",
	BaseType: artifactType,
	Properties: []odata.Property{
		key(),
		nonNullable(filterable(prop("firstSeenDateTime", odata.KindDateTime))),
		nonNullable(filterable(prop("lastSeenDateTime", odata.KindDateTime))),
		nonNullable(filterable(prop("name", odata.KindString))),
		filterable(odata.Property{Name: "version", Kind: odata.KindString, Version: true}),
		filterable(prop("category", odata.KindString)),
		nonNullable(filterable(structured("host", odata.KindEntity, hostType, false))),
	},
}

// hostPortBannerType is microsoft.graph.security.hostPortBanner.
var hostPortBannerType = &odata.EntityType{
	Name:    "microsoft.graph.security.hostPortBanner",
	Complex: true,
	Properties: []odata.Property{
		nonNullable(filterable(prop("banner", odata.KindString))),
		filterable(prop("firstSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastSeenDateTime", odata.KindDateTime)),
		filterable(prop("scanProtocol", odata.KindString)),
		filterable(prop("timesObserved", odata.KindInt32)),
	},
}

// hostPortComponentType is microsoft.graph.security.hostPortComponent.
var hostPortComponentType = &odata.EntityType{
	Name:    "microsoft.graph.security.hostPortComponent",
	Complex: true,
	Properties: []odata.Property{
		filterable(prop("firstSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastSeenDateTime", odata.KindDateTime)),
		filterable(prop("isRecent", odata.KindBoolean)),
		filterable(structured("component", odata.KindEntity, hostComponentType, false)),
	},
}

// hostPortType is microsoft.graph.security.hostPort; the property order is
// the documented member order.
var hostPortType = &odata.EntityType{
	Name:     "microsoft.graph.security.hostPort",
	BaseType: entityType, // not artifact (graph-api.md 2.1)
	Properties: []odata.Property{
		unordered(key()),
		nonNullable(filterable(prop("port", odata.KindInt32))),
		filterable(prop("firstSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastScanDateTime", odata.KindDateTime)),
		filterable(prop("timesObserved", odata.KindInt32)),
		filterable(enum("status", "microsoft.graph.security.hostPortStatus", "open", "filtered", "closed", "unknownFutureValue")),
		filterable(enum("protocol", "microsoft.graph.security.hostPortProtocol", "tcp", "udp", "unknownFutureValue")),
		filterable(structured("banners", odata.KindComplex, hostPortBannerType, true)),
		filterable(structured("services", odata.KindComplex, hostPortComponentType, true)),
		filterable(structured("mostRecentSslCertificate", odata.KindEntity, sslCertificateType, false)),
		nonNullable(filterable(structured("host", odata.KindEntity, hostType, false))),
	},
	Expandable: map[string]*odata.EntityType{"mostRecentSslCertificate": sslCertificateType},
}

// hostSSLCertificatePortType is
// microsoft.graph.security.hostSslCertificatePort, port first as the
// documented hostSslCertificate example writes it.
var hostSSLCertificatePortType = &odata.EntityType{
	Name:    "microsoft.graph.security.hostSslCertificatePort",
	Complex: true,
	Properties: []odata.Property{
		filterable(prop("port", odata.KindInt32)),
		filterable(prop("firstSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastSeenDateTime", odata.KindDateTime)),
	},
}

// hostSSLCertificateType is microsoft.graph.security.hostSslCertificate.
var hostSSLCertificateType = &odata.EntityType{
	Name:     "microsoft.graph.security.hostSslCertificate",
	BaseType: artifactType,
	Properties: []odata.Property{
		key(),
		filterable(prop("firstSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastSeenDateTime", odata.KindDateTime)),
		filterable(structured("ports", odata.KindComplex, hostSSLCertificatePortType, true)),
		filterable(structured("host", odata.KindEntity, hostType, false)),
		filterable(structured("sslCertificate", odata.KindEntity, sslCertificateType, false)),
	},
}

// threatIntelligenceType is microsoft.graph.security.threatIntelligence, the
// container of the collections Portolan serves (graph-api.md 2.12). Each
// listable collection is annotated in $metadata with the query capabilities
// its item type's description allows.
var threatIntelligenceType = &odata.EntityType{
	Name:       "microsoft.graph.security.threatIntelligence",
	BaseType:   entityType,
	Properties: []odata.Property{key()},
	Paths: []odata.Property{
		contained("hostComponents", hostComponentType, true),
		contained("hostPorts", hostPortType, true),
		contained("hosts", hostType, true),
		contained("hostSslCertificates", hostSSLCertificateType, true),
		contained("sslCertificates", sslCertificateType, true),
	},
}

// securityType is microsoft.graph.security.security, the type of the
// service's security singleton.
var securityType = &odata.EntityType{
	Name:       "microsoft.graph.security.security",
	BaseType:   entityType,
	Properties: []odata.Property{key()},
	Paths:      []odata.Property{contained("threatIntelligence", threatIntelligenceType, false)},
}

// contained is a navigation property whose targets live in it.
func contained(name string, t *odata.EntityType, collection bool) odata.Property {
	p := structured(name, odata.KindEntity, t, collection)
	p.Contained = true
	return p
}

// The navigations that lead back to types which refer to host, and the
// concrete hosts' properties, are set here: as initialisers they would be
// initialisation cycles.
func init() {
	hostType.Paths = []odata.Property{
		structured("components", odata.KindEntity, hostComponentType, true),
		structured("ports", odata.KindEntity, hostPortType, true),
		structured("sslCertificates", odata.KindEntity, hostSSLCertificateType, true),
	}
	sslCertificateType.Paths = []odata.Property{
		structured("relatedHosts", odata.KindEntity, hostType, true),
	}
	for _, sub := range []*odata.EntityType{hostnameType, ipAddressType} {
		for _, p := range hostType.Properties {
			if p.DeclaredOn == "" || p.DeclaredOn == sub.Name {
				sub.Properties = append(sub.Properties, p)
			}
		}
	}
}
