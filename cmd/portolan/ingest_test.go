// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"portolan/internal/cli"
	"portolan/internal/gen"
	"portolan/internal/sqlite"
	"portolan/internal/storetest"
)

func TestIngestCommand(t *testing.T) {
	data := t.TempDir()
	files := []string{samples + "nmap_sV_sslcert_18080_18443.xml", samples + "nmap_sV_scripts_5ports.xml", samples + "nmap_sV_scripts_5ports_rescan_18080_closed.xml"}
	out, errOut, err := run(t, nil, append([]string{"ingest", "--data", data}, files...)...)
	if err != nil {
		t.Fatalf("ingest: %v\n%s", err, errOut)
	}
	// A line per file with the format it was read as, then the summary.
	if want := files[0] + ": read as nmap, 2 observations\n" + files[1] + ": read as nmap, 5 observations\n" + files[2] + ": read as nmap, 5 observations\n" +
		"ingested: 3 files, 12 observations, 5 records created, 7 updated, 0 duplicates skipped, 0 rejected\n"; out != want {
		t.Errorf("summary\n got %q\nwant %q", out, want)
	}
	out, _, err = run(t, map[string]string{"PORTOLAN_DATA": data}, append([]string{"ingest"}, files...)...)
	if err != nil || !strings.Contains(out, "0 records created, 0 updated, 12 duplicates skipped") {
		t.Errorf("re-ingest through PORTOLAN_DATA: %v %q", err, out)
	}
	out, _, err = run(t, nil, "rebuild", "--data", data)
	if err != nil || !strings.HasPrefix(out, "rebuilt: 12 observations replayed") {
		t.Errorf("rebuild: %v %q", err, out)
	}
}

func TestIngestReportsRejectionsAndExitsNonZero(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.ndjson")
	os.WriteFile(bad, []byte(`{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}
{"host":"192.0.2.1","port":80,"status":"opened","scannedAt":"2026-01-01T00:00:00Z","source":"x"}
`), 0o644)
	out, errOut, err := run(t, nil, "ingest", "--data", filepath.Join(dir, "d"), bad)
	if !errors.Is(err, cli.ErrSilentExit) {
		t.Fatalf("want a non-zero exit, got %v", err)
	}
	if !strings.Contains(errOut, "rejected: "+bad+":2: observation 2 (192.0.2.1 port 80) rejected: status \"opened\" is not open, filtered or closed") {
		t.Errorf("stderr: %s", errOut)
	}
	if !strings.Contains(out, "ingested: 1 file, 1 observation, 1 record created") || !strings.Contains(out, "1 rejected") {
		t.Errorf("summary: %s", out)
	}
}

func TestIngestRefusesUnknownFormats(t *testing.T) {
	dir := t.TempDir()
	txt := filepath.Join(dir, "notes.txt")
	os.WriteFile(txt, []byte("just some notes\n"), 0o644)
	_, errOut, err := run(t, nil, "ingest", "--data", filepath.Join(dir, "d"), txt)
	if err == nil || !strings.Contains(errOut, "not a known format (known: auto, native, masscan, nmap, zgrab2, shodan, zmap") {
		t.Errorf("err %v, stderr %s", err, errOut)
	}
	// nmap's normal output is named, with what to give instead.
	_, errOut, err = run(t, nil, "ingest", "--data", filepath.Join(dir, "d"), "../../internal/ingest/nmap/testdata/nmap_sV_scripts_5ports.nmap")
	if err == nil || !strings.Contains(errOut, "nmap_sV_scripts_5ports.nmap: not a known format: it is nmap's normal output (-oN), written for people; ingest the XML (-oX) or grepable (-oG) output") {
		t.Errorf("nmap -oN: err %v, stderr %s", err, errOut)
	}
	_, errOut, err = run(t, nil, "ingest", "--data", filepath.Join(dir, "d"))
	// One line naming what is missing, not the whole usage text.
	if !errors.Is(err, cli.ErrUsage) || errOut != "" {
		t.Errorf("no files: err %v, stderr %s", err, errOut)
	}
}

func TestIngestDryRunWritesNothing(t *testing.T) {
	data := filepath.Join(t.TempDir(), "d")
	out, _, err := run(t, nil, "ingest", "--dry-run", "--data", data, samples+"nmap_sV_scripts_5ports.xml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "127.0.0.1 tcp/18443 open") || !strings.Contains(out, "nmap_sV_scripts_5ports.xml: read as nmap, 5 observations:\n") || !strings.Contains(out, "dry run, nothing written: 1 file, 5 valid observations, 0 rejected") {
		t.Errorf("dry run output:\n%s", out)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the dry run created the data directory: %v", err)
	}
}

