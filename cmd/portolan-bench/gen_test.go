// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"portolan/internal/cli"
	"portolan/internal/ingest"
)

func TestGenCommandWritesBothFormats(t *testing.T) {
	dir := t.TempDir()
	for format, want := range map[string]string{"native": "native", "nmap": "nmap"} {
		file := filepath.Join(dir, "out."+format)
		_, stderr, err := run(t, nil, "gen", "--seed", "3", "--hosts", "30", "--rescans", "2", "--format", format, "-o", file)
		if err != nil {
			t.Fatalf("gen --format %s: %v\n%s", format, err, stderr)
		}
		if !strings.Contains(stderr, "observations") {
			t.Errorf("gen printed no summary: %q", stderr)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if got := ingest.Detect(data); got != want {
			t.Errorf("gen --format %s: ingest detects %q", format, got)
		}
		// Standard output gets the same bytes.
		stdout, _, err := run(t, nil, "gen", "--seed", "3", "--hosts", "30", "--rescans", "2", "--format", format)
		if err != nil || !bytes.Equal([]byte(stdout), data) {
			t.Errorf("gen to standard output differs from gen -o (%v)", err)
		}
	}
}

func TestGenCommandRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"gen", "--format", "csv"},
		{"gen", "--rescans", "0"},
		{"gen", "--size", "lots"},
		{"gen", "--ports-per-host", "-1"},
		{"gen", "--ports-per-host", "1001"},
		{"gen", "extra"},
	} {
		if _, _, err := run(t, nil, args...); err == nil || cli.ExitCode(err) != 2 {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
}

func TestGenSizeFlag(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sized.ndjson")
	if _, stderr, err := run(t, nil, "gen", "--size", "2MB", "-o", file); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := float64(fi.Size()) / 2e6; got < 0.85 || got > 1.15 {
		t.Errorf("--size 2MB wrote %d bytes", fi.Size())
	}
}

func TestGenParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1GB": 1e9, "1gb": 1e9, "1.5GiB": 3 << 29, "500MB": 500e6, "500 MiB": 500 << 20, "4096": 4096, "64k": 64e3, "10b": 10,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GB", "-1GB", "0", "1XB", "1e30"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q): no error", in)
		}
	}
}

// --ports-per-host gives every host that many open ports: the nmap file of
// the ingest benchmark.
func TestGenPortsPerHostFlag(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fixed.xml")
	_, stderr, err := run(t, nil, "gen", "--format", "nmap", "--hosts", "20", "--ports-per-host", "11", "--rescans", "1", "-o", file)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "20 hosts, 220 observations") {
		t.Errorf("gen --ports-per-host 11: %q", stderr)
	}
	parsed, _, err := run(t, nil, "parse-only", "--format", "nmap", file)
	if err != nil || !strings.Contains(parsed, "parsed: 220 observations, 0 rejected") {
		t.Errorf("parse-only of the file: %q, %v", parsed, err)
	}
}
