// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"portolan"
	"portolan/internal/gen"
	"portolan/internal/sqlite"
)

// BenchmarkFindHostPorts measures the store's part of the API's hot request:
// the 20 ports of one host with their banners and services, in a store of
// about 10,000 hostPorts, and (random) the ports of a host drawn at random,
// most of which have one to four, read past the store's page cache.
func BenchmarkFindHostPorts(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "read.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	g := gen.New(gen.Config{Seed: 2, Hosts: 3000, Rescans: 3, Probe: "198.51.100.20"})
	var batch []*portolan.Observation
	var hosts []string
	seen := map[string]bool{}
	for o := g.Next(); o != nil; o = g.Next() {
		if err := o.Normalize(); err != nil {
			b.Fatal(err)
		}
		batch = append(batch, o)
		if o.Status == portolan.StatusOpen && !seen[o.Host] {
			seen[o.Host] = true
			hosts = append(hosts, o.Host)
		}
	}
	if _, err := db.ImportObservations(ctx, batch); err != nil {
		b.Fatal(err)
	}
	for _, cached := range []bool{false, true} {
		name := "uncached"
		if cached {
			name = "cached"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !cached {
						db.Invalidate()
					}
					ports, _, err := db.FindHostPorts(ctx, portolan.HostPortFilter{Host: "198.51.100.20", Limit: 101})
					if err != nil || len(ports) != 20 {
						b.Fatalf("%d ports, %v", len(ports), err)
					}
				}
			})
		})
	}
	b.Run("random", func(b *testing.B) {
		b.ReportAllocs()
		var next atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				db.Invalidate()
				host := hosts[int(next.Add(7919)%uint64(len(hosts)))]
				ports, _, err := db.FindHostPorts(ctx, portolan.HostPortFilter{Host: host, Limit: 101})
				if err != nil || len(ports) == 0 {
					b.Fatalf("%s: %d ports, %v", host, len(ports), err)
				}
			}
		})
	})
}

// BenchmarkFindHostComponents measures hosts/{id}/components of a host with
// 5,000 open ports, each running two of twelve products: the components
// are aggregated from the 10,000 rows of its ports' (migration 0008).
func BenchmarkFindHostComponents(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "read.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var batch []*portolan.Observation
	for p := 1; p <= 5000; p++ {
		batch = append(batch, &portolan.Observation{Host: "198.51.100.7", Port: p, Protocol: portolan.TCP, Status: portolan.StatusOpen,
			Source: "bench", ScannedAt: at, SeenAt: at, Components: []portolan.Component{
				{Name: "nginx", Version: fmt.Sprintf("1.%d.0", p%6), Category: "Web Server"},
				{Name: "OpenSSL", Version: fmt.Sprintf("3.0.%d", p%6), Category: "Framework"}}})
	}
	if _, err := db.ImportObservations(ctx, batch); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		comps, _, err := db.FindHostComponents(ctx, "198.51.100.7", portolan.ListFilter{Limit: 100})
		if err != nil || len(comps) != 12 {
			b.Fatalf("%d components, %v", len(comps), err)
		}
	}
}
