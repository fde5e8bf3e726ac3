// SPDX-License-Identifier: Apache-2.0

// Package storetest is the conformance suite every portolan.Store must pass.
// Its oracle is the naive reference of package naive, which recomputes every
// record from the whole list of observations and shares no code with the
// merge: on many random histories, ingested in random order, with
// duplicates and in random batch sizes, the store must render the same
// bytes (NaiveOracle). The other cases compare the store with MemoryStore
// fed the same observations sorted in one pass, and check the read contract
// (paging, counts, not-found errors). A store's tests call Run with a function that
// opens a fresh, empty store.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"portolan"
	"portolan/internal/storetest/naive"
)

// OpenFunc returns a new empty store that recognises components with r. The
// store is closed by the suite; anything else is for the caller's
// t.Cleanup.
type OpenFunc func(t testing.TB, r portolan.Recognizer) portolan.Store

// Run runs the whole suite; each case gets its own store and runs in
// parallel with the others.
func Run(t *testing.T, open OpenFunc) {
	cases := []struct {
		name string
		fn   func(*testing.T, OpenFunc)
	}{
		{"NaiveOracle", testNaiveOracle},
		{"OrderIndependence", testOrderIndependence},
		{"OneLargeBatch", testOneLargeBatch},
		{"ReimportIsNoOp", testReimportIsNoOp},
		{"Rebuild", testRebuild},
		{"ConcurrentImports", testConcurrentImports},
		{"Paging", testPaging},
		{"Rules", testRules},
		{"NotFound", testNotFound},
		{"Search", testSearch},
		{"Prune", testPrune},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open)
		})
	}
}

func mustOpen(t *testing.T, open OpenFunc) portolan.Store {
	t.Helper()
	s := open(t, nil)
	t.Cleanup(func() { s.Close() })
	return s
}

func mustImport(t *testing.T, s portolan.Store, batch []*portolan.Observation) portolan.ImportResult {
	t.Helper()
	res, err := s.ImportObservations(context.Background(), batch)
	if err != nil {
		t.Fatalf("import %d observations: %v", len(batch), err)
	}
	return res
}

func mustDump(t *testing.T, s portolan.Store) []byte {
	t.Helper()
	b, err := Dump(context.Background(), s, AllHosts())
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	return b
}

// reference returns the memory store fed obs sorted, in one pass.
func reference(t *testing.T, obs []*portolan.Observation) (*MemoryStore, portolan.ImportResult) {
	t.Helper()
	ref := NewMemoryStore(nil)
	res := mustImport(t, ref, SortedByTime(obs))
	return ref, res
}

func assertSameDump(t *testing.T, want, got []byte) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	wl, gl := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
	for i := 0; i < len(wl) && i < len(gl); i++ {
		if !bytes.Equal(wl[i], gl[i]) {
			lo := max(0, i-8)
			t.Fatalf("records differ from the reference at dump line %d:\nwant: %s\n got: %s\ncontext (want):\n%s", i+1, wl[i], gl[i], bytes.Join(wl[lo:min(len(wl), i+3)], []byte("\n")))
		}
	}
	t.Fatalf("records differ from the reference: dump lengths %d and %d lines", len(wl), len(gl))
}

// Oracle sizes: NaiveOracle compares OracleSeeds random histories of
// OracleObservations observations each. PORTOLAN_ORACLE_SEEDS=n runs n
// seeds instead, for a longer hunt.
const (
	OracleSeeds        = 16
	OracleObservations = 250
)

