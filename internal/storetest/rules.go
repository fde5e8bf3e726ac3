// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/merge"
)

// RunRules proves that a store's SQL agrees with the rules of
// internal/merge that it restates: every case imports its observations in
// separate batches, so that they meet in the store's upserts rather than in
// one merge.Delta, and in both orders, and compares the stored record with
// what the Go rule gives. A store's tests call it next to Run.
func RunRules(t *testing.T, open OpenFunc) {
	cases := []struct {
		name string
		fn   func(*testing.T, OpenFunc)
	}{
		{"Status", testStatusRule},
		{"Certificate", testCertificateRule},
		{"BannerGrouping", testBannerRule},
		{"IsRecent", testIsRecentRule},
		{"Aliases", testAliasRule},
		{"RedundantComponents", testRedundantComponentRule},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open)
		})
	}
}

// ruleCase is two observations of one port that must meet in the store.
type ruleCase struct {
	port  int
	first []*portolan.Observation // imported in the first batch
	a, b  *portolan.Observation
}

// importInBothOrders imports every case's first observations, then a and
// b in two more batches: a before b on the case's port, b before a on the
// port + 10000 (the observations are copied to that port).
func importInBothOrders(t *testing.T, s portolan.Store, cases []ruleCase) {
	t.Helper()
	moved := func(o *portolan.Observation) *portolan.Observation {
		c := *o
		c.Port += 10000
		return &c
	}
	var b0, b1, b2 []*portolan.Observation
	for _, c := range cases {
		for _, o := range c.first {
			b0 = append(b0, o, moved(o))
		}
		b1 = append(b1, c.a, moved(c.b))
		b2 = append(b2, c.b, moved(c.a))
	}
	for _, b := range [][]*portolan.Observation{b0, b1, b2} {
		mustImport(t, s, b)
	}
}

// ruleObservation returns a normalised observation of 203.0.113.77. The
// source is part of an observation's identity: two observations of one
// instant need two sources, or the second is a duplicate.
func ruleObservation(t *testing.T, port int, status portolan.HostPortStatus, seen, scanned time.Time, source string) *portolan.Observation {
	t.Helper()
	o := &portolan.Observation{Host: "203.0.113.77", Port: port, Status: status, SeenAt: seen, ScannedAt: scanned, Source: source}
	must(t, o.Normalize())
	return o
}

// storedPort reads the record of port on 203.0.113.77, in both orders.
func storedPorts(t *testing.T, s portolan.Store, port int) [2]*portolan.HostPort {
	t.Helper()
	var out [2]*portolan.HostPort
	for i, p := range []int{port, port + 10000} {
		hp, err := s.FindHostPortByID(context.Background(), portolan.HostPortID("203.0.113.77", portolan.TCP, p))
		if err != nil {
			t.Fatalf("port %d: %v", p, err)
		}
		out[i] = hp
	}
	return out
}

// testStatusRule checks the status_rank upsert against merge.StatusWins:
// every pair of statuses, on a tie of scannedAt and with either one later,
// and a tie with the open observation that created the record.
func testStatusRule(t *testing.T, open OpenFunc) {
	s := mustOpen(t, open)
	at := func(sec int) time.Time { return Base.Add(time.Duration(sec) * time.Second) }
	statuses := []portolan.HostPortStatus{portolan.StatusOpen, portolan.StatusFiltered, portolan.StatusClosed}
	var cases []ruleCase
	port := 1
	for _, sa := range statuses {
		for _, sb := range statuses {
			for _, times := range [][2]int{{100, 100}, {100, 200}, {200, 100}, {0, 0}} {
				seed := ruleObservation(t, port, portolan.StatusOpen, at(0), at(0), "native")
				cases = append(cases, ruleCase{port: port, first: []*portolan.Observation{seed},
					a: ruleObservation(t, port, sa, at(times[0]), at(times[0]), "nmap"),
					b: ruleObservation(t, port, sb, at(times[1]), at(times[1]), "masscan")})
				port++
			}
		}
	}
	importInBothOrders(t, s, cases)
	for _, c := range cases {
		var heldAt time.Time
		held := 0
		for _, o := range append(c.first, c.a, c.b) {
			if r := merge.StatusRank(o.Status); merge.StatusWins(o.ScannedAt, r, heldAt, held) {
				heldAt, held = o.ScannedAt, r
			}
		}
		want := merge.StatusOfRank(held)
		for i, hp := range storedPorts(t, s, c.port) {
			if hp.Status != want {
				t.Errorf("port %d order %d: %s at %v then %s at %v gave %s; merge.StatusWins gives %s",
					c.port, i, c.a.Status, c.a.ScannedAt, c.b.Status, c.b.ScannedAt, hp.Status, want)
			}
		}
	}
}

