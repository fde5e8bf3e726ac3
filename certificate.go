// SPDX-License-Identifier: Apache-2.0

package portolan

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"time"
)

// SSLCertificate is a leaf certificate a service presented, keyed by the
// SHA-1 of its DER (intelligence.md §6).
type SSLCertificate struct {
	ID                 string               `json:"id"`
	SHA1               string               `json:"sha1"`
	Fingerprint        string               `json:"fingerprint"`
	SerialNumber       string               `json:"serialNumber"`
	IssueDateTime      time.Time            `json:"issueDateTime"`
	ExpirationDateTime time.Time            `json:"expirationDateTime"`
	Issuer             SSLCertificateEntity `json:"issuer"`
	Subject            SSLCertificateEntity `json:"subject"`
	FirstSeenDateTime  time.Time            `json:"firstSeenDateTime"`
	LastSeenDateTime   time.Time            `json:"lastSeenDateTime"`
}

// SSLCertificateEntity is the issuer or subject of a certificate. Empty
// strings mean null.
type SSLCertificateEntity struct {
	Address              PhysicalAddress `json:"address"`
	AlternateNames       []string        `json:"alternateNames"`
	CommonName           string          `json:"commonName"`
	Email                string          `json:"email"`
	GivenName            string          `json:"givenName"`
	OrganizationName     string          `json:"organizationName"`
	OrganizationUnitName string          `json:"organizationUnitName"`
	SerialNumber         string          `json:"serialNumber"`
	Surname              string          `json:"surname"`
}

// PhysicalAddress is microsoft.graph.physicalAddress, filled from the
// distinguished name's locality, province, country, street and postal code.
type PhysicalAddress struct {
	City            string `json:"city"`
	CountryOrRegion string `json:"countryOrRegion"`
	PostalCode      string `json:"postalCode"`
	State           string `json:"state"`
	Street          string `json:"street"`
}

// HostSSLCertificate is a certificate as seen on one host.
type HostSSLCertificate struct {
	ID                string                   `json:"id"`
	Host              string                   `json:"host"`
	FirstSeenDateTime time.Time                `json:"firstSeenDateTime"`
	LastSeenDateTime  time.Time                `json:"lastSeenDateTime"`
	Ports             []HostSSLCertificatePort `json:"ports"`
	SSLCertificate    *SSLCertificate          `json:"sslCertificate"`
}

// HostSSLCertificatePort is one port of a host on which a certificate was seen.
type HostSSLCertificatePort struct {
	Port              int       `json:"port"`
	FirstSeenDateTime time.Time `json:"firstSeenDateTime"`
	LastSeenDateTime  time.Time `json:"lastSeenDateTime"`
}

// CertificateSearch is one `$search="field:value"` term. Field is one of
// SearchableCertificateFields; Value is compared case-insensitively and
// exactly.
type CertificateSearch struct {
	Field string
	Value string
}

// SSLCertificateService reads certificates.
type SSLCertificateService interface {
	// FindSSLCertificateByID returns a certificate. ENOTFOUND.
	FindSSLCertificateByID(ctx context.Context, id string) (*SSLCertificate, error)

	// SearchSSLCertificates returns a page of the certificates matching the
	// search, ordered by id. EINVALID for an unknown field.
	SearchSSLCertificates(ctx context.Context, search CertificateSearch, filter ListFilter) ([]*SSLCertificate, int, error)

	// FindRelatedHosts returns a page of the hosts a certificate was seen on,
	// ordered by id. ENOTFOUND when the certificate is unknown.
	FindRelatedHosts(ctx context.Context, certificateID string, filter ListFilter) ([]*Host, int, error)

	// FindHostSSLCertificates returns a page of the certificates seen on a
	// host, ordered by id. ENOTFOUND when the host was never observed.
	FindHostSSLCertificates(ctx context.Context, host string, filter ListFilter) ([]*HostSSLCertificate, int, error)

	// FindHostSSLCertificateByID returns one hostSslCertificate. ENOTFOUND.
	FindHostSSLCertificateByID(ctx context.Context, id string) (*HostSSLCertificate, error)
}

// CertificateDigest returns the lowercase hex SHA-1 of a DER certificate,
// or the SHA-1 a certificate description gives (IsDescribedCertificate).
func CertificateDigest(der []byte) string {
	if IsDescribedCertificate(der) {
		if d, err := decodeDescription(der); err == nil {
			return d.SHA1
		}
	}
	sum := sha1.Sum(der)
	return hex.EncodeToString(sum[:])
}

