// SPDX-License-Identifier: Apache-2.0

package httpapi

import "net/http"

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

// metadataXML is the CSDL of exactly what Portolan serves: the types
// reachable from hostPort with the properties it writes, and the contained
// collections under security/threatIntelligence. Names, types and
// nullability follow Graph's schema (graph-api.md Part B, 2.1–2.11); the
// beta members of physicalAddress (postOfficeBox, type) are included because
// they are written. Navigation properties and collections Portolan does not
// serve (whois, passive DNS, trackers, ...) are left out rather than
// promised.
const metadataXML = `<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="microsoft.graph" Alias="graph" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EntityType Name="entity" Abstract="true">
        <Key>
          <PropertyRef Name="id" />
        </Key>
        <Property Name="id" Type="Edm.String" Nullable="false" />
      </EntityType>
      <EnumType Name="physicalAddressType">
        <Member Name="unknown" Value="0" />
        <Member Name="home" Value="1" />
        <Member Name="business" Value="2" />
        <Member Name="other" Value="3" />
      </EnumType>
      <ComplexType Name="physicalAddress">
        <Property Name="city" Type="Edm.String" />
        <Property Name="countryOrRegion" Type="Edm.String" />
        <Property Name="postalCode" Type="Edm.String" />
        <Property Name="postOfficeBox" Type="Edm.String" />
        <Property Name="state" Type="Edm.String" />
        <Property Name="street" Type="Edm.String" />
        <Property Name="type" Type="graph.physicalAddressType" />
      </ComplexType>
      <EntityContainer Name="GraphService">
        <Singleton Name="security" Type="microsoft.graph.security.security" />
      </EntityContainer>
    </Schema>
    <Schema Namespace="microsoft.graph.security" Alias="self" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EnumType Name="hostPortStatus">
        <Member Name="open" Value="0" />
        <Member Name="filtered" Value="1" />
        <Member Name="closed" Value="2" />
        <Member Name="unknownFutureValue" Value="3" />
      </EnumType>
      <EnumType Name="hostPortProtocol">
        <Member Name="tcp" Value="0" />
        <Member Name="udp" Value="1" />
        <Member Name="unknownFutureValue" Value="2" />
      </EnumType>
      <EntityType Name="security" BaseType="graph.entity">
        <NavigationProperty Name="threatIntelligence" Type="self.threatIntelligence" ContainsTarget="true" />
      </EntityType>
      <EntityType Name="threatIntelligence" BaseType="graph.entity">
        <NavigationProperty Name="hostComponents" Type="Collection(self.hostComponent)" ContainsTarget="true" />
        <NavigationProperty Name="hostPorts" Type="Collection(self.hostPort)" ContainsTarget="true" />
        <NavigationProperty Name="hosts" Type="Collection(self.host)" ContainsTarget="true" />
        <NavigationProperty Name="hostSslCertificates" Type="Collection(self.hostSslCertificate)" ContainsTarget="true" />
        <NavigationProperty Name="sslCertificates" Type="Collection(self.sslCertificate)" ContainsTarget="true" />
      </EntityType>
      <EntityType Name="artifact" BaseType="graph.entity" Abstract="true" />
      <EntityType Name="host" BaseType="self.artifact" Abstract="true">
        <Property Name="firstSeenDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="lastSeenDateTime" Type="Edm.DateTimeOffset" />
        <NavigationProperty Name="components" Type="Collection(self.hostComponent)" />
        <NavigationProperty Name="ports" Type="Collection(self.hostPort)" />
        <NavigationProperty Name="sslCertificates" Type="Collection(self.hostSslCertificate)" />
      </EntityType>
      <EntityType Name="hostname" BaseType="self.host">
        <Property Name="registrant" Type="Edm.String" />
        <Property Name="registrar" Type="Edm.String" />
      </EntityType>
      <EntityType Name="ipAddress" BaseType="self.host">
        <Property Name="autonomousSystem" Type="self.autonomousSystem" />
        <Property Name="countryOrRegion" Type="Edm.String" />
        <Property Name="hostingProvider" Type="Edm.String" />
        <Property Name="netblock" Type="Edm.String" />
      </EntityType>
      <ComplexType Name="autonomousSystem">
        <Property Name="name" Type="Edm.String" Nullable="false" />
        <Property Name="number" Type="Edm.Int32" Nullable="false" />
        <Property Name="organization" Type="Edm.String" Nullable="false" />
        <Property Name="value" Type="Edm.String" Nullable="false" />
      </ComplexType>
      <EntityType Name="hostPort" BaseType="graph.entity">
        <Property Name="banners" Type="Collection(self.hostPortBanner)" />
        <Property Name="firstSeenDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="lastScanDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="lastSeenDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="port" Type="Edm.Int32" Nullable="false" />
        <Property Name="protocol" Type="self.hostPortProtocol" />
        <Property Name="services" Type="Collection(self.hostPortComponent)" />
        <Property Name="status" Type="self.hostPortStatus" />
        <Property Name="timesObserved" Type="Edm.Int32" />
        <NavigationProperty Name="host" Type="self.host" Nullable="false" />
        <NavigationProperty Name="mostRecentSslCertificate" Type="self.sslCertificate" />
      </EntityType>
      <ComplexType Name="hostPortBanner">
        <Property Name="banner" Type="Edm.String" Nullable="false" />
        <Property Name="firstSeenDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="lastSeenDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="scanProtocol" Type="Edm.String" />
        <Property Name="timesObserved" Type="Edm.Int32" />
      </ComplexType>
      <ComplexType Name="hostPortComponent">
        <Property Name="firstSeenDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="isRecent" Type="Edm.Boolean" />
        <Property Name="lastSeenDateTime" Type="Edm.DateTimeOffset" />
        <NavigationProperty Name="component" Type="self.hostComponent" />
      </ComplexType>
      <EntityType Name="hostComponent" BaseType="self.artifact">
        <Property Name="category" Type="Edm.String" />
        <Property Name="firstSeenDateTime" Type="Edm.DateTimeOffset" Nullable="false" />
        <Property Name="lastSeenDateTime" Type="Edm.DateTimeOffset" Nullable="false" />
        <Property Name="name" Type="Edm.String" Nullable="false" />
        <Property Name="version" Type="Edm.String" />
        <NavigationProperty Name="host" Type="self.host" Nullable="false" />
      </EntityType>
      <EntityType Name="sslCertificate" BaseType="self.artifact">
        <Property Name="expirationDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="fingerprint" Type="Edm.String" />
        <Property Name="firstSeenDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="issueDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="issuer" Type="self.sslCertificateEntity" />
        <Property Name="lastSeenDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="serialNumber" Type="Edm.String" />
        <Property Name="sha1" Type="Edm.String" />
        <Property Name="subject" Type="self.sslCertificateEntity" />
        <NavigationProperty Name="relatedHosts" Type="Collection(self.host)" />
      </EntityType>
      <ComplexType Name="sslCertificateEntity">
        <Property Name="address" Type="graph.physicalAddress" />
        <Property Name="alternateNames" Type="Collection(Edm.String)" />
        <Property Name="commonName" Type="Edm.String" />
        <Property Name="email" Type="Edm.String" />
        <Property Name="givenName" Type="Edm.String" />
        <Property Name="organizationName" Type="Edm.String" />
        <Property Name="organizationUnitName" Type="Edm.String" />
        <Property Name="serialNumber" Type="Edm.String" />
        <Property Name="surname" Type="Edm.String" />
      </ComplexType>
      <EntityType Name="hostSslCertificate" BaseType="self.artifact">
        <Property Name="firstSeenDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="lastSeenDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="ports" Type="Collection(self.hostSslCertificatePort)" />
        <NavigationProperty Name="host" Type="self.host" />
        <NavigationProperty Name="sslCertificate" Type="self.sslCertificate" />
      </EntityType>
      <ComplexType Name="hostSslCertificatePort">
        <Property Name="firstSeenDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="lastSeenDateTime" Type="Edm.DateTimeOffset" />
        <Property Name="port" Type="Edm.Int32" />
      </ComplexType>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
`
