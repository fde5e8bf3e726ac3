// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"portolan"
	"portolan/internal/odata"
)

// AppendHostPortValue exposes the hostPort encoder to the black-box
// benchmarks: the "value" array of a page, every member, no $select.
func AppendHostPortValue(b []byte, ports []*portolan.HostPort) []byte {
	v := &portView{mask: hostPortType.All()}
	b = append(b, '[')
	for i, hp := range ports {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendHostPortMembers(b, true, hp, v)
		b = append(b, '}')
	}
	return append(b, ']')
}

// AppendString and AppendTime expose the JSON primitives to the tests that
// compare them with encoding/json and the time package.
var (
	AppendString = appendString
	AppendTime   = appendTime
)

// DescribedTypes returns the entity descriptions that $metadata declares,
// by qualified name, for the tests that tie them to the encoders, the CSDL
// and the spec.
func DescribedTypes() map[string]*odata.EntityType {
	return newCSDLWriter().types
}

// SelectBit is one of the encoders' bit constants with the property it
// stands for.
type SelectBit struct {
	Type *odata.EntityType
	Bit  int
	Name string
}

// SelectBits are all the encoders' bit constants, for the test that checks
// them against the descriptions.
var SelectBits = []SelectBit{
	{hostPortType, hpID, "id"}, {hostPortType, hpPort, "port"},
	{hostPortType, hpFirstSeen, "firstSeenDateTime"}, {hostPortType, hpLastSeen, "lastSeenDateTime"},
	{hostPortType, hpLastScan, "lastScanDateTime"}, {hostPortType, hpTimesObserved, "timesObserved"},
	{hostPortType, hpStatus, "status"}, {hostPortType, hpProtocol, "protocol"},
	{hostPortType, hpBanners, "banners"}, {hostPortType, hpServices, "services"},
	{hostPortType, hpCertificate, "mostRecentSslCertificate"}, {hostPortType, hpHost, "host"},

	{hostType, hID, "id"}, {hostType, hFirstSeen, "firstSeenDateTime"}, {hostType, hLastSeen, "lastSeenDateTime"},
	{hostType, hCountryOrRegion, "countryOrRegion"}, {hostType, hNetblock, "netblock"},
	{hostType, hAutonomousSystem, "autonomousSystem"}, {hostType, hHostingProvider, "hostingProvider"},
	{hostType, hRegistrar, "registrar"}, {hostType, hRegistrant, "registrant"},

	{hostComponentType, hcID, "id"}, {hostComponentType, hcFirstSeen, "firstSeenDateTime"},
	{hostComponentType, hcLastSeen, "lastSeenDateTime"}, {hostComponentType, hcName, "name"},
	{hostComponentType, hcVersion, "version"}, {hostComponentType, hcCategory, "category"},
	{hostComponentType, hcHost, "host"},

	{sslCertificateType, cID, "id"}, {sslCertificateType, cFirstSeen, "firstSeenDateTime"},
	{sslCertificateType, cLastSeen, "lastSeenDateTime"}, {sslCertificateType, cFingerprint, "fingerprint"},
	{sslCertificateType, cExpiration, "expirationDateTime"}, {sslCertificateType, cIssue, "issueDateTime"},
	{sslCertificateType, cSHA1, "sha1"}, {sslCertificateType, cSerialNumber, "serialNumber"},
	{sslCertificateType, cSubject, "subject"}, {sslCertificateType, cIssuer, "issuer"},

	{hostSSLCertificateType, hscID, "id"}, {hostSSLCertificateType, hscFirstSeen, "firstSeenDateTime"},
	{hostSSLCertificateType, hscLastSeen, "lastSeenDateTime"}, {hostSSLCertificateType, hscPorts, "ports"},
	{hostSSLCertificateType, hscHost, "host"}, {hostSSLCertificateType, hscCertificate, "sslCertificate"},
}