// writeGenerated writes n generated observations as native NDJSON and
// returns the hosts they are about.
func writeGenerated(t *testing.T, path string, hosts int) []string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	seen := map[string]bool{}
	var ids []string
	g := gen.New(gen.Config{Seed: 3, Hosts: hosts, Rescans: 4})
	for o := g.Next(); o != nil; o = g.Next() {
		enc.Encode(o)
		if !seen[o.Host] {
			seen[o.Host] = true
			ids = append(ids, o.Host)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return ids
}

func dumpDir(t *testing.T, dir string, hosts []string) []byte {
	t.Helper()
	db, err := sqlite.OpenDir(context.Background(), dir, sqlite.Options{Recognizer: recognizer()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b, err := storetest.Dump(context.Background(), db, hosts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKilledIngestIsCompletedByIngestingAgain kills the real binary in the
// middle of an ingestion and ingests the file again: the store is consistent
// and ends with exactly the records of one uninterrupted run.
func TestKilledIngestIsCompletedByIngestingAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	bin := binary(t)
	dir := t.TempDir()
	input := filepath.Join(dir, "scan.ndjson")
	hosts := writeGenerated(t, input, 6000)

	clean := filepath.Join(dir, "clean")
	if out, err := exec.Command(bin, "ingest", "--data", clean, input).CombinedOutput(); err != nil {
		t.Fatalf("clean ingest: %v\n%s", err, out)
	}
	killed := filepath.Join(dir, "killed")
	cmd := exec.Command(bin, "ingest", "--data", killed, input)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once a first batch is committed (the log has an entry), mid-way
	// through the file.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && committedBatches(filepath.Join(killed, sqlite.FileName)) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	if err == nil {
		t.Skip("the ingestion finished before it could be killed; nothing to test on this machine")
	}
	// The sorted runs were in the data directory, without names: the
	// kill leaves none of them behind.
	if runs, _ := filepath.Glob(filepath.Join(killed, "portolan-ingest-*")); len(runs) > 0 {
		t.Errorf("the killed ingest left %q", runs)
	}
	out, err := exec.Command(bin, "ingest", "--data", killed, input).CombinedOutput()
	if err != nil {
		t.Fatalf("ingest after the kill: %v\n%s", err, out)
	}
	if strings.Contains(string(out), " 0 duplicates skipped") {
		t.Fatalf("the second run found nothing of the first stored: %s", out)
	}
	t.Logf("after the kill: %s", out)
	if !bytes.Equal(dumpDir(t, clean, hosts), dumpDir(t, killed, hosts)) {
		t.Fatal("records after a killed ingest and a second run differ from one clean run")
	}
}

// TestIngestSortDirWithoutRoom: when the sorted runs cannot be written,
// ingest says so and stores everything in the file's own order; --no-sort
// stores the same records, without a word.
func TestIngestSortDirWithoutRoom(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "scan.ndjson")
	hosts := writeGenerated(t, input, 2000)
	sorted := filepath.Join(dir, "sorted")
	if out, errOut, err := run(t, nil, "ingest", "--data", sorted, input); err != nil || strings.Contains(out+errOut, "input order") {
		t.Fatalf("ingest: %v\n%s%s", err, out, errOut)
	}
	missing := filepath.Join(dir, "missing")
	out, errOut, err := run(t, nil, "ingest", "--data", filepath.Join(dir, "fallback"), "--sort-dir", missing, input)
	if err != nil || !strings.Contains(out+errOut, "stored in input order from observation 10000 on") || !strings.Contains(out+errOut, missing) {
		t.Errorf("--sort-dir %s: %v\n%s%s", missing, err, out, errOut)
	}
	if out, errOut, err := run(t, nil, "ingest", "--data", filepath.Join(dir, "unsorted"), "--no-sort", input); err != nil || strings.Contains(out+errOut, "input order") {
		t.Errorf("--no-sort: %v\n%s%s", err, out, errOut)
	}
	want := dumpDir(t, sorted, hosts)
	for _, d := range []string{"fallback", "unsorted"} {
		if !bytes.Equal(want, dumpDir(t, filepath.Join(dir, d), hosts)) {
			t.Errorf("%s: records differ from those of a sorted ingest", d)
		}
	}
}

// TestIngestDrawsAProgressBarOnATerminal runs ingest as on a terminal: the
// bar names the file and counts observations per second; with --no-progress
// (or off a terminal) nothing is drawn.
func TestIngestDrawsAProgressBarOnATerminal(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "scan.ndjson")
	writeGenerated(t, input, 3000)
	for _, c := range []struct {
		args []string
		bar  bool
	}{{nil, true}, {[]string{"--no-progress"}, false}} {
		var out, errOut bytes.Buffer
		env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }, Interactive: true}
		args := append(append([]string{"ingest", "--data", filepath.Join(dir, "d")}, c.args...), input)
		if err := program.Run(context.Background(), env, args); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut.String())
		}
		drawn := strings.Contains(errOut.String(), input+": ") && strings.Contains(errOut.String(), "observations (")
		if drawn != c.bar {
			t.Errorf("%v: progress bar drawn %v, want %v; stderr:\n%q", c.args, drawn, c.bar, errOut.String())
		}
	}
}

