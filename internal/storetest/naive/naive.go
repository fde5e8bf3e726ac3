// SPDX-License-Identifier: Apache-2.0

// Package naive is the oracle of the store conformance suite: a
// portolan.Store that keeps the list of observations and, on every read,
// recomputes the records it is asked for from that whole list, with the
// rules of intelligence.md written out again from the page.
//
// It is deliberately slow and plain. Every field is a loop over all
// observations: a min, a max, a count or a filter, exactly as the contract
// words it. It shares no code with the incremental merge (internal/merge,
// the stores' SQL): it imports only the standard library and the domain
// package, and from the domain only types, the id formats of
// portolan.go, the certificate parser and the certificate search terms
// (naive_test.go enforces the imports). A rule written wrong in the merge therefore cannot pass here
// by being run twice.
package naive

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"portolan"
)

// Store is the naive reference. The zero value is not usable; call New.
type Store struct {
	recognize portolan.Recognizer

	mu    sync.Mutex
	log   []*portolan.Observation
	ids   map[identity]bool
	certs map[string]parsedCertificate // by DER: parsing is slow, not a rule
}

type parsedCertificate struct {
	sha    string
	parsed *portolan.SSLCertificate
}

var _ portolan.Store = (*Store)(nil)

// New returns an empty reference that recognises components with r (nil:
// the components the scanner named).
func New(r portolan.Recognizer) *Store {
	return &Store{recognize: r, ids: make(map[identity]bool), certs: make(map[string]parsedCertificate)}
}

// Close does nothing.
func (s *Store) Close() error { return nil }

// identity is an observation's identity (intelligence.md §2): host,
// protocol, port, seenAt, scannedAt, source, scanProtocol and banner. The
// contract names a digest of the banner; the banner itself identifies it
// just as well here.
type identity struct {
	host         string
	protocol     portolan.Protocol
	port         int
	seenAt       int64
	scannedAt    int64
	source       string
	scanProtocol string
	banner       string
}

func identityOf(o *portolan.Observation) identity {
	return identity{o.Host, o.Protocol, o.Port, o.SeenAt.Unix(), o.ScannedAt.Unix(), o.Source, o.ScanProtocol, o.Banner}
}

// key is a hostPort record's key (intelligence.md §3).
type key struct {
	host     string
	protocol portolan.Protocol
	port     int
}

func keyOf(o *portolan.Observation) key { return key{o.Host, o.Protocol, o.Port} }

// ImportObservations appends the observations whose identity is new. It
// merges nothing: reads recompute. Created is the number of records that
// exist after the batch and did not before; Updated the number of records
// that existed before and have a new observation.
func (s *Store) ImportObservations(ctx context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := portolan.ImportResult{Observations: len(batch)}
	before := s.recordKeys()
	touched := map[key]bool{}
	for _, o := range batch {
		id := identityOf(o)
		if s.ids[id] {
			res.Duplicates++
			continue
		}
		s.ids[id] = true
		copied := *o
		s.log = append(s.log, &copied)
		touched[keyOf(o)] = true
	}
	res.Created = len(s.recordKeys()) - len(before)
	for k := range touched {
		if before[k] {
			res.Updated++
		}
	}
	return res, nil
}

// Rebuild has nothing to rebuild: every read starts from the log.
func (s *Store) Rebuild(ctx context.Context, progress func(int)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if progress != nil {
		progress(len(s.log))
	}
	return nil
}

// isOpen: only open observations count for "seen" figures (§2).
func isOpen(o *portolan.Observation) bool { return o.Status == portolan.StatusOpen }

// recordKeys returns the keys that have a record: those with at least one
// open observation (§3: a record is created by the first open one).
func (s *Store) recordKeys() map[key]bool {
	out := map[key]bool{}
	for _, o := range s.log {
		if isOpen(o) {
			out[keyOf(o)] = true
		}
	}
	return out
}

// componentsOf returns the components o reveals, as the store's recognizer
// would report them.
func (s *Store) componentsOf(o *portolan.Observation) []portolan.Component {
	if s.recognize == nil {
		return o.Components
	}
	return s.recognize.Recognize(o)
}

