// SPDX-License-Identifier: Apache-2.0

package httpapi

import "portolan/internal/odata"

// This file describes each Graph entity Portolan serves, once: its
// properties in serialisation order (the documented member order of
// graph-api.md), their types, which are navigations, and which $filter and
// $orderby may use. $select masks, $expand, the $filter checker and
// $metadata read these descriptions; the encoders write members in the same
// order (entity_test.go ties them together).

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

func enum(name string, members ...string) odata.Property {
	return odata.Property{Name: name, Kind: odata.KindEnum, Members: members}
}

func structured(name string, kind odata.Kind, t *odata.EntityType, collection bool) odata.Property {
	return odata.Property{Name: name, Kind: kind, Type: t, Collection: collection}
}

// physicalAddressType is microsoft.graph.physicalAddress, the address of a
// certificate entity.
var physicalAddressType = &odata.EntityType{
	Name: "microsoft.graph.physicalAddress",
	Properties: []odata.Property{
		filterable(prop("city", odata.KindString)),
		filterable(prop("countryOrRegion", odata.KindString)),
		filterable(prop("postalCode", odata.KindString)),
		prop("postOfficeBox", odata.KindString),
		filterable(prop("state", odata.KindString)),
		filterable(prop("street", odata.KindString)),
		prop("type", odata.KindString),
	},
}

// sslCertificateEntityType is microsoft.graph.security.sslCertificateEntity,
// the subject or issuer of a certificate.
var sslCertificateEntityType = &odata.EntityType{
	Name: "microsoft.graph.security.sslCertificateEntity",
	Properties: []odata.Property{
		filterable(structured("address", odata.KindComplex, physicalAddressType, false)),
		filterable(odata.Property{Name: "alternateNames", Kind: odata.KindString, Collection: true}),
		filterable(prop("commonName", odata.KindString)),
		filterable(prop("email", odata.KindString)),
		filterable(prop("givenName", odata.KindString)),
		filterable(prop("organizationName", odata.KindString)),
		filterable(prop("organizationUnitName", odata.KindString)),
		filterable(prop("serialNumber", odata.KindString)),
		filterable(prop("surname", odata.KindString)),
	},
}

// sslCertificateType is microsoft.graph.security.sslCertificate, properties
// in the order of the documented examples (which also carry an undeclared
// sslVersion that Portolan does not invent, graph-api.md Q5). relatedHosts is
// served as its own path, not as a selectable member.
var sslCertificateType = &odata.EntityType{
	Name: "microsoft.graph.security.sslCertificate",
	Properties: []odata.Property{
		filterable(prop("id", odata.KindString)),
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

// hostType is the abstract microsoft.graph.security.host with the
// properties of both subtypes: a $select may name any of them, and each
// entity writes those its concrete type has (ipAddress: countryOrRegion,
// netblock, autonomousSystem, hostingProvider; hostname: registrar,
// registrant). Portolan has no WHOIS or geolocation data, so those are null,
// as in the documented relatedHosts example (graph-api.md E10), and cannot
// be filtered on.
var hostType = &odata.EntityType{
	Name: "microsoft.graph.security.host",
	Properties: []odata.Property{
		filterable(prop("id", odata.KindString)),
		filterable(prop("firstSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastSeenDateTime", odata.KindDateTime)),
		prop("countryOrRegion", odata.KindString),
		prop("netblock", odata.KindString),
		structured("autonomousSystem", odata.KindComplex, autonomousSystemType, false),
		prop("hostingProvider", odata.KindString),
		prop("registrar", odata.KindString),
		prop("registrant", odata.KindString),
	},
}

// autonomousSystemType is microsoft.graph.security.autonomousSystem.
var autonomousSystemType = &odata.EntityType{
	Name: "microsoft.graph.security.autonomousSystem",
	Properties: []odata.Property{
		prop("name", odata.KindString),
		prop("number", odata.KindInt32),
		prop("organization", odata.KindString),
		prop("value", odata.KindString),
	},
}

// hostComponentType is microsoft.graph.security.hostComponent.
var hostComponentType = &odata.EntityType{
	Name: "microsoft.graph.security.hostComponent",
	Properties: []odata.Property{
		filterable(prop("id", odata.KindString)),
		filterable(prop("firstSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastSeenDateTime", odata.KindDateTime)),
		filterable(prop("name", odata.KindString)),
		filterable(odata.Property{Name: "version", Kind: odata.KindString, Version: true}),
		filterable(prop("category", odata.KindString)),
		filterable(structured("host", odata.KindEntity, hostType, false)),
	},
}

// hostPortBannerType is microsoft.graph.security.hostPortBanner.
var hostPortBannerType = &odata.EntityType{
	Name: "microsoft.graph.security.hostPortBanner",
	Properties: []odata.Property{
		filterable(prop("banner", odata.KindString)),
		filterable(prop("firstSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastSeenDateTime", odata.KindDateTime)),
		filterable(prop("scanProtocol", odata.KindString)),
		filterable(prop("timesObserved", odata.KindInt32)),
	},
}

// hostPortComponentType is microsoft.graph.security.hostPortComponent.
var hostPortComponentType = &odata.EntityType{
	Name: "microsoft.graph.security.hostPortComponent",
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
	Name: "microsoft.graph.security.hostPort",
	Properties: []odata.Property{
		filterable(prop("id", odata.KindString)),
		filterable(prop("port", odata.KindInt32)),
		filterable(prop("firstSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastScanDateTime", odata.KindDateTime)),
		filterable(prop("timesObserved", odata.KindInt32)),
		filterable(enum("status", "open", "filtered", "closed", "unknownFutureValue")),
		filterable(enum("protocol", "tcp", "udp", "unknownFutureValue")),
		filterable(structured("banners", odata.KindComplex, hostPortBannerType, true)),
		filterable(structured("services", odata.KindComplex, hostPortComponentType, true)),
		filterable(structured("mostRecentSslCertificate", odata.KindEntity, sslCertificateType, false)),
		filterable(structured("host", odata.KindEntity, hostType, false)),
	},
	Expandable: map[string]*odata.EntityType{"mostRecentSslCertificate": sslCertificateType},
}

// hostSslCertificatePortType is microsoft.graph.security.hostSslCertificatePort.
var hostSSLCertificatePortType = &odata.EntityType{
	Name: "microsoft.graph.security.hostSslCertificatePort",
	Properties: []odata.Property{
		filterable(prop("firstSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastSeenDateTime", odata.KindDateTime)),
		filterable(prop("port", odata.KindInt32)),
	},
}

// hostSSLCertificateType is microsoft.graph.security.hostSslCertificate.
var hostSSLCertificateType = &odata.EntityType{
	Name: "microsoft.graph.security.hostSslCertificate",
	Properties: []odata.Property{
		filterable(prop("id", odata.KindString)),
		filterable(prop("firstSeenDateTime", odata.KindDateTime)),
		filterable(prop("lastSeenDateTime", odata.KindDateTime)),
		filterable(structured("ports", odata.KindComplex, hostSSLCertificatePortType, true)),
		filterable(structured("host", odata.KindEntity, hostType, false)),
		filterable(structured("sslCertificate", odata.KindEntity, sslCertificateType, false)),
	},
}