// testCertificateRule checks the cert_seen/cert_sha1 upsert against
// merge.CertificateWins: ties on seenAt and either one later.
func testCertificateRule(t *testing.T, open OpenFunc) {
	s := mustOpen(t, open)
	certs := TestCertificates()
	if len(certs) < 2 {
		t.Fatal("the suite needs two test certificates")
	}
	at := func(sec int) time.Time { return Base.Add(time.Duration(sec) * time.Second) }
	var cases []ruleCase
	port := 1
	for _, pair := range [][2][]byte{{certs[0], certs[1]}, {certs[1], certs[0]}} {
		for _, times := range [][2]int{{100, 100}, {100, 200}, {200, 100}} {
			a := ruleObservation(t, port, portolan.StatusOpen, at(times[0]), at(times[0]), "nmap")
			b := ruleObservation(t, port, portolan.StatusOpen, at(times[1]), at(times[1]), "zgrab2")
			a.Certificate, b.Certificate = pair[0], pair[1]
			cases = append(cases, ruleCase{port: port, a: a, b: b})
			port++
		}
	}
	importInBothOrders(t, s, cases)
	for _, c := range cases {
		var heldSeen time.Time
		var held string
		for _, o := range []*portolan.Observation{c.a, c.b} {
			if sha := portolan.CertificateDigest(o.Certificate); merge.CertificateWins(o.SeenAt, sha, heldSeen, held) {
				heldSeen, held = o.SeenAt, sha
			}
		}
		want := portolan.SSLCertificateID(held)
		for i, hp := range storedPorts(t, s, c.port) {
			if hp.MostRecentSSLCertificateID != want {
				t.Errorf("port %d order %d: mostRecentSslCertificate %s; merge.CertificateWins gives %s", c.port, i, hp.MostRecentSSLCertificateID, want)
			}
		}
	}
}

// testBannerRule checks that the stores group banners by merge's key and
// digest: the same HTTP head with another Date and trailing white space is
// one banner, another scan protocol another.
func testBannerRule(t *testing.T, open OpenFunc) {
	s := mustOpen(t, open)
	at := func(sec int) time.Time { return Base.Add(time.Duration(sec) * time.Second) }
	head := "HTTP/1.1 200 OK\r\nDate: %s\r\nServer: rules-test\r\nETag: \"%d\"\r\n\r\n"
	a := ruleObservation(t, 443, portolan.StatusOpen, at(100), at(100), "zgrab2")
	a.Banner, a.ScanProtocol = fmt.Sprintf(head, "Sun, 01 Mar 2026 12:01:40 GMT", 1), "http_raw"
	b := ruleObservation(t, 443, portolan.StatusOpen, at(200), at(200), "zgrab2")
	b.Banner, b.ScanProtocol = fmt.Sprintf(head, "Sun, 01 Mar 2026 12:03:20 GMT", 2)+"  \n", "http_raw"
	other := ruleObservation(t, 443, portolan.StatusOpen, at(150), at(150), "zgrab2")
	other.Banner, other.ScanProtocol = a.Banner, "tls"
	importInBothOrders(t, s, []ruleCase{{port: 443, first: []*portolan.Observation{other}, a: a, b: b}})

	want := map[merge.BannerKey]int{} // key → distinct instants
	for _, o := range []*portolan.Observation{a, b, other} {
		want[merge.BannerKey{Text: merge.NormalizeBanner(o.Banner), ScanProtocol: o.ScanProtocol}]++
	}
	if len(want) != 2 {
		t.Fatalf("merge groups the test banners in %d groups, want 2", len(want))
	}
	for i, hp := range storedPorts(t, s, 443) {
		if len(hp.Banners) != len(want) {
			t.Errorf("order %d: %d banners, want %d: %+v", i, len(hp.Banners), len(want), hp.Banners)
			continue
		}
		for _, got := range hp.Banners {
			if n, ok := want[merge.BannerKey{Text: got.Banner, ScanProtocol: got.ScanProtocol}]; !ok || got.TimesObserved != n {
				t.Errorf("order %d: banner %q (%s) seen %d times; merge wants %d (known: %v)", i, got.Banner, got.ScanProtocol, got.TimesObserved, n, ok)
			}
		}
	}
}

