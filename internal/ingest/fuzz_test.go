// SPDX-License-Identifier: Apache-2.0

package ingest_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"portolan/internal/ingest"
)

// FuzzIngest runs the whole pipeline (format detection, the reader it
// picks, normalisation, batching) over arbitrary bytes, and over the same
// bytes gzip-compressed: neither may panic, and both must read the same
// format, the same observations per host and port and the same
// rejections, or fail alike. Each run builds two pipelines (about a
// millisecond), and the engine minimises every input that finds new
// coverage, a run per byte or so: give it -fuzzminimizetime 2s, or it
// reports no progress for minutes.
//
//	go test -run '^$' -fuzz FuzzIngest -fuzztime 1m -fuzzminimizetime 2s ./internal/ingest
func FuzzIngest(f *testing.F) {
	for _, name := range []string{filepath.Join("testdata", "lab.ndjson"), filepath.Join("nmap", "testdata", "nmap_sV_db_http_tls.xml"), filepath.Join("nmap", "testdata", "nmap_sV_scripts_5ports.gnmap")} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"ip":"192.0.2.1","timestamp":"1764806400","ports":[{"port":80,"proto":"tcp","status":"open"}]}` + "\n"))
	f.Add([]byte("saddr,sport\n192.0.2.1,443\n"))
	f.Add([]byte("\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			return // already compressed: one layer is read, not two
		}
		ctx := context.Background()
		opts := ingest.Options{BatchSize: 7}
		plain, plainSum, plainErr := ingest.DryRun(ctx, "in", bytes.NewReader(data), opts, nil)
		packed, packedSum, packedErr := ingest.DryRun(ctx, "in", bytes.NewReader(gzipped(t, data)), opts, nil)
		if (plainErr == nil) != (packedErr == nil) {
			t.Fatalf("plain: %v; gzip: %v", plainErr, packedErr)
		}
		if plainSum.Format != packedSum.Format || plainSum.Observations != packedSum.Observations || plainSum.Rejected != packedSum.Rejected {
			t.Fatalf("plain read as %+v (%s), gzip as %+v (%s)", plainSum, plainSum.Format, packedSum, packedSum.Format)
		}
		if !maps.Equal(plain, packed) {
			t.Fatalf("plain %v, gzip %v", plain, packed)
		}
	})
}