// testNaiveOracle feeds the naive reference a random history and the store
// the same history shuffled, with duplicates, in random batch sizes, and
// wants the same dump, byte for byte; after a rebuild too, for some seeds.
func testNaiveOracle(t *testing.T, open OpenFunc) {
	seeds := uint64(OracleSeeds)
	if n, err := strconv.ParseUint(os.Getenv("PORTOLAN_ORACLE_SEEDS"), 10, 64); err == nil && n > 0 {
		seeds = n
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel() // a database store waits on round trips, not CPU
			rng := rand.New(rand.NewPCG(seed, 2026))
			obs := RandomObservations(rng, OracleObservations)
			oracle := naive.New(nil)
			records := mustImport(t, oracle, obs).Created
			want := mustDump(t, oracle)

			s := mustOpen(t, open)
			var total portolan.ImportResult
			offered := 0
			for _, b := range Shuffled(rng, obs, 0.25, 1+rng.IntN(80)) {
				offered += len(b)
				total.Add(mustImport(t, s, b))
			}
			got := mustDump(t, s)
			if !bytes.Equal(want, got) {
				t.Fatalf("the store disagrees with the naive reference:\n%s", explainDifference(want, got, obs))
			}
			if total.Observations != offered || total.Duplicates != offered-len(obs) || total.Created != records {
				t.Errorf("offered %d (%d distinct) making %d records: counted %+v", offered, len(obs), records, total)
			}
			if seed%4 == 0 {
				if err := s.Rebuild(context.Background(), nil); err != nil {
					t.Fatalf("rebuild: %v", err)
				}
				if got := mustDump(t, s); !bytes.Equal(want, got) {
					t.Fatalf("after a rebuild, the store disagrees with the naive reference:\n%s", explainDifference(want, got, obs))
				}
			}
		})
	}
}

// explainDifference shows where two dumps first differ and the
// observations behind that part of the dump: those of the nearest hostPort
// record above the line, or else of the dumped host.
func explainDifference(want, got []byte, obs []*portolan.Observation) string {
	wl, gl := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
	i := 0
	for i < len(wl) && i < len(gl) && bytes.Equal(wl[i], gl[i]) {
		i++
	}
	var b strings.Builder
	if i == len(wl) || i == len(gl) {
		fmt.Fprintf(&b, "dump lengths %d and %d lines\n", len(wl), len(gl))
		i = min(len(wl), len(gl)) - 1
	} else {
		fmt.Fprintf(&b, "dump line %d:\nwant: %s\n got: %s\n", i+1, wl[i], gl[i])
	}
	fmt.Fprintf(&b, "context (want):\n%s\n", bytes.Join(wl[max(0, i-12):min(len(wl), i+3)], []byte("\n")))
	match := func(o *portolan.Observation) bool { return false }
	for j := i; j >= 0; j-- {
		line := strings.TrimSpace(string(wl[j]))
		id, ok := strings.CutPrefix(line, `"id": "`)
		if !ok {
			continue
		}
		id = strings.TrimSuffix(strings.TrimSuffix(id, ","), `"`)
		if host, proto, port, ok := portolan.ParseHostPortID(id); ok {
			fmt.Fprintf(&b, "observations of %s %s/%d:\n", host, proto, port)
			match = func(o *portolan.Observation) bool { return o.Host == host && o.Protocol == proto && o.Port == port }
			break
		}
		if strings.HasPrefix(string(wl[j]), `    "id"`) { // a dumped host
			fmt.Fprintf(&b, "observations of or naming %s:\n", id)
			match = func(o *portolan.Observation) bool { return o.Host == id || slices.Contains(o.Hostnames, id) }
			break
		}
	}
	for _, o := range SortedByTime(obs) {
		if match(o) {
			c := *o
			c.Certificate = nil // shown by its SHA-1 rather than its DER
			line, _ := json.Marshal(&c)
			fmt.Fprintf(&b, "%s", line)
			if len(o.Certificate) > 0 {
				fmt.Fprintf(&b, " certificate sha1 %s", portolan.CertificateDigest(o.Certificate))
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func testOrderIndependence(t *testing.T, open OpenFunc) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			obs := RandomObservations(rng, 300)
			ref, refRes := reference(t, obs)
			s := mustOpen(t, open)
			var total portolan.ImportResult
			batches := Shuffled(rng, obs, 0.3, 40)
			offered := 0
			for _, b := range batches {
				offered += len(b)
				total.Add(mustImport(t, s, b))
			}
			want := mustDump(t, ref)
			if n := bytes.Count(want, []byte(`"timesObserved"`)); n < 20 {
				t.Fatalf("the reference holds only %d records and banners: the generator is broken", n)
			}
			assertSameDump(t, want, mustDump(t, s))
			if total.Observations != offered || total.Duplicates != offered-len(obs) {
				t.Errorf("offered %d (%d distinct): counted %d observations, %d duplicates", offered, len(obs), total.Observations, total.Duplicates)
			}
			if total.Created != refRes.Created {
				t.Errorf("created %d records, the reference %d", total.Created, refRes.Created)
			}
		})
	}
}