// testIsRecentRule checks isRecent on a port without banners at the edge
// of merge.RecentWindow: exactly 48 hours before the last scan is recent,
// a second more is not.
func testIsRecentRule(t *testing.T, open OpenFunc) {
	s := mustOpen(t, open)
	lastScan := Base.Add(72 * time.Hour)
	edge := lastScan.Add(-merge.RecentWindow)
	atEdge := ruleObservation(t, 8080, portolan.StatusOpen, edge, edge, "nmap")
	atEdge.Components = []portolan.Component{{Name: "edge", Category: "Server"}}
	older := ruleObservation(t, 8080, portolan.StatusOpen, edge.Add(-time.Second), edge.Add(-time.Second), "nmap")
	older.Components = []portolan.Component{{Name: "older", Category: "Server"}}
	scan := ruleObservation(t, 8080, portolan.StatusClosed, lastScan, lastScan, "nmap")
	importInBothOrders(t, s, []ruleCase{{port: 8080, first: []*portolan.Observation{scan}, a: atEdge, b: older}})
	for i, hp := range storedPorts(t, s, 8080) {
		if !hp.LastScanDateTime.Equal(lastScan) || len(hp.Banners) != 0 || len(hp.Services) != 2 {
			t.Fatalf("order %d: lastScan %v, %d banners, %d services", i, hp.LastScanDateTime, len(hp.Banners), len(hp.Services))
		}
		for _, sv := range hp.Services {
			want := merge.IsRecent(sv.LastSeenDateTime, time.Time{}, hp.LastScanDateTime)
			if sv.IsRecent != want || want != (sv.Component.Name == "edge") {
				t.Errorf("order %d: %s last seen %v (last scan %v): isRecent %v, merge.IsRecent %v", i, sv.Component.Name, sv.LastSeenDateTime, lastScan, sv.IsRecent, want)
			}
		}
	}
	// $filter restates the rule in SQL: services/any(s: s/isRecent eq true
	// and s/component/name eq NAME) must select the port for "edge" only.
	search, ok := s.(portolan.SearchService)
	if !ok {
		return
	}
	for name, want := range map[string]bool{"edge": true, "older": false} {
		q := portolan.SearchQuery{Count: true, Filter: &portolan.Lambda{
			Collection: portolan.Path{Name: "services", Kind: portolan.ValueStructured}, Var: "s",
			Body: &portolan.Logical{
				Left:  &portolan.Compare{Op: portolan.OpEq, Path: portolan.Path{Var: "s", Name: "isRecent", Kind: portolan.ValueBool}, Value: portolan.Value{Kind: portolan.ValueBool, Bool: true}},
				Right: &portolan.Compare{Op: portolan.OpEq, Path: portolan.Path{Var: "s", Name: "component/name", Kind: portolan.ValueString}, Value: str(name)},
			},
		}}
		page, err := search.SearchHostPorts(context.Background(), q)
		must(t, err)
		if got := page.Total == 2; got != want { // the port and its copy at +10000
			t.Errorf("$filter isRecent of %s: %d ports; merge.IsRecent says recent=%v", name, page.Total, want)
		}
	}
}

