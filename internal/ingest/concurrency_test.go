// SPDX-License-Identifier: Apache-2.0

package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"portolan"
	"portolan/internal/ingest"
	"portolan/internal/storetest"
)

// overlappingStore counts the imports in progress at once, holding each
// long enough for the next batch to arrive, and fails every import after
// failAfter (0: never).
type overlappingStore struct {
	portolan.Store
	mu        sync.Mutex // the embedded store takes one import at a time anyway
	inFlight  atomic.Int32
	most      atomic.Int32
	imports   atomic.Int32
	failAfter int32
}

func (s *overlappingStore) ImportObservations(ctx context.Context, b []*portolan.Observation) (portolan.ImportResult, error) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		most := s.most.Load()
		if n <= most || s.most.CompareAndSwap(most, n) {
			break
		}
	}
	time.Sleep(5 * time.Millisecond)
	if i := s.imports.Add(1); s.failAfter > 0 && i > s.failAfter {
		return portolan.ImportResult{}, errors.New("the store went away")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Store.ImportObservations(ctx, b)
}

func randomInput(t *testing.T, n int) string {
	t.Helper()
	var lines []string
	for _, o := range storetest.RandomObservations(newRand(), n) {
		lines = append(lines, nativeLine(t, o))
	}
	return strings.Join(lines, "\n")
}

// TestConcurrentStoringKeepsEverything stores batches four at a time: the
// store sees them side by side, the summary counts what a one-at-a-time
// ingest counts (but for updates, which depend on the order of the
// commits), the records are the same, and progress never goes back.
func TestConcurrentStoringKeepsEverything(t *testing.T) {
	input := randomInput(t, 600)
	ctx := context.Background()
	for _, sort := range []bool{false, true} {
		// Host order changes what counts as created or updated (a host's
		// observations come together), not the records.
		one := openStore(t)
		want, err := (&ingest.Ingester{Store: one}).Ingest(ctx, "f", strings.NewReader(input), ingest.Options{BatchSize: 20, Sort: sort})
		if err != nil {
			t.Fatal(err)
		}
		db := openStore(t)
		store := &overlappingStore{Store: db}
		var lastBytes int64
		var lastRead, calls int
		in := &ingest.Ingester{Store: store, Concurrency: 4, OnProgress: func(bytesRead int64, observations int) {
			calls++
			if bytesRead < lastBytes || observations < lastRead {
				t.Errorf("sort %v: progress went back: %d bytes, %d observations after %d, %d", sort, bytesRead, observations, lastBytes, lastRead)
			}
			lastBytes, lastRead = bytesRead, observations
		}}
		got, err := in.Ingest(ctx, "f", strings.NewReader(input), ingest.Options{BatchSize: 20, Sort: sort})
		if err != nil {
			t.Fatal(err)
		}
		// Updated counts the batches that changed a record, which depends
		// on the order in which they commit; the rest must not.
		if got.Observations != want.Observations || got.Created != want.Created || got.Duplicates != want.Duplicates || got.Rejected != 0 {
			t.Errorf("sort %v: summary %+v, want %+v", sort, got, want)
		}
		if most := store.most.Load(); most < 2 || most > 4 {
			t.Errorf("sort %v: %d imports at once at most, want 2 to 4", sort, most)
		}
		if calls == 0 || lastRead != 600 || lastBytes != int64(len(input)) {
			t.Errorf("sort %v: progress ended at %d bytes, %d observations after %d calls; want %d, 600", sort, lastBytes, lastRead, calls, len(input))
		}
		a, err := storetest.Dump(ctx, one, storetest.AllHosts())
		if err != nil {
			t.Fatal(err)
		}
		b, err := storetest.Dump(ctx, db, storetest.AllHosts())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("sort %v: records stored four batches at a time differ from those stored one at a time", sort)
		}
	}
}

