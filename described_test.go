// SPDX-License-Identifier: Apache-2.0

package portolan_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"portolan"
)

// describedTestCertificate returns a DER certificate and its description as
// httpx writes it (tlsx's fields: no IP names, no address fields).
func describedTestCertificate(t testing.TB) ([]byte, portolan.CertificateDescription) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	notBefore := time.Date(2026, 12, 4, 16, 59, 1, 0, time.UTC)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x232192c9cf34),
		Subject:      pkix.Name{CommonName: "portolan-lab.test", Organization: []string{"Portolan Lab"}, Country: []string{"FR"}},
		NotBefore:    notBefore, NotAfter: notBefore.AddDate(10, 0, 0),
		DNSNames:    []string{"portolan-lab.test"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	tmpl.Issuer = tmpl.Subject
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der, portolan.CertificateDescription{
		SHA1:                  strings.ToUpper(portolan.CertificateDigest(der)), // tlsx writes lowercase; either is read
		SerialNumber:          portolan.SerialFromHex("23:21:92:C9:CF:34"),
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(10, 0, 0),
		IssuerCommonName:      "portolan-lab.test",
		IssuerOrganization:    "Portolan Lab",
		SubjectCommonName:     "portolan-lab.test",
		SubjectOrganization:   "Portolan Lab",
		SubjectAlternateNames: []string{"portolan-lab.test"},
	}
}

// TestDescribedCertificate checks that a description travels as a
// certificate does: its digest is the SHA-1 it gives, it parses into the
// fields it says, and what it says is a subset of what the DER says, so
// that the DER replacing it never takes back a search term.
func TestDescribedCertificate(t *testing.T) {
	der, d := describedTestCertificate(t)
	enc, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !portolan.IsDescribedCertificate(enc) || portolan.IsDescribedCertificate(der) {
		t.Fatal("IsDescribedCertificate confuses a description and a DER")
	}
	if again, _ := d.Encode(); string(again) != string(enc) {
		t.Errorf("Encode is not canonical:\n%s\n%s", enc, again)
	}
	if got, want := portolan.CertificateDigest(enc), portolan.CertificateDigest(der); got != want {
		t.Errorf("CertificateDigest(description) = %s, want the DER's %s", got, want)
	}
	described, err := portolan.ParseCertificate(enc)
	if err != nil {
		t.Fatal(err)
	}
	full, err := portolan.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if described.ID != full.ID || described.Fingerprint != full.Fingerprint || described.SerialNumber != full.SerialNumber ||
		!described.ExpirationDateTime.Equal(full.ExpirationDateTime) || !described.IssueDateTime.Equal(full.IssueDateTime) {
		t.Errorf("description %+v\ndisagrees with the DER %+v", described, full)
	}
	fullTerms := portolan.CertificateSearchTerms(full)
	for _, term := range portolan.CertificateSearchTerms(described) {
		if !slices.Contains(fullTerms, term) {
			t.Errorf("the description's term %v is not the DER's", term)
		}
	}
	fullFields := portolan.CertificateFields(full)
	for _, f := range portolan.CertificateFields(described) {
		if !slices.Contains(fullFields, f) {
			t.Errorf("the description's field %v is not the DER's", f)
		}
	}
}

func TestDescribedCertificateRefusals(t *testing.T) {
	_, good := describedTestCertificate(t)
	for name, mutate := range map[string]func(*portolan.CertificateDescription){
		"short sha1":      func(d *portolan.CertificateDescription) { d.SHA1 = "abc" },
		"sha1 not hex":    func(d *portolan.CertificateDescription) { d.SHA1 = strings.Repeat("g", 40) },
		"serial not dec":  func(d *portolan.CertificateDescription) { d.SerialNumber = "23:21" },
		"no expiry":       func(d *portolan.CertificateDescription) { d.NotAfter = time.Time{} },
		"no start either": func(d *portolan.CertificateDescription) { d.NotBefore = time.Time{} },
	} {
		d := good
		mutate(&d)
		if _, err := d.Encode(); portolan.ErrorCode(err) != portolan.EINVALID {
			t.Errorf("%s: Encode error %v, want EINVALID", name, err)
		}
	}
	enc, _ := good.Encode()
	for name, b := range map[string]string{
		"cut":           string(enc[:len(enc)-5]),
		"unknown field": strings.Replace(string(enc), `"sha1"`, `"sha256":"x","sha1"`, 1),
		"trailing":      string(enc) + "}",
	} {
		if _, err := portolan.ParseCertificate([]byte(b)); portolan.ErrorCode(err) != portolan.EINVALID {
			t.Errorf("%s: ParseCertificate error %v, want EINVALID", name, err)
		}
	}
	if got := portolan.SerialFromHex("23:21:92:C9"); got != "589402825" {
		t.Errorf("SerialFromHex = %q", got)
	}
	if got := portolan.SerialFromHex("not hex"); got != "" {
		t.Errorf("SerialFromHex(not hex) = %q, want empty", got)
	}
}

// FuzzParseCertificate holds the certificate parser, DER or description,
// to its contract: an EINVALID error or a certificate whose SHA-1 is the
// digest CertificateDigest gives, never a panic.
func FuzzParseCertificate(f *testing.F) {
	der, d := describedTestCertificate(f)
	enc, err := d.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add(der)
	f.Add([]byte(`{"describedCertificate":{"sha1":"` + strings.Repeat("a", 40) + `","serialNumber":"1","notBefore":"2026-01-01T00:00:00Z","notAfter":"2027-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"describedCertificate":`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := portolan.ParseCertificate(b)
		if err != nil {
			if portolan.ErrorCode(err) != portolan.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if got := portolan.CertificateDigest(b); got != c.SHA1 || c.ID != portolan.SSLCertificateID(got) {
			t.Fatalf("digest %s, parsed sha1 %s, id %s", got, c.SHA1, c.ID)
		}
	})
}
