// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"sort"
	"strings"
	"sync"

	"portolan"
	"portolan/internal/merge"
)

// MemoryStore is a portolan.Store held in memory that runs the incremental
// merge of internal/merge (Delta, PortDelta.Merge) without a database. It
// lives in the test tree because nothing in production needs it: it is the
// store of handler tests and the suite's check that the merge itself is
// order-independent. It is not an oracle of the rules: it runs the same
// merge code as the real stores, so the suite compares every store (this
// one included) with the naive reference of internal/storetest/naive.
type MemoryStore struct {
	recognize portolan.Recognizer

	mu      sync.RWMutex
	log     []*portolan.Observation
	seen    map[[16]byte]struct{}
	ports   map[merge.PortKey]*merge.PortDelta
	hosts   map[string]*portolan.Span
	aliases map[merge.AliasKey]*portolan.Span
	certs   map[string]*merge.Certificate
}

var _ portolan.Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store that recognises components with r
// (nil: only the scanner's).
func NewMemoryStore(r portolan.Recognizer) *MemoryStore {
	s := &MemoryStore{recognize: r, seen: make(map[[16]byte]struct{})}
	s.reset()
	return s
}

func (s *MemoryStore) reset() {
	s.ports = make(map[merge.PortKey]*merge.PortDelta)
	s.hosts = make(map[string]*portolan.Span)
	s.aliases = make(map[merge.AliasKey]*portolan.Span)
	s.certs = make(map[string]*merge.Certificate)
}

// Close does nothing.
func (s *MemoryStore) Close() error { return nil }

// ImportObservations implements portolan.ObservationService.
func (s *MemoryStore) ImportObservations(ctx context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	res := portolan.ImportResult{Observations: len(batch)}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := merge.NewDelta()
	for _, o := range batch {
		id := o.Identity()
		if _, dup := s.seen[id]; dup {
			res.Duplicates++
			continue
		}
		s.seen[id] = struct{}{}
		copied := *o
		s.log = append(s.log, &copied)
		d.Add(&copied, s.recognize)
	}
	created, updated := s.apply(d)
	res.Created, res.Updated = created, updated
	return res, nil
}

// apply merges d into the state and counts created and updated records.
func (s *MemoryStore) apply(d *merge.Delta) (created, updated int) {
	for k, pd := range d.Ports {
		cur := s.ports[k]
		if cur == nil {
			cur = &merge.PortDelta{}
			s.ports[k] = cur
		}
		existed := cur.IsRecord()
		cur.Merge(pd)
		switch {
		case existed:
			updated++
		case cur.IsRecord():
			created++
		}
	}
	s.hosts = mergeSpans(s.hosts, d.Hosts)
	s.aliases = mergeSpans(s.aliases, d.Aliases)
	for sha, c := range d.Certificates {
		if held := s.certs[sha]; held == nil || merge.CertificateReplaces(c.DER, held.DER) {
			s.certs[sha] = c
		}
	}
	return created, updated
}

// Rebuild implements portolan.ObservationService.
func (s *MemoryStore) Rebuild(ctx context.Context, progress func(int)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
	d := merge.NewDelta()
	for i, o := range s.log {
		d.Add(o, s.recognize)
		if progress != nil && (i+1)%10000 == 0 {
			progress(i + 1)
		}
	}
	s.apply(d)
	if progress != nil {
		progress(len(s.log))
	}
	return nil
}

// hostMembers returns the host ids whose records a host id covers: itself
// and, for a name, every address it was seen with. ok is false when the host
// was never observed.
func (s *MemoryStore) hostMembers(id string) (members []string, ok bool) {
	_, ok = s.hosts[id]
	members = []string{id}
	for a := range s.aliases {
		if a.Name == id {
			ok = true
			members = append(members, a.Address)
		}
	}
	return members, ok
}

// FindHostPorts implements portolan.HostPortService.
func (s *MemoryStore) FindHostPorts(ctx context.Context, f portolan.HostPortFilter) ([]*portolan.HostPort, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	members, ok := s.hostMembers(f.Host)
	if !ok {
		return nil, 0, merge.HostNotFound(f.Host)
	}
	var keys []merge.PortKey
	for _, h := range members {
		for k, p := range s.ports {
			if k.Host == h && p.IsRecord() {
				keys = append(keys, k)
			}
		}
	}
	sort.Slice(keys, func(i, j int) bool { return hostPortKey(keys[i]).Less(hostPortKey(keys[j])) })
	total := -1
	if f.Count {
		total = len(keys)
	}
	if f.After != nil {
		i := sort.Search(len(keys), func(i int) bool { return f.After.Less(hostPortKey(keys[i])) })
		keys = keys[i:]
	}
	keys = page(keys, f.Offset, f.Limit)
	out := make([]*portolan.HostPort, len(keys))
	for i, k := range keys {
		out[i] = s.ports[k].HostPort(k)
	}
	return out, total, nil
}