// TestConcurrentStoringStopsAtTheFirstFailure: once a batch fails, no batch
// is stored after it, the error is the store's, and the batches committed
// before stay.
func TestConcurrentStoringStopsAtTheFirstFailure(t *testing.T) {
	input := randomInput(t, 600)
	db := openStore(t)
	store := &overlappingStore{Store: db, failAfter: 5}
	_, err := (&ingest.Ingester{Store: store, Concurrency: 3}).Ingest(context.Background(), "f", strings.NewReader(input), ingest.Options{BatchSize: 20})
	var se *ingest.StoreError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "the store went away") {
		t.Fatalf("want the store's error, got %v", err)
	}
	// Three goroutines may each have taken a batch when the sixth failed.
	if n := store.imports.Load(); n < 6 || n > 8 {
		t.Errorf("%d imports tried, want 6 to 8: nothing after the failure", n)
	}
	sum, err := (&ingest.Ingester{Store: db}).Ingest(context.Background(), "f", strings.NewReader(input), ingest.Options{BatchSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Duplicates != 100 {
		t.Errorf("ingesting again skipped %d duplicates, want the 100 of the five committed batches", sum.Duplicates)
	}
}

// unavailableFirst answers its first calls, whichever batches make them,
// as a restarting database answers every transaction in flight.
type unavailableFirst struct {
	portolan.Store
	mu       sync.Mutex
	failures int
}

func (s *unavailableFirst) ImportObservations(ctx context.Context, b []*portolan.Observation) (portolan.ImportResult, error) {
	s.mu.Lock()
	fail := s.failures > 0
	if fail {
		s.failures--
	}
	s.mu.Unlock()
	if fail {
		time.Sleep(time.Millisecond)
		return portolan.ImportResult{}, portolan.Errorf(portolan.EUNAVAILABLE, "The database is unavailable; try again.")
	}
	return s.Store.ImportObservations(ctx, b)
}

// TestConcurrentRetriesAreReportedOneAtATime: batches stored at once that
// meet an unavailable store are all retried, and OnRetry, which callers
// write to a terminal with, is never called twice at once (-race checks
// the unguarded slice).
func TestConcurrentRetriesAreReportedOneAtATime(t *testing.T) {
	input := randomInput(t, 200)
	var waits []time.Duration
	in := &ingest.Ingester{Store: &unavailableFirst{Store: openStore(t), failures: 6}, Concurrency: 3,
		OnRetry: func(_ error, _ int, wait time.Duration) { waits = append(waits, wait) }}
	sum, err := in.Ingest(context.Background(), "f", strings.NewReader(input), ingest.Options{BatchSize: 20})
	if err != nil || sum.Observations != 200 || sum.Duplicates != 0 {
		t.Fatalf("%v: %s", err, sum)
	}
	if len(waits) != 6 {
		t.Errorf("%d retries reported, want the 6 unavailable answers", len(waits))
	}
}

// batchRecorder keeps the hosts of every batch it is given.
type batchRecorder struct {
	portolan.Store
	mu      sync.Mutex
	batches [][]string
}

func (s *batchRecorder) ImportObservations(ctx context.Context, b []*portolan.Observation) (portolan.ImportResult, error) {
	hosts := make([]string, len(b))
	for i, o := range b {
		hosts[i] = o.Host
	}
	s.mu.Lock()
	s.batches = append(s.batches, hosts)
	s.mu.Unlock()
	return portolan.ImportResult{Observations: len(b)}, nil
}

// TestBatchesInHostOrderEndBetweenHosts: in host order, a full batch ends
// where its last host does, so that batches stored side by side share no
// host; a host larger than half a batch more is split at that bound. In
// input order, batches are cut at their size.
func TestBatchesInHostOrderEndBetweenHosts(t *testing.T) {
	var lines []string
	add := func(host string, ports int) {
		for p := range ports {
			lines = append(lines, fmt.Sprintf(`{"host":%q,"port":%d,"protocol":"tcp","status":"open","scannedAt":"2026-12-01T10:00:00Z","source":"masscan"}`, host, p+1))
		}
	}
	for i := range 60 {
		add(fmt.Sprintf("192.0.2.%d", i+1), 7) // small hosts, across every boundary of 20
	}
	add("198.51.100.1", 100) // one host of 100 ports: split at 30
	input := strings.Join(lines, "\n")
	for _, sort := range []bool{true, false} {
		rec := &batchRecorder{}
		// One at a time, so that the store sees the batches in order.
		sum, err := (&ingest.Ingester{Store: rec}).Ingest(context.Background(), "f", strings.NewReader(input), ingest.Options{BatchSize: 20, Sort: sort})
		if err != nil || sum.Observations != 520 {
			t.Fatalf("sort %v: %v, %s", sort, err, sum)
		}
		total, shared := 0, 0
		for i, b := range rec.batches {
			total += len(b)
			if sort && (len(b) > 30 || len(b) < 20 && i < len(rec.batches)-1) {
				t.Errorf("host order: batch %d holds %d observations, want 20 to 30", i, len(b))
			}
			if !sort && len(b) != 20 {
				t.Errorf("input order: batch %d holds %d observations, want 20", i, len(b))
			}
			if i > 0 && b[0] == rec.batches[i-1][len(rec.batches[i-1])-1] && b[0] != "198.51.100.1" {
				shared++
			}
		}
		if total != 520 {
			t.Errorf("sort %v: %d observations in the batches, want 520", sort, total)
		}
		if sort && shared > 0 {
			t.Errorf("host order: %d small hosts span two batches", shared)
		}
		if !sort && shared == 0 {
			t.Errorf("input order: no host spans two batches; the test cannot tell the two apart")
		}
	}
}
