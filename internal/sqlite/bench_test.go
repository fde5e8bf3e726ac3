// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"runtime"
	"testing"

	"portolan/internal/fingerprint"
	"portolan/internal/gen"
	"portolan/internal/ingest"
	"portolan/internal/sqlite"
)

// BenchmarkIngestNative measures native NDJSON ingest into the embedded
// store, end to end (parse, normalise, merge, write), for the realistic mix
// of internal/gen: many hosts, rescans of the same ports, 30% with banners,
// 5% with certificates. It reports observations per second and the peak heap.
var batchSize = 20000

func BenchmarkIngestNative(b *testing.B) {
	g := gen.New(gen.Config{Seed: 1, Hosts: 20000, Rescans: 5})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	n := 0
	for o := g.Next(); o != nil; o = g.Next() {
		enc.Encode(o)
		n++
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{Recognizer: fingerprint.Default()})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		in := &ingest.Ingester{Store: db}
		sum, err := in.Ingest(context.Background(), "bench", bytes.NewReader(data), ingest.Options{BatchSize: batchSize})
		if err != nil || sum.Observations != n {
			b.Fatalf("ingested %d of %d: %v", sum.Observations, n, err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "obs/s")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heapMiB")
}