// mergeSpans widens into's spans by from's, key by key. (internal/merge has
// the same helper unexported; the apply step of a store is not one of its
// rules, so the memory store keeps its own.)
func mergeSpans[K comparable](into, from map[K]*portolan.Span) map[K]*portolan.Span {
	for k, sp := range from {
		if into == nil {
			into = make(map[K]*portolan.Span, len(from))
		}
		mine := into[k]
		if mine == nil {
			mine = &portolan.Span{}
			into[k] = mine
		}
		mine.Union(*sp)
	}
	return into
}

func hostPortKey(k merge.PortKey) portolan.HostPortKey {
	return portolan.HostPortKey{Port: k.Port, Protocol: k.Protocol, Host: k.Host}
}

func page[T any](items []T, offset, limit int) []T {
	if offset > 0 {
		if offset >= len(items) {
			return nil
		}
		items = items[offset:]
	}
	if limit > 0 && limit < len(items) {
		items = items[:limit]
	}
	return items
}

// FindHostPortByID implements portolan.HostPortService.
func (s *MemoryStore) FindHostPortByID(ctx context.Context, id string) (*portolan.HostPort, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for k, p := range s.ports {
		if p.IsRecord() && k.ID() == id {
			return p.HostPort(k), nil
		}
	}
	return nil, merge.HostPortNotFound(id)
}

// FindHostByID implements portolan.HostService.
func (s *MemoryStore) FindHostByID(ctx context.Context, id string) (*portolan.Host, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.hostMembers(id); !ok {
		return nil, merge.HostNotFound(id)
	}
	return s.host(id), nil
}

func (s *MemoryStore) host(id string) *portolan.Host {
	var span portolan.Span
	if h := s.hosts[id]; h != nil {
		span.Union(*h)
	}
	for a, as := range s.aliases {
		if a.Name == id {
			span.Union(*as)
		}
	}
	return &portolan.Host{ID: id, Kind: portolan.HostKindOf(id), FirstSeenDateTime: span.First, LastSeenDateTime: span.Last}
}

// hostComponents returns the components of one host id (not its aliases).
func (s *MemoryStore) hostComponents(host string) []*portolan.HostComponent {
	spans := map[portolan.Component]*portolan.Span{}
	for k, p := range s.ports {
		if k.Host == host {
			spans = mergeSpans(spans, p.Components)
		}
	}
	out := make([]*portolan.HostComponent, 0, len(spans))
	for c, sp := range spans {
		out = append(out, &portolan.HostComponent{
			ID: portolan.HostComponentID(host, c), Component: c, Host: host,
			FirstSeenDateTime: sp.First, LastSeenDateTime: sp.Last,
		})
	}
	return out
}

// FindHostComponents implements portolan.HostService.
func (s *MemoryStore) FindHostComponents(ctx context.Context, host string, f portolan.ListFilter) ([]*portolan.HostComponent, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	members, ok := s.hostMembers(host)
	if !ok {
		return nil, 0, merge.HostNotFound(host)
	}
	var all []*portolan.HostComponent
	for _, h := range members {
		all = append(all, s.hostComponents(h)...)
	}
	items, total := pageByID(all, f, func(c *portolan.HostComponent) string { return c.ID })
	return items, total, nil
}

func pageByID[T any](all []T, f portolan.ListFilter, id func(T) string) ([]T, int) {
	merge.SortByID(all, id)
	// A name and its address can hold the same entity only for
	// certificates' related hosts; drop repeats so every id appears once.
	uniq := all[:0]
	for i, x := range all {
		if i == 0 || id(x) != id(all[i-1]) {
			uniq = append(uniq, x)
		}
	}
	all = uniq
	total := -1
	if f.Count {
		total = len(all)
	}
	if f.AfterID != "" {
		i := sort.Search(len(all), func(i int) bool { return id(all[i]) > f.AfterID })
		all = all[i:]
	}
	return page(all, f.Offset, f.Limit), total
}

// FindHostComponentByID implements portolan.HostService.
func (s *MemoryStore) FindHostComponentByID(ctx context.Context, id string) (*portolan.HostComponent, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for h := range s.hosts {
		for _, c := range s.hostComponents(h) {
			if c.ID == id {
				return c, nil
			}
		}
	}
	return nil, merge.HostComponentNotFound(id)
}

// certificate renders a certificate with its first/last seen over all hosts.
func (s *MemoryStore) certificate(sha string) *portolan.SSLCertificate {
	c := s.certs[sha]
	if c == nil {
		return nil
	}
	out := *c.Parsed
	var span portolan.Span
	for _, p := range s.ports {
		if cs := p.Certificates[sha]; cs != nil {
			span.Union(*cs)
		}
	}
	out.FirstSeenDateTime, out.LastSeenDateTime = span.First, span.Last
	return &out
}