// certificateOf returns the lowercase hex SHA-1 of o's certificate (§6),
// or "" when o carries none. A certificate that does not parse is treated as
// absent, as the ingest pipeline rejects it before.
func (s *Store) certificateOf(o *portolan.Observation) string {
	if len(o.Certificate) == 0 {
		return ""
	}
	c, ok := s.certs[string(o.Certificate)]
	if !ok {
		// The fields come from portolan.ParseCertificate: turning X.509
		// into sslCertificate fields is the domain's parser, which ingest
		// and the stores share, not a merge rule; restating it here would
		// test crypto/x509 rather than the records. Results are kept by
		// DER only to save time.
		if parsed, err := portolan.ParseCertificate(o.Certificate); err == nil {
			sha := ""
			if portolan.IsDescribedCertificate(o.Certificate) {
				sha = parsed.SHA1 // a description says whose it is
			} else {
				sum := sha1.Sum(o.Certificate)
				sha = hex.EncodeToString(sum[:])
			}
			c = parsedCertificate{sha, parsed}
		}
		s.certs[string(o.Certificate)] = c
	}
	return c.sha
}

// parsedCertificate returns a copy of the fields of the certificate o
// carries.
func (s *Store) parsedCertificate(o *portolan.Observation) *portolan.SSLCertificate {
	s.certificateOf(o)
	copied := *s.certs[string(o.Certificate)].parsed
	return &copied
}

// statusRank is the tie rule of §3: open beats filtered beats closed.
func statusRank(st portolan.HostPortStatus) int {
	return map[portolan.HostPortStatus]int{portolan.StatusClosed: 1, portolan.StatusFiltered: 2, portolan.StatusOpen: 3}[st]
}

// window is a first/last seen pair under construction.
type window struct {
	first, last time.Time
	instants    map[int64]bool
}

func (w *window) add(t time.Time) {
	if w.instants == nil || t.Before(w.first) {
		w.first = t
	}
	if w.instants == nil || t.After(w.last) {
		w.last = t
	}
	if w.instants == nil {
		w.instants = map[int64]bool{}
	}
	w.instants[t.Unix()] = true
}

// hostPort computes the record of k from every observation of k, or nil
// when k has none (§3, §4, §5, §8).
func (s *Store) hostPort(k key) *portolan.HostPort {
	var all, open []*portolan.Observation
	for _, o := range s.log {
		if keyOf(o) == k {
			all = append(all, o)
			if isOpen(o) {
				open = append(open, o)
			}
		}
	}
	if len(open) == 0 {
		return nil
	}
	hp := &portolan.HostPort{
		ID:       portolan.HostPortID(k.host, k.protocol, k.port),
		Port:     k.port,
		Protocol: k.protocol,
		Host:     k.host,
		Banners:  []portolan.HostPortBanner{},
		Services: []portolan.HostPortComponent{},
	}

	// firstSeen, lastSeen, timesObserved: over open observations.
	var seen window
	for _, o := range open {
		seen.add(o.SeenAt)
	}
	hp.FirstSeenDateTime, hp.LastSeenDateTime, hp.TimesObserved = seen.first, seen.last, len(seen.instants)

	// lastScan and status: over every observation, whatever its status.
	var statusOf *portolan.Observation
	for _, o := range all {
		if o.ScannedAt.After(hp.LastScanDateTime) {
			hp.LastScanDateTime = o.ScannedAt
		}
		if statusOf == nil || o.ScannedAt.After(statusOf.ScannedAt) ||
			(o.ScannedAt.Equal(statusOf.ScannedAt) && statusRank(o.Status) > statusRank(statusOf.Status)) {
			statusOf = o
		}
	}
	hp.Status = statusOf.Status

	// mostRecentSslCertificate: the open observation with the greatest
	// seenAt that carried one; ties go to the greater SHA-1.
	var certSeen time.Time
	var certSHA string
	for _, o := range open {
		sha := s.certificateOf(o)
		if sha == "" {
			continue
		}
		if certSHA == "" || o.SeenAt.After(certSeen) || (o.SeenAt.Equal(certSeen) && sha > certSHA) {
			certSeen, certSHA = o.SeenAt, sha
		}
	}
	if certSHA != "" {
		hp.MostRecentSSLCertificateID = portolan.SSLCertificateID(certSHA)
	}

	// banners: one per (normalised text, scanProtocol) over open
	// observations; a banner that normalises to nothing is no banner.
	type bannerKey struct{ text, scanProtocol string }
	banners := map[bannerKey]*window{}
	for _, o := range open {
		text := normalizeBanner(o.Banner)
		if text == "" {
			continue
		}
		bk := bannerKey{text, o.ScanProtocol}
		if banners[bk] == nil {
			banners[bk] = &window{}
		}
		banners[bk].add(o.SeenAt)
	}
	var newestBanner time.Time
	for bk, w := range banners {
		hp.Banners = append(hp.Banners, portolan.HostPortBanner{
			Banner: bk.text, ScanProtocol: bk.scanProtocol,
			FirstSeenDateTime: w.first, LastSeenDateTime: w.last, TimesObserved: len(w.instants),
		})
		if w.last.After(newestBanner) {
			newestBanner = w.last
		}
	}

	// services: one per component reported by open observations.
	services := map[portolan.Component]*window{}
	for _, o := range open {
		for _, c := range s.componentsOf(o) {
			if services[c] == nil {
				services[c] = &window{}
			}
			services[c].add(o.SeenAt)
		}
	}
	for c := range services {
		if redundant(c, services) {
			delete(services, c)
		}
	}
	for c, w := range services {
		// isRecent (§5): at or after the newest banner's lastSeen; without
		// banners, within 48 hours before the port's lastScan.
		var recent bool
		if len(banners) > 0 {
			recent = !w.last.Before(newestBanner)
		} else {
			recent = !w.last.Before(hp.LastScanDateTime.Add(-48 * time.Hour))
		}
		hp.Services = append(hp.Services, portolan.HostPortComponent{
			FirstSeenDateTime: w.first, LastSeenDateTime: w.last, IsRecent: recent,
			ComponentID: portolan.HostComponentID(k.host, c), Component: c,
		})
	}

	// §8: newest first; ties by text (then scan protocol), or by name,
	// version, category, ascending.
	sort.Slice(hp.Banners, func(i, j int) bool {
		a, b := hp.Banners[i], hp.Banners[j]
		if !a.LastSeenDateTime.Equal(b.LastSeenDateTime) {
			return a.LastSeenDateTime.After(b.LastSeenDateTime)
		}
		if a.Banner != b.Banner {
			return a.Banner < b.Banner
		}
		return a.ScanProtocol < b.ScanProtocol
	})
	sort.Slice(hp.Services, func(i, j int) bool {
		a, b := hp.Services[i], hp.Services[j]
		if !a.LastSeenDateTime.Equal(b.LastSeenDateTime) {
			return a.LastSeenDateTime.After(b.LastSeenDateTime)
		}
		if a.Component.Name != b.Component.Name {
			return a.Component.Name < b.Component.Name
		}
		if a.Component.Version != b.Component.Version {
			return a.Component.Version < b.Component.Version
		}
		return a.Component.Category < b.Component.Category
	})
	return hp
}

