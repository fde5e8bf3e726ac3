// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
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

// BenchmarkFindHostPortsOfAStore reads the ports of hosts drawn at random
// from an existing store, as serve does for a request with
// "Cache-Control: no-cache" (a cancellable context, a fresh read), where
// BenchmarkFindHostPorts/random reads a store small enough for the CPU's
// caches. PORTOLAN_BENCH_STORE names the store's file, such as one of a
// million hostPorts built as the harness builds its random-host table
// (portolan-bench gen --hosts 384548 --rescans 1, then portolan ingest);
// it is opened as it is, migrations included. The hosts are 20,000 of
// its hosts with records, about one in twenty, drawn at random.
func BenchmarkFindHostPortsOfAStore(b *testing.B) {
	path := os.Getenv("PORTOLAN_BENCH_STORE")
	if path == "" {
		b.Skip("PORTOLAN_BENCH_STORE names no store")
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	var hosts []string
	rows, err := raw.Query(`SELECT host FROM (SELECT DISTINCT host FROM host_ports WHERE first_seen IS NOT NULL)
		WHERE abs(random()) % 20 = 0 LIMIT 20000`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			b.Fatal(err)
		}
		hosts = append(hosts, h)
	}
	if err := errors.Join(rows.Err(), raw.Close()); err != nil || len(hosts) == 0 {
		b.Fatalf("%d hosts, %v", len(hosts), err)
	}
	b.ReportAllocs()
	var next atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ctx, cancel := context.WithCancel(portolan.NewContextFreshRead(ctx))
			host := hosts[int(next.Add(7919)%uint64(len(hosts)))]
			ports, _, err := db.FindHostPorts(ctx, portolan.HostPortFilter{Host: host, Limit: 101})
			cancel()
			if err != nil || len(ports) == 0 {
				b.Fatalf("%s: %d ports, %v", host, len(ports), err)
			}
		}
	})
}
