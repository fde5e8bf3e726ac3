// SPDX-License-Identifier: Apache-2.0

package ingest_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/ingest"
)

func dryRun(t *testing.T, input string, opts ingest.Options) (ingest.Summary, []string, error) {
	t.Helper()
	var rejected []string
	_, sum, err := ingest.DryRun(context.Background(), "in", strings.NewReader(input), opts, func(r *portolan.InputError) {
		rejected = append(rejected, r.Error())
	})
	return sum, rejected, err
}

func TestSummarySaysTheFormatAndEmpty(t *testing.T) {
	sum, _, err := dryRun(t, "#masscan\nopen tcp 80 192.0.2.1 1795781207\n", ingest.Options{})
	if err != nil || sum.Format != "masscan" || sum.Observations != 1 {
		t.Errorf("masscan: %v %+v", err, sum)
	}
	// Blank lines are as empty as no bytes, detected or forced, also past
	// the bytes detection looks at.
	for _, in := range []string{"", "\n", "\n\n\n", " \r\n\t\n", strings.Repeat("\n", 10000)} {
		for _, format := range []string{"", "zmap", "nmap"} {
			sum, rejected, err := dryRun(t, in, ingest.Options{Format: format})
			if err != nil || sum.Format != "empty" || sum.Files != 1 || sum.Failed != 0 || len(rejected) != 0 {
				t.Errorf("%d bytes of white space, --format %q: %v %+v %q", len(in), format, err, sum, rejected)
			}
		}
	}
	// What follows the blank lines is still read.
	sum, _, err = dryRun(t, strings.Repeat("\n", 10000)+"#masscan\nopen tcp 80 192.0.2.1 1795781207\n", ingest.Options{Format: "masscan"})
	if err != nil || sum.Format != "masscan" || sum.Observations != 1 {
		t.Errorf("blank lines, then masscan: %v %+v", err, sum)
	}
}

// TestForcedFormatThatDoesNotFit: one error for the file, no rejection per
// line, in one shape for every format, whether the reader rejects the first
// record (native, zgrab2, masscan) or gives up on the input (nmap without
// <nmaprun>, ZMap without a header line), with the format the file looks
// like when detection finds one.
func TestForcedFormatThatDoesNotFit(t *testing.T) {
	masscanLines := strings.Repeat("#masscan\nopen tcp 80 192.0.2.1 1795781207\n", 50)
	for _, tt := range []struct {
		forced, file, looks string
	}{
		{"native", "", "masscan"},
		{"nmap", "zgrab2/testdata/zgrab2_http.jsonl", "zgrab2"},
		{"nmap", "masscan/testdata/masscan_banners_oL.txt", "masscan"},
		{"nmap", "masscan/testdata/masscan_banners_80_443_oB.bin", "masscan"},
		{"zmap", "nmap/testdata/nmap_sV_scripts_5ports.xml", "nmap"},
		{"zmap", "masscan/testdata/masscan_banners_oJ.json", "masscan"},
		{"zmap", "zgrab2/testdata/zgrab2_http.jsonl", "zgrab2"},
		{"masscan", "zgrab2/testdata/zgrab2_http.jsonl", "zgrab2"},
		{"masscan", "nmap/testdata/nmap_sV_scripts_5ports.gnmap", "nmap"},
		{"zgrab2", "nmap/testdata/nmap_sV_scripts_5ports.xml", "nmap"},
		{"zgrab2", "masscan/testdata/masscan_banners_oL.txt", "masscan"},
		{"zgrab2", "testdata/lab.ndjson", "native"},
		{"shodan", "zgrab2/testdata/zgrab2_http.jsonl", "zgrab2"},
	} {
		in := masscanLines
		if tt.file != "" {
			b, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			in = string(b)
		}
		sum, rejected, err := dryRun(t, in, ingest.Options{Format: tt.forced, Port: 80})
		if err == nil || len(rejected) != 0 || sum.Observations != 0 || portolan.ErrorCode(err) != portolan.EINVALID {
			t.Errorf("%s as %s: err %v, %d rejections, %+v", tt.file, tt.forced, err, len(rejected), sum)
			continue
		}
		if msg := portolan.ErrorMessage(err); !strings.HasPrefix(msg, "in: not "+tt.forced+" as --format says (line ") || !strings.HasSuffix(msg, "); it looks like "+tt.looks) {
			t.Errorf("%s as %s: message %q", tt.file, tt.forced, msg)
		}
	}
	// Detection finding nothing, the message stops after the reason.
	for _, forced := range []string{"nmap", "zmap", "zgrab2", "masscan"} {
		_, _, err := dryRun(t, "just some notes\nand more\n", ingest.Options{Format: forced, Port: 80})
		if msg := portolan.ErrorMessage(err); !strings.HasPrefix(msg, "in: not "+forced+" as --format says (line ") || !strings.HasSuffix(msg, ")") {
			t.Errorf("notes as %s: message %q", forced, msg)
		}
	}
	// A forced format that fits still reports its bad lines one by one.
	_, rejected, err := dryRun(t, "#masscan\nopen tcp 80 192.0.2.1 1795781207\nopen tcp x 192.0.2.1 1\n", ingest.Options{Format: "masscan"})
	if err != nil || len(rejected) != 1 {
		t.Errorf("fitting format: %v %q", err, rejected)
	}
	// And a file in the forced format that ends early is cut short, not
	// of another format.
	_, _, err = dryRun(t, "saddr,sport", ingest.Options{Format: "zmap"})
	if msg := portolan.ErrorMessage(err); err == nil || strings.Contains(msg, "as --format says") {
		t.Errorf("truncated zmap header: %v", err)
	}
}

