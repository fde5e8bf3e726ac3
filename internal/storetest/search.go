// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"portolan"
)

// RunSearch is the property test of estate-wide search: random valid
// expressions and orderings, run by the store (through its SQL) and by
// portolan.Evaluate over the same records, must select the same items in
// the same order, page after page, with exact counts. The store must
// implement portolan.SearchService.
func RunSearch(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	store := mustOpen(t, open)
	search, ok := store.(portolan.SearchService)
	if !ok {
		t.Fatalf("%T does not implement portolan.SearchService", store)
	}
	rng := rand.New(rand.NewPCG(11, 29))
	obs := RandomObservations(rng, 600)
	for _, batch := range Shuffled(rng, obs, 0.1, 200) {
		mustImport(t, store, batch)
	}
	records := allHostPorts(t, store)
	if len(records) < 20 {
		t.Fatalf("only %d records: the world is too small to test search", len(records))
	}
	world := newSearchWorld(obs, records)
	world.certs = map[string]*portolan.SSLCertificate{}
	for _, hp := range records {
		if id := hp.MostRecentSSLCertificateID; id != "" && world.certs[id] == nil {
			c, err := store.FindSSLCertificateByID(ctx, id)
			must(t, err)
			world.certs[id] = c
			world.times = append(world.times, c.ExpirationDateTime, c.IssueDateTime)
		}
	}
	if len(world.certs) < 2 {
		t.Fatalf("only %d certificates on records: too few to test certificate paths", len(world.certs))
	}

	selective := 0
	const queries = 300
	for i := 0; i < queries; i++ {
		q := portolan.SearchQuery{Filter: world.randomExpr(rng, 0), Count: true, Top: 1 + rng.IntN(40)}
		if rng.IntN(2) == 0 {
			q.OrderBy = world.randomOrder(rng)
		}
		want := world.expect(q)
		got, total := walk(t, ctx, search, q)
		if total != len(want) || !slices.Equal(got, want) {
			t.Fatalf("query %d: filter %s orderby %s (top %d):\n got %d items (count %d): %v\nwant %d items: %v",
				i, describe(q.Filter), describeOrder(q.OrderBy), q.Top, len(got), total, short(got), len(want), short(want))
		}
		if len(want) > 0 && len(want) < len(records) {
			selective++
		}
	}
	// Expressions that select all or nothing prove little.
	if selective < queries/3 {
		t.Fatalf("only %d of %d queries selected some but not all of %d records", selective, queries, len(records))
	}
	t.Logf("%d records, %d of %d queries selective", len(records), selective, queries)
	runHostSearch(t, store, search, world, rng)
	runCertificateSearch(t, search, world, rng)
	runComponentAndHostCertificateSearch(t, store, search, world, rng)
}

// walk follows a query's pages to the end and returns the ids in order and
// the count of the first page.
func walk(t *testing.T, ctx context.Context, s portolan.SearchService, q portolan.SearchQuery) ([]string, int) {
	t.Helper()
	var ids []string
	total := -2
	for pages := 0; ; pages++ {
		page, err := s.SearchHostPorts(ctx, q)
		if err != nil {
			t.Fatalf("filter %s orderby %s: %v", describe(q.Filter), describeOrder(q.OrderBy), err)
		}
		if total == -2 {
			total = page.Total
		} else if page.Total != total {
			t.Fatalf("count changed between pages: %d then %d", total, page.Total)
		}
		if q.Top > 0 && len(page.Items) > q.Top {
			t.Fatalf("page of %d items for top %d", len(page.Items), q.Top)
		}
		for _, hp := range page.Items {
			ids = append(ids, hp.ID)
		}
		if page.Next == "" {
			return ids, total
		}
		if len(page.Items) == 0 || pages > 10000 {
			t.Fatalf("a next page after an empty page")
		}
		q.After = page.Next
	}
}

func short(ids []string) []string {
	if len(ids) > 8 {
		return append(ids[:8:8], "…")
	}
	return ids
}

// allHostPorts reads every record through the per-host reads, which the
// conformance suite checks against the reference.
func allHostPorts(t *testing.T, s portolan.Store) []*portolan.HostPort {
	t.Helper()
	var out []*portolan.HostPort
	for _, h := range randomHosts {
		ports, _, err := s.FindHostPorts(context.Background(), portolan.HostPortFilter{Host: h})
		if portolan.ErrorCode(err) == portolan.ENOTFOUND {
			continue
		}
		must(t, err)
		for _, p := range ports {
			// A scanned name can alias addresses too: keep its own records
			// only, so that each record is listed once.
			if p.Host == h {
				out = append(out, p)
			}
		}
	}
	return out
}

// searchWorld holds the records and the values expressions draw from.
type searchWorld struct {
	// certs are the certificates records name, by id.
	certs   map[string]*portolan.SSLCertificate
	records []*portolan.HostPort
	aliases map[string][]string // hostname -> addresses
	times   []time.Time
}

func newSearchWorld(obs []*portolan.Observation, records []*portolan.HostPort) *searchWorld {
	w := &searchWorld{records: records, aliases: map[string][]string{}}
	for _, o := range obs {
		for _, n := range o.Hostnames {
			if !slices.Contains(w.aliases[n], o.Host) {
				w.aliases[n] = append(w.aliases[n], o.Host)
			}
		}
	}
	for _, hp := range records {
		w.times = append(w.times, hp.FirstSeenDateTime, hp.LastSeenDateTime, hp.LastScanDateTime)
	}
	return w
}