func (s *MemoryStore) shaOfID(id string) string {
	for sha := range s.certs {
		if portolan.SSLCertificateID(sha) == id {
			return sha
		}
	}
	return ""
}

// FindSSLCertificateByID implements portolan.SSLCertificateService.
func (s *MemoryStore) FindSSLCertificateByID(ctx context.Context, id string) (*portolan.SSLCertificate, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sha := s.shaOfID(id); sha != "" {
		return s.certificate(sha), nil
	}
	return nil, merge.SSLCertificateNotFound(id)
}

// SearchSSLCertificates implements portolan.SSLCertificateService.
func (s *MemoryStore) SearchSSLCertificates(ctx context.Context, q portolan.CertificateSearch, f portolan.ListFilter) ([]*portolan.SSLCertificate, int, error) {
	if !portolan.IsSearchableCertificateField(q.Field) {
		return nil, 0, portolan.Errorf(portolan.EINVALID, "The search field '%s' is not supported.", q.Field)
	}
	want := portolan.CertificateSearch{Field: q.Field, Value: strings.ToLower(q.Value)}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var all []*portolan.SSLCertificate
	for sha, c := range s.certs {
		for _, t := range portolan.CertificateSearchTerms(c.Parsed) {
			if t == want {
				all = append(all, s.certificate(sha))
				break
			}
		}
	}
	items, total := pageByID(all, f, func(c *portolan.SSLCertificate) string { return c.ID })
	return items, total, nil
}

// FindRelatedHosts implements portolan.SSLCertificateService.
func (s *MemoryStore) FindRelatedHosts(ctx context.Context, certID string, f portolan.ListFilter) ([]*portolan.Host, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sha := s.shaOfID(certID)
	if sha == "" {
		return nil, 0, merge.SSLCertificateNotFound(certID)
	}
	var all []*portolan.Host
	for k, p := range s.ports {
		if p.Certificates[sha] != nil {
			all = append(all, s.host(k.Host))
		}
	}
	items, total := pageByID(all, f, func(h *portolan.Host) string { return h.ID })
	return items, total, nil
}

// hostCertificates returns the certificates of one host id.
func (s *MemoryStore) hostCertificates(host string) []*portolan.HostSSLCertificate {
	bySHA := map[string]map[int]*portolan.Span{}
	for k, p := range s.ports {
		if k.Host != host {
			continue
		}
		for sha, sp := range p.Certificates {
			ports := bySHA[sha]
			if ports == nil {
				ports = map[int]*portolan.Span{}
				bySHA[sha] = ports
			}
			ports = mergeSpans(ports, map[int]*portolan.Span{k.Port: sp})
			bySHA[sha] = ports
		}
	}
	out := make([]*portolan.HostSSLCertificate, 0, len(bySHA))
	for sha, ports := range bySHA {
		hc := &portolan.HostSSLCertificate{
			ID: portolan.HostSSLCertificateID(host, sha), Host: host, SSLCertificate: s.certificate(sha),
		}
		var span portolan.Span
		for port, sp := range ports {
			span.Union(*sp)
			hc.Ports = append(hc.Ports, portolan.HostSSLCertificatePort{Port: port, FirstSeenDateTime: sp.First, LastSeenDateTime: sp.Last})
		}
		sort.Slice(hc.Ports, func(i, j int) bool { return hc.Ports[i].Port < hc.Ports[j].Port })
		hc.FirstSeenDateTime, hc.LastSeenDateTime = span.First, span.Last
		out = append(out, hc)
	}
	return out
}

// FindHostSSLCertificates implements portolan.SSLCertificateService.
func (s *MemoryStore) FindHostSSLCertificates(ctx context.Context, host string, f portolan.ListFilter) ([]*portolan.HostSSLCertificate, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	members, ok := s.hostMembers(host)
	if !ok {
		return nil, 0, merge.HostNotFound(host)
	}
	var all []*portolan.HostSSLCertificate
	for _, h := range members {
		all = append(all, s.hostCertificates(h)...)
	}
	items, total := pageByID(all, f, func(c *portolan.HostSSLCertificate) string { return c.ID })
	return items, total, nil
}

// FindHostSSLCertificateByID implements portolan.SSLCertificateService.
func (s *MemoryStore) FindHostSSLCertificateByID(ctx context.Context, id string) (*portolan.HostSSLCertificate, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for h := range s.hosts {
		for _, c := range s.hostCertificates(h) {
			if c.ID == id {
				return c, nil
			}
		}
	}
	return nil, merge.HostSSLCertificateNotFound(id)
}
