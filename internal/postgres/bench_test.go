// SPDX-License-Identifier: Apache-2.0

package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/gen"
	"portolan/internal/postgres"
)

// BenchmarkIngest measures ingest into PostgreSQL for the realistic mix of
// internal/gen that the embedded store's benchmark uses (20000 hosts
// rescanned 5 times: rescans of the same ports, 30% with banners, 5% with
// certificates), observations already parsed and normalised, in batches of
// the ingest command's default size and of the embedded benchmark's, and
// with two ingesters at once. Next to it, "copy" is a plain COPY of the same observation rows into an
// unindexed table in the same database: the limit of what PostgreSQL can
// take in. Each iteration starts from an empty schema. Run it with
//
//	PORTOLAN_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench Ingest -benchtime 3x ./internal/postgres/
func BenchmarkIngest(b *testing.B) {
	base := testURL(b)
	obs, _ := genObservations(b, gen.Config{Seed: 1, Hosts: 20000, Rescans: 5})
	ctx := context.Background()

	for _, size := range []int{5000, 50000} {
		b.Run(fmt.Sprintf("store/batch=%d", size), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				u := newSchema(b, base)
				db := mustOpen(b, u, nil)
				b.StartTimer()
				for i := 0; i < len(obs); i += size {
					if _, err := db.ImportObservations(ctx, obs[i:min(i+size, len(obs))]); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(len(obs))*float64(b.N)/b.Elapsed().Seconds(), "obs/s")
		})
	}

	// Two ingesters on disjoint halves (split by host), as two `portolan
	// ingest` processes on different files: what the server takes in when
	// it has more than one core to give.
	b.Run("store/batch=5000/ingesters=2", func(b *testing.B) {
		var halves [2][]*portolan.Observation
		for _, o := range obs {
			h := fnv.New32a()
			h.Write([]byte(o.Host))
			halves[h.Sum32()%2] = append(halves[h.Sum32()%2], o)
		}
		for b.Loop() {
			b.StopTimer()
			u := newSchema(b, base)
			dbs := [2]*postgres.DB{mustOpen(b, u, nil), mustOpen(b, u, nil)}
			b.StartTimer()
			var wg sync.WaitGroup
			for i, half := range halves {
				wg.Go(func() {
					for j := 0; j < len(half); j += 5000 {
						if _, err := dbs[i].ImportObservations(ctx, half[j:min(j+5000, len(half))]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			dbs[0].Close()
			dbs[1].Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(len(obs))*float64(b.N)/b.Elapsed().Seconds(), "obs/s")
	})

	b.Run("copy", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			u := newSchema(b, base)
			conn, err := pgx.Connect(ctx, u)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := conn.Exec(ctx, `CREATE TABLE plain_observations (
				host text, port integer, protocol text, status text, seen_at timestamptz, scanned_at timestamptz,
				source text, scan_protocol text, banner text, components jsonb, certificate bytea, hostnames text[])`); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			for i := 0; i < len(obs); i += 5000 {
				rows := plainRows(obs[i:min(i+5000, len(obs))])
				if _, err := conn.CopyFrom(ctx, pgx.Identifier{"plain_observations"},
					[]string{"host", "port", "protocol", "status", "seen_at", "scanned_at", "source", "scan_protocol", "banner", "components", "certificate", "hostnames"},
					pgx.CopyFromRows(rows)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			conn.Close(ctx)
			b.StartTimer()
		}
		b.ReportMetric(float64(len(obs))*float64(b.N)/b.Elapsed().Seconds(), "obs/s")
	})
}

// plainRows are observations as rows of one unindexed table.
func plainRows(obs []*portolan.Observation) [][]any {
	rows := make([][]any, len(obs))
	for i, o := range obs {
		var comps any
		if len(o.Components) > 0 {
			comps, _ = json.Marshal(o.Components)
		}
		var cert any
		if len(o.Certificate) > 0 {
			cert = o.Certificate
		}
		rows[i] = []any{o.Host, o.Port, string(o.Protocol), string(o.Status), o.SeenAt, o.ScannedAt,
			o.Source, o.ScanProtocol, o.Banner, comps, cert, o.Hostnames}
	}
	return rows
}
