// SPDX-License-Identifier: Apache-2.0

// Package merge holds the pure rules of intelligence.md: how observations
// become hostPort, banner, component, certificate and host records. It does
// no I/O. Every rule is a min, a max, a count of distinct instants or a set
// union over observations, so a batch reduces to a Delta whose parts combine
// commutatively with what a store already holds; stores apply a Delta with
// upserts and the records come out the same whatever the order, batching or
// repetition of the input.
//
// This package is the one home of those rules; where to find each:
//
//   - status of a port: status.go (StatusRank, StatusWins)
//   - mostRecentSslCertificate: certificate.go (CertificateWins)
//   - banner grouping, normalisation and digest: banner.go
//   - isRecent: recent.go
//   - ordering of ports, banners and services: order.go
//   - hostname aliases: alias.go (PortOfHost)
//   - the not-found error of each entity: notfound.go
//   - first/last seen, timesObserved, lastScan: Delta.Add and PortDelta.Merge
//
// A store that restates a rule in SQL (to apply it inside an upsert) is
// named in the rule's doc comment, and storetest.RunRules proves the two
// agree. Only PortOfHost reads anything, and only through the
// portolan.HostPortService it is given.
package merge

import (
	"bytes"
	"time"

	"portolan"
)

// PortKey identifies a hostPort record.
type PortKey struct {
	Host     string
	Protocol portolan.Protocol
	Port     int
}

// ID is the record's Graph id.
func (k PortKey) ID() string { return portolan.HostPortID(k.Host, k.Protocol, k.Port) }

// BannerKey groups banners (intelligence.md §4): the text after
// NormalizeBanner and the scan protocol. The stores key it by Digest.
type BannerKey struct {
	Text         string
	ScanProtocol string
}

// AliasKey is a hostname a scanner associated with an address.
type AliasKey struct {
	Name    string
	Address string
}

// Delta is what a set of observations contributes to the records.
type Delta struct {
	Ports map[PortKey]*PortDelta
	// Hosts are the hosts observed, with the span of their open observations.
	Hosts map[string]*portolan.Span
	// Aliases are hostname/address pairs, with the span of the open
	// observations that named them.
	Aliases map[AliasKey]*portolan.Span
	// Certificates are the certificates presented, parsed, by SHA-1.
	Certificates map[string]*Certificate
}

// Certificate is a parsed certificate with its DER, or with its
// description when no observation of the batch gave the DER.
type Certificate struct {
	DER    []byte
	Parsed *portolan.SSLCertificate
}

// CertificateReplaces reports whether a certificate's bytes replace the
// bytes held for the same SHA-1: its DER replaces a description of it
// (portolan.CertificateDescription, what httpx writes), and of two
// descriptions the one whose encoding sorts last is kept, so that the
// result does not depend on the order of the observations. The stores
// restate it (internal/sqlite/observation.go applyCertificates,
// internal/postgres/observation.go mergeCertificates).
func CertificateReplaces(next, held []byte) bool {
	if !portolan.IsDescribedCertificate(held) {
		return false
	}
	return !portolan.IsDescribedCertificate(next) || bytes.Compare(next, held) > 0
}

// Described reports whether c holds a description rather than a DER.
func (c *Certificate) Described() bool { return portolan.IsDescribedCertificate(c.DER) }

// Expiry is the expirationDateTime of the certificate whose SHA-1 is sha,
// zero when d holds none. The stores keep it next to a record's
// mostRecentSslCertificate, so that an expiry filter or order reads one
// index.
func (d *Delta) Expiry(sha string) time.Time {
	if c := d.Certificates[sha]; c != nil {
		return c.Parsed.ExpirationDateTime
	}
	return time.Time{}
}

// PortDelta is what observations contribute to one hostPort record.
type PortDelta struct {
	// Open spans the seenAt of open observations; zero when there were none.
	Open portolan.Span
	// OpenInstants are the distinct seenAt (Unix seconds) of open observations.
	OpenInstants map[int64]struct{}
	// LastScan is the greatest scannedAt of any observation.
	LastScan time.Time
	// StatusAt and StatusRank are the status candidate: greatest
	// (scannedAt, rank), see StatusWins.
	StatusAt   time.Time
	StatusRank int
	// CertSeen and CertSHA1 are the mostRecentSslCertificate candidate:
	// greatest (seenAt, sha1) among open observations with a certificate,
	// see CertificateWins.
	CertSeen time.Time
	CertSHA1 string
	// Banners, Components and CertificatePorts are over open observations.
	Banners    map[BannerKey]*BannerDelta
	Components map[portolan.Component]*portolan.Span
	// Certificates spans, per SHA-1, when this port presented it.
	Certificates map[string]*portolan.Span
}