// hostPortRecord is a hostPort as portolan.Evaluate reads it.
type hostPortRecord struct {
	hp *portolan.HostPort
	w  *searchWorld
}

func str(s string) portolan.Value { return portolan.Value{Kind: portolan.ValueString, Str: s} }

func tm(t time.Time) portolan.Value {
	if t.IsZero() {
		return portolan.Value{Kind: portolan.ValueTime, Null: true}
	}
	return portolan.Value{Kind: portolan.ValueTime, Time: t}
}

func integer(n int) portolan.Value { return portolan.Value{Kind: portolan.ValueInt, Int: int64(n)} }

func (r hostPortRecord) Value(path string) portolan.Value {
	hp := r.hp
	switch path {
	case "id":
		return str(hp.ID)
	case "port":
		return integer(hp.Port)
	case "firstSeenDateTime":
		return tm(hp.FirstSeenDateTime)
	case "lastSeenDateTime":
		return tm(hp.LastSeenDateTime)
	case "lastScanDateTime":
		return tm(hp.LastScanDateTime)
	case "timesObserved":
		return integer(hp.TimesObserved)
	case "status":
		return portolan.Value{Kind: portolan.ValueEnum, Str: string(hp.Status)}
	case "protocol":
		return portolan.Value{Kind: portolan.ValueEnum, Str: string(hp.Protocol)}
	case "host/id":
		return str(hp.Host)
	case "mostRecentSslCertificate":
		return portolan.Value{Kind: portolan.ValueStructured, Null: hp.MostRecentSSLCertificateID == ""}
	}
	if p, ok := strings.CutPrefix(path, "mostRecentSslCertificate/"); ok {
		c := r.w.certs[hp.MostRecentSSLCertificateID]
		if c == nil {
			return portolan.Value{Kind: certKind(p), Null: true}
		}
		return certRecord{c}.Value(p)
	}
	panic("no path " + path)
}

func (r hostPortRecord) Elements(path string) []portolan.Record {
	var out []portolan.Record
	switch path {
	case "services":
		for i := range r.hp.Services {
			out = append(out, serviceRecord{&r.hp.Services[i]})
		}
	case "banners":
		for i := range r.hp.Banners {
			out = append(out, bannerRecord{&r.hp.Banners[i]})
		}
	case "mostRecentSslCertificate/subject/alternateNames", "mostRecentSslCertificate/issuer/alternateNames":
		if c := r.w.certs[r.hp.MostRecentSSLCertificateID]; c != nil {
			return certRecord{c}.Elements(strings.TrimPrefix(path, "mostRecentSslCertificate/"))
		}
	default:
		panic("no collection " + path)
	}
	return out
}

func (r hostPortRecord) HostIDs(id string) []string {
	return append([]string{id}, r.w.aliases[id]...)
}

type serviceRecord struct{ s *portolan.HostPortComponent }

func (r serviceRecord) Value(path string) portolan.Value {
	switch path {
	case "component/name":
		return str(r.s.Component.Name)
	case "component/version":
		return str(r.s.Component.Version)
	case "component/category":
		return str(r.s.Component.Category)
	case "firstSeenDateTime":
		return tm(r.s.FirstSeenDateTime)
	case "lastSeenDateTime":
		return tm(r.s.LastSeenDateTime)
	case "isRecent":
		return portolan.Value{Kind: portolan.ValueBool, Bool: r.s.IsRecent}
	}
	panic("no service path " + path)
}
func (serviceRecord) Elements(string) []portolan.Record { return nil }
func (serviceRecord) HostIDs(id string) []string        { return []string{id} }

type bannerRecord struct{ b *portolan.HostPortBanner }

func (r bannerRecord) Value(path string) portolan.Value {
	switch path {
	case "banner":
		return str(r.b.Banner)
	case "scanProtocol":
		return str(r.b.ScanProtocol)
	case "firstSeenDateTime":
		return tm(r.b.FirstSeenDateTime)
	case "lastSeenDateTime":
		return tm(r.b.LastSeenDateTime)
	case "timesObserved":
		return integer(r.b.TimesObserved)
	}
	panic("no banner path " + path)
}
func (bannerRecord) Elements(string) []portolan.Record { return nil }
func (bannerRecord) HostIDs(id string) []string        { return []string{id} }

func path(name string, kind portolan.ValueKind) portolan.Path {
	return portolan.Path{Name: name, Kind: kind}
}