// testOneLargeBatch imports everything, shuffled, in one call: a store must
// merge rows with equal keys within one batch (the same certificate on tcp
// and udp of one port, a banner seen by two sources).
func testOneLargeBatch(t *testing.T, open OpenFunc) {
	rng := rand.New(rand.NewPCG(11, 11))
	obs := RandomObservations(rng, 600)
	ref, _ := reference(t, obs)
	s := mustOpen(t, open)
	all := Shuffled(rng, obs, 0.2, 1<<30)
	if len(all) != 1 {
		t.Fatalf("want one batch, got %d", len(all))
	}
	mustImport(t, s, all[0])
	assertSameDump(t, mustDump(t, ref), mustDump(t, s))
}

func testReimportIsNoOp(t *testing.T, open OpenFunc) {
	rng := rand.New(rand.NewPCG(7, 7))
	obs := RandomObservations(rng, 200)
	s := mustOpen(t, open)
	first := mustImport(t, s, obs)
	if first.Duplicates != 0 || first.Created == 0 {
		t.Fatalf("first import: %+v, want no duplicates and some records created", first)
	}
	before := mustDump(t, s)
	again := mustImport(t, s, obs)
	if again.Duplicates != len(obs) || again.Created != 0 || again.Updated != 0 {
		t.Fatalf("second import of the same observations: %+v, want all %d duplicates and nothing created or updated", again, len(obs))
	}
	assertSameDump(t, before, mustDump(t, s))
}

func testRebuild(t *testing.T, open OpenFunc) {
	rng := rand.New(rand.NewPCG(8, 8))
	obs := RandomObservations(rng, 250)
	s := mustOpen(t, open)
	for _, b := range Shuffled(rng, obs, 0, 50) {
		mustImport(t, s, b)
	}
	before := mustDump(t, s)
	var last int
	if err := s.Rebuild(context.Background(), func(n int) { last = n }); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if last != len(obs) {
		t.Errorf("rebuild reported %d observations replayed, want %d", last, len(obs))
	}
	assertSameDump(t, before, mustDump(t, s))
}