// BannerDelta is what observations contribute to one banner of a port.
type BannerDelta struct {
	Span     portolan.Span
	Instants map[int64]struct{}
}

// NewDelta returns an empty Delta.
func NewDelta() *Delta {
	return &Delta{
		Ports:        make(map[PortKey]*PortDelta),
		Hosts:        make(map[string]*portolan.Span),
		Aliases:      make(map[AliasKey]*portolan.Span),
		Certificates: make(map[string]*Certificate),
	}
}

// Add folds one normalised observation into d. recognize names its
// components. A certificate that does not parse is ignored here (the
// ingest pipeline rejects it before, with its reason).
func (d *Delta) Add(o *portolan.Observation, recognize portolan.Recognizer) {
	key := PortKey{Host: o.Host, Protocol: o.Protocol, Port: o.Port}
	p := d.Ports[key]
	if p == nil {
		p = &PortDelta{}
		d.Ports[key] = p
	}
	host := d.Hosts[o.Host]
	if host == nil {
		host = &portolan.Span{}
		d.Hosts[o.Host] = host
	}
	if o.ScannedAt.After(p.LastScan) {
		p.LastScan = o.ScannedAt
	}
	if rank := StatusRank(o.Status); StatusWins(o.ScannedAt, rank, p.StatusAt, p.StatusRank) {
		p.StatusAt, p.StatusRank = o.ScannedAt, rank
	}
	for _, name := range o.Hostnames {
		a := d.Aliases[AliasKey{Name: name, Address: o.Host}]
		if a == nil {
			a = &portolan.Span{}
			d.Aliases[AliasKey{Name: name, Address: o.Host}] = a
		}
		if o.Status == portolan.StatusOpen {
			a.Extend(o.SeenAt)
		}
	}
	if o.Status != portolan.StatusOpen {
		return
	}
	seen := o.SeenAt
	host.Extend(seen)
	p.Open.Extend(seen)
	if p.OpenInstants == nil {
		p.OpenInstants = make(map[int64]struct{}, 1)
	}
	p.OpenInstants[seen.Unix()] = struct{}{}

	if o.Banner != "" {
		bk := BannerKey{Text: NormalizeBanner(o.Banner), ScanProtocol: o.ScanProtocol}
		if bk.Text != "" {
			if p.Banners == nil {
				p.Banners = make(map[BannerKey]*BannerDelta, 1)
			}
			b := p.Banners[bk]
			if b == nil {
				b = &BannerDelta{Instants: make(map[int64]struct{}, 1)}
				p.Banners[bk] = b
			}
			b.Span.Extend(seen)
			b.Instants[seen.Unix()] = struct{}{}
		}
	}
	if recognize == nil {
		recognize = portolan.ScannerComponents{}
	}
	for _, c := range recognize.Recognize(o) {
		if p.Components == nil {
			p.Components = make(map[portolan.Component]*portolan.Span, 2)
		}
		s := p.Components[c]
		if s == nil {
			s = &portolan.Span{}
			p.Components[c] = s
		}
		s.Extend(seen)
	}
	if len(o.Certificate) > 0 {
		sha := portolan.CertificateDigest(o.Certificate)
		cert := d.Certificates[sha]
		if cert == nil || CertificateReplaces(o.Certificate, cert.DER) {
			parsed, err := portolan.ParseCertificate(o.Certificate)
			if err != nil {
				return
			}
			cert = &Certificate{DER: o.Certificate, Parsed: parsed}
			d.Certificates[sha] = cert
		}
		if CertificateWins(seen, sha, p.CertSeen, p.CertSHA1) {
			p.CertSeen, p.CertSHA1 = seen, sha
		}
		if p.Certificates == nil {
			p.Certificates = make(map[string]*portolan.Span, 1)
		}
		s := p.Certificates[sha]
		if s == nil {
			s = &portolan.Span{}
			p.Certificates[sha] = s
		}
		s.Extend(seen)
	}
}

// Finish completes a hostPort assembled by a store from its parts: it sorts
// banners and services, computes isRecent and fills the component ids, so
// that every store renders a record identically.
func Finish(hp *portolan.HostPort) {
	SortBanners(hp.Banners)
	var newestBanner time.Time
	for _, b := range hp.Banners {
		if b.LastSeenDateTime.After(newestBanner) {
			newestBanner = b.LastSeenDateTime
		}
	}
	for i := range hp.Services {
		s := &hp.Services[i]
		s.IsRecent = IsRecent(s.LastSeenDateTime, newestBanner, hp.LastScanDateTime)
		s.ComponentID = portolan.HostComponentID(hp.Host, s.Component)
	}
	SortServices(hp.Services)
	if hp.Banners == nil {
		hp.Banners = []portolan.HostPortBanner{}
	}
	if hp.Services == nil {
		hp.Services = []portolan.HostPortComponent{}
	}
}