// randomExpr draws an expression over hostPort.
func (w *searchWorld) randomExpr(rng *rand.Rand, depth int) portolan.Expr {
	if depth < 3 {
		switch rng.IntN(8) {
		case 0:
			return &portolan.Logical{Left: w.randomExpr(rng, depth+1), Right: w.randomExpr(rng, depth+1)}
		case 1:
			return &portolan.Logical{Or: true, Left: w.randomExpr(rng, depth+1), Right: w.randomExpr(rng, depth+1)}
		case 2:
			return &portolan.Not{Expr: w.randomExpr(rng, depth+1)}
		}
	}
	ops := []portolan.CompareOp{portolan.OpEq, portolan.OpNe, portolan.OpLt, portolan.OpLe, portolan.OpGt, portolan.OpGe}
	op := ops[rng.IntN(len(ops))]
	eqne := ops[rng.IntN(2)]
	hp := w.records[rng.IntN(len(w.records))]
	switch rng.IntN(16) {
	case 14, 15:
		return w.randomCertExpr(rng, "mostRecentSslCertificate/")
	case 0:
		return &portolan.Compare{Op: op, Path: path("port", portolan.ValueInt), Value: integer(randomPorts[rng.IntN(len(randomPorts))] + rng.IntN(3) - 1)}
	case 1:
		var vs []portolan.Value
		for i := rng.IntN(4); i >= 0; i-- {
			vs = append(vs, integer(randomPorts[rng.IntN(len(randomPorts))]))
		}
		return &portolan.In{Path: path("port", portolan.ValueInt), Values: vs}
	case 2:
		names := []string{"firstSeenDateTime", "lastSeenDateTime", "lastScanDateTime"}
		t := w.times[rng.IntN(len(w.times))].Add(time.Duration(rng.IntN(3)-1) * time.Second)
		return &portolan.Compare{Op: op, Path: path(names[rng.IntN(3)], portolan.ValueTime), Value: tm(t)}
	case 3:
		return &portolan.Compare{Op: op, Path: path("timesObserved", portolan.ValueInt), Value: integer(rng.IntN(6))}
	case 4:
		st := []string{"open", "closed", "filtered"}[rng.IntN(3)]
		return &portolan.Compare{Op: eqne, Path: path("status", portolan.ValueEnum), Value: portolan.Value{Kind: portolan.ValueEnum, Str: st}}
	case 5:
		return &portolan.Compare{Op: eqne, Path: path("protocol", portolan.ValueEnum), Value: portolan.Value{Kind: portolan.ValueEnum, Str: []string{"tcp", "udp"}[rng.IntN(2)]}}
	case 6:
		ids := append(AllHosts(), "SCAN.example.TEST", "192.0.2.99")
		p := path("host/id", portolan.ValueString)
		p.HostID = true
		if rng.IntN(3) == 0 {
			return &portolan.In{Path: p, Values: []portolan.Value{str(ids[rng.IntN(len(ids))]), str(ids[rng.IntN(len(ids))])}}
		}
		return &portolan.Compare{Op: eqne, Path: p, Value: str(ids[rng.IntN(len(ids))])}
	case 7:
		p := path("host/id", portolan.ValueString)
		p.HostID = true
		prefixes := []string{"192.0.2.0/24", "192.0.2.2/32", "198.51.0.0/16", "2001:db8::/32", "2001:db8::2:0/112", "0.0.0.0/0", "::/0"}
		return &portolan.InSubnet{Path: p, Prefix: netip.MustParsePrefix(prefixes[rng.IntN(len(prefixes))])}
	case 8:
		return &portolan.Compare{Op: eqne, Path: path("mostRecentSslCertificate", portolan.ValueStructured), Value: portolan.Value{Kind: portolan.ValueStructured, Null: true}}
	case 9:
		return &portolan.Compare{Op: eqne, Path: path("id", portolan.ValueString), Value: str(hp.ID)}
	case 10, 11:
		return &portolan.Lambda{All: rng.IntN(3) == 0, Collection: path("services", portolan.ValueStructured), Var: "s", Body: w.serviceExpr(rng)}
	case 12:
		return &portolan.Lambda{All: rng.IntN(3) == 0, Collection: path("banners", portolan.ValueStructured), Var: "b", Body: w.bannerExpr(rng)}
	default:
		fns := []portolan.MatchFunc{portolan.StartsWith, portolan.EndsWith, portolan.Contains}
		args := []string{"192.", ".test", "2001", "EXAMPLE", "0.2.1", "db8::", "_", "%"}
		p := path("host/id", portolan.ValueString)
		p.HostID = true
		return &portolan.Match{Func: fns[rng.IntN(3)], Path: p, Arg: args[rng.IntN(len(args))]}
	}
}

func (w *searchWorld) serviceExpr(rng *rand.Rand) portolan.Expr {
	v := func(name string, kind portolan.ValueKind) portolan.Path {
		return portolan.Path{Var: "s", Name: name, Kind: kind}
	}
	ops := []portolan.CompareOp{portolan.OpEq, portolan.OpNe, portolan.OpLt, portolan.OpLe, portolan.OpGt, portolan.OpGe}
	c := components[rng.IntN(len(components))]
	switch rng.IntN(6) {
	case 0:
		name := c.Name
		if rng.IntN(2) == 0 {
			name = strings.ToUpper(name)
		}
		return &portolan.Compare{Op: ops[rng.IntN(2)], Path: v("component/name", portolan.ValueString), Value: str(name)}
	case 1:
		p := v("component/version", portolan.ValueString)
		p.Version = true
		versions := []string{"1.20", "1.22.1", "1.9", "9.3", "9.2p1", "", "2"}
		return &portolan.Compare{Op: ops[rng.IntN(len(ops))], Path: p, Value: str(versions[rng.IntN(len(versions))])}
	case 2:
		return &portolan.Logical{
			Left:  &portolan.Compare{Op: portolan.OpEq, Path: v("component/name", portolan.ValueString), Value: str(c.Name)},
			Right: w.serviceExpr(rng),
		}
	case 3:
		return &portolan.Compare{Op: ops[rng.IntN(2)], Path: v("isRecent", portolan.ValueBool), Value: portolan.Value{Kind: portolan.ValueBool, Bool: rng.IntN(2) == 0}}
	case 4:
		return &portolan.Match{Func: portolan.MatchFunc(1 + rng.IntN(3)), Path: v("component/category", portolan.ValueString), Arg: []string{"server", "Mail", "system"}[rng.IntN(3)]}
	default:
		return &portolan.Compare{Op: ops[rng.IntN(len(ops))], Path: v("lastSeenDateTime", portolan.ValueTime), Value: tm(w.times[rng.IntN(len(w.times))])}
	}
}

