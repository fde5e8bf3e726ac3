// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// encoding/xml tokenises the generated nmap file to its end.
func TestNmapTokenizeXML(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "in.xml")
	if _, stderr, err := run(t, nil, "gen", "--format", "nmap", "--hosts", "20", "--ports-per-host", "11", "--rescans", "1", "-o", file); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	tok, err := tokenizeXML(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	// Every host holds a dozen elements per port at least.
	if tok.tokens < 20*11*12 || tok.wall <= 0 {
		t.Errorf("tokenizeXML = %+v", tok)
	}
	broken := filepath.Join(dir, "broken.xml")
	if err := os.WriteFile(broken, []byte("<nmaprun><host></nmaprun>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tokenizeXML(context.Background(), broken); err == nil {
		t.Error("a syntax error gives no error")
	}
}

func TestNmapRows(t *testing.T) {
	ingested := ingestFigures{observations: 55000, run: childRun{wall: 2 * time.Second, maxRSS: 200 << 20}}
	parsed := ingestFigures{observations: 55000, run: childRun{wall: time.Second, maxRSS: 50 << 20}}
	rows := nmapRows(5000, 11, 50e6, ingested, parsed, tokenFigures{tokens: 1, wall: time.Second / 2})
	want := [][]string{
		{"nmap XML, 5,000 hosts × 11 ports (47.7 MiB), into the embedded store: ports/s", "27,500", "55,000 parse only", "0.50×"},
		{"nmap XML into the embedded store: peak RSS", "200.0 MiB", "50.0 MiB parse only", "4.00×"},
		{"nmap reader parse-only vs encoding/xml tokens: MB/s", "50.0 MB/s", "100.0 MB/s encoding/xml Token()", "0.50×"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i := range want {
		if !slices.Equal(rows[i], want[i]) {
			t.Errorf("row %d = %q\nwant %q", i, rows[i], want[i])
		}
	}
}
