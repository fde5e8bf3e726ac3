// SPDX-License-Identifier: Apache-2.0

package portolan

import (
	"bytes"
	"encoding/json"
	"io"
	"math/big"
	"strings"
	"time"
)

// CertificateDescription is what a scanner that does not keep a
// certificate's DER writes of it: httpx's TLS data (tlsx's response) gives
// the leaf's digests and some of its fields, never its bytes. Each field is
// the value the DER would give (ParseCertificate), or empty when the scanner
// does not say it exactly, so that a description says a subset of what the
// certificate says: when the DER of the same certificate arrives, from this
// or another scanner, it replaces the description and adds to it, never
// contradicts it.
type CertificateDescription struct {
	SHA1                  string    `json:"sha1"`         // lowercase hex
	SerialNumber          string    `json:"serialNumber"` // decimal
	NotBefore             time.Time `json:"notBefore"`
	NotAfter              time.Time `json:"notAfter"`
	IssuerCommonName      string    `json:"issuerCommonName,omitempty"`
	IssuerOrganization    string    `json:"issuerOrganization,omitempty"` // the organizations joined with ", "
	SubjectCommonName     string    `json:"subjectCommonName,omitempty"`
	SubjectOrganization   string    `json:"subjectOrganization,omitempty"`
	SubjectAlternateNames []string  `json:"subjectAlternateNames,omitempty"`
}

// describedPrefix begins the encoded form of a description. A DER
// certificate begins with a SEQUENCE (0x30), never with this.
const describedPrefix = `{"describedCertificate":`

// IsDescribedCertificate reports whether b, an Observation.Certificate, is
// a CertificateDescription's encoded form rather than a DER.
func IsDescribedCertificate(b []byte) bool { return bytes.HasPrefix(b, []byte(describedPrefix)) }

// Encode returns the form in which a description travels where a DER does:
// in Observation.Certificate, the observation log and a store's certificate
// row. The form is canonical (one description, one encoding), so that an
// observation's identity does not depend on how a reader built it. An
// EINVALID error says what the description lacks.
func (d CertificateDescription) Encode() ([]byte, error) {
	d.SHA1 = strings.ToLower(d.SHA1)
	if err := d.check(); err != nil {
		return nil, err
	}
	d.NotBefore, d.NotAfter = d.NotBefore.UTC().Truncate(time.Second), d.NotAfter.UTC().Truncate(time.Second)
	d.IssuerCommonName = CleanText(d.IssuerCommonName, 1024)
	d.IssuerOrganization = CleanText(d.IssuerOrganization, 1024)
	d.SubjectCommonName = CleanText(d.SubjectCommonName, 1024)
	d.SubjectOrganization = CleanText(d.SubjectOrganization, 1024)
	names := make([]string, len(d.SubjectAlternateNames)) // the caller's slice stays as it was
	for i, n := range d.SubjectAlternateNames {
		names[i] = CleanText(n, 1024)
	}
	d.SubjectAlternateNames = names
	body, err := json.Marshal(d)
	if err != nil {
		return nil, Errorf(EINTERNAL, "encode certificate description: %v", err)
	}
	out := make([]byte, 0, len(describedPrefix)+len(body)+1)
	out = append(append(append(out, describedPrefix...), body...), '}')
	return out, nil
}

// check says what makes a description unusable: a SHA-1 that is not 40
// lowercase hex digits, a serial number that is not decimal, no validity.
func (d *CertificateDescription) check() error {
	if len(d.SHA1) != 40 || strings.Trim(d.SHA1, "0123456789abcdef") != "" {
		return Errorf(EINVALID, "certificate description: sha1 %q is not 40 hex digits", d.SHA1)
	}
	if d.SerialNumber != "" {
		if _, ok := new(big.Int).SetString(d.SerialNumber, 10); !ok {
			return Errorf(EINVALID, "certificate description: serial number %q is not decimal", d.SerialNumber)
		}
	}
	if d.NotBefore.IsZero() || d.NotAfter.IsZero() {
		return Errorf(EINVALID, "certificate description: the validity (not before, not after) is missing")
	}
	return nil
}

// decodeDescription reads an encoded description.
func decodeDescription(b []byte) (*CertificateDescription, error) {
	body, ok := bytes.CutPrefix(b, []byte(describedPrefix))
	if !ok || len(body) == 0 || body[len(body)-1] != '}' {
		return nil, Errorf(EINVALID, "certificate description is malformed")
	}
	var d CertificateDescription
	dec := json.NewDecoder(bytes.NewReader(body[:len(body)-1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, Errorf(EINVALID, "certificate description is malformed")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, Errorf(EINVALID, "certificate description is malformed")
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	return &d, nil
}

// parseDescription is ParseCertificate for a description.
func parseDescription(b []byte) (*SSLCertificate, error) {
	d, err := decodeDescription(b)
	if err != nil {
		return nil, err
	}
	c := &SSLCertificate{
		ID:                 SSLCertificateID(d.SHA1),
		SHA1:               d.SHA1,
		Fingerprint:        fingerprintOf(d.SHA1),
		SerialNumber:       d.SerialNumber,
		IssueDateTime:      d.NotBefore.UTC(),
		ExpirationDateTime: d.NotAfter.UTC(),
		Issuer:             SSLCertificateEntity{CommonName: d.IssuerCommonName, OrganizationName: d.IssuerOrganization},
		Subject:            SSLCertificateEntity{CommonName: d.SubjectCommonName, OrganizationName: d.SubjectOrganization},
	}
	if len(d.SubjectAlternateNames) > 0 {
		c.Subject.AlternateNames = d.SubjectAlternateNames
	}
	return c, nil
}

// SerialFromHex returns the decimal serial number of a hexadecimal one, as
// scanners print it ("23:21:92:C9", "232192c9"), or "" when it is not one.
func SerialFromHex(hexSerial string) string {
	digits := strings.ReplaceAll(strings.ReplaceAll(hexSerial, ":", ""), " ", "")
	n, ok := new(big.Int).SetString(digits, 16)
	if !ok || digits == "" {
		return ""
	}
	return n.String()
}