func (w *searchWorld) bannerExpr(rng *rand.Rand) portolan.Expr {
	v := func(name string, kind portolan.ValueKind) portolan.Path {
		return portolan.Path{Var: "b", Name: name, Kind: kind}
	}
	switch rng.IntN(4) {
	case 0:
		return &portolan.Match{Func: portolan.MatchFunc(1 + rng.IntN(3)), Path: v("banner", portolan.ValueString), Arg: []string{"openssh_9", "SSH-2.0", "nginx", "<volatile>", "\r\n", "vsftpd 3.0.5)"}[rng.IntN(6)]}
	case 1:
		return &portolan.Compare{Op: portolan.OpEq, Path: v("scanProtocol", portolan.ValueString), Value: str([]string{"ssh", "TLS", "http_raw", ""}[rng.IntN(4)])}
	case 2:
		return &portolan.Compare{Op: portolan.OpGe, Path: v("timesObserved", portolan.ValueInt), Value: integer(1 + rng.IntN(3))}
	default:
		return &portolan.Compare{Op: portolan.OpLt, Path: v("banner", portolan.ValueString), Value: str("SSH-2.0-OpenSSH_9")}
	}
}

func (w *searchWorld) randomOrder(rng *rand.Rand) []portolan.OrderKey {
	candidates := []portolan.Path{
		path("port", portolan.ValueInt), path("lastSeenDateTime", portolan.ValueTime), path("firstSeenDateTime", portolan.ValueTime),
		path("timesObserved", portolan.ValueInt), path("status", portolan.ValueEnum), path("protocol", portolan.ValueEnum),
		{Name: "host/id", Kind: portolan.ValueString, HostID: true},
		path("mostRecentSslCertificate/expirationDateTime", portolan.ValueTime),
	}
	rng.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
	var keys []portolan.OrderKey
	for i := 0; i < 1+rng.IntN(3); i++ {
		keys = append(keys, portolan.OrderKey{Path: candidates[i], Desc: rng.IntN(2) == 0})
	}
	return keys
}

// enumOrder is the position of an enum member in its type, which $orderby
// sorts by.
var enumOrder = map[string]int{"open": 0, "filtered": 1, "closed": 2, "tcp": 0, "udp": 1}

// compareForOrder orders two values as $orderby does, nulls first.
func compareForOrder(a, b portolan.Value) int {
	switch {
	case a.Null && b.Null:
		return 0
	case a.Null:
		return -1
	case b.Null:
		return 1
	}
	switch a.Kind {
	case portolan.ValueInt:
		return int(a.Int - b.Int)
	case portolan.ValueTime:
		return a.Time.Compare(b.Time)
	case portolan.ValueEnum:
		return enumOrder[a.Str] - enumOrder[b.Str]
	}
	return strings.Compare(a.Str, b.Str)
}

// expect is what the query must return: the matching records in order.
func (w *searchWorld) expect(q portolan.SearchQuery) []string {
	var match []*portolan.HostPort
	for _, hp := range w.records {
		if q.Filter == nil || portolan.Evaluate(q.Filter, hostPortRecord{hp, w}) {
			match = append(match, hp)
		}
	}
	slices.SortFunc(match, func(a, b *portolan.HostPort) int {
		for _, k := range q.OrderBy {
			c := compareForOrder(hostPortRecord{a, w}.Value(k.Path.Name), hostPortRecord{b, w}.Value(k.Path.Name))
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		if c := strings.Compare(a.Host, b.Host); c != 0 {
			return c
		}
		if a.Port != b.Port {
			return a.Port - b.Port
		}
		return strings.Compare(string(a.Protocol), string(b.Protocol))
	})
	ids := make([]string, len(match))
	for i, hp := range match {
		ids[i] = hp.ID
	}
	return ids
}

// describe renders an expression for a failure message.
func describe(e portolan.Expr) string {
	var b bytes.Buffer
	var walk func(portolan.Expr)
	walk = func(e portolan.Expr) {
		switch e := e.(type) {
		case nil:
			b.WriteString("(none)")
		case *portolan.Logical:
			b.WriteString("(")
			walk(e.Left)
			if e.Or {
				b.WriteString(" or ")
			} else {
				b.WriteString(" and ")
			}
			walk(e.Right)
			b.WriteString(")")
		case *portolan.Not:
			b.WriteString("not ")
			walk(e.Expr)
		case *portolan.Compare:
			fmt.Fprintf(&b, "%s %s %+v", e.Path, e.Op, e.Value)
		case *portolan.In:
			fmt.Fprintf(&b, "%s in %+v", e.Path, e.Values)
		case *portolan.Match:
			fmt.Fprintf(&b, "match%d(%s, %q)", e.Func, e.Path, e.Arg)
		case *portolan.InSubnet:
			fmt.Fprintf(&b, "inSubnet(%s, %s)", e.Path, e.Prefix)
		case *portolan.Lambda:
			fmt.Fprintf(&b, "%s/any[all=%v](%s: ", e.Collection, e.All, e.Var)
			walk(e.Body)
			b.WriteString(")")
		}
	}
	walk(e)
	return b.String()
}

func describeOrder(keys []portolan.OrderKey) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s desc=%v", k.Path, k.Desc))
	}
	return strings.Join(parts, ",")
}