// fingerprintOf returns a lowercase hex digest with colons between bytes.
func fingerprintOf(digest string) string {
	fingerprint := make([]byte, 0, len(digest)*3/2)
	for i := 0; i+1 < len(digest); i += 2 {
		if i > 0 {
			fingerprint = append(fingerprint, ':')
		}
		fingerprint = append(fingerprint, digest[i:i+2]...)
	}
	return string(fingerprint)
}

// DecodeCertificate accepts a certificate as PEM or DER and returns the DER
// of the first certificate; it does not parse the certificate.
func DecodeCertificate(data []byte) ([]byte, error) {
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "-----BEGIN") {
		block, _ := pem.Decode([]byte(trimmed))
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, Errorf(EINVALID, "certificate is PEM but holds no CERTIFICATE block")
		}
		return block.Bytes, nil
	}
	return data, nil
}

var (
	oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidGivenName    = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSurname      = asn1.ObjectIdentifier{2, 5, 4, 4}
)

// ParseCertificate reads the fields of an sslCertificate from DER with
// crypto/x509. First/last seen are left zero: they come from observations.
// A DER that crypto/x509 refuses is an EINVALID error with its reason.
// A certificate described rather than given (IsDescribedCertificate) is
// read from its description.
func ParseCertificate(der []byte) (*SSLCertificate, error) {
	if IsDescribedCertificate(der) {
		return parseDescription(der)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, WrapError(EINVALID, err, "certificate is malformed: %s", err)
	}
	digest := CertificateDigest(der)
	c := &SSLCertificate{
		ID:                 SSLCertificateID(digest),
		SHA1:               digest,
		Fingerprint:        fingerprintOf(digest),
		IssueDateTime:      cert.NotBefore.UTC(),
		ExpirationDateTime: cert.NotAfter.UTC(),
		Issuer:             entityOf(cert.Issuer),
		Subject:            entityOf(cert.Subject),
	}
	if cert.SerialNumber != nil {
		c.SerialNumber = cert.SerialNumber.String()
	}
	names := make([]string, 0, len(cert.DNSNames)+len(cert.IPAddresses))
	for _, n := range cert.DNSNames {
		names = append(names, CleanText(n, 1024))
	}
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) > 0 {
		c.Subject.AlternateNames = names
	}
	if c.Subject.Email == "" && len(cert.EmailAddresses) > 0 {
		c.Subject.Email = CleanText(cert.EmailAddresses[0], 1024)
	}
	return c, nil
}

func entityOf(n pkix.Name) SSLCertificateEntity {
	join := func(v []string) string { return CleanText(strings.Join(v, ", "), 1024) }
	e := SSLCertificateEntity{
		CommonName:           CleanText(n.CommonName, 1024),
		OrganizationName:     join(n.Organization),
		OrganizationUnitName: join(n.OrganizationalUnit),
		SerialNumber:         CleanText(n.SerialNumber, 1024),
		Address: PhysicalAddress{
			City:            join(n.Locality),
			CountryOrRegion: join(n.Country),
			PostalCode:      join(n.PostalCode),
			State:           join(n.Province),
			Street:          join(n.StreetAddress),
		},
	}
	for _, atv := range n.Names {
		s, ok := atv.Value.(string)
		if !ok {
			continue
		}
		switch {
		case atv.Type.Equal(oidEmailAddress):
			e.Email = CleanText(s, 1024)
		case atv.Type.Equal(oidGivenName):
			e.GivenName = CleanText(s, 1024)
		case atv.Type.Equal(oidSurname):
			e.Surname = CleanText(s, 1024)
		}
	}
	return e
}

// SearchableCertificateFields are the fields `$search` accepts on
// sslCertificates (graph-api.md E8), mapped to how a term is indexed.
var SearchableCertificateFields = []string{
	"fingerprint", "name", "serialNumber", "sha1",
	"issuer/alternativeName", "issuer/commonName", "issuer/country", "issuer/emailAddress",
	"issuer/givenName", "issuer/localityName", "issuer/organizationName", "issuer/organizationUnitName",
	"issuer/province", "issuer/serialNumber", "issuer/stateOrProvinceName", "issuer/streetAddress", "issuer/surname",
	"subject/alternativeName", "subject/commonName", "subject/country", "subject/emailAddress",
	"subject/givenName", "subject/localityName", "subject/organizationName", "subject/organizationUnitName",
	"subject/province", "subject/serialNumber", "subject/stateOrProvinceName", "subject/streetAddress", "subject/surname",
}