// volatileHeaders are the HTTP headers §4 names as volatile (Date,
// Expires, Last-Modified, Age, Set-Cookie, ETag, Content-Length, request and
// trace ids), lower-case. The merge's list is longer ("and the like"); the
// random histories use only these.
var volatileHeaders = map[string]bool{
	"date": true, "expires": true, "last-modified": true, "age": true, "set-cookie": true,
	"etag": true, "content-length": true, "x-request-id": true, "request-id": true,
	"x-correlation-id": true, "x-trace-id": true, "traceparent": true,
}

// volatilePlaceholder is the fixed placeholder of §4. Its text is not in
// the contract but in the code's documentation of banner normalisation.
const volatilePlaceholder = "<volatile>"

// normalizeBanner applies §4 to a normalised observation's banner (which
// Observation.Normalize already made valid UTF-8 and cut at 16 KiB): in an
// HTTP response head, every volatile header's value becomes the
// placeholder; then trailing whitespace goes.
func normalizeBanner(banner string) string {
	lines := strings.Split(banner, "\n")
	statusLine := strings.HasPrefix(banner, "HTTP/")
	if statusLine || isHeaderLine(lines[0]) {
		for i, line := range lines {
			text := strings.TrimSuffix(line, "\r")
			if strings.TrimSpace(text) == "" {
				break // the head ends at the first empty line; a body follows
			}
			if i == 0 && statusLine {
				continue
			}
			name, _, ok := strings.Cut(text, ":")
			if ok && name != "" && volatileHeaders[strings.ToLower(strings.TrimSpace(name))] {
				lines[i] = name + ": " + volatilePlaceholder + line[len(text):]
			}
		}
	}
	return strings.TrimRight(strings.Join(lines, "\n"), " \t\r\n")
}