// hostRecord is a host as portolan.Evaluate reads it: in the hosts
// collection a host id stands for itself only.
type hostRecord struct{ h *portolan.Host }

func (r hostRecord) Value(path string) portolan.Value {
	switch path {
	case "id":
		return str(r.h.ID)
	case "firstSeenDateTime":
		return tm(r.h.FirstSeenDateTime)
	case "lastSeenDateTime":
		return tm(r.h.LastSeenDateTime)
	}
	panic("no host path " + path)
}
func (hostRecord) Elements(string) []portolan.Record { return nil }
func (hostRecord) HostIDs(id string) []string        { return []string{id} }

// runHostSearch checks the hosts collection the same way: every host
// hosts/{id} answers, filtered and ordered as portolan.Evaluate says.
func runHostSearch(t *testing.T, store portolan.Store, search portolan.SearchService, w *searchWorld, rng *rand.Rand) {
	ctx := context.Background()
	var hosts []*portolan.Host
	for _, id := range AllHosts() {
		h, err := store.FindHostByID(ctx, id)
		if portolan.ErrorCode(err) == portolan.ENOTFOUND {
			continue
		}
		must(t, err)
		hosts = append(hosts, h)
	}
	byID := map[string]portolan.Host{}
	for _, h := range hosts {
		byID[h.ID] = *h
	}
	idPath := portolan.Path{Name: "id", Kind: portolan.ValueString, HostID: true}
	ops := []portolan.CompareOp{portolan.OpEq, portolan.OpNe, portolan.OpLt, portolan.OpLe, portolan.OpGt, portolan.OpGe}
	checkCollection(t, "hosts", rng, hosts, func(h *portolan.Host) string { return h.ID },
		func(h *portolan.Host) portolan.Record { return hostRecord{h} },
		func() portolan.Expr {
			switch rng.IntN(5) {
			case 0:
				return &portolan.Compare{Op: ops[rng.IntN(len(ops))], Path: idPath, Value: str(AllHosts()[rng.IntN(len(AllHosts()))])}
			case 1:
				return &portolan.InSubnet{Path: idPath, Prefix: netip.MustParsePrefix([]string{"192.0.2.0/24", "2001:db8::/32", "0.0.0.0/0"}[rng.IntN(3)])}
			case 2:
				return &portolan.Compare{Op: ops[rng.IntN(2)], Path: path("firstSeenDateTime", portolan.ValueTime), Value: portolan.Value{Kind: portolan.ValueTime, Null: true}}
			case 3:
				return &portolan.Compare{Op: ops[rng.IntN(len(ops))], Path: path("lastSeenDateTime", portolan.ValueTime), Value: tm(w.times[rng.IntN(len(w.times))])}
			default:
				return &portolan.Match{Func: portolan.MatchFunc(1 + rng.IntN(3)), Path: idPath, Arg: []string{"EXAMPLE", "192.", "::"}[rng.IntN(3)]}
			}
		},
		[]portolan.Path{path("firstSeenDateTime", portolan.ValueTime), path("lastSeenDateTime", portolan.ValueTime), idPath},
		func(q portolan.SearchQuery) (portolan.Page[*portolan.Host], error) {
			page, err := search.SearchHosts(ctx, q)
			for _, h := range page.Items {
				if want, ok := byID[h.ID]; !ok || want != *h {
					t.Fatalf("host %s differs from hosts/{id}: %+v, want %+v", h.ID, h, want)
				}
			}
			return page, err
		})
}

// certRecord is a certificate as portolan.Evaluate reads it.
type certRecord struct{ c *portolan.SSLCertificate }

// certKind is the kind of a certificate path's values.
func certKind(path string) portolan.ValueKind {
	switch path {
	case "firstSeenDateTime", "lastSeenDateTime", "issueDateTime", "expirationDateTime":
		return portolan.ValueTime
	}
	return portolan.ValueString
}

func nullable(s string) portolan.Value {
	if s == "" {
		return portolan.Value{Kind: portolan.ValueString, Null: true}
	}
	return str(s)
}

func (r certRecord) Value(path string) portolan.Value {
	c := r.c
	switch path {
	case "id":
		return str(c.ID)
	case "sha1":
		return str(c.SHA1)
	case "firstSeenDateTime":
		return tm(c.FirstSeenDateTime)
	case "lastSeenDateTime":
		return tm(c.LastSeenDateTime)
	case "issueDateTime":
		return tm(c.IssueDateTime)
	case "expirationDateTime":
		return tm(c.ExpirationDateTime)
	}
	for _, f := range portolan.CertificateFields(c) {
		if f.Path == path {
			return str(f.Value)
		}
	}
	return nullable("")
}

func (r certRecord) Elements(path string) []portolan.Record {
	var out []portolan.Record
	for _, f := range portolan.CertificateFields(r.c) {
		if f.Path == path {
			out = append(out, stringElement(f.Value))
		}
	}
	return out
}

func (certRecord) HostIDs(id string) []string { return []string{id} }

// stringElement is an element of a collection of strings.
type stringElement string

func (e stringElement) Value(string) portolan.Value     { return str(string(e)) }
func (stringElement) Elements(string) []portolan.Record { return nil }
func (stringElement) HostIDs(id string) []string        { return []string{id} }