// IsSearchableCertificateField reports whether field may be used in $search.
func IsSearchableCertificateField(field string) bool {
	for _, f := range SearchableCertificateFields {
		if f == field {
			return true
		}
	}
	return false
}

// CertificateSearchTerms returns the (field, lower-cased value) pairs under
// which a certificate is found by $search. Stores index exactly these, so
// every store answers a search alike. "name" matches the subject common name
// and every subject alternative name.
func CertificateSearchTerms(c *SSLCertificate) []CertificateSearch {
	var terms []CertificateSearch
	add := func(field, value string) {
		if value != "" {
			terms = append(terms, CertificateSearch{Field: field, Value: strings.ToLower(value)})
		}
	}
	add("fingerprint", c.Fingerprint)
	add("sha1", c.SHA1)
	add("serialNumber", c.SerialNumber)
	add("name", c.Subject.CommonName)
	for _, n := range c.Subject.AlternateNames {
		add("name", n)
	}
	for _, side := range []struct {
		prefix string
		e      *SSLCertificateEntity
	}{{"issuer/", &c.Issuer}, {"subject/", &c.Subject}} {
		e := side.e
		for _, n := range e.AlternateNames {
			add(side.prefix+"alternativeName", n)
		}
		add(side.prefix+"commonName", e.CommonName)
		add(side.prefix+"country", e.Address.CountryOrRegion)
		add(side.prefix+"emailAddress", e.Email)
		add(side.prefix+"givenName", e.GivenName)
		add(side.prefix+"localityName", e.Address.City)
		add(side.prefix+"organizationName", e.OrganizationName)
		add(side.prefix+"organizationUnitName", e.OrganizationUnitName)
		add(side.prefix+"province", e.Address.State)
		add(side.prefix+"stateOrProvinceName", e.Address.State)
		add(side.prefix+"serialNumber", e.SerialNumber)
		add(side.prefix+"streetAddress", e.Address.Street)
		add(side.prefix+"surname", e.Surname)
	}
	// A field can repeat a value (province and stateOrProvinceName are one
	// attribute); stores key terms uniquely, so drop exact repeats.
	seen := make(map[CertificateSearch]bool, len(terms))
	out := terms[:0]
	for _, t := range terms {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// CertificateField is one value of a certificate under its Graph property
// path ("subject/commonName", "issuer/address/city",
// "subject/alternateNames"), as sent: what $filter compares.
type CertificateField struct {
	Path  string
	Value string
}

// CertificateFieldPaths are the single-valued string paths of an
// sslCertificate that stores keep for $filter; CertificateNamePaths the
// collection-valued ones.
var (
	CertificateFieldPaths = certificateFieldPaths()
	CertificateNamePaths  = []string{"subject/alternateNames", "issuer/alternateNames"}
)

func certificateFieldPaths() []string {
	paths := []string{"fingerprint", "serialNumber"}
	for _, side := range []string{"subject/", "issuer/"} {
		for _, p := range entityFieldNames {
			paths = append(paths, side+p)
		}
	}
	return paths
}

var entityFieldNames = []string{"commonName", "email", "givenName", "organizationName", "organizationUnitName",
	"serialNumber", "surname", "address/city", "address/countryOrRegion", "address/postalCode", "address/state", "address/street"}

// CertificateFields returns the non-empty string values of c under their
// paths (CertificateFieldPaths and CertificateNamePaths), in that order.
// Empty strings are null and have no field.
func CertificateFields(c *SSLCertificate) []CertificateField {
	var out []CertificateField
	add := func(path, value string) {
		if value != "" {
			out = append(out, CertificateField{Path: path, Value: value})
		}
	}
	add("fingerprint", c.Fingerprint)
	add("serialNumber", c.SerialNumber)
	for _, side := range []struct {
		prefix string
		e      *SSLCertificateEntity
	}{{"subject/", &c.Subject}, {"issuer/", &c.Issuer}} {
		e := side.e
		for i, v := range []string{e.CommonName, e.Email, e.GivenName, e.OrganizationName, e.OrganizationUnitName,
			e.SerialNumber, e.Surname, e.Address.City, e.Address.CountryOrRegion, e.Address.PostalCode, e.Address.State, e.Address.Street} {
			add(side.prefix+entityFieldNames[i], v)
		}
	}
	for _, side := range []struct {
		path  string
		names []string
	}{{"subject/alternateNames", c.Subject.AlternateNames}, {"issuer/alternateNames", c.Issuer.AlternateNames}} {
		seen := map[string]bool{}
		for _, n := range side.names {
			if !seen[n] {
				seen[n] = true
				add(side.path, n)
			}
		}
	}
	return out
}
