// SPDX-License-Identifier: Apache-2.0

package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/fingerprint"
	"portolan/internal/gen"
	"portolan/internal/ingest"
	"portolan/internal/sqlite"
	"portolan/internal/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), sqlite.Options{Recognizer: fingerprint.Default()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func ingestFile(t *testing.T, in *ingest.Ingester, path string) ingest.Summary {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum, err := in.Ingest(context.Background(), filepath.Base(path), f, ingest.Options{})
	if err != nil {
		t.Fatalf("ingest %s: %v", path, err)
	}
	return sum
}

// TestNmapCapturesGolden ingests the real nmap captures, the rescan in which
// port 18080 went from open to closed last, and compares every record with
// the golden file.
func TestNmapCapturesGolden(t *testing.T) {
	db := openStore(t)
	in := &ingest.Ingester{Store: db}
	for _, name := range []string{"nmap_sV_sslcert_18080_18443.xml", "nmap_sV_scripts_5ports.xml", "nmap_sV_scripts_5ports_rescan_18080_closed.xml"} {
		if sum := ingestFile(t, in, filepath.Join("testdata", name)); sum.Rejected != 0 {
			t.Fatalf("%s: %d rejected", name, sum.Rejected)
		}
	}
	ctx := context.Background()
	hp, err := db.FindHostPortByID(ctx, portolan.HostPortID("127.0.0.1", portolan.TCP, 18080))
	if err != nil {
		t.Fatal(err)
	}
	// 18080 answered in the first two scans (11:53:43 and 11:54:22) and was
	// closed in the rescan, which is the last scan.
	if hp.Status != portolan.StatusClosed || hp.TimesObserved != 2 ||
		hp.FirstSeenDateTime.Format("15:04:05") != "11:53:43" || hp.LastSeenDateTime.Format("15:04:05") != "11:54:22" ||
		!hp.LastScanDateTime.After(hp.LastSeenDateTime.Add(10*60e9)) {
		t.Errorf("18080 after the rescan: %s, %d times, first %s last %s scan %s", hp.Status, hp.TimesObserved, hp.FirstSeenDateTime, hp.LastSeenDateTime, hp.LastScanDateTime)
	}
	tls, err := db.FindHostPortByID(ctx, portolan.HostPortID("127.0.0.1", portolan.TCP, 18443))
	if err != nil {
		t.Fatal(err)
	}
	if tls.MostRecentSSLCertificateID != portolan.SSLCertificateID("8ff5018a0fa83525278cf8abec72b6d64a8a7513") || tls.Status != portolan.StatusOpen {
		t.Errorf("18443: certificate %q status %s", tls.MostRecentSSLCertificateID, tls.Status)
	}
	got, err := storetest.Dump(ctx, db, []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "nmap_records.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/ingest -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("records differ from %s; inspect with -update and git diff", golden)
	}
}

func TestReingestIsANoOp(t *testing.T) {
	db := openStore(t)
	in := &ingest.Ingester{Store: db}
	first := ingestFile(t, in, "testdata/nmap_sV_scripts_5ports.xml")
	again := ingestFile(t, in, "testdata/nmap_sV_scripts_5ports.xml")
	if first.Created != 5 || again.Duplicates != first.Observations || again.Created+again.Updated != 0 {
		t.Errorf("first %+v, again %+v", first, again)
	}
}

