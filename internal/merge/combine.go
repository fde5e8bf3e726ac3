// SPDX-License-Identifier: Apache-2.0

package merge

import "portolan"

// Merge folds o into p. It is commutative and associative, which is what
// makes ingest order irrelevant. The embedded store merges a hostPort's row
// with the same rules in Go (internal/sqlite/observation.go mergePortRow);
// the stores restate the rest column by column in their upserts
// (internal/sqlite/observation.go upsertBanners,
// internal/postgres/observation.go mergePorts and mergeBanners): min and
// max of the spans, union of the instant sets, and
// StatusWins and CertificateWins for the candidates, and the union of the
// components without those another makes redundant
// (portolan.Component.RedundantBeside; the stores' dropRedundantComponents).
func (p *PortDelta) Merge(o *PortDelta) {
	p.Open.Union(o.Open)
	if len(o.OpenInstants) > 0 && p.OpenInstants == nil {
		p.OpenInstants = make(map[int64]struct{}, len(o.OpenInstants))
	}
	for t := range o.OpenInstants {
		p.OpenInstants[t] = struct{}{}
	}
	if o.LastScan.After(p.LastScan) {
		p.LastScan = o.LastScan
	}
	if StatusWins(o.StatusAt, o.StatusRank, p.StatusAt, p.StatusRank) {
		p.StatusAt, p.StatusRank = o.StatusAt, o.StatusRank
	}
	if CertificateWins(o.CertSeen, o.CertSHA1, p.CertSeen, p.CertSHA1) {
		p.CertSeen, p.CertSHA1 = o.CertSeen, o.CertSHA1
	}
	for k, b := range o.Banners {
		if p.Banners == nil {
			p.Banners = make(map[BannerKey]*BannerDelta)
		}
		mine := p.Banners[k]
		if mine == nil {
			mine = &BannerDelta{Instants: make(map[int64]struct{}, len(b.Instants))}
			p.Banners[k] = mine
		}
		mine.Span.Union(b.Span)
		for t := range b.Instants {
			mine.Instants[t] = struct{}{}
		}
	}
	p.Components = mergeSpans(p.Components, o.Components)
	portolan.DropRedundant(p.Components)
	p.Certificates = mergeSpans(p.Certificates, o.Certificates)
}

func mergeSpans[K comparable](into, from map[K]*portolan.Span) map[K]*portolan.Span {
	for k, s := range from {
		if into == nil {
			into = make(map[K]*portolan.Span, len(from))
		}
		mine := into[k]
		if mine == nil {
			mine = &portolan.Span{}
			into[k] = mine
		}
		mine.Union(*s)
	}
	return into
}

// IsRecord reports whether the key has a hostPort record: only an open
// observation creates one (intelligence.md §3).
func (p *PortDelta) IsRecord() bool { return !p.Open.IsZero() }

// HostPort renders the record of key from its accumulated state.
func (p *PortDelta) HostPort(key PortKey) *portolan.HostPort {
	hp := &portolan.HostPort{
		ID:                         key.ID(),
		Port:                       key.Port,
		Protocol:                   key.Protocol,
		Host:                       key.Host,
		FirstSeenDateTime:          p.Open.First,
		LastSeenDateTime:           p.Open.Last,
		LastScanDateTime:           p.LastScan,
		TimesObserved:              len(p.OpenInstants),
		Status:                     StatusOfRank(p.StatusRank),
		MostRecentSSLCertificateID: "",
	}
	if p.CertSHA1 != "" {
		hp.MostRecentSSLCertificateID = portolan.SSLCertificateID(p.CertSHA1)
	}
	for k, b := range p.Banners {
		hp.Banners = append(hp.Banners, portolan.HostPortBanner{
			Banner: k.Text, ScanProtocol: k.ScanProtocol,
			FirstSeenDateTime: b.Span.First, LastSeenDateTime: b.Span.Last,
			TimesObserved: len(b.Instants),
		})
	}
	for c, s := range p.Components {
		hp.Services = append(hp.Services, portolan.HostPortComponent{
			Component: c, FirstSeenDateTime: s.First, LastSeenDateTime: s.Last,
		})
	}
	Finish(hp)
	return hp
}
