// SPDX-License-Identifier: Apache-2.0

package gen_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"portolan"
	"portolan/internal/fingerprint"
	"portolan/internal/gen"
	"portolan/internal/httpapi"
	"portolan/internal/sqlite"
)

// Each search of a generated world parses as the API parses it and matches
// some but not most records of a store holding the world, as the benchmarks
// that measure them need.
func TestGenSearchesMatchTheWorld(t *testing.T) {
	ctx := context.Background()
	cfg := gen.Config{Seed: 1, Hosts: 4000}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "searches.db"), sqlite.Options{Recognizer: fingerprint.Default()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g := gen.New(cfg)
	var batch []*portolan.Observation
	for o := g.Next(); ; o = g.Next() {
		if o != nil {
			batch = append(batch, o)
		}
		if len(batch) == 1000 || o == nil && len(batch) > 0 {
			if _, err := db.ImportObservations(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
		if o == nil {
			break
		}
	}
	all, err := db.SearchHostPorts(ctx, portolan.SearchQuery{Count: true, Top: -1})
	if err != nil {
		t.Fatal(err)
	}
	searches := gen.Searches(cfg)
	if len(searches) != 5 {
		t.Fatalf("%d searches, want the five of issue 11", len(searches))
	}
	for _, s := range searches {
		q, err := httpapi.ParseHostPortSearch(s.Filter, s.OrderBy)
		if err != nil {
			t.Errorf("%s: %s: %v", s.Name, s.Filter, err)
			continue
		}
		q.Count, q.Top = true, -1
		page, err := db.SearchHostPorts(ctx, q)
		if err != nil {
			t.Errorf("%s: %s: %v", s.Name, s.Filter, err)
			continue
		}
		if page.Total == 0 || page.Total > all.Total/5 {
			t.Errorf("%s: %s matches %d of %d records", s.Name, s.Filter, page.Total, all.Total)
		}
		t.Logf("%s: %d of %d", s.Name, page.Total, all.Total)
	}
}

// The address range holds a host of the world, and the same one whatever
// the number of hosts or rescans.
func TestGenSearchesSubnet(t *testing.T) {
	subnet := func(cfg gen.Config) string {
		for _, s := range gen.Searches(cfg) {
			if s.Name == "address range" {
				return s.Filter
			}
		}
		t.Fatal("no address range")
		return ""
	}
	small := subnet(gen.Config{Seed: 1, Hosts: 100})
	if big := subnet(gen.Config{Seed: 1, Hosts: 1000000, Rescans: 3, Probe: probe}); big != small {
		t.Errorf("the range moves with the world's size: %s, then %s", small, big)
	}
	if other := subnet(gen.Config{Seed: 2, Hosts: 100}); other == small {
		t.Errorf("seeds 1 and 2 share the range %s", small)
	}
	cidr := strings.TrimSuffix(strings.TrimPrefix(small, "portolan.inSubnet(host/id, '"), "')")
	p, err := netip.ParsePrefix(cidr)
	if err != nil || p.Bits() != 16 {
		t.Fatalf("range %q: %v", cidr, err)
	}
	g := gen.New(gen.Config{Seed: 1, Hosts: 100})
	for o := g.Next(); o != nil; o = g.Next() {
		if a, err := netip.ParseAddr(o.Host); err == nil && p.Contains(a) && o.Status == portolan.StatusOpen {
			return
		}
	}
	t.Errorf("no open port of the world in %s", p)
}
