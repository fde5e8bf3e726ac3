// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"portolan"
)

// RunChanges checks the change record and delta pages of a store that
// implements portolan.ChangeService: every import records exactly the items
// whose JSON it changed, with the right kinds; a mirror built only from
// delta pages, fetched while importers run, equals the store at the end;
// a rebuild keeps tokens valid; pruning moves the horizon.
func RunChanges(t *testing.T, open OpenFunc) {
	cases := []struct {
		name string
		fn   func(*testing.T, OpenFunc)
	}{
		{"RecordMatchesDiff", testRecordMatchesDiff},
		{"MirrorWhileImporting", testMirrorWhileImporting},
		{"RebuildAndPrune", testRebuildAndPrune},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open)
		})
	}
}

func changeService(t *testing.T, s portolan.Store) (portolan.ChangeService, portolan.SearchService) {
	t.Helper()
	cs, ok := s.(portolan.ChangeService)
	if !ok {
		t.Fatalf("%T does not implement portolan.ChangeService", s)
	}
	ss, ok := s.(portolan.SearchService)
	if !ok {
		t.Fatalf("%T does not implement portolan.SearchService", s)
	}
	return cs, ss
}

// snapshot is every item of the three collections, as JSON by id.
type snapshot struct {
	ports map[string]*portolan.HostPort
	json  [4]map[string]string // by portolan.ChangeCollection
}

func takeSnapshot(t *testing.T, ss portolan.SearchService, filter portolan.Expr) snapshot {
	t.Helper()
	ctx := context.Background()
	snap := snapshot{ports: map[string]*portolan.HostPort{}}
	for i := range snap.json {
		snap.json[i] = map[string]string{}
	}
	q := portolan.SearchQuery{Filter: filter, Top: 50}
	for {
		page, err := ss.SearchHostPorts(ctx, q)
		must(t, err)
		for _, hp := range page.Items {
			snap.ports[hp.ID] = hp
			snap.json[portolan.ChangedHostPorts][hp.ID] = jsonOf(t, hp)
		}
		if q.After = page.Next; q.After == "" {
			break
		}
	}
	if filter != nil {
		return snap
	}
	q = portolan.SearchQuery{Top: 50}
	for {
		page, err := ss.SearchHosts(ctx, q)
		must(t, err)
		for _, h := range page.Items {
			snap.json[portolan.ChangedHosts][h.ID] = jsonOf(t, h)
		}
		if q.After = page.Next; q.After == "" {
			break
		}
	}
	q = portolan.SearchQuery{Top: 50}
	for {
		page, err := ss.FilterSSLCertificates(ctx, q)
		must(t, err)
		for _, c := range page.Items {
			snap.json[portolan.ChangedSSLCertificates][c.ID] = jsonOf(t, c)
		}
		if q.After = page.Next; q.After == "" {
			break
		}
	}
	return snap
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return string(b)
}

// expectedKinds is what an import that turned before into after should
// record for a hostPort; counters are left to the store (a service's
// isRecent may move with a banner), but it must record something.
func expectedKinds(before, after *portolan.HostPort) portolan.ChangeKind {
	if before == nil {
		return portolan.ChangeCreated
	}
	var k portolan.ChangeKind
	if before.Status != after.Status {
		k |= portolan.ChangeStatus
	}
	if before.MostRecentSSLCertificateID != after.MostRecentSSLCertificateID {
		k |= portolan.ChangeCertificate
	}
	type bannerKey struct{ text, protocol string }
	banners := map[bannerKey]bool{}
	for _, b := range before.Banners {
		banners[bannerKey{b.Banner, b.ScanProtocol}] = true
	}
	for _, b := range after.Banners {
		if !banners[bannerKey{b.Banner, b.ScanProtocol}] {
			k |= portolan.ChangeBanners
		}
	}
	comps := map[portolan.Component]bool{}
	for _, s := range before.Services {
		comps[s.Component] = true
	}
	for _, s := range after.Services {
		if !comps[s.Component] {
			k |= portolan.ChangeServices
		}
	}
	return k
}