// committedBatches counts the imports committed to the embedded store at
// path, reading it while another process writes (WAL allows that); 0 when
// the database is not there yet.
func committedBatches(path string) int {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(1000)")
	if err != nil {
		return 0
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM observation_log").Scan(&n); err != nil {
		return 0
	}
	return n
}

// TestIngestCountsFailedFiles: the summary says how many files were read
// and how many failed, each file says what it was read as (an empty one is
// empty), in a real run and in a dry run.
func TestIngestCountsFailedFiles(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(notes, []byte("just some notes\n"), 0o644)
	good := samples + "nmap_sV_scripts_5ports.xml"
	missing := filepath.Join(dir, "missing.xml")
	for _, dry := range []bool{false, true} {
		args := []string{"ingest", "--data", filepath.Join(dir, "d")}
		summary := "ingested: 4 files, 5 observations, 5 records created, 0 updated, 0 duplicates skipped, 0 rejected; 2 of 4 files read, 2 failed\n"
		if dry {
			args = append(args, "--dry-run")
			summary = "dry run, nothing written: 4 files, 5 valid observations, 0 rejected; 2 of 4 files read, 2 failed\n"
		}
		out, errOut, err := run(t, nil, append(args, good, empty, notes, missing)...)
		if cli.ExitCode(err) != 1 {
			t.Errorf("dry run %v: exit %d", dry, cli.ExitCode(err))
		}
		for _, want := range []string{good + ": read as nmap, 5 observations", empty + ": empty, nothing to read", notes + ": failed, not read", missing + ": failed, not read"} {
			if !strings.Contains(out, want) {
				t.Errorf("dry run %v: stdout lacks %q:\n%s", dry, want, out)
			}
		}
		if !strings.HasSuffix(out, summary) {
			t.Errorf("dry run %v: summary\n%s\nwant %s", dry, out, summary)
		}
		if strings.Contains(errOut, "empty.txt") {
			t.Errorf("an empty file is not an error: %s", errOut)
		}
	}
}

// TestIngestDryRunFailedFile: in a dry run, a file that stops early does
// not claim that anything was stored, and a file line with no observations
// under it ends without a colon.
func TestIngestDryRunFailedFile(t *testing.T) {
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.xml")
	os.WriteFile(cut, []byte("<?xml version=\"1.0\"?>\n<nmaprun scanner=\"nmap\">\n<host><address addr="), 0o644)
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("just some notes\n"), 0o644)
	blank := filepath.Join(dir, "blank.txt")
	os.WriteFile(blank, []byte("\n\n  \n"), 0o644)
	good := samples + "nmap_sV_scripts_5ports.xml"
	out, errOut, err := run(t, nil, "ingest", "--dry-run", good, cut, notes, blank)
	if cli.ExitCode(err) != 1 {
		t.Errorf("exit %d", cli.ExitCode(err))
	}
	for _, want := range []string{
		good + ": read as nmap, 5 observations:\n  127.0.0.1 tcp/",
		"\n" + cut + ": read as nmap, failed after 0 observations\n",
		"\n" + notes + ": failed, not read\n",
		"\n" + blank + ": empty, nothing to read\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(errOut, "stored") || !strings.Contains(errOut, cut+": reading stopped, the observations before this point were counted (a dry run stores nothing)") {
		t.Errorf("stderr:\n%s", errOut)
	}
	// A file of blank lines alone is empty, not an error.
	out, errOut, err = run(t, nil, "ingest", "--data", filepath.Join(dir, "d"), blank)
	if err != nil || !strings.HasPrefix(out, blank+": empty, nothing to read\ningested: 1 file, 0 observations") || errOut != "" {
		t.Errorf("blank lines: %v\n%s%s", err, out, errOut)
	}
}

