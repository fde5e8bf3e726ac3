// SPDX-License-Identifier: Apache-2.0

package ingest_test

import (
	"os"
	"path/filepath"
	"testing"

	"portolan/internal/ingest"
)

// TestDetectSamples checks that format detection names every reader's
// sample files, so that a new format's Sniff neither misses its own files
// nor claims another's.
func TestDetectSamples(t *testing.T) {
	for _, tc := range []struct{ glob, want string }{
		{"../ingest/nmap/testdata/*.xml", "nmap"},
		{"nmap/testdata/*.gnmap", "nmap"},
		{"masscan/testdata/masscan_*_oX.xml", "masscan"},
		{"masscan/testdata/*_oJ.json", "masscan"},
		{"masscan/testdata/*_oD.ndjson", "masscan"},
		{"masscan/testdata/*_oL.txt", "masscan"},
		{"masscan/testdata/*_oG.txt", "masscan"},
		{"masscan/testdata/*_oB.bin", "masscan"},
		{"zgrab2/testdata/*.jsonl", "zgrab2"},
		{"shodan/testdata/*.ndjson", "shodan"},
		{"zmap/testdata/*.csv", "zmap"},
		{"zmap/testdata/*.jsonl", "zmap"},
		{"naabu/testdata/*.jsonl", "naabu"},
		{"httpx/testdata/*.jsonl", "httpx"},
		{"native/testdata/*.ndjson", "native"},
	} {
		files, err := filepath.Glob(tc.glob)
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no files (%v)", tc.glob, err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if got := ingest.Detect(data[:min(len(data), 4096)]); got != tc.want {
				t.Errorf("%s: detected %q, want %q", f, got, tc.want)
			}
		}
	}
}
