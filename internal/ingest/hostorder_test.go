// SPDX-License-Identifier: Apache-2.0

package ingest_test

import (
	"bytes"
	"cmp"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/gen"
	"portolan/internal/ingest"
	"portolan/internal/storetest"
)

// generatedScans is a native file of several scans of each host, a scan
// apart, as the harness ingests, and its hosts.
func generatedScans(t *testing.T) ([]byte, []string) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := gen.WriteAll(&buf, gen.New(gen.Config{Seed: 3, Hosts: 60, Rescans: 4}), gen.FormatNative); err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for line := range strings.Lines(buf.String()) {
		host, _, _ := strings.Cut(strings.TrimPrefix(line, `{"host":"`), `"`)
		hosts = append(hosts, host)
	}
	slices.Sort(hosts)
	return buf.Bytes(), slices.Compact(hosts)
}

// orderRecorder stores batches and remembers the order of their keys, and
// whether the sort directory held a name while a batch was stored.
type orderRecorder struct {
	portolan.Store
	dir     string
	keys    []*portolan.Observation
	batches int
	named   []string
}

func (r *orderRecorder) ImportObservations(ctx context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	r.batches++
	r.keys = append(r.keys, batch...)
	if r.dir != "" {
		entries, _ := os.ReadDir(r.dir)
		for _, e := range entries {
			r.named = append(r.named, e.Name())
		}
	}
	return r.Store.ImportObservations(ctx, batch)
}

// descents counts where the stored sequence goes back in host order: where
// one window ends and the next begins.
func (r *orderRecorder) descents() int {
	n := 0
	for i := 1; i < len(r.keys); i++ {
		a, b := r.keys[i-1], r.keys[i]
		if c := cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol)); c > 0 {
			n++
		}
	}
	return n
}

// TestHostOrderStoresTheSameRecords ingests a file of four scans of each
// host in its own order, in host order within one window of sorted runs,
// and within windows of three runs: the records are the same, the batches
// go to the store in host order within each window, and the runs' files
// never have a name in the directory.
func TestHostOrderStoresTheSameRecords(t *testing.T) {
	data, hosts := generatedScans(t)
	ctx := context.Background()
	ingestAs := func(opts ingest.Options) (*orderRecorder, ingest.Summary) {
		t.Helper()
		rec := &orderRecorder{Store: openStore(t), dir: opts.SortDir}
		opts.BatchSize = 50
		sum, err := (&ingest.Ingester{Store: rec}).Ingest(ctx, "scans.ndjson", bytes.NewReader(data), opts)
		if err != nil {
			t.Fatal(err)
		}
		return rec, sum
	}
	plain, plainSum := ingestAs(ingest.Options{})
	if plain.descents() < 100 {
		t.Fatalf("the generated file is nearly in host order already (%d descents): it tests nothing", plain.descents())
	}
	dir := t.TempDir()
	sorted, sortedSum := ingestAs(ingest.Options{Sort: true, SortDir: dir})
	restore := ingest.SetWindowLimits(3, time.Hour)
	windowed, windowedSum := ingestAs(ingest.Options{Sort: true, SortDir: dir})
	restore()

	want, err := storetest.Dump(ctx, plain.Store, hosts)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*orderRecorder{"one window": sorted, "windows of 3 runs": windowed} {
		got, err := storetest.Dump(ctx, r.Store, hosts)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got) {
			t.Errorf("%s: the records differ from those stored in input order", name)
		}
		if len(r.keys) != len(plain.keys) {
			t.Errorf("%s: %d observations stored, want %d", name, len(r.keys), len(plain.keys))
		}
		if len(r.named) > 0 {
			t.Errorf("%s: the sort directory held %q while batches were stored", name, r.named)
		}
	}
	if d := sorted.descents(); d != 0 {
		t.Errorf("one window: %d descents in host order, want none", d)
	}
	// Windows of 3 runs of 50 observations: each window is in order, and
	// the next begins again.
	windows := (len(plain.keys) + 149) / 150
	if d := windowed.descents(); d == 0 || d > windows-1 {
		t.Errorf("windows of 3 runs: %d descents, want 1 to %d", d, windows-1)
	}
	if sortedSum.Observations != plainSum.Observations || windowedSum.Observations != plainSum.Observations || sortedSum.Created != plainSum.Created {
		t.Errorf("summaries: input order %+v, host order %+v, windowed %+v", plainSum, sortedSum, windowedSum)
	}
	// Folded in fewer transactions, a host's scans update fewer records.
	if sortedSum.Updated >= plainSum.Updated {
		t.Errorf("host order updated %d records, input order %d: the scans of a host were not stored together", sortedSum.Updated, plainSum.Updated)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the sort directory holds %d files after ingest", len(entries))
	}
}