// randomCertExpr draws an expression over a certificate under prefix ("" or
// "mostRecentSslCertificate/").
func (w *searchWorld) randomCertExpr(rng *rand.Rand, prefix string) portolan.Expr {
	ops := []portolan.CompareOp{portolan.OpEq, portolan.OpNe, portolan.OpLt, portolan.OpLe, portolan.OpGt, portolan.OpGe}
	var certs []*portolan.SSLCertificate
	for _, c := range w.certs {
		certs = append(certs, c)
	}
	slices.SortFunc(certs, func(a, b *portolan.SSLCertificate) int { return strings.Compare(a.ID, b.ID) })
	c := certs[rng.IntN(len(certs))]
	p := func(name string, kind portolan.ValueKind) portolan.Path { return path(prefix+name, kind) }
	switch rng.IntN(8) {
	case 0:
		return &portolan.Compare{Op: ops[rng.IntN(len(ops))], Path: p("expirationDateTime", portolan.ValueTime), Value: tm(c.ExpirationDateTime.Add(time.Duration(rng.IntN(3)-1) * time.Second))}
	case 1:
		return &portolan.Compare{Op: ops[rng.IntN(len(ops))], Path: p("issueDateTime", portolan.ValueTime), Value: tm(c.IssueDateTime)}
	case 2:
		v := c.Subject.CommonName
		if rng.IntN(2) == 0 {
			v = strings.ToUpper(v)
		}
		return &portolan.Compare{Op: ops[rng.IntN(2)], Path: p("subject/commonName", portolan.ValueString), Value: str(v)}
	case 3:
		return &portolan.Match{Func: portolan.MatchFunc(1 + rng.IntN(3)), Path: p("subject/commonName", portolan.ValueString), Arg: []string{"svc", ".TEST", "1.example", "rot"}[rng.IntN(4)]}
	case 4:
		return &portolan.Compare{Op: ops[rng.IntN(2)], Path: p([]string{"subject/email", "issuer/organizationName", "subject/address/countryOrRegion"}[rng.IntN(3)], portolan.ValueString), Value: portolan.Value{Kind: portolan.ValueString, Null: true}}
	case 5:
		return &portolan.Lambda{All: rng.IntN(3) == 0, Collection: p("subject/alternateNames", portolan.ValueString), Var: "n",
			Body: &portolan.Match{Func: portolan.EndsWith, Path: portolan.Path{Var: "n", Kind: portolan.ValueString}, Arg: []string{"example.test", "WWW.EXAMPLE.TEST", "svc1.example.test"}[rng.IntN(3)]}}
	case 6:
		return &portolan.Compare{Op: ops[rng.IntN(2)], Path: p("sha1", portolan.ValueString), Value: str(strings.ToUpper(c.SHA1))}
	default:
		return &portolan.Compare{Op: ops[rng.IntN(len(ops))], Path: p("serialNumber", portolan.ValueString), Value: str(c.SerialNumber)}
	}
}

// runCertificateSearch checks the sslCertificates collection against
// portolan.Evaluate, as the hostPort search is checked.
func runCertificateSearch(t *testing.T, search portolan.SearchService, w *searchWorld, rng *rand.Rand) {
	ctx := context.Background()
	var certs []*portolan.SSLCertificate
	for _, c := range w.certs {
		certs = append(certs, c)
	}
	checkCollection(t, "sslCertificates", rng, certs, func(c *portolan.SSLCertificate) string { return c.ID },
		func(c *portolan.SSLCertificate) portolan.Record { return certRecord{c} },
		func() portolan.Expr { return w.randomCertExpr(rng, "") },
		[]portolan.Path{path("expirationDateTime", portolan.ValueTime), path("issueDateTime", portolan.ValueTime), path("lastSeenDateTime", portolan.ValueTime)},
		func(q portolan.SearchQuery) (portolan.Page[*portolan.SSLCertificate], error) {
			return search.FilterSSLCertificates(ctx, q)
		})
}

