// SPDX-License-Identifier: Apache-2.0

package ingest

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"portolan"
	"portolan/internal/obslog"
)

// Scanners write a host's ports wherever their probes happened to answer:
// ZMap and masscan in a random order of addresses, and a file of daily
// scans holds each host once a day, a day's scan apart. Stored in that
// order, every batch touches hosts all over the store's keys, so each
// commit rewrites pages all over the file, and a host scanned five times is
// merged five times in five transactions. Stored in host order, a batch
// holds a run of neighbouring keys and all of a host's observations at
// once: the harness's file of 287,415 observations over five scans went in
// three times faster, and left a store a quarter smaller.
//
// hostOrder puts an input in that order within a window of at most
// maxRuns × runSize observations (the whole input, unless it is large):
// observations are gathered runSize at a time, each run sorted and written
// to a file, and at the window's end the runs are merged, key by key, into
// the batches the store receives. A full run is sorted and written on
// another core while the next is gathered, so memory is two runs, where it
// was one batch; the disk holds one window, in the compact encoding of the
// observation log. A window also ends maxWindowAge after it began, so that
// a slow stream (a scanner piped into ingest) reaches the store as it goes.

// maxRuns bounds the runs of a window: each is an open file and a read
// buffer while they are merged. A variable for the tests.
var maxRuns = 256

// maxWindowAge is the longest a window gathers before its observations go
// to the store. A variable for the tests.
var maxWindowAge = time.Minute

// runReadBuffer is the read buffer of each run while a window is merged.
const runReadBuffer = 32 << 10

// sortedEntry is an observation and where the input held it.
type sortedEntry struct {
	o  *portolan.Observation
	at position
}

// compareHostOrder orders observations by the store's key: host, port,
// protocol. Go compares strings by their bytes, as SQLite's BINARY
// collation and PostgreSQL's "C" do.
func compareHostOrder(a, b *portolan.Observation) int {
	if c := cmp.Compare(a.Host, b.Host); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Port, b.Port); c != 0 {
		return c
	}
	return cmp.Compare(a.Protocol, b.Protocol)
}

// hostOrder is one input's window; see above.
type hostOrder struct {
	dir     string
	runSize int

	buf   []sortedEntry
	spare []sortedEntry // the other run's buffer, when it is not being written
	runs  []*runFile
	// writing is the run being sorted and written, nil when none. Only
	// one is, so that it alone uses w and enc.
	writing chan writtenRun
	began   time.Time // when the window's first observation came
	count   int       // observations in the window
	w       *bufio.Writer
	enc     []byte
}

func newHostOrder(dir string, runSize int) *hostOrder {
	if dir == "" {
		dir = os.TempDir()
	}
	return &hostOrder{dir: dir, runSize: runSize, buf: make([]sortedEntry, 0, runSize)}
}

// add gathers one observation. An error means a run could not be written
// (the disk is full, the directory is not writable): the window's
// observations are all still there, for drain.
func (h *hostOrder) add(o *portolan.Observation, at position) error {
	if h.count == 0 {
		h.began = time.Now()
	}
	h.buf = append(h.buf, sortedEntry{o, at})
	h.count++
	if len(h.buf) < h.runSize {
		return nil
	}
	return h.spill()
}

// full reports whether the window should go to the store now.
func (h *hostOrder) full() bool {
	runs := len(h.runs)
	if h.writing != nil {
		runs++
	}
	return h.count > 0 && (runs >= maxRuns || time.Since(h.began) >= maxWindowAge)
}

func sortEntries(entries []sortedEntry) {
	slices.SortStableFunc(entries, func(a, b sortedEntry) int { return compareHostOrder(a.o, b.o) })
}

// writtenRun is the outcome of writing a run: its file, or the error and
// the entries that could not be written.
type writtenRun struct {
	run     *runFile
	entries []sortedEntry
	err     error
}

// spill starts writing the gathered run to a file of its own, on another
// goroutine, and gathers the next in the other buffer. The file is created
// here, so that a directory that cannot hold one fails at once; a write
// that fails (a full disk) is returned by a later spill, wait or drain,
// with the run gathered again.
func (h *hostOrder) spill() error {
	if err := h.wait(); err != nil {
		return err
	}
	r, err := newRunFile(h.dir)
	if err != nil {
		return err
	}
	entries := h.buf
	if h.spare == nil {
		h.spare = make([]sortedEntry, 0, h.runSize)
	}
	h.buf, h.spare = h.spare, nil
	writing := make(chan writtenRun, 1)
	h.writing = writing
	go func() {
		err := h.writeRun(r, entries)
		if err != nil {
			r.close()
			r = nil
		}
		writing <- writtenRun{r, entries, err}
	}()
	return nil
}

// wait waits for the run being written, and keeps it among the window's
// runs; if it could not be written, its entries are gathered again,
// before those gathered since (they came first).
func (h *hostOrder) wait() error {
	if h.writing == nil {
		return nil
	}
	done := <-h.writing
	h.writing = nil
	if done.err != nil {
		h.buf = append(done.entries, h.buf...)
		return done.err
	}
	h.runs = append(h.runs, done.run)
	clear(done.entries)
	h.spare = done.entries[:0]
	return nil
}