// TestIngestForcedFormatMismatch: one message for the file, not one per line.
// A reader that gives up on the input (zmap without a header line) says so
// in the same words as one that rejects the first record (native).
func TestIngestForcedFormatMismatch(t *testing.T) {
	for _, format := range []string{"native", "zmap"} {
		out, errOut, err := run(t, nil, "ingest", "--data", filepath.Join(t.TempDir(), "d"), "--format", format, "--port", "80", samples+"nmap_sV_scripts_5ports.xml")
		if cli.ExitCode(err) != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "nmap_sV_scripts_5ports.xml: not "+format+" as --format says (line 1: ") || !strings.HasSuffix(errOut, "); it looks like nmap\n") {
			t.Errorf("%s: exit %d, stderr:\n%s", format, cli.ExitCode(err), errOut)
		}
		if !strings.Contains(out, "ingested: 1 file, 0 observations") || !strings.Contains(out, "0 of 1 file read, 1 failed") {
			t.Errorf("%s: stdout:\n%s", format, out)
		}
	}
}

// TestIngestScannedAt: ZMap's default output takes the scan time given.
func TestIngestScannedAt(t *testing.T) {
	dir := t.TempDir()
	ips := filepath.Join(dir, "zmap.txt")
	os.WriteFile(ips, []byte("192.0.2.1\n192.0.2.2\n"), 0o644)
	out, errOut, err := run(t, nil, "ingest", "--data", filepath.Join(dir, "d"), "--format", "zmap", "--port", "443", "--scanned-at", "2026-11-30", ips)
	if err != nil || !strings.Contains(out, "note: "+ips+": no timestamp fields: --scanned-at 2026-11-30T00:00:00Z was used") {
		t.Errorf("%v\n%s%s", err, out, errOut)
	}
	out, _, err = run(t, nil, "ingest", "--data", filepath.Join(dir, "d"), "--format", "zmap", "--port", "443", "--dry-run", ips)
	if err != nil || !strings.Contains(out, "the file's modification time") || !strings.Contains(out, "(give the scan's time with --scanned-at)") {
		t.Errorf("%v\n%s", err, out)
	}
	if _, _, err := run(t, nil, "ingest", "--scanned-at", "yesterday", ips); cli.ExitCode(err) != 2 {
		t.Errorf("bad --scanned-at: %v", err)
	}
}

// TestIngestLimitsItsHeap: a local ingest gives the process its soft memory
// limit (GOMEMLIMIT aside), a dry run does not. Into PostgreSQL, which
// stores two batches at once by default, the limit has one batch more,
// and one more again for each --concurrency above that.
func TestIngestLimitsItsHeap(t *testing.T) {
	type limitCase struct {
		args []string
		want int64
	}
	cases := []limitCase{
		{[]string{"ingest", "--data", filepath.Join(t.TempDir(), "d"), samples + "nmap_sV_scripts_5ports.xml"}, ingestMemoryLimit},
		{[]string{"ingest", "--dry-run", samples + "nmap_sV_scripts_5ports.xml"}, 0},
	}
	if base := os.Getenv("PORTOLAN_TEST_POSTGRES"); base != "" {
		store := pgSchema(t, base, "limit")
		cases = append(cases,
			limitCase{[]string{"ingest", "--store", store, samples + "nmap_sV_scripts_5ports.xml"}, ingestMemoryLimit + ingestMemoryPerBatch},
			limitCase{[]string{"ingest", "--store", store, "--concurrency", "4", samples + "nmap_sV_scripts_5ports.xml"}, ingestMemoryLimit + 3*ingestMemoryPerBatch})
	}
	for _, tc := range cases {
		var limit int64
		e := &cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard,
			Getenv: func(string) string { return "" }, SetMemoryLimit: func(n int64) { limit = n }}
		if err := program.Run(context.Background(), e, tc.args); err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if limit != tc.want {
			t.Errorf("%q: memory limit %d, want %d", tc.args, limit, tc.want)
		}
	}
}