// isHeaderLine reports whether line reads "Name: value" with an HTTP token
// for a name (nmap's http-headers script gives heads without a status line,
// indented).
func isHeaderLine(line string) bool {
	name, _, ok := strings.Cut(strings.TrimLeft(line, " \t"), ":")
	if !ok || name == "" {
		return false
	}
	for _, c := range []byte(name) {
		isToken := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !isToken {
			return false
		}
	}
	return true
}

// observed reports whether id is a host the store knows (§7): the host of
// some observation, or a name some observation associated with its address.
func (s *Store) observed(id string) bool {
	for _, o := range s.log {
		if o.Host == id || slices.Contains(o.Hostnames, id) {
			return true
		}
	}
	return false
}

// hostIDs returns every host of an observation, sorted (the hosts whose
// entities can be fetched by id).
func (s *Store) hostIDs() []string {
	set := map[string]bool{}
	for _, o := range s.log {
		set[o.Host] = true
	}
	out := make([]string, 0, len(set))
	for h := range set {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// members returns the hosts whose records id lists (§7): id itself and,
// for a name, every address it was seen with.
func (s *Store) members(id string) []string {
	out := []string{id}
	for _, o := range s.log {
		if slices.Contains(o.Hostnames, id) && !slices.Contains(out, o.Host) {
			out = append(out, o.Host)
		}
	}
	return out
}

// host renders the host entity of id: first/last seen over its open
// observations, those of id itself and, for a name, those that named it.
func (s *Store) host(id string) *portolan.Host {
	h := &portolan.Host{ID: id, Kind: portolan.KindHostname}
	if _, err := netip.ParseAddr(id); err == nil {
		h.Kind = portolan.KindIPAddress
	}
	var w window
	for _, o := range s.log {
		if isOpen(o) && (o.Host == id || slices.Contains(o.Hostnames, id)) {
			w.add(o.SeenAt)
		}
	}
	h.FirstSeenDateTime, h.LastSeenDateTime = w.first, w.last
	return h
}

func notFound(entity, id string) error {
	return portolan.Errorf(portolan.ENOTFOUND, "%s '%s' was not found.", entity, id)
}

// FindHostByID implements portolan.HostService.
func (s *Store) FindHostByID(ctx context.Context, id string) (*portolan.Host, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.observed(id) {
		return nil, notFound("Host", id)
	}
	return s.host(id), nil
}

// FindHostPorts implements portolan.HostPortService: the records of the
// host's members by port, tcp before udp, then host id (§8).
func (s *Store) FindHostPorts(ctx context.Context, f portolan.HostPortFilter) ([]*portolan.HostPort, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.observed(f.Host) {
		return nil, 0, notFound("Host", f.Host)
	}
	members := s.members(f.Host)
	var keys []key
	for k := range s.recordKeys() {
		if slices.Contains(members, k.host) {
			keys = append(keys, k)
		}
	}
	less := func(a, b key) bool {
		if a.port != b.port {
			return a.port < b.port
		}
		if a.protocol != b.protocol {
			return a.protocol == portolan.TCP
		}
		return a.host < b.host
	}
	sort.Slice(keys, func(i, j int) bool { return less(keys[i], keys[j]) })
	total := -1
	if f.Count {
		total = len(keys)
	}
	if f.After != nil {
		after := key{f.After.Host, f.After.Protocol, f.After.Port}
		for len(keys) > 0 && !less(after, keys[0]) {
			keys = keys[1:]
		}
	}
	keys = pageOf(keys, f.Offset, f.Limit)
	out := []*portolan.HostPort{}
	for _, k := range keys {
		out = append(out, s.hostPort(k))
	}
	return out, total, nil
}

// pageOf applies an offset and a limit (0: none).
func pageOf[T any](items []T, offset, limit int) []T {
	items = items[min(offset, len(items)):]
	if limit > 0 && limit < len(items) {
		items = items[:limit]
	}
	return items
}

// FindHostPortByID implements portolan.HostPortService.
func (s *Store) FindHostPortByID(ctx context.Context, id string) (*portolan.HostPort, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.recordKeys() {
		if portolan.HostPortID(k.host, k.protocol, k.port) == id {
			return s.hostPort(k), nil
		}
	}
	return nil, notFound("HostPort", id)
}

// listByID sorts entities by id, drops repeats (a name and its address
// can reach one entity twice) and pages them as portolan.ListFilter says.
func listByID[T any](all []T, f portolan.ListFilter, id func(T) string) ([]T, int) {
	sort.SliceStable(all, func(i, j int) bool { return id(all[i]) < id(all[j]) })
	all = slices.CompactFunc(all, func(a, b T) bool { return id(a) == id(b) })
	total := -1
	if f.Count {
		total = len(all)
	}
	for f.AfterID != "" && len(all) > 0 && id(all[0]) <= f.AfterID {
		all = all[1:]
	}
	return pageOf(all, f.Offset, f.Limit), total
}

// redundant reports whether another component of a port's set makes c
// redundant (one product is one component: a versioned one over a
// versionless one of the same name and category, a Linux distribution over
// a generic Linux).
func redundant[V any](c portolan.Component, set map[portolan.Component]V) bool {
	for other := range set {
		if c.RedundantBeside(other) {
			return true
		}
	}
	return false
}

// hostComponents returns the hostComponents of one host id (§5): one per
// component its ports list, first/last seen over the open observations of
// all its ports.
func (s *Store) hostComponents(host string) []*portolan.HostComponent {
	spans := map[portolan.Component]*window{}
	onPort := map[key]map[portolan.Component]bool{}
	for _, o := range s.log {
		if o.Host != host || !isOpen(o) {
			continue
		}
		k := keyOf(o)
		if onPort[k] == nil {
			// Only what the port lists counts: not a component the port
			// drops as redundant.
			onPort[k] = map[portolan.Component]bool{}
			for _, sv := range s.hostPort(k).Services {
				onPort[k][sv.Component] = true
			}
		}
		for _, c := range s.componentsOf(o) {
			if !onPort[k][c] {
				continue
			}
			if spans[c] == nil {
				spans[c] = &window{}
			}
			spans[c].add(o.SeenAt)
		}
	}
	var out []*portolan.HostComponent
	for c, w := range spans {
		out = append(out, &portolan.HostComponent{
			ID: portolan.HostComponentID(host, c), Component: c, Host: host,
			FirstSeenDateTime: w.first, LastSeenDateTime: w.last,
		})
	}
	return out
}

// FindHostComponents implements portolan.HostService: the components of
// the host's members.
func (s *Store) FindHostComponents(ctx context.Context, host string, f portolan.ListFilter) ([]*portolan.HostComponent, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.observed(host) {
		return nil, 0, notFound("Host", host)
	}
	var all []*portolan.HostComponent
	for _, m := range s.members(host) {
		all = append(all, s.hostComponents(m)...)
	}
	items, total := listByID(all, f, func(c *portolan.HostComponent) string { return c.ID })
	return items, total, nil
}

// FindHostComponentByID implements portolan.HostService.
func (s *Store) FindHostComponentByID(ctx context.Context, id string) (*portolan.HostComponent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.hostIDs() {
		for _, c := range s.hostComponents(h) {
			if c.ID == id {
				return c, nil
			}
		}
	}
	return nil, notFound("HostComponent", id)
}

// certificate renders the certificate whose SHA-1 is sha, with first/last
// seen over every open observation that presented it, on any host (§6); nil
// when none did.
func (s *Store) certificate(sha string) *portolan.SSLCertificate {
	var out *portolan.SSLCertificate
	var held []byte
	var w window
	for _, o := range s.log {
		if !isOpen(o) {
			continue
		}
		if s.certificateOf(o) == sha {
			// Its fields are the DER's when any observation gave it, else
			// those of the description whose encoding sorts last.
			if out == nil || portolan.IsDescribedCertificate(held) &&
				(!portolan.IsDescribedCertificate(o.Certificate) || string(o.Certificate) > string(held)) {
				out = s.parsedCertificate(o)
				held = o.Certificate
			}
			w.add(o.SeenAt)
		}
	}
	if out != nil {
		out.FirstSeenDateTime, out.LastSeenDateTime = w.first, w.last
	}
	return out
}

// certificateSHAs returns the SHA-1 of every certificate an open
// observation presented, sorted.
func (s *Store) certificateSHAs() []string {
	set := map[string]bool{}
	for _, o := range s.log {
		if sha := s.certificateOf(o); sha != "" && isOpen(o) {
			set[sha] = true
		}
	}
	out := make([]string, 0, len(set))
	for sha := range set {
		out = append(out, sha)
	}
	sort.Strings(out)
	return out
}

func (s *Store) shaOfID(id string) string {
	for _, sha := range s.certificateSHAs() {
		if portolan.SSLCertificateID(sha) == id {
			return sha
		}
	}
	return ""
}

// FindSSLCertificateByID implements portolan.SSLCertificateService.
func (s *Store) FindSSLCertificateByID(ctx context.Context, id string) (*portolan.SSLCertificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sha := s.shaOfID(id); sha != "" {
		return s.certificate(sha), nil
	}
	return nil, notFound("SslCertificate", id)
}

// SearchSSLCertificates implements portolan.SSLCertificateService with the
// domain's search terms (the index definition, not a merge rule).
func (s *Store) SearchSSLCertificates(ctx context.Context, q portolan.CertificateSearch, f portolan.ListFilter) ([]*portolan.SSLCertificate, int, error) {
	if !portolan.IsSearchableCertificateField(q.Field) {
		return nil, 0, portolan.Errorf(portolan.EINVALID, "The search field '%s' is not supported.", q.Field)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	want := portolan.CertificateSearch{Field: q.Field, Value: strings.ToLower(q.Value)}
	var all []*portolan.SSLCertificate
	for _, sha := range s.certificateSHAs() {
		c := s.certificate(sha)
		if slices.Contains(portolan.CertificateSearchTerms(c), want) {
			all = append(all, c)
		}
	}
	items, total := listByID(all, f, func(c *portolan.SSLCertificate) string { return c.ID })
	return items, total, nil
}

// FindRelatedHosts implements portolan.SSLCertificateService: the hosts of
// the open observations that presented the certificate (§6).
func (s *Store) FindRelatedHosts(ctx context.Context, certID string, f portolan.ListFilter) ([]*portolan.Host, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha := s.shaOfID(certID)
	if sha == "" {
		return nil, 0, notFound("SslCertificate", certID)
	}
	var all []*portolan.Host
	for _, o := range s.log {
		if got := s.certificateOf(o); got == sha && isOpen(o) {
			all = append(all, s.host(o.Host))
		}
	}
	items, total := listByID(all, f, func(h *portolan.Host) string { return h.ID })
	return items, total, nil
}

// hostCertificates returns the hostSslCertificates of one host id (§6):
// per certificate, the port numbers it was seen on (tcp and udp alike) with
// first/last seen, and first/last seen over them all.
func (s *Store) hostCertificates(host string) []*portolan.HostSSLCertificate {
	bySHA := map[string]map[int]*window{}
	for _, o := range s.log {
		if o.Host != host || !isOpen(o) {
			continue
		}
		sha := s.certificateOf(o)
		if sha == "" {
			continue
		}
		if bySHA[sha] == nil {
			bySHA[sha] = map[int]*window{}
		}
		if bySHA[sha][o.Port] == nil {
			bySHA[sha][o.Port] = &window{}
		}
		bySHA[sha][o.Port].add(o.SeenAt)
	}
	var out []*portolan.HostSSLCertificate
	for sha, ports := range bySHA {
		hc := &portolan.HostSSLCertificate{
			ID: portolan.HostSSLCertificateID(host, sha), Host: host, SSLCertificate: s.certificate(sha),
		}
		var all window
		for port, w := range ports {
			all.add(w.first)
			all.add(w.last)
			hc.Ports = append(hc.Ports, portolan.HostSSLCertificatePort{Port: port, FirstSeenDateTime: w.first, LastSeenDateTime: w.last})
		}
		sort.Slice(hc.Ports, func(i, j int) bool { return hc.Ports[i].Port < hc.Ports[j].Port })
		hc.FirstSeenDateTime, hc.LastSeenDateTime = all.first, all.last
		out = append(out, hc)
	}
	return out
}

// FindHostSSLCertificates implements portolan.SSLCertificateService: the
// certificates of the host's members.
func (s *Store) FindHostSSLCertificates(ctx context.Context, host string, f portolan.ListFilter) ([]*portolan.HostSSLCertificate, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.observed(host) {
		return nil, 0, notFound("Host", host)
	}
	var all []*portolan.HostSSLCertificate
	for _, m := range s.members(host) {
		all = append(all, s.hostCertificates(m)...)
	}
	items, total := listByID(all, f, func(c *portolan.HostSSLCertificate) string { return c.ID })
	return items, total, nil
}

// FindHostSSLCertificateByID implements portolan.SSLCertificateService.
func (s *Store) FindHostSSLCertificateByID(ctx context.Context, id string) (*portolan.HostSSLCertificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.hostIDs() {
		for _, c := range s.hostCertificates(h) {
			if c.ID == id {
				return c, nil
			}
		}
	}
	return nil, notFound("HostSslCertificate", id)
}