// writeRun sorts entries and writes them to r, rewound to be read back.
func (h *hostOrder) writeRun(r *runFile, entries []sortedEntry) error {
	sortEntries(entries)
	if h.w == nil {
		h.w = bufio.NewWriterSize(r.f, 256<<10)
	}
	w := h.w
	w.Reset(r.f)
	var head [binary.MaxVarintLen64]byte
	for _, e := range entries {
		h.enc = appendRunEntry(h.enc[:0], e)
		n := binary.PutUvarint(head[:], uint64(len(h.enc)))
		w.Write(head[:n]) // an error sticks: the next Write returns it
		if _, err := w.Write(h.enc); err != nil {
			return fmt.Errorf("writing a sorted run to %s: %w", h.dir, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing a sorted run to %s: %w", h.dir, err)
	}
	if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("reading a sorted run back from %s: %w", h.dir, err)
	}
	r.r = bufio.NewReaderSize(r.f, runReadBuffer)
	return nil
}

// appendRunEntry encodes one entry of a run, which the file holds after
// its length: the position, then the observation as the log encodes it.
func appendRunEntry(b []byte, e sortedEntry) []byte {
	b = binary.AppendUvarint(b, uint64(max(e.at.line, 0)))
	b = binary.AppendVarint(b, e.at.offset)
	return obslog.AppendObservation(b, e.o)
}

// drain hands the window's observations to emit in host order and starts a
// new window. Runs that cannot be read back are an error: their
// observations cannot be stored.
func (h *hostOrder) drain(emit func(sortedEntry) error) error {
	defer func() { h.count = 0 }()
	// A run that could not be written is gathered again, and emitted with
	// what could not be written below.
	waitErr := h.wait()
	if len(h.runs) == 0 {
		// The window fits in memory: no file.
		sortEntries(h.buf)
		for i, e := range h.buf {
			h.buf[i] = sortedEntry{}
			if err := emit(e); err != nil {
				h.buf = h.buf[:0]
				return err
			}
		}
		h.buf = h.buf[:0]
		return nil
	}
	if len(h.buf) > 0 && waitErr == nil && h.spill() == nil {
		h.wait() // on failure the run is gathered again
	}
	// What could not be written is emitted on its own, after the runs:
	// nothing gathered is lost.
	return h.mergeRuns(emit, len(h.buf) > 0)
}

// mergeRuns emits the runs' entries in host order, then (withBuf) the
// gathered ones, and closes the runs.
func (h *hostOrder) mergeRuns(emit func(sortedEntry) error, withBuf bool) error {
	defer h.closeRuns()
	m := make(runHeap, 0, len(h.runs))
	for i, r := range h.runs {
		r.index = i
		ok, err := r.next()
		if err != nil {
			return err
		}
		if ok {
			m = append(m, r)
		}
	}
	heap.Init(&m)
	for len(m) > 0 {
		r := m[0]
		if err := emit(r.cur); err != nil {
			return err
		}
		ok, err := r.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&m, 0)
		} else {
			heap.Pop(&m)
		}
	}
	if withBuf {
		sortEntries(h.buf)
		for _, e := range h.buf {
			if err := emit(e); err != nil {
				return err
			}
		}
		clear(h.buf)
		h.buf = h.buf[:0]
	}
	return nil
}

// close removes what the window still holds on disk.
func (h *hostOrder) close() {
	h.wait()
	h.closeRuns()
}

func (h *hostOrder) closeRuns() {
	for _, r := range h.runs {
		r.close()
	}
	h.runs = h.runs[:0]
}

// runFile is one sorted run on disk, read back entry by entry.
type runFile struct {
	f       *os.File
	removed bool
	r       *bufio.Reader
	cur     sortedEntry
	index   int // the run's place in the input, which orders equal keys
	body    []byte
}

// newRunFile creates a run's file and removes its name at once where the
// system allows it (the open file lives on), so that a process killed
// mid-ingest leaves nothing behind. A variable for the tests, which give
// runs a file whose writes fail.
var newRunFile = func(dir string) (*runFile, error) {
	f, err := os.CreateTemp(dir, "portolan-ingest-*.run")
	if err != nil {
		return nil, fmt.Errorf("creating a sorted run in %s: %w", dir, err)
	}
	return &runFile{f: f, removed: os.Remove(f.Name()) == nil}, nil
}

// next reads the run's next entry into cur; false at its end.
func (r *runFile) next() (bool, error) {
	size, err := binary.ReadUvarint(r.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, r.corrupt(err)
	}
	if size > 1<<30 {
		return false, r.corrupt(errors.New("entry too large"))
	}
	r.body = slices.Grow(r.body[:0], int(size))[:size]
	if _, err := io.ReadFull(r.r, r.body); err != nil {
		return false, r.corrupt(err)
	}
	line, n := binary.Uvarint(r.body)
	if n <= 0 {
		return false, r.corrupt(errors.New("bad position"))
	}
	offset, m := binary.Varint(r.body[n:])
	if m <= 0 {
		return false, r.corrupt(errors.New("bad position"))
	}
	o, err := obslog.DecodeObservation(r.body[n+m:])
	if err != nil {
		return false, r.corrupt(err)
	}
	r.cur = sortedEntry{o: o, at: position{line: int(line), offset: offset}}
	return true, nil
}

func (r *runFile) corrupt(err error) error {
	return fmt.Errorf("reading a sorted run back from %s: %w", r.f.Name(), err)
}

func (r *runFile) close() {
	r.f.Close()
	if !r.removed {
		os.Remove(r.f.Name())
	}
}

// runHeap orders runs by their current entry, equal keys by run.
type runHeap []*runFile

func (m runHeap) Len() int { return len(m) }
func (m runHeap) Less(i, j int) bool {
	if c := compareHostOrder(m[i].cur.o, m[j].cur.o); c != 0 {
		return c < 0
	}
	return m[i].index < m[j].index
}
func (m runHeap) Swap(i, j int) { m[i], m[j] = m[j], m[i] }
func (m *runHeap) Push(x any)   { *m = append(*m, x.(*runFile)) }
func (m *runHeap) Pop() any {
	old := *m
	r := old[len(old)-1]
	*m = old[:len(old)-1]
	return r
}
