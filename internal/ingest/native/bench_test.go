// SPDX-License-Identifier: Apache-2.0

package native_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"portolan/internal/gen"
	"portolan/internal/ingest/native"
)

// BenchmarkReader measures parse-only throughput of the native format on the
// generator's realistic mix, next to encoding/json decoding every line of
// the same bytes into `any`.
func BenchmarkReader(b *testing.B) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	g := gen.New(gen.Config{Seed: 1, Hosts: 5000, Rescans: 4})
	for o := g.Next(); o != nil; o = g.Next() {
		enc.Encode(o)
	}
	data := buf.Bytes()
	b.Run("native", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			r := native.NewReader(bytes.NewReader(data), 0)
			for {
				if _, err := r.Read(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "obs/s")
	})
	b.Run("encoding-json-any", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			s := bufio.NewScanner(bytes.NewReader(data))
			s.Buffer(make([]byte, 1<<20), 1<<22)
			for s.Scan() {
				var v any
				if err := json.Unmarshal(s.Bytes(), &v); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
