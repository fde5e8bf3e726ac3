// SPDX-License-Identifier: Apache-2.0

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBenchTableMarkdown(t *testing.T) {
	tb := &table{title: "Serve", head: []string{"Request", "Conns", "req/s"}, notes: []string{"A note."}}
	tb.add("full (25.0 KiB)", "64", "12,345")
	tb.add("µ-select", "1", "7")
	var b strings.Builder
	tb.markdown(&b)
	want := `**Serve**

| Request         | Conns |  req/s |
| --------------- | ----: | -----: |
| full (25.0 KiB) |    64 | 12,345 |
| µ-select        |     1 |      7 |

- A note.
`
	if b.String() != want {
		t.Errorf("markdown:\n%s\nwant:\n%s", b.String(), want)
	}

	// Text columns are left-aligned; missing cells are empty.
	m := &table{head: []string{"", ""}, left: 2}
	m.add("Go")
	b.Reset()
	m.markdown(&b)
	if want := "|     |     |\n| --- | --- |\n| Go  |     |\n"; b.String() != want {
		t.Errorf("markdown:\n%q\nwant:\n%q", b.String(), want)
	}
}

func TestBenchFormatters(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{formatCount(0), "0"},
		{formatCount(999), "999"},
		{formatCount(1000), "1,000"},
		{formatCount(1234567), "1,234,567"},
		{formatCount(-45000), "-45,000"},
		{formatBytes(512), "512 B"},
		{formatBytes(1536), "1.5 KiB"},
		{formatBytes(95 << 20), "95.0 MiB"},
		{formatBytes(3 << 30), "3.0 GiB"},
		{formatLatency(412 * time.Microsecond), "0.412 ms"},
		{formatLatency(2345 * time.Microsecond), "2.35 ms"},
		{formatLatency(12345 * time.Microsecond), "12.3 ms"},
		{formatLatency(1234 * time.Millisecond), "1,234 ms"},
		{formatRatio(1, 2), "0.50×"},
		{formatRatio(3, 100), "0.030×"},
		{formatRatio(25, 2), "12×"},
		{formatRatio(1, 0), "–"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestBenchParseCounts(t *testing.T) {
	got, err := parseCounts("10k, 100k,1m,1.5m,64")
	if want := []int{10000, 100000, 1000000, 1500000, 64}; err != nil || !slices.Equal(got, want) {
		t.Errorf("parseCounts = %v, %v; want %v", got, err, want)
	}
	if got, err := parseCounts(""); err != nil || len(got) != 0 {
		t.Errorf(`parseCounts("") = %v, %v`, got, err)
	}
	for _, bad := range []string{"x", "10q", "-1", "0"} {
		if _, err := parseCounts(bad); err == nil {
			t.Errorf("parseCounts(%q): no error", bad)
		}
	}
}

// TestBenchIngestedLine: the summary of ingest is read with counts of 1 in
// the singular (current binaries) and in the plural (older ones).
func TestBenchIngestedLine(t *testing.T) {
	for line, want := range map[string][2]string{
		"ingested: 1 file, 1 observation, 1 record created, 0 updated, 0 duplicates skipped, 0 rejected":      {"1", "1"},
		"ingested: 1 files, 1 observations, 1 records created, 0 updated, 0 duplicates skipped, 0 rejected":   {"1", "1"},
		"ingested: 2 files, 12 observations, 5 records created, 7 updated, 1 duplicate skipped, 0 rejected":   {"12", "5"},
		"ingested: 1 file, 0 observations, 0 records created, 0 updated, 0 duplicates skipped, 0 rejected; 0": {"0", "0"},
	} {
		m := ingestedLine.FindStringSubmatch(line)
		if m == nil || m[1] != want[0] || m[2] != want[1] {
			t.Errorf("%q: matched %q, want observations %s, created %s", line, m, want[0], want[1])
		}
	}
}

// wrkOutput is what wrk 4.1 prints with --latency.
const wrkOutput = `Running 5s test @ http://127.0.0.1:41234/beta/security/threatIntelligence/hosts/198.51.100.20/ports
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.18ms    1.95ms  30.52ms   84.36%
    Req/Sec    10.31k     1.01k   12.62k    71.00%
  Latency Distribution
     50%  812.00us
     75%    3.66ms
     90%    5.10ms
     99%   10.23ms
  102612 requests in 5.00s, 1.43GB read
Requests/sec:  20506.42
Transfer/sec:    292.51MB
`

func TestBenchParseWrk(t *testing.T) {
	r, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 20506.42 || r.p50 != 812*time.Microsecond || r.p99 != 10230*time.Microsecond || r.requests != 102612 {
		t.Errorf("parseWrk = %+v", r)
	}
	for name, out := range map[string]string{
		"non-2xx":       strings.Replace(wrkOutput, "Requests/sec", "  Non-2xx or 3xx responses: 12\nRequests/sec", 1),
		"socket errors": strings.Replace(wrkOutput, "Requests/sec", "  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec", 1),
		"no latency":    strings.Replace(wrkOutput, "     99%   10.23ms\n", "", 1),
		"empty":         "",
	} {
		if _, err := parseWrk(out); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	ok := strings.Replace(wrkOutput, "Requests/sec", "  Socket errors: connect 0, read 0, write 0, timeout 0\nRequests/sec", 1)
	if _, err := parseWrk(ok); err != nil {
		t.Errorf("zero socket errors: %v", err)
	}
}

// The parse-only baseline reads as many observations as ingest stores.
func TestBenchParseOnly(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "in.ndjson")
	if _, stderr, err := run(t, nil, "gen", "--hosts", "40", "--rescans", "2", "-o", file); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	parsed, _, err := run(t, nil, "parse-only", file)
	if err != nil {
		t.Fatal(err)
	}
	ingest := exec.Command(filepath.Join(binaries(t), "portolan"), "ingest", "--no-progress", "--data", filepath.Join(dir, "data"), file)
	ingest.Env = append(os.Environ(), "PORTOLAN_STORE=")
	ingested, err := ingest.Output()
	if err != nil {
		t.Fatal(err)
	}
	p, i := parsedLine.FindStringSubmatch(parsed), ingestedLine.FindStringSubmatch(string(ingested))
	if p == nil || i == nil || p[1] != i[1] {
		t.Errorf("parse-only says %q, ingest %q", parsed, ingested)
	}
}

// TestBenchSmoke runs the whole harness, tiny, with the real binaries.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs wrk and nginx for about 15 seconds")
	}
	for _, tool := range []string{"wrk", "nginx"} {
		if _, err := findTool(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	out, err := exec.Command(filepath.Join(binaries(t), "portolan-bench"), "--no-install", "--ingest-hosts", "100", "--big", "2", "--nmap-hosts", "20", "--serve-hosts", "20",
		"--duration", "1s", "--conns", "2", "--scale", "500", "--random-hostports", "2k", "--filled-hostports", "0").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"**Machine**", "Embedded store: observations/s", "Memory flat", "full JSON", "$select=id,port", "walking nextLinks", "**Scale", "**Random hosts", "random of", "Load average"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestBenchIngestSmoke runs the ingest section, tiny, with the real
// binaries: it needs neither wrk nor nginx, so it always runs, and proves
// that portolan-bench finds the portolan next to it and its own parse-only.
func TestBenchIngestSmoke(t *testing.T) {
	cmd := exec.Command(filepath.Join(binaries(t), "portolan-bench"), "ingest", "--ingest-hosts", "50", "--big", "2", "--nmap-hosts", "30", "--filled-hostports", "2k")
	cmd.Env = append(os.Environ(), "PORTOLAN_STORE=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	for _, want := range []string{"`portolan-bench`", "./portolan-bench ingest --big=2 --filled-hostports=2k --ingest-hosts=50 --nmap-hosts=30", "Embedded store: observations/s",
		"Embedded store already holding ", "Already holding: a store built first", "parse only", "Memory flat",
		"nmap XML, 30 hosts × 11 ports", "nmap reader parse-only vs encoding/xml tokens: MB/s", "encoding/xml Token()"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Without --store there is no COPY row nor its note.
	if strings.Contains(string(out), "plain COPY") || strings.Contains(string(out), "Plain COPY") {
		t.Errorf("the COPY baseline is reported without --store:\n%s", out)
	}
	if !strings.Contains(stderr.String(), "measuring "+filepath.Join(binaries(t), "portolan")+" (portolan ") {
		t.Errorf("the binary under test is not reported:\n%s", stderr.String())
	}
}