func testConcurrentImports(t *testing.T, open OpenFunc) {
	rng := rand.New(rand.NewPCG(9, 9))
	obs := RandomObservations(rng, 400)
	ref, _ := reference(t, obs)
	s := mustOpen(t, open)
	// Four importers over shuffled halves: every observation is offered
	// twice, concurrently.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		half := obs[:len(obs)/2]
		if i%2 == 1 {
			half = obs[len(obs)/2:]
		}
		batches := Shuffled(rand.New(rand.NewPCG(uint64(i), 1)), half, 0, 30)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range batches {
				if _, err := s.ImportObservations(context.Background(), b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent import: %v", err)
	}
	assertSameDump(t, mustDump(t, ref), mustDump(t, s))
}

func testPaging(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	s := mustOpen(t, open)
	var obs []*portolan.Observation
	for port := 1; port <= 23; port++ {
		for _, proto := range []portolan.Protocol{portolan.TCP, portolan.UDP} {
			if proto == portolan.UDP && port%3 != 0 {
				continue
			}
			o := &portolan.Observation{Host: "192.0.2.9", Port: port * 7, Protocol: proto, Status: portolan.StatusOpen, ScannedAt: Base, Source: "native"}
			must(t, o.Normalize())
			obs = append(obs, o)
		}
	}
	// The same ports on an address the name page.example.test aliases.
	for _, port := range []int{7, 500} {
		o := &portolan.Observation{Host: "192.0.2.10", Port: port, Status: portolan.StatusOpen, ScannedAt: Base, Source: "native", Hostnames: []string{"page.example.test"}}
		must(t, o.Normalize())
		obs = append(obs, o)
	}
	mustImport(t, s, obs)
	all, total, err := s.FindHostPorts(ctx, portolan.HostPortFilter{Host: "192.0.2.9", Count: true})
	must(t, err)
	if total != len(all) || total != 23+7 {
		t.Fatalf("total %d, %d records; want 30", total, len(all))
	}
	for i := 1; i < len(all); i++ {
		if !all[i-1].Key().Less(all[i].Key()) {
			t.Fatalf("ports out of order at %d: %v then %v", i, all[i-1].Key(), all[i].Key())
		}
	}
	for limit := 1; limit <= 4; limit++ {
		var walked []*portolan.HostPort
		var after *portolan.HostPortKey
		for pages := 0; ; pages++ {
			if pages > 40 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			page, n, err := s.FindHostPorts(ctx, portolan.HostPortFilter{Host: "192.0.2.9", After: after, Limit: limit, Count: pages == 0})
			must(t, err)
			if pages == 0 && n != 30 {
				t.Fatalf("count with a limit: %d, want 30", n)
			}
			if pages > 0 && n != -1 {
				t.Fatalf("total without Count: %d, want -1", n)
			}
			if len(page) > limit {
				t.Fatalf("page of %d records with limit %d", len(page), limit)
			}
			walked = append(walked, page...)
			if len(page) < limit {
				break
			}
			k := page[len(page)-1].Key()
			after = &k
		}
		if len(walked) != len(all) {
			t.Fatalf("limit %d: walked %d records, want %d", limit, len(walked), len(all))
		}
		for i := range walked {
			if walked[i].ID != all[i].ID {
				t.Fatalf("limit %d: record %d is %s, want %s", limit, i, walked[i].ID, all[i].ID)
			}
		}
	}
	skipped, _, err := s.FindHostPorts(ctx, portolan.HostPortFilter{Host: "192.0.2.9", Offset: 5, Limit: 3})
	must(t, err)
	if len(skipped) != 3 || skipped[0].ID != all[5].ID || skipped[2].ID != all[7].ID {
		t.Fatalf("offset 5 limit 3 gave %d records starting %v", len(skipped), skipped)
	}
	named, n, err := s.FindHostPorts(ctx, portolan.HostPortFilter{Host: "page.example.test", Count: true})
	must(t, err)
	if n != 2 || len(named) != 2 || named[0].Port != 7 || named[0].Host != "192.0.2.10" {
		t.Fatalf("ports of a hostname: %d records (total %d), want the 2 ports of its address", len(named), n)
	}
	h, err := s.FindHostByID(ctx, "page.example.test")
	must(t, err)
	if h.Kind != portolan.KindHostname || !h.FirstSeenDateTime.Equal(Base) {
		t.Fatalf("hostname entity: %+v", h)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testRules checks the rules of intelligence.md §3 field by field on small
// hand-made histories, in both orders.
func testRules(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	at := func(sec int) time.Time { return Base.Add(time.Duration(sec) * time.Second) }
	mk := func(status portolan.HostPortStatus, seen, scanned int, source string) *portolan.Observation {
		o := &portolan.Observation{Host: "203.0.113.5", Port: 443, Status: status, SeenAt: at(seen), ScannedAt: at(scanned), Source: source}
		must(t, o.Normalize())
		return o
	}
	history := []*portolan.Observation{
		mk(portolan.StatusOpen, 100, 130, "nmap"),
		mk(portolan.StatusOpen, 100, 130, "masscan"), // same instant: counted once
		mk(portolan.StatusOpen, 200, 210, "nmap"),
		mk(portolan.StatusClosed, 300, 300, "nmap"),
		mk(portolan.StatusOpen, 290, 300, "zgrab2"), // tie on scannedAt: open wins
		mk(portolan.StatusFiltered, 50, 60, "nmap"),
	}
	for _, reversed := range []bool{false, true} {
		s := mustOpen(t, open)
		for i := range history {
			o := history[i]
			if reversed {
				o = history[len(history)-1-i]
			}
			mustImport(t, s, []*portolan.Observation{o})
		}
		hp, err := s.FindHostPortByID(ctx, portolan.HostPortID("203.0.113.5", portolan.TCP, 443))
		must(t, err)
		if !hp.FirstSeenDateTime.Equal(at(100)) || !hp.LastSeenDateTime.Equal(at(290)) || !hp.LastScanDateTime.Equal(at(300)) {
			t.Errorf("reversed=%v: first %v last %v scan %v", reversed, hp.FirstSeenDateTime, hp.LastSeenDateTime, hp.LastScanDateTime)
		}
		if hp.TimesObserved != 3 || hp.Status != portolan.StatusOpen {
			t.Errorf("reversed=%v: timesObserved %d status %s; want 3 open", reversed, hp.TimesObserved, hp.Status)
		}
	}
	// A port seen only closed has no record, until an open observation
	// arrives; the closed one then still counts for lastScan and status.
	s := mustOpen(t, open)
	closed := &portolan.Observation{Host: "203.0.113.6", Port: 22, Status: portolan.StatusClosed, ScannedAt: at(500), Source: "nmap"}
	must(t, closed.Normalize())
	res := mustImport(t, s, []*portolan.Observation{closed})
	if res.Created != 0 {
		t.Errorf("a closed observation created %d records", res.Created)
	}
	if _, err := s.FindHostPortByID(ctx, portolan.HostPortID("203.0.113.6", portolan.TCP, 22)); portolan.ErrorCode(err) != portolan.ENOTFOUND {
		t.Errorf("closed-only port: want ENOTFOUND, got %v", err)
	}
	ports, _, err := s.FindHostPorts(ctx, portolan.HostPortFilter{Host: "203.0.113.6"})
	if err != nil || ports == nil || len(ports) != 0 {
		t.Errorf("host seen only closed: ports %v, err %v; want an empty list", ports, err)
	}
	open1 := &portolan.Observation{Host: "203.0.113.6", Port: 22, Status: portolan.StatusOpen, ScannedAt: at(400), Source: "nmap"}
	must(t, open1.Normalize())
	res = mustImport(t, s, []*portolan.Observation{open1})
	if res.Created != 1 {
		t.Errorf("first open observation: created %d, want 1", res.Created)
	}
	hp, err := s.FindHostPortByID(ctx, portolan.HostPortID("203.0.113.6", portolan.TCP, 22))
	must(t, err)
	if hp.Status != portolan.StatusClosed || !hp.LastScanDateTime.Equal(at(500)) || hp.TimesObserved != 1 {
		t.Errorf("closed after open: status %s lastScan %v times %d", hp.Status, hp.LastScanDateTime, hp.TimesObserved)
	}
}

func testNotFound(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	s := mustOpen(t, open)
	mustImport(t, s, RandomObservations(rand.New(rand.NewPCG(3, 3)), 50))
	checks := map[string]error{}
	_, checks["host"] = s.FindHostByID(ctx, "203.0.113.250")
	_, _, checks["ports"] = s.FindHostPorts(ctx, portolan.HostPortFilter{Host: "203.0.113.250"})
	_, checks["hostPort"] = s.FindHostPortByID(ctx, portolan.HostPortID("203.0.113.250", portolan.TCP, 80))
	_, checks["hostPort garbage id"] = s.FindHostPortByID(ctx, "not base64 at all")
	_, _, checks["components"] = s.FindHostComponents(ctx, "203.0.113.250", portolan.ListFilter{})
	_, checks["component"] = s.FindHostComponentByID(ctx, portolan.HostComponentID("203.0.113.250", portolan.Component{Name: "x"}))
	_, _, checks["host certificates"] = s.FindHostSSLCertificates(ctx, "203.0.113.250", portolan.ListFilter{})
	_, checks["host certificate"] = s.FindHostSSLCertificateByID(ctx, portolan.HostSSLCertificateID("203.0.113.250", "00"))
	_, checks["certificate"] = s.FindSSLCertificateByID(ctx, portolan.SSLCertificateID("0000000000000000000000000000000000000000"))
	_, _, checks["related hosts"] = s.FindRelatedHosts(ctx, portolan.SSLCertificateID("0000000000000000000000000000000000000000"), portolan.ListFilter{})
	for what, err := range checks {
		if portolan.ErrorCode(err) != portolan.ENOTFOUND {
			t.Errorf("%s: want ENOTFOUND, got %v", what, err)
		}
	}
}

func testSearch(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	s := mustOpen(t, open)
	der := TestCertificates()[1]
	o := &portolan.Observation{Host: "192.0.2.77", Port: 443, Status: portolan.StatusOpen, ScannedAt: Base, Source: "native", Certificate: der}
	must(t, o.Normalize())
	mustImport(t, s, []*portolan.Observation{o})
	want := portolan.SSLCertificateID(portolan.CertificateDigest(der))
	for _, q := range []portolan.CertificateSearch{
		{Field: "subject/commonName", Value: "SVC1.example.test"},
		{Field: "name", Value: "www.example.test"},
		{Field: "sha1", Value: portolan.CertificateDigest(der)},
		{Field: "serialNumber", Value: "1001"},
		{Field: "issuer/commonName", Value: "svc1.example.test"}, // self-signed
		{Field: "subject/organizationName", Value: "Example Lab"},
	} {
		found, n, err := s.SearchSSLCertificates(ctx, q, portolan.ListFilter{Count: true})
		must(t, err)
		if len(found) != 1 || n != 1 || found[0].ID != want || !found[0].LastSeenDateTime.Equal(Base) {
			t.Errorf("search %+v: %d found (total %d), want the one certificate", q, len(found), n)
		}
	}
	if found, _, err := s.SearchSSLCertificates(ctx, portolan.CertificateSearch{Field: "subject/commonName", Value: "nothing.example"}, portolan.ListFilter{}); err != nil || len(found) != 0 {
		t.Errorf("search for an absent name: %d found, err %v", len(found), err)
	}
	if _, _, err := s.SearchSSLCertificates(ctx, portolan.CertificateSearch{Field: "subject/bogus", Value: "x"}, portolan.ListFilter{}); portolan.ErrorCode(err) != portolan.EINVALID {
		t.Errorf("search on an unknown field: want EINVALID, got %v", err)
	}
}

// testPrune: pruning the observations scanned before the median instant
// leaves the records the naive reference computes from the others alone;
// a dry run changes nothing; ingesting the pruned observations again gives
// back the records of the whole history. A store that cannot prune (the
// memory store) skips the case; the database stores assert that they can.
func testPrune(t *testing.T, open OpenFunc) {
	s := mustOpen(t, open)
	pruner, ok := s.(portolan.Pruner)
	if !ok {
		t.Skip("the store does not implement portolan.Pruner")
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(11, 11))
	obs := RandomObservations(rng, 300)
	for _, b := range Shuffled(rng, obs, 0.1, 40) {
		mustImport(t, s, b)
	}
	whole := mustDump(t, s)
	times := make([]time.Time, len(obs))
	for i, o := range obs {
		times[i] = o.ScannedAt
	}
	slices.SortFunc(times, time.Time.Compare)
	cut := times[len(times)/2]
	var kept, old []*portolan.Observation
	for _, o := range obs {
		if o.ScannedAt.Before(cut) {
			old = append(old, o)
		} else {
			kept = append(kept, o)
		}
	}
	dry, err := pruner.Prune(ctx, portolan.PruneOptions{Before: cut, DryRun: true})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if dry.Removed != len(old) || dry.Kept != len(kept) {
		t.Errorf("dry run counted %+v, want %d removed and %d kept", dry, len(old), len(kept))
	}
	assertSameDump(t, whole, mustDump(t, s))

	res, err := pruner.Prune(ctx, portolan.PruneOptions{Before: cut})
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	if res != dry {
		t.Errorf("prune counted %+v, the dry run %+v", res, dry)
	}
	oracle := naive.New(nil)
	mustImport(t, oracle, kept)
	if want, got := mustDump(t, oracle), mustDump(t, s); !bytes.Equal(want, got) {
		t.Fatalf("after the prune, the store disagrees with the naive reference fed the kept observations:\n%s", explainDifference(want, got, kept))
	}
	if again := mustImport(t, s, old); again.Duplicates != 0 {
		t.Errorf("ingesting the pruned observations again: %+v, want none a duplicate", again)
	}
	assertSameDump(t, whole, mustDump(t, s))
}