// testRecordMatchesDiff imports a random history batch by batch and checks
// that each import recorded exactly the items whose JSON changed, once, at
// one new position, with the kinds the difference shows.
func testRecordMatchesDiff(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	store := mustOpen(t, open)
	cs, ss := changeService(t, store)
	rng := rand.New(rand.NewPCG(5, 77))
	obs := RandomObservations(rng, 400)
	before := takeSnapshot(t, ss, nil)
	kindsSeen := portolan.ChangeKind(0)
	// Imports one after the other record increasing positions; the
	// watermark may lag behind a committed import (on PostgreSQL, while
	// any transaction of the server older than it runs), so the entries
	// of an import are those past the previous import's.
	wm, err := cs.ChangeWatermark(ctx)
	must(t, err)
	next := wm.Position
	// What FindPortChanges must answer: each hostPort entry with the
	// latest scannedAt of the port's new observations in its import.
	var wantPorts []portolan.PortChange
	imported := map[[16]byte]bool{}
	for i, batch := range Shuffled(rng, obs, 0.2, 40) {
		mustImport(t, store, batch)
		lastScan := map[string]time.Time{}
		for _, o := range batch {
			if imported[o.Identity()] {
				continue
			}
			imported[o.Identity()] = true
			id := portolan.HostPortID(o.Host, o.Protocol, o.Port)
			if o.ScannedAt.After(lastScan[id]) {
				lastScan[id] = o.ScannedAt
			}
		}
		after := takeSnapshot(t, ss, nil)
		changes, err := cs.Changes(ctx, next, math.MaxInt64)
		must(t, err)
		for _, c := range changes {
			next = max(next, c.Position+1)
			if c.Collection == portolan.ChangedHostPorts {
				wantPorts = append(wantPorts, portolan.PortChange{ID: c.ID, Position: c.Position, Kinds: c.Kinds, At: lastScan[c.ID].UTC()})
			}
		}
		got := map[portolan.ChangeCollection]map[string]portolan.ChangeKind{}
		positions := map[int64]bool{}
		for _, c := range changes {
			if got[c.Collection] == nil {
				got[c.Collection] = map[string]portolan.ChangeKind{}
			}
			if _, dup := got[c.Collection][c.ID]; dup {
				t.Fatalf("batch %d: %s %s recorded twice", i, c.Collection, c.ID)
			}
			got[c.Collection][c.ID] = c.Kinds
			positions[c.Position] = true
			kindsSeen |= c.Kinds
		}
		if len(positions) > 1 {
			t.Fatalf("batch %d: one import recorded at %d positions", i, len(positions))
		}
		for coll := portolan.ChangedHostPorts; coll <= portolan.ChangedSSLCertificates; coll++ {
			for id, now := range after.json[coll] {
				old, existed := before.json[coll][id]
				kinds, recorded := got[coll][id]
				switch {
				case existed && old == now && recorded:
					t.Fatalf("batch %d: %s %s recorded (%s) but unchanged", i, coll, id, kinds)
				case (!existed || old != now) && !recorded:
					t.Fatalf("batch %d: %s %s changed but not recorded:\nbefore %s\nafter  %s", i, coll, id, old, now)
				case !recorded:
					continue
				case kinds == 0:
					t.Fatalf("batch %d: %s %s recorded without a kind", i, coll, id)
				case !existed && kinds != portolan.ChangeCreated:
					t.Fatalf("batch %d: %s %s is new but recorded as %s", i, coll, id, kinds)
				case coll == portolan.ChangedHostPorts && existed:
					want := expectedKinds(before.ports[id], after.ports[id])
					if kinds&^portolan.ChangeCounters != want {
						t.Fatalf("batch %d: hostPort %s recorded as %s, want %s (+counters):\nbefore %s\nafter  %s", i, id, kinds, want, old, now)
					}
				case existed && kinds != portolan.ChangeCounters:
					t.Fatalf("batch %d: %s %s recorded as %s, want counters", i, coll, id, kinds)
				}
			}
			for id := range got[coll] {
				if _, ok := after.json[coll][id]; !ok {
					t.Fatalf("batch %d: %s %s recorded but is no item", i, coll, id)
				}
			}
		}
		before = after
	}
	for _, k := range []portolan.ChangeKind{portolan.ChangeCreated, portolan.ChangeStatus, portolan.ChangeBanners,
		portolan.ChangeServices, portolan.ChangeCertificate, portolan.ChangeCounters} {
		if kindsSeen&k == 0 {
			t.Errorf("the history never recorded a change of kind %s", k)
		}
	}
	checkPortChanges(t, cs, wantPorts)
}