// checkCollection runs random expressions and orderings over a
// collection and compares the store's pages with portolan.Evaluate over
// items (ordered by id when no ordering decides).
func checkCollection[T any](t *testing.T, name string, rng *rand.Rand, items []T, id func(T) string, record func(T) portolan.Record,
	randomExpr func() portolan.Expr, orderPaths []portolan.Path, search func(portolan.SearchQuery) (portolan.Page[T], error)) {
	t.Helper()
	if len(items) < 3 {
		t.Fatalf("%s: only %d items to search", name, len(items))
	}
	selective := 0
	for i := 0; i < 80; i++ {
		e := randomExpr()
		var order []portolan.OrderKey
		if rng.IntN(2) == 0 {
			order = []portolan.OrderKey{{Path: orderPaths[rng.IntN(len(orderPaths))], Desc: rng.IntN(2) == 0}}
		}
		var match []T
		for _, it := range items {
			if portolan.Evaluate(e, record(it)) {
				match = append(match, it)
			}
		}
		slices.SortFunc(match, func(a, b T) int {
			for _, k := range order {
				c := compareForOrder(record(a).Value(k.Path.Name), record(b).Value(k.Path.Name))
				if k.Desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return strings.Compare(id(a), id(b))
		})
		var want, got []string
		for _, it := range match {
			want = append(want, id(it))
		}
		q := portolan.SearchQuery{Filter: e, OrderBy: order, Count: true, Top: 1 + rng.IntN(5)}
		total := -2
		for {
			page, err := search(q)
			must(t, err)
			if total == -2 {
				total = page.Total
			}
			for _, it := range page.Items {
				got = append(got, id(it))
			}
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
		if total != len(want) || !slices.Equal(got, want) {
			t.Fatalf("%s: filter %s orderby %s:\n got %v (count %d)\nwant %v", name, describe(e), describeOrder(order), got, total, want)
		}
		if len(want) > 0 && len(want) < len(items) {
			selective++
		}
	}
	if selective < 20 {
		t.Fatalf("%s: only %d of 80 queries selective", name, selective)
	}
}

// componentRecord is a hostComponent as portolan.Evaluate reads it.
type componentRecord struct {
	c *portolan.HostComponent
	w *searchWorld
}

func (r componentRecord) Value(path string) portolan.Value {
	switch path {
	case "id":
		return str(r.c.ID)
	case "firstSeenDateTime":
		return tm(r.c.FirstSeenDateTime)
	case "lastSeenDateTime":
		return tm(r.c.LastSeenDateTime)
	case "name":
		return str(r.c.Name)
	case "version":
		return str(r.c.Version)
	case "category":
		return str(r.c.Category)
	case "host/id":
		return str(r.c.Host)
	}
	panic("no component path " + path)
}
func (componentRecord) Elements(string) []portolan.Record { return nil }
func (r componentRecord) HostIDs(id string) []string      { return append([]string{id}, r.w.aliases[id]...) }

// hostCertRecord is a hostSslCertificate as portolan.Evaluate reads it.
type hostCertRecord struct {
	c *portolan.HostSSLCertificate
	w *searchWorld
}

func (r hostCertRecord) Value(path string) portolan.Value {
	switch path {
	case "id":
		return str(r.c.ID)
	case "firstSeenDateTime":
		return tm(r.c.FirstSeenDateTime)
	case "lastSeenDateTime":
		return tm(r.c.LastSeenDateTime)
	case "host/id":
		return str(r.c.Host)
	}
	if p, ok := strings.CutPrefix(path, "sslCertificate/"); ok {
		return certRecord{r.c.SSLCertificate}.Value(p)
	}
	panic("no hostSslCertificate path " + path)
}

func (r hostCertRecord) Elements(path string) []portolan.Record {
	if path == "ports" {
		var out []portolan.Record
		for i := range r.c.Ports {
			out = append(out, certPortRecord{&r.c.Ports[i]})
		}
		return out
	}
	if p, ok := strings.CutPrefix(path, "sslCertificate/"); ok {
		return certRecord{r.c.SSLCertificate}.Elements(p)
	}
	panic("no hostSslCertificate collection " + path)
}
func (r hostCertRecord) HostIDs(id string) []string { return append([]string{id}, r.w.aliases[id]...) }

type certPortRecord struct {
	p *portolan.HostSSLCertificatePort
}

func (r certPortRecord) Value(path string) portolan.Value {
	switch path {
	case "port":
		return integer(r.p.Port)
	case "firstSeenDateTime":
		return tm(r.p.FirstSeenDateTime)
	case "lastSeenDateTime":
		return tm(r.p.LastSeenDateTime)
	}
	panic("no port path " + path)
}
func (certPortRecord) Elements(string) []portolan.Record { return nil }
func (certPortRecord) HostIDs(id string) []string        { return []string{id} }

// runComponentAndHostCertificateSearch checks hostComponents and
// hostSslCertificates.
func runComponentAndHostCertificateSearch(t *testing.T, store portolan.Store, search portolan.SearchService, w *searchWorld, rng *rand.Rand) {
	ctx := context.Background()
	var comps []*portolan.HostComponent
	var hostCerts []*portolan.HostSSLCertificate
	for _, h := range randomHosts {
		cs, _, err := store.FindHostComponents(ctx, h, portolan.ListFilter{})
		if portolan.ErrorCode(err) == portolan.ENOTFOUND {
			continue
		}
		must(t, err)
		comps = append(comps, cs...)
		hc, _, err := store.FindHostSSLCertificates(ctx, h, portolan.ListFilter{})
		must(t, err)
		hostCerts = append(hostCerts, hc...)
	}
	// A hostname's lists repeat its addresses' items.
	comps = slices.CompactFunc(sortedByID(comps, func(c *portolan.HostComponent) string { return c.ID }),
		func(a, b *portolan.HostComponent) bool { return a.ID == b.ID })
	hostCerts = slices.CompactFunc(sortedByID(hostCerts, func(c *portolan.HostSSLCertificate) string { return c.ID }),
		func(a, b *portolan.HostSSLCertificate) bool { return a.ID == b.ID })
	ops := []portolan.CompareOp{portolan.OpEq, portolan.OpNe, portolan.OpLt, portolan.OpLe, portolan.OpGt, portolan.OpGe}
	hostPath := portolan.Path{Name: "host/id", Kind: portolan.ValueString, HostID: true}
	checkCollection(t, "hostComponents", rng, comps, func(c *portolan.HostComponent) string { return c.ID },
		func(c *portolan.HostComponent) portolan.Record { return componentRecord{c, w} },
		func() portolan.Expr {
			c := components[rng.IntN(len(components))]
			switch rng.IntN(5) {
			case 0:
				return &portolan.Compare{Op: ops[rng.IntN(2)], Path: path("name", portolan.ValueString), Value: str(strings.ToUpper(c.Name))}
			case 1:
				p := path("version", portolan.ValueString)
				p.Version = true
				return &portolan.Compare{Op: ops[rng.IntN(len(ops))], Path: p, Value: str([]string{"1.20", "1.9", "9.3", "2"}[rng.IntN(4)])}
			case 2:
				return &portolan.Compare{Op: ops[rng.IntN(2)], Path: hostPath, Value: str(AllHosts()[rng.IntN(len(AllHosts()))])}
			case 3:
				return &portolan.Compare{Op: ops[rng.IntN(len(ops))], Path: path("lastSeenDateTime", portolan.ValueTime), Value: tm(w.times[rng.IntN(len(w.times))])}
			default:
				return &portolan.Match{Func: portolan.MatchFunc(1 + rng.IntN(3)), Path: path("category", portolan.ValueString), Arg: []string{"server", "SYSTEM", "Remote"}[rng.IntN(3)]}
			}
		},
		[]portolan.Path{path("lastSeenDateTime", portolan.ValueTime), path("name", portolan.ValueString), path("firstSeenDateTime", portolan.ValueTime)},
		func(q portolan.SearchQuery) (portolan.Page[*portolan.HostComponent], error) {
			return search.SearchHostComponents(ctx, q)
		})

	checkCollection(t, "hostSslCertificates", rng, hostCerts, func(c *portolan.HostSSLCertificate) string { return c.ID },
		func(c *portolan.HostSSLCertificate) portolan.Record { return hostCertRecord{c, w} },
		func() portolan.Expr {
			switch rng.IntN(4) {
			case 0:
				return &portolan.Lambda{Collection: path("ports", portolan.ValueStructured), Var: "p",
					Body: &portolan.Compare{Op: ops[rng.IntN(len(ops))], Path: portolan.Path{Var: "p", Name: "port", Kind: portolan.ValueInt}, Value: integer(randomPorts[rng.IntN(len(randomPorts))])}}
			case 1:
				return &portolan.Compare{Op: ops[rng.IntN(2)], Path: hostPath, Value: str(AllHosts()[rng.IntN(len(AllHosts()))])}
			case 2:
				return w.randomCertExpr(rng, "sslCertificate/")
			default:
				return &portolan.Compare{Op: ops[rng.IntN(len(ops))], Path: path("firstSeenDateTime", portolan.ValueTime), Value: tm(w.times[rng.IntN(len(w.times))])}
			}
		},
		[]portolan.Path{path("lastSeenDateTime", portolan.ValueTime), path("sslCertificate/expirationDateTime", portolan.ValueTime)},
		func(q portolan.SearchQuery) (portolan.Page[*portolan.HostSSLCertificate], error) {
			return search.SearchHostSSLCertificates(ctx, q)
		})
}

func sortedByID[T any](items []T, id func(T) string) []T {
	slices.SortFunc(items, func(a, b T) int { return strings.Compare(id(a), id(b)) })
	return items
}

// RunSearchWhileImporting walks the hostPorts in their default order, a
// few at a time, while another goroutine imports new records: every record
// that existed before the walk must come exactly once, in order (keyset
// paging neither repeats nor skips), whatever the imports add meanwhile.
func RunSearchWhileImporting(t *testing.T, open OpenFunc) {
	ctx := context.Background()
	store := mustOpen(t, open)
	search := store.(portolan.SearchService)
	rng := rand.New(rand.NewPCG(5, 8))
	mustImport(t, store, RandomObservations(rng, 400))
	before := allHostPorts(t, store)
	slices.SortFunc(before, func(a, b *portolan.HostPort) int {
		return strings.Compare(a.Host+"\x00"+fmt.Sprintf("%05d", a.Port)+string(a.Protocol), b.Host+"\x00"+fmt.Sprintf("%05d", b.Port)+string(b.Protocol))
	})

	done := make(chan error, 1)
	stop := make(chan struct{})
	started := make(chan struct{})
	go func() {
		defer close(done)
		// A bounded number, so that the walk ends.
		for i := 0; i < 300; i++ {
			if i == 1 {
				close(started)
			}
			select {
			case <-stop:
				return
			default:
			}
			// New hosts sort between and around the existing ones.
			o := &portolan.Observation{Host: fmt.Sprintf("192.0.2.%d", 100+i%150), Port: 1 + i%60000, Status: portolan.StatusOpen,
				ScannedAt: Base.Add(time.Duration(i) * time.Minute), Source: "nmap"}
			if err := o.Normalize(); err != nil {
				done <- err
				return
			}
			if _, err := store.ImportObservations(ctx, []*portolan.Observation{o}); err != nil {
				done <- err
				return
			}
		}
	}()
	<-started
	var seen []string
	q := portolan.SearchQuery{Top: 3}
	for {
		page, err := search.SearchHostPorts(ctx, q)
		must(t, err)
		for _, hp := range page.Items {
			seen = append(seen, hp.ID)
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
		time.Sleep(5 * time.Millisecond) // let imports interleave
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(seen)))) != len(seen) {
		t.Fatal("a record came twice")
	}
	pos := map[string]int{}
	for i, id := range seen {
		pos[id] = i
	}
	last := -1
	for _, hp := range before {
		i, ok := pos[hp.ID]
		if !ok {
			t.Fatalf("record %s (%s:%d) existed before the walk and was skipped", hp.ID, hp.Host, hp.Port)
		}
		if i < last {
			t.Fatalf("record %s out of order", hp.ID)
		}
		last = i
	}
	if len(seen) == len(before) {
		t.Logf("no import committed during the walk")
	}
	t.Logf("%d records before, %d walked", len(before), len(seen))
}
