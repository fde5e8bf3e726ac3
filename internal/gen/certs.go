// SPDX-License-Identifier: Apache-2.0

package gen

import (
	"crypto/ed25519"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"
)

// certificate is one certificate of the pool: its DER and what nmap's
// ssl-cert script prints about it.
type certificate struct {
	der                 []byte
	sha1                string
	subject, issuer     pkix.Name
	dnsNames            []string
	notBefore, notAfter time.Time
}

// issuers sign the pool's certificates; the last entry means self-signed.
var issuers = []pkix.Name{
	{CommonName: "R11", Organization: []string{"Let's Encrypt"}, Country: []string{"US"}},
	{CommonName: "R10", Organization: []string{"Let's Encrypt"}, Country: []string{"US"}},
	{CommonName: "E5", Organization: []string{"Let's Encrypt"}, Country: []string{"US"}},
	{CommonName: "GeoTrust TLS RSA CA G1", Organization: []string{"DigiCert Inc"}, OrganizationalUnit: []string{"www.digicert.com"}, Country: []string{"US"}},
	{CommonName: "Sectigo RSA Domain Validation Secure Server CA", Organization: []string{"Sectigo Limited"}, Locality: []string{"Salford"}, Province: []string{"Greater Manchester"}, Country: []string{"GB"}},
	{}, // self-signed
}

// Salts that keep the random streams of plans, scans and certificates apart.
const (
	saltPlan uint64 = 0x5ca1ab1e + iota
	saltScan
	saltCert
	saltIssuer
	saltAddr
)

// mix is SplitMix64's finaliser over two words: a cheap, well-spread hash
// that makes every part of the output a function of the seed and indices.
func mix(a, b uint64) uint64 {
	z := (a * 0x9e3779b97f4a7c15) ^ (b + 0x632be59bd9b4e5b)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// keySeed derives an Ed25519 seed from two words. Ed25519 is used because
// its keys come from a seed and its signatures are deterministic, so the
// certificates, like everything else, depend on the seed alone (ECDSA and
// RSA draw from crypto/rand whatever reader is passed since Go 1.26).
func keySeed(a, b uint64) []byte {
	seed := make([]byte, ed25519.SeedSize)
	for i := 0; i < len(seed); i += 8 {
		binary.LittleEndian.PutUint64(seed[i:], mix(a, b+uint64(i)))
	}
	return seed
}

// sctListOID is the certificate transparency extension; its bytes make the
// pool's certificates the size of real ones (about a kilobyte), which
// matters for the size of files and stores.
var sctListOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}

// cert returns certificate k of the pool, creating it on first use.
func (g *Generator) cert(k int) *certificate {
	if c := g.certs[k]; c != nil {
		return c
	}
	h := mix(g.cfg.Seed^saltCert, uint64(k))
	which := int(h % 10)
	switch {
	case which < 6:
		which %= 3 // Let's Encrypt issues most certificates on the internet
	case which < 8:
		which = 3 + which%2
	default:
		which = len(issuers) - 1
	}
	tld := []string{"com", "net", "org", "io", "de"}[h>>8%5]
	name := fmt.Sprintf("%s-%d.example.%s", []string{"shop", "mail", "portal", "api", "vpn", "cloud", "app"}[h>>16%7], k, tld)
	subject := pkix.Name{CommonName: name}
	if which >= 3 {
		subject.Organization = []string{fmt.Sprintf("Example Networks %d", k)}
		subject.Country = []string{"US"}
	}
	// Validity: 90 days for Let's Encrypt, a year otherwise, around Start.
	life := 90 * 24 * time.Hour
	if which >= 3 {
		life = 365 * 24 * time.Hour
	}
	notBefore := g.cfg.Start.Add(-time.Duration(h>>24%uint64(life/time.Hour)) * time.Hour)
	key := ed25519.NewKeyFromSeed(keySeed(g.cfg.Seed^saltCert, uint64(k)))
	sct := make([]byte, 238)
	for i := 0; i+8 <= len(sct); i += 8 {
		binary.LittleEndian.PutUint64(sct[i:], mix(h, uint64(i)))
	}
	sctExt, _ := asn1.Marshal(sct)
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetUint64(h | 1<<62),
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(life),
		DNSNames:              []string{name, "www." + name},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		OCSPServer:            []string{"http://ocsp.example-ca.test"},
		IssuingCertificateURL: []string{"http://ca.example-ca.test/issuer.der"},
		CRLDistributionPoints: []string{"http://crl.example-ca.test/ca.crl"},
		ExtraExtensions:       []pkix.Extension{{Id: sctListOID, Value: sctExt}},
	}
	parent, signer := tmpl, key
	if which != len(issuers)-1 {
		ikey := g.issuerKey(which)
		parent = &x509.Certificate{Subject: issuers[which], PublicKey: ikey.Public()}
		signer = ikey
	}
	der, err := x509.CreateCertificate(nil, tmpl, parent, key.Public(), signer)
	if err != nil {
		panic("gen: create certificate: " + err.Error()) // the template is ours: a bug
	}
	sum := sha1.Sum(der)
	c := &certificate{der: der, sha1: hex.EncodeToString(sum[:]), subject: subject, issuer: parent.Subject,
		dnsNames: tmpl.DNSNames, notBefore: tmpl.NotBefore, notAfter: tmpl.NotAfter}
	g.certs[k] = c
	return c
}

// issuerKey is the signing key of issuers[i].
func (g *Generator) issuerKey(i int) ed25519.PrivateKey {
	if g.issuerKeys == nil {
		g.issuerKeys = make(map[int]ed25519.PrivateKey)
	}
	if k, ok := g.issuerKeys[i]; ok {
		return k
	}
	k := ed25519.NewKeyFromSeed(keySeed(g.cfg.Seed^saltIssuer, uint64(i)))
	g.issuerKeys[i] = k
	return k
}