// checkPortChanges holds FindPortChanges to the entries of the record
// (want, in position order): all of them, the latest few of each port,
// and those of some ports only.
func checkPortChanges(t *testing.T, cs portolan.ChangeService, want []portolan.PortChange) {
	t.Helper()
	ctx := context.Background()
	byID := map[string][]portolan.PortChange{}
	var ids []string
	for _, c := range want {
		if byID[c.ID] == nil {
			ids = append(ids, c.ID)
		}
		byID[c.ID] = append(byID[c.ID], c)
	}
	slices.Sort(ids)
	expect := func(ids []string, perPort int) []portolan.PortChange {
		var out []portolan.PortChange
		for _, id := range ids {
			cs := byID[id]
			if perPort > 0 && len(cs) > perPort {
				cs = cs[len(cs)-perPort:]
			}
			out = append(out, cs...)
		}
		return out
	}
	some := ids[:len(ids)/3]
	for _, c := range []struct {
		ids     []string
		perPort int
	}{{ids, 0}, {ids, 2}, {append(slices.Clone(some), "bm8tc3VjaC1wb3J0"), 1}, {nil, 0}} {
		got, err := cs.FindPortChanges(ctx, c.ids, c.perPort)
		must(t, err)
		if diff := cmp.Diff(expect(c.ids, c.perPort), got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("FindPortChanges(%d ids, %d) (-want +got):\n%s", len(c.ids), c.perPort, diff)
		}
	}
}

// openPorts is the filter the mirrors use: items leave it when they close.
var openPorts portolan.Expr = &portolan.Compare{Op: portolan.OpEq,
	Path:  portolan.Path{Name: "status", Kind: portolan.ValueEnum},
	Value: portolan.Value{Kind: portolan.ValueEnum, Str: string(portolan.StatusOpen)}}

// mirror is a client's copy of a collection, kept only from delta pages.
type mirror struct {
	filter portolan.Expr
	since  int64
	items  map[string]string
	rounds int
}

// initial fills the mirror with a full listing, its token taken first.
func (m *mirror) initial(t *testing.T, cs portolan.ChangeService, ss portolan.SearchService) {
	t.Helper()
	wm, err := cs.ChangeWatermark(context.Background())
	must(t, err)
	m.since = wm.Position
	m.items = map[string]string{}
	for id, j := range takeSnapshot(t, ss, m.filter).json[portolan.ChangedHostPorts] {
		m.items[id] = j
	}
}

// follow runs one round of delta pages.
func (m *mirror) follow(t *testing.T, cs portolan.ChangeService, top int) {
	t.Helper()
	ctx := context.Background()
	wm, err := cs.ChangeWatermark(ctx)
	must(t, err)
	if m.since < wm.Horizon {
		t.Fatalf("token %d is before the horizon %d", m.since, wm.Horizon)
	}
	q := portolan.DeltaQuery{Filter: m.filter, Since: m.since, Until: wm.Position, Top: top}
	seen := map[string]bool{}
	for {
		page, err := cs.HostPortChanges(ctx, q)
		must(t, err)
		if len(page.Entries) > top {
			t.Fatalf("page of %d entries for top %d", len(page.Entries), top)
		}
		for _, e := range page.Entries {
			if seen[e.ID] {
				t.Fatalf("round %d: %s twice", m.rounds, e.ID)
			}
			seen[e.ID] = true
			if e.Removed {
				delete(m.items, e.ID)
			} else {
				m.items[e.ID] = jsonOf(t, e.Item)
			}
		}
		if q.After = page.Next; q.After == "" {
			break
		}
	}
	m.since = max(m.since, wm.Position)
	m.rounds++
}

// settle waits until the watermark has passed every recorded change: on
// PostgreSQL it lags behind committed imports while any older transaction
// of the server runs (another test's, say), which delays a round's changes
// to a later round and loses none.
func settle(t *testing.T, cs portolan.ChangeService) {
	t.Helper()
	ctx := context.Background()
	changes, err := cs.Changes(ctx, 0, math.MaxInt64)
	must(t, err)
	var last int64
	for _, c := range changes {
		last = max(last, c.Position)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		wm, err := cs.ChangeWatermark(ctx)
		must(t, err)
		if wm.Position > last {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watermark stays at %d, before the change at %d", wm.Position, last)
		}
	}
}

