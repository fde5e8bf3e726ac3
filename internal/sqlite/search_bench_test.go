// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"portolan"
	"portolan/internal/fingerprint"
	"portolan/internal/gen"
	"portolan/internal/httpapi"
	"portolan/internal/sqlite"
)

// BenchmarkSearch measures the searches of issue 11 (gen.Searches: a
// product and version, a port, an address range, a certificate expiry
// window, a banner substring) in a store of about 20,000 hostPorts: the
// first page of 100 and the count alone, with allocations. portolan-bench
// search measures the same searches at 100,000 and 1,000,000 hostPorts.
// A search the store cannot answer yet is skipped with its message.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "search.db"), sqlite.Options{Recognizer: fingerprint.Default()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cfg := gen.Config{Seed: 1, Hosts: gen.HostsFor(20000)}
	g := gen.New(cfg)
	var batch []*portolan.Observation
	for o := g.Next(); ; o = g.Next() {
		if o != nil {
			batch = append(batch, o)
		}
		if len(batch) == 5000 || o == nil {
			if _, err := db.ImportObservations(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
		if o == nil {
			break
		}
	}
	for _, s := range gen.Searches(cfg) {
		q, err := httpapi.ParseHostPortSearch(s.Filter, s.OrderBy)
		if err != nil {
			b.Fatalf("%s: %v", s.Filter, err)
		}
		count := portolan.SearchQuery{Filter: q.Filter, Count: true, Top: -1}
		page := q
		page.Top = 100
		name := strings.ReplaceAll(s.Name, " ", "_")
		b.Run(name+"/page", func(b *testing.B) {
			benchmarkSearch(b, db, page, func(p portolan.Page[*portolan.HostPort]) int { return len(p.Items) })
		})
		b.Run(name+"/count", func(b *testing.B) {
			benchmarkSearch(b, db, count, func(p portolan.Page[*portolan.HostPort]) int { return p.Total })
		})
	}
}

// benchmarkSearch runs q b.N times; n says how many items a run found,
// which must be some and always the same.
func benchmarkSearch(b *testing.B, db *sqlite.DB, q portolan.SearchQuery, n func(portolan.Page[*portolan.HostPort]) int) {
	ctx := context.Background()
	first, err := db.SearchHostPorts(ctx, q)
	if msg := portolan.ErrorMessage(err); portolan.ErrorCode(err) == portolan.EINVALID && strings.HasPrefix(msg, "Unsupported query") {
		b.Skip(msg)
	}
	if err != nil {
		b.Fatal(err)
	}
	want := n(first)
	if want == 0 {
		b.Fatal("the search matches nothing: gen.Searches no longer fits gen's world")
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := db.SearchHostPorts(ctx, q)
		if err != nil || n(p) != want {
			b.Fatalf("%d items (first run %d), %v", n(p), want, err)
		}
	}
	// After the loop: b.Loop's first call drops metrics reported before.
	b.ReportMetric(float64(want), "items")
}