// TestHostOrderWindowEndsWithAge: a window older than its age goes to the
// store with the next observation, so that a slow stream is stored as it
// goes. Windows of no age hold one observation each: the input's order.
func TestHostOrderWindowEndsWithAge(t *testing.T) {
	data, _ := generatedScans(t)
	ctx := context.Background()
	plain := &orderRecorder{Store: openStore(t)}
	if _, err := (&ingest.Ingester{Store: plain}).Ingest(ctx, "scans.ndjson", bytes.NewReader(data), ingest.Options{BatchSize: 50}); err != nil {
		t.Fatal(err)
	}
	defer ingest.SetWindowLimits(256, 0)()
	aged := &orderRecorder{Store: openStore(t)}
	if _, err := (&ingest.Ingester{Store: aged}).Ingest(ctx, "scans.ndjson", bytes.NewReader(data), ingest.Options{Sort: true, SortDir: t.TempDir(), BatchSize: 50}); err != nil {
		t.Fatal(err)
	}
	if len(aged.keys) != len(plain.keys) || aged.descents() != plain.descents() || aged.batches != plain.batches {
		t.Errorf("windows of no age stored %d observations in %d batches with %d descents; input order %d in %d with %d",
			len(aged.keys), aged.batches, aged.descents(), len(plain.keys), plain.batches, plain.descents())
	}
}

// TestHostOrderWithoutRoomKeepsEverything: when the runs cannot be written,
// the observations gathered so far and the rest of the input are stored,
// in input order, and a note says why.
func TestHostOrderWithoutRoomKeepsEverything(t *testing.T) {
	data, hosts := generatedScans(t)
	ctx := context.Background()
	want := openStore(t)
	if _, err := (&ingest.Ingester{Store: want}).Ingest(ctx, "scans.ndjson", bytes.NewReader(data), ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{
		"missing directory": filepath.Join(t.TempDir(), "missing"),
		"a file":            writeFile(t, "not-a-directory"),
	} {
		db := openStore(t)
		var progress []int
		in := &ingest.Ingester{Store: db, OnProgress: func(_ int64, n int) { progress = append(progress, n) }}
		sum, err := in.Ingest(ctx, "scans.ndjson", bytes.NewReader(data), ingest.Options{Sort: true, SortDir: dir, BatchSize: 40})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Past the window that could not be sorted, progress follows
		// the reading again, batch by batch.
		if len(progress) < sum.Observations/40 || !slices.IsSorted(progress) || progress[len(progress)-1] != sum.Observations || progress[1] != 80 {
			t.Errorf("%s: progress %v", name, progress)
		}
		if len(sum.Notes) != 1 || !strings.Contains(sum.Notes[0], "stored in input order from observation 40 on") || !strings.Contains(sum.Notes[0], "--sort-dir") {
			t.Errorf("%s: notes %q", name, sum.Notes)
		}
		a, _ := storetest.Dump(ctx, want, hosts)
		b, _ := storetest.Dump(ctx, db, hosts)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: records differ from a plain ingest", name)
		}
	}
}

// TestHostOrderRunThatCannotBeWritten: a run whose writes fail (a full
// disk) is written beside the reading, so its failure is seen a run later:
// it is gathered again, and everything is stored, the rest in input order.
func TestHostOrderRunThatCannotBeWritten(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full:", err)
	}
	data, hosts := generatedScans(t)
	ctx := context.Background()
	want := openStore(t)
	if _, err := (&ingest.Ingester{Store: want}).Ingest(ctx, "scans.ndjson", bytes.NewReader(data), ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	defer ingest.FailRunWrites()()
	db := openStore(t)
	sum, err := (&ingest.Ingester{Store: db}).Ingest(ctx, "scans.ndjson", bytes.NewReader(data), ingest.Options{Sort: true, BatchSize: 40})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Notes) != 1 || !strings.Contains(sum.Notes[0], "stored in input order from observation 80 on") || !strings.Contains(sum.Notes[0], "no space left on device") {
		t.Errorf("notes %q", sum.Notes)
	}
	if sum.Observations != len(bytes.Split(bytes.TrimSpace(data), []byte("\n"))) {
		t.Errorf("%d observations stored of %d lines", sum.Observations, len(bytes.Split(bytes.TrimSpace(data), []byte("\n"))))
	}
	a, _ := storetest.Dump(ctx, want, hosts)
	b, _ := storetest.Dump(ctx, db, hosts)
	if !bytes.Equal(a, b) {
		t.Error("records differ from a plain ingest")
	}
}

func writeFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHostOrderProgress: a sorted ingest reports progress batch by batch,
// never backwards, ending at the input's size.
func TestHostOrderProgress(t *testing.T) {
	data, _ := generatedScans(t)
	var bytesSeen []int64
	var readSeen []int
	in := &ingest.Ingester{Store: openStore(t), OnProgress: func(b int64, n int) {
		bytesSeen = append(bytesSeen, b)
		readSeen = append(readSeen, n)
	}}
	sum, err := in.Ingest(context.Background(), "scans.ndjson", bytes.NewReader(data), ingest.Options{Sort: true, SortDir: t.TempDir(), BatchSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(bytesSeen) < sum.Observations/50 || !slices.IsSorted(bytesSeen) || !slices.IsSorted(readSeen) {
		t.Fatalf("progress %v / %v", bytesSeen, readSeen)
	}
	if last := bytesSeen[len(bytesSeen)-1]; last != int64(len(data)) || readSeen[len(readSeen)-1] != sum.Observations {
		t.Errorf("progress ends at %d bytes, %d observations; want %d, %d", last, readSeen[len(readSeen)-1], len(data), sum.Observations)
	}
}