// testRedundantComponentRule checks that a port lists one product once
// when separate batches name it with and without a version, or name Linux
// and a distribution (portolan.Component.RedundantBeside), in either order,
// and that the host's components follow its ports.
func testRedundantComponentRule(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	s := mustOpen(t, open)
	later := Base.Add(time.Hour)
	redis := ruleObservation(t, 6379, portolan.StatusOpen, Base, Base, "masscan")
	redis.Components = []portolan.Component{{Name: "Redis", Category: "Database"}, {Name: "Linux", Category: portolan.CategoryOperatingSystem}}
	versioned := ruleObservation(t, 6379, portolan.StatusOpen, later, later, "zgrab2")
	versioned.Components = []portolan.Component{{Name: "Redis", Version: "7.0.15", Category: "Database"}, {Name: "Debian", Category: portolan.CategoryOperatingSystem}}
	// Another port keeps its versionless Redis: the rule is per port.
	earlier := Base.Add(-time.Hour)
	other := ruleObservation(t, 6380, portolan.StatusOpen, earlier, earlier, "masscan")
	other.Components = []portolan.Component{{Name: "Redis", Category: "Database"}}
	mustImport(t, s, []*portolan.Observation{other})
	importInBothOrders(t, s, []ruleCase{{port: 6379, a: redis, b: versioned}})
	want := "[Debian Redis 7.0.15]"
	for i, hp := range storedPorts(t, s, 6379) {
		var got []string
		for _, sv := range hp.Services {
			got = append(got, strings.TrimSpace(sv.Component.Name+" "+sv.Component.Version))
			if sv.Component.Name == "Redis" && !sv.FirstSeenDateTime.Equal(later) {
				t.Errorf("order %d: Redis 7.0.15 first seen %v, want %v (the versionless sighting is not its)", i, sv.FirstSeenDateTime, later)
			}
		}
		slices.Sort(got)
		if fmt.Sprint(got) != want {
			t.Errorf("order %d: services %q, want %s", i, got, want)
		}
	}
	comps, _, err := s.FindHostComponents(ctx, "203.0.113.77", portolan.ListFilter{})
	must(t, err)
	var got []string
	for _, c := range comps {
		got = append(got, strings.TrimSpace(c.Name+" "+c.Version))
		if c.Name == "Redis" && c.Version == "" && !c.LastSeenDateTime.Equal(earlier) {
			t.Errorf("host component Redis last seen %v, want %v (port 6380's; 6379's versionless sighting is dropped)", c.LastSeenDateTime, earlier)
		}
	}
	slices.Sort(got)
	if fmt.Sprint(got) != "[Debian Redis Redis 7.0.15]" {
		t.Errorf("host components %q, want [Debian Redis Redis 7.0.15] (Linux gone; versionless Redis from 6380 only)", got)
	}
}

// testAliasRule checks hostMembers against merge.PortOfHost: a name lists
// the ports of exactly the addresses it was seen with.
func testAliasRule(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	s := mustOpen(t, open)
	const name = "alias.rules.example.test"
	mk := func(host string, port int, hostnames ...string) *portolan.Observation {
		o := &portolan.Observation{Host: host, Port: port, Status: portolan.StatusOpen, ScannedAt: Base, Source: "native", Hostnames: hostnames}
		must(t, o.Normalize())
		return o
	}
	mustImport(t, s, []*portolan.Observation{mk("198.51.100.1", 80, name), mk("198.51.100.3", 80)})
	mustImport(t, s, []*portolan.Observation{mk("198.51.100.2", 80, name), mk("198.51.100.2", 443)})
	ports, n, err := s.FindHostPorts(ctx, portolan.HostPortFilter{Host: name, Count: true})
	must(t, err)
	var got []string
	for _, hp := range ports {
		got = append(got, fmt.Sprintf("%s:%d", hp.Host, hp.Port))
	}
	if want := "[198.51.100.1:80 198.51.100.2:80 198.51.100.2:443]"; fmt.Sprint(got) != want || n != 3 {
		t.Errorf("ports of %s: %v (total %d), want %s", name, got, n, want)
	}
	for host, want := range map[string]bool{"198.51.100.1": true, "198.51.100.2": true, "198.51.100.3": false} {
		hp, err := s.FindHostPortByID(ctx, portolan.HostPortID(host, portolan.TCP, 80))
		must(t, err)
		if ok, err := merge.PortOfHost(ctx, s, name, hp); err != nil || ok != want {
			t.Errorf("merge.PortOfHost(%s, %s): %v, %v; want %v", name, hp.ID, ok, err, want)
		}
	}
	if _, _, err := s.FindHostPorts(ctx, portolan.HostPortFilter{Host: "unseen." + name}); err == nil || err.Error() != merge.HostNotFound("unseen."+name).Error() {
		t.Errorf("ports of an unseen name: %v, want %v", err, merge.HostNotFound("unseen."+name))
	}
}