func TestRejectionsCarryFileLineAndReason(t *testing.T) {
	input := strings.Join([]string{
		`{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
		`{"host":"not a host!","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
		`{"host":"192.0.2.1","port":70000,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
		`{"host":"192.0.2.1","port":443,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x","certificate":"MAMCAQE="}`,
		`garbage`,
		`{"host":"192.0.2.2","port":22,"status":"open","seenAt":"2026-01-02T00:00:00Z","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
		`{"host":"192.0.2.3","port":22,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"x"}`,
	}, "\n")
	db := openStore(t)
	var got []string
	in := &ingest.Ingester{Store: db, OnReject: func(r *portolan.InputError) { got = append(got, r.Error()) }}
	sum, err := in.Ingest(context.Background(), "scan.ndjson", strings.NewReader(input), ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"scan.ndjson:2: observation 2 (not a host! port 80) rejected: host \"not a host!\" is neither an IP address nor a DNS name: character ' ' is not allowed",
		"scan.ndjson:3: observation 3 (192.0.2.1 port 70000) rejected: port 70000 is outside 0..65535",
		"scan.ndjson:4: certificate of 192.0.2.1 port 443 rejected, observation kept: certificate is malformed",
		"scan.ndjson:5: not a valid observation",
		"scan.ndjson:6: observation 5 (192.0.2.2 port 22) rejected: seenAt 2026-01-02T00:00:00Z is after scannedAt 2026-01-01T00:00:00Z",
	}
	if len(got) != len(want) {
		t.Fatalf("rejections:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("rejection %d:\n got %s\nwant %s…", i, got[i], want[i])
		}
	}
	if sum.Rejected != 5 || sum.Observations != 3 || sum.Created != 3 {
		t.Errorf("summary %+v: want 3 observations stored (the one with the bad certificate kept), 5 rejected", sum)
	}
}

func TestUnknownFormatIsRefusedWithTheList(t *testing.T) {
	in := &ingest.Ingester{Store: openStore(t)}
	_, err := in.Ingest(context.Background(), "notes.txt", strings.NewReader("hello world\n"), ingest.Options{})
	if portolan.ErrorCode(err) != portolan.EINVALID || !strings.Contains(err.Error(), "known: auto, native, masscan, nmap, zgrab2, shodan, zmap") {
		t.Fatalf("err %v", err)
	}
}

func TestTruncatedInputKeepsWhatCameBefore(t *testing.T) {
	data, err := os.ReadFile("testdata/nmap_sV_scripts_5ports.xml")
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.Index(data, []byte(`portid="18443"`))
	db := openStore(t)
	in := &ingest.Ingester{Store: db}
	sum, err := in.Ingest(context.Background(), "cut.xml", bytes.NewReader(data[:cut]), ingest.Options{})
	if err == nil {
		t.Fatal("a truncated file was read without error")
	}
	// The host element is cut, so its ports cannot be trusted; what matters
	// is that the error says where and nothing is half-written.
	if !strings.Contains(err.Error(), "cut.xml") {
		t.Errorf("error does not name the file: %v", err)
	}
	t.Logf("summary %+v, error %v", sum, err)
}

// failingStore fails every import after the first n, like a process killed
// mid-ingest.
type failingStore struct {
	portolan.Store
	left int
}

func (f *failingStore) ImportObservations(ctx context.Context, b []*portolan.Observation) (portolan.ImportResult, error) {
	if f.left == 0 {
		return portolan.ImportResult{}, errors.New("killed")
	}
	f.left--
	return f.Store.ImportObservations(ctx, b)
}

// TestInterruptedIngestCompletesOnRetry stops an ingestion after two batches
// and ingests the file again: the records equal those of one clean run, and
// nothing is counted twice.
func TestInterruptedIngestCompletesOnRetry(t *testing.T) {
	var lines []string
	for _, o := range storetest.RandomObservations(newRand(), 120) {
		lines = append(lines, nativeLine(t, o))
	}
	input := strings.Join(lines, "\n")
	clean := openStore(t)
	if _, err := (&ingest.Ingester{Store: clean}).Ingest(context.Background(), "f", strings.NewReader(input), ingest.Options{BatchSize: 25}); err != nil {
		t.Fatal(err)
	}
	db := openStore(t)
	_, err := (&ingest.Ingester{Store: &failingStore{Store: db, left: 2}}).Ingest(context.Background(), "f", strings.NewReader(input), ingest.Options{BatchSize: 25})
	var se *ingest.StoreError
	if !errors.As(err, &se) {
		t.Fatalf("want a StoreError, got %v", err)
	}
	sum, err := (&ingest.Ingester{Store: db}).Ingest(context.Background(), "f", strings.NewReader(input), ingest.Options{BatchSize: 25})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Duplicates != 50 {
		t.Errorf("retry skipped %d duplicates, want the 50 of the two committed batches", sum.Duplicates)
	}
	want, _ := storetest.Dump(context.Background(), clean, storetest.AllHosts())
	got, _ := storetest.Dump(context.Background(), db, storetest.AllHosts())
	if !bytes.Equal(want, got) {
		t.Error("records after an interrupted ingest and a retry differ from a clean ingest")
	}
}

// flakyStore is unavailable for its first calls, like a database restarting.
type flakyStore struct {
	portolan.Store
	failures int
}

func (f *flakyStore) ImportObservations(ctx context.Context, b []*portolan.Observation) (portolan.ImportResult, error) {
	if f.failures > 0 {
		f.failures--
		return portolan.ImportResult{}, portolan.Errorf(portolan.EUNAVAILABLE, "The database is unavailable; try again.")
	}
	return f.Store.ImportObservations(ctx, b)
}

func TestUnavailableStoreIsRetried(t *testing.T) {
	db := openStore(t)
	retries := 0
	in := &ingest.Ingester{Store: &flakyStore{Store: db, failures: 2}, OnRetry: func(error, int, time.Duration) { retries++ }}
	sum, err := in.Ingest(context.Background(), "f.xml", mustOpenFile(t, "testdata/nmap_sV_scripts_5ports.xml"), ingest.Options{})
	if err != nil || retries != 2 || sum.Created != 5 {
		t.Fatalf("err %v, %d retries, summary %+v", err, retries, sum)
	}
	in = &ingest.Ingester{Store: &flakyStore{Store: db, failures: 1000}, RetryFor: 600 * time.Millisecond}
	_, err = in.Ingest(context.Background(), "f.xml", mustOpenFile(t, "testdata/nmap_sV_scripts_5ports.xml"), ingest.Options{})
	var se *ingest.StoreError
	if !errors.As(err, &se) || portolan.ErrorCode(err) != portolan.EUNAVAILABLE {
		t.Fatalf("a store that stays down: %v", err)
	}
}

func mustOpenFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// gzipped returns data compressed as gzip writes it.
func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGzipInputIsReadThrough reads gzip-compressed captures (as shodan
// download writes its .json.gz) like the plain files: same format, same
// observations per host and port.
func TestGzipInputIsReadThrough(t *testing.T) {
	for _, name := range []string{"nmap_sV_scripts_5ports.xml", "lab.ndjson"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		plain, plainSum, err := ingest.DryRun(ctx, name, bytes.NewReader(data), ingest.Options{}, nil)
		if err != nil || plainSum.Observations == 0 {
			t.Fatalf("%s: %+v, %v", name, plainSum, err)
		}
		packed, packedSum, err := ingest.DryRun(ctx, name+".gz", bytes.NewReader(gzipped(t, data)), ingest.Options{}, nil)
		if err != nil {
			t.Fatalf("%s.gz: %v", name, err)
		}
		if packedSum.Format != plainSum.Format || packedSum.Observations != plainSum.Observations || packedSum.Rejected != plainSum.Rejected {
			t.Errorf("%s.gz read as %+v, the plain file as %+v", name, packedSum, plainSum)
		}
		if !maps.Equal(plain, packed) {
			t.Errorf("%s.gz: observations %v, plain %v", name, packed, plain)
		}
	}
	// Two members one after the other (cat a.gz b.gz) are one input.
	a, _ := os.ReadFile("testdata/lab.ndjson")
	_, one, _ := ingest.DryRun(context.Background(), "lab.ndjson", bytes.NewReader(a), ingest.Options{}, nil)
	two := append(gzipped(t, a), gzipped(t, a)...)
	_, sum, err := ingest.DryRun(context.Background(), "two.gz", bytes.NewReader(two), ingest.Options{}, nil)
	if err != nil || one.Observations == 0 || sum.Observations != 2*one.Observations {
		t.Errorf("two members: %+v, %v; one: %+v", sum, err, one)
	}
}

// TestTruncatedGzipKeepsWhatCameBefore cuts a compressed file in the
// middle: the error names the file, and the observations decompressed
// before the cut are stored.
func TestTruncatedGzipKeepsWhatCameBefore(t *testing.T) {
	var plain bytes.Buffer
	if _, err := gen.WriteAll(&plain, gen.New(gen.Config{Seed: 3, Hosts: 3000}), "native"); err != nil {
		t.Fatal(err)
	}
	packed := gzipped(t, plain.Bytes())
	db := openStore(t)
	in := &ingest.Ingester{Store: db}
	sum, err := in.Ingest(context.Background(), "cut.ndjson.gz", bytes.NewReader(packed[:len(packed)/2]), ingest.Options{BatchSize: 500})
	if err == nil || !strings.Contains(err.Error(), "cut.ndjson.gz") || !strings.Contains(err.Error(), "gzip: the compressed data ends early") {
		t.Fatalf("a cut gzip file: error %v, want one naming the file and saying it is cut", err)
	}
	total := bytes.Count(plain.Bytes(), []byte("\n"))
	if sum.Observations == 0 || sum.Observations >= total {
		t.Errorf("%d of %d observations read before the cut", sum.Observations, total)
	}
	if sum.Created == 0 {
		t.Errorf("nothing stored before the cut: %+v", sum)
	}
	// Not gzip after its first two bytes: a clear error, nothing read.
	if _, err := in.Ingest(context.Background(), "bad.gz", bytes.NewReader([]byte{0x1f, 0x8b, 0, 0, 0}), ingest.Options{}); err == nil || !strings.Contains(err.Error(), "bad.gz: gzip: ") {
		t.Errorf("a broken gzip header: %v", err)
	}
	if _, err := in.Ingest(context.Background(), "short.gz", bytes.NewReader(packed[:6]), ingest.Options{}); err == nil || !strings.Contains(err.Error(), "short.gz: gzip: the compressed data ends early") {
		t.Errorf("a cut gzip header: %v", err)
	}
}