func (m *mirror) check(t *testing.T, ss portolan.SearchService) {
	t.Helper()
	want := takeSnapshot(t, ss, m.filter).json[portolan.ChangedHostPorts]
	for id, j := range want {
		if m.items[id] != j {
			t.Fatalf("after %d rounds the mirror has %s as\n%s\nthe store has\n%s", m.rounds, id, m.items[id], j)
		}
	}
	for id := range m.items {
		if _, ok := want[id]; !ok {
			t.Fatalf("after %d rounds the mirror has %s, which the store does not list", m.rounds, id)
		}
	}
}

// testMirrorWhileImporting runs four importers at once while two mirrors
// (all ports, open ports) follow delta rounds with small pages; at the end
// one more round must bring each mirror to the store's state.
func testMirrorWhileImporting(t *testing.T, open OpenFunc) {
	store := mustOpen(t, open)
	cs, ss := changeService(t, store)
	rng := rand.New(rand.NewPCG(8, 13))
	obs := RandomObservations(rng, 1200)
	mustImport(t, store, obs[:100])
	mirrors := []*mirror{{}, {filter: openPorts}}
	for _, m := range mirrors {
		m.initial(t, cs, ss)
	}
	batches := Shuffled(rng, obs[100:], 0.1, 30)
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(batches); i += 4 {
				if _, err := store.ImportObservations(context.Background(), batches[i]); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		for i, m := range mirrors {
			m.follow(t, cs, 3+4*i)
		}
		time.Sleep(time.Millisecond)
	}
	close(errs)
	for err := range errs {
		t.Fatalf("import: %v", err)
	}
	settle(t, cs)
	for _, m := range mirrors {
		m.follow(t, cs, 100)
		m.check(t, ss)
		if m.rounds < 3 {
			t.Logf("only %d rounds ran while importing", m.rounds)
		}
	}
	// A round after nothing changed is empty.
	m := mirrors[0]
	wm, err := cs.ChangeWatermark(context.Background())
	must(t, err)
	page, err := cs.HostPortChanges(context.Background(), portolan.DeltaQuery{Since: m.since, Until: wm.Position, Top: 10})
	must(t, err)
	if len(page.Entries) != 0 {
		t.Fatalf("a round without imports returned %d entries", len(page.Entries))
	}
}

// testRebuildAndPrune checks that a rebuild returns every item to a mirror
// that keeps its token, and that pruning moves the horizon past old
// positions.
func testRebuildAndPrune(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	store := mustOpen(t, open)
	cs, ss := changeService(t, store)
	rng := rand.New(rand.NewPCG(3, 4))
	obs := RandomObservations(rng, 300)
	mustImport(t, store, obs[:150])
	m := &mirror{}
	m.initial(t, cs, ss)
	mustImport(t, store, obs[150:])
	must(t, store.Rebuild(ctx, nil))
	settle(t, cs)
	wm, err := cs.ChangeWatermark(ctx)
	must(t, err)
	changes, err := cs.Changes(ctx, m.since, wm.Position)
	must(t, err)
	rebuilt := 0
	for _, c := range changes {
		if c.Kinds == portolan.ChangeRebuilt {
			rebuilt++
		}
	}
	all := takeSnapshot(t, ss, nil)
	if want := len(all.json[1]) + len(all.json[2]) + len(all.json[3]); rebuilt != want {
		t.Fatalf("the rebuild recorded %d items, the store has %d", rebuilt, want)
	}
	m.follow(t, cs, 17)
	m.check(t, ss)

	last := changes[len(changes)-1].Position
	wm, err = cs.PruneChanges(ctx, time.Now().Add(time.Hour))
	must(t, err)
	if wm.Horizon <= last || wm.Horizon > wm.Position {
		t.Fatalf("after pruning everything up to %d the horizon is %d, the watermark %d", last, wm.Horizon, wm.Position)
	}
	if changes, err := cs.Changes(ctx, 0, math.MaxInt64); err != nil || len(changes) != 0 {
		t.Fatalf("after pruning everything %d changes remain (%v)", len(changes), err)
	}
	mustImport(t, store, RandomObservations(rand.New(rand.NewPCG(9, 9)), 20))
	settle(t, cs)
	m.follow(t, cs, 5)
	m.check(t, ss)
	wm2, err := cs.PruneChanges(ctx, time.Now().Add(-time.Hour))
	must(t, err)
	if wm2.Horizon != wm.Horizon {
		t.Fatalf("pruning nothing moved the horizon from %d to %d", wm.Horizon, wm2.Horizon)
	}
}