// TestStoppedReadingSaysWhatWasKept: a file that cannot be read to its end
// says the observations before that point were stored, except in a dry run,
// which stores nothing.
func TestStoppedReadingSaysWhatWasKept(t *testing.T) {
	cut := "<?xml version=\"1.0\"?>\n<nmaprun scanner=\"nmap\">\n<host><address addr="
	_, _, err := dryRun(t, cut, ingest.Options{})
	if err == nil || strings.Contains(err.Error(), "stored:") || !strings.Contains(err.Error(), "in: reading stopped, the observations before this point were counted (a dry run stores nothing): ") {
		t.Errorf("dry run: %v", err)
	}
	in := &ingest.Ingester{Store: storeFunc(func([]*portolan.Observation) {})}
	_, err = in.Ingest(context.Background(), "in", strings.NewReader(cut), ingest.Options{})
	if err == nil || !strings.Contains(err.Error(), "in: reading stopped, the observations before this point were stored: ") {
		t.Errorf("ingest: %v", err)
	}
}

// TestScannedAt: files without times take --scanned-at, and the note says
// which time was used.
func TestScannedAt(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	mod := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name, input string
		opts        ingest.Options
		note        string
	}{
		{"zmap default output, file time", "192.0.2.1\n192.0.2.2\n", ingest.Options{Format: "zmap", Port: 443, ModTime: mod},
			"in: no timestamp fields: the file's modification time 2026-12-01T08:00:00Z (give the scan's time with --scanned-at) was used as the time of every observation"},
		{"zmap default output, --scanned-at", "192.0.2.1\n192.0.2.2\n", ingest.Options{Format: "zmap", Port: 443, ModTime: mod, ScannedAt: at},
			"in: no timestamp fields: --scanned-at 2026-11-30T12:00:00Z was used as the time of every observation"},
		{"masscan -oL without times", "#masscan\nopen tcp 80 192.0.2.1\nopen tcp 443 192.0.2.1\n# end\n", ingest.Options{ScannedAt: at},
			"in: lines without a time: --scanned-at 2026-11-30T12:00:00Z was used as their time"},
		{"nmap -oG without its scan date", "Host: 192.0.2.1 ()\tStatus: Up\nHost: 192.0.2.1 ()\tPorts: 22/open/tcp//ssh///, 80/closed/tcp//http///\n", ingest.Options{ScannedAt: at},
			"in: host lines without a scan date: --scanned-at 2026-11-30T12:00:00Z was used as their time"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []*portolan.Observation
			in := &ingest.Ingester{Store: storeFunc(func(b []*portolan.Observation) { got = append(got, b...) })}
			sum, err := in.Ingest(context.Background(), "in", strings.NewReader(tt.input), tt.opts)
			if err != nil || sum.Rejected != 0 || len(got) != 2 {
				t.Fatalf("%v, %d rejected, %d observations", err, sum.Rejected, len(got))
			}
			want := at
			if tt.opts.ScannedAt.IsZero() {
				want = mod
			}
			for _, o := range got {
				if !o.ScannedAt.Equal(want) {
					t.Errorf("%s port %d scanned at %s, want %s", o.Host, o.Port, o.ScannedAt, want)
				}
			}
			if len(sum.Notes) != 1 || sum.Notes[0] != tt.note {
				t.Errorf("notes %q\nwant %q", sum.Notes, tt.note)
			}
		})
	}
	// Without a time, a masscan line says how to give one.
	_, rejected, _ := dryRun(t, "#masscan\nopen tcp 80 192.0.2.1\n", ingest.Options{})
	if len(rejected) != 1 || !strings.Contains(rejected[0], "--scanned-at") {
		t.Errorf("rejections %q", rejected)
	}
}

// TestSummaryLine: every count keeps its place and agrees with its noun;
// what failed is added after them.
func TestSummaryLine(t *testing.T) {
	for _, tt := range []struct {
		sum  ingest.Summary
		want string
	}{
		{ingest.Summary{Files: 1, ImportResult: portolan.ImportResult{Observations: 1, Created: 1}},
			"1 file, 1 observation, 1 record created, 0 updated, 0 duplicates skipped, 0 rejected"},
		{ingest.Summary{Files: 3, Failed: 2, ImportResult: portolan.ImportResult{Observations: 12, Created: 5, Updated: 7, Duplicates: 1}, Rejected: 1},
			"3 files, 12 observations, 5 records created, 7 updated, 1 duplicate skipped, 1 rejected; 1 of 3 files read, 2 failed"},
		{ingest.Summary{Files: 1, Failed: 1},
			"1 file, 0 observations, 0 records created, 0 updated, 0 duplicates skipped, 0 rejected; 0 of 1 file read, 1 failed"},
		{ingest.Summary{Files: 2, Failed: 1, ImportResult: portolan.ImportResult{Observations: 2, Created: 1, Updated: 1, Duplicates: 2}},
			"2 files, 2 observations, 1 record created, 1 updated, 2 duplicates skipped, 0 rejected; 1 of 2 files read, 1 failed"},
	} {
		if got := tt.sum.String(); got != tt.want {
			t.Errorf("\n got %s\nwant %s", got, tt.want)
		}
	}
}

type storeFunc func([]*portolan.Observation)

func (f storeFunc) ImportObservations(_ context.Context, b []*portolan.Observation) (portolan.ImportResult, error) {
	f(b)
	return portolan.ImportResult{Observations: len(b)}, nil
}

func (f storeFunc) Rebuild(context.Context, func(int)) error { return nil }
