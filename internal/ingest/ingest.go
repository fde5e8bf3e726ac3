// SPDX-License-Identifier: Apache-2.0

// Package ingest is the ingestion pipeline: it detects an input's format,
// reads it with that format's streaming reader, normalises and validates each
// observation, reports what it rejects with its position, and hands the rest
// to the store in bounded batches, so memory does not grow with file size.
package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"portolan"
)

// DefaultBatchSize is how many observations go to the store per
// transaction: large enough to amortise a commit (which writes every page
// the batch dirtied), small enough that a crash loses little work and
// memory stays flat (two batches are in memory at most, and in host order
// one more, a run being written while the next is gathered beside the
// batch being stored). 20,000 cost no
// less CPU per observation than 10,000 on the embedded store and twice the
// memory (about 50 MB of live heap against 26 MB).
const DefaultBatchSize = 10000

// sniffBytes is how much of an input detection looks at.
const sniffBytes = 4096

// Options tune one ingestion.
type Options struct {
	// Format is "auto" (or "") to detect, or one of FormatNames.
	Format string
	// Port is the port of inputs that do not carry one (zgrab2 run with -p,
	// ZMap's default output).
	Port int
	// ModulePorts gives the port per zgrab2 module name, for `multiple`
	// runs whose results carry no port.
	ModulePorts map[string]int
	// ModTime is the input file's modification time: the instant of formats
	// without timestamps (ZMap without timestamp fields, masscan -oL lines
	// without a time) when ScannedAt is zero.
	ModTime time.Time
	// ScannedAt, when set, is the instant of records that carry none
	// (--scanned-at): the scan's own time, which the file's modification
	// time only approximates (a copied file has the copy's time).
	ScannedAt time.Time
	// BatchSize is the number of observations per store transaction.
	BatchSize int
	// Sort stores the input in host order (hostorder.go): gathered in
	// sorted runs of BatchSize observations, written to files in SortDir
	// (the system's temporary directory when empty), and merged. A store
	// takes it several times faster; nothing is stored until a window of
	// the input (all of it unless it is large or slow) has been read.
	Sort    bool
	SortDir string
}

// Summary counts what an ingestion did.
type Summary struct {
	Files int
	// Failed counts the files that could not be read to their end.
	Failed int
	// Format is the format one file was read as ("nmap"; "empty" for an
	// empty file), "" when it was not recognised.
	Format string
	portolan.ImportResult
	// Rejected counts rejected records and rejected certificates.
	Rejected int
	// Notes are remarks for the user, such as which instant a file without
	// timestamps was given.
	Notes []string
}

// Add accumulates s2 into s.
func (s *Summary) Add(s2 Summary) {
	s.Files += s2.Files
	s.Failed += s2.Failed
	s.ImportResult.Add(s2.ImportResult)
	s.Rejected += s2.Rejected
	s.Notes = append(s.Notes, s2.Notes...)
}

// String is the one summary line ingest ends with. Scripts read its counts
// by position, so every count keeps its place and what failed comes after
// them, only when something did: "2 files, 5 observations, …, 0 rejected;
// 1 of 2 files read, 1 failed". Each noun agrees with its count ("1 file,
// 1 observation"); a pattern that matched the old "1 files" needs "files?"
// (portolan-bench's does).
func (s Summary) String() string {
	line := fmt.Sprintf("%s, %s, %s created, %d updated, %s skipped, %d rejected",
		Plural(s.Files, "file"), Plural(s.Observations, "observation"), Plural(s.Created, "record"),
		s.Updated, Plural(s.Duplicates, "duplicate"), s.Rejected)
	if s.Failed > 0 {
		line += fmt.Sprintf("; %d of %s read, %d failed", s.Files-s.Failed, Plural(s.Files, "file"), s.Failed)
	}
	return line
}

// Plural is "1 file", "2 files".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Ingester runs ingestions into one store.
type Ingester struct {
	Store portolan.ObservationService
	// OnReject is called for every record, or part of one, that was not
	// ingested, with its File set, so that it reads "file:line: reason"
	// (nil: ignored, still counted). It may keep the error.
	OnReject func(*portolan.InputError)
	// OnRetry is called before a batch is retried because the store was
	// unavailable (nil: retried silently), never twice at once.
	OnRetry func(err error, attempt int, wait time.Duration)
	// RetryFor bounds how long a batch is retried while the store is
	// unavailable (0: DefaultRetryFor).
	RetryFor time.Duration
	// OnProgress is called after every batch with the bytes read and the
	// observations read so far in the current input. The figures never go
	// back, even when batches stored at once finish out of order.
	OnProgress func(bytesRead int64, observations int)
	// Concurrency is how many batches are stored at once (0: one). A store
	// that runs transactions side by side (PostgreSQL, each on a
	// connection of its own) works on one batch while it takes the next;
	// the embedded store has one writer, and gains nothing from more than
	// one. The records are the same whatever the number: the merge does
	// not depend on the order of the observations.
	Concurrency int

	// dryRun is set by DryRun, whose store only counts: a message must not
	// say that anything was stored.
	dryRun bool
	// retrying keeps OnRetry to one call at a time when batches are
	// stored at once (a store down fails them all together).
	retrying sync.Mutex
}

// DefaultRetryFor is how long a batch is retried while the store is
// unavailable (a PostgreSQL restart, a failover) before ingest gives up.
const DefaultRetryFor = 2 * time.Minute

// importWithRetry stores a batch, retrying with backoff while the store says
// it is unavailable. Retrying is safe: a batch that was committed before the
// connection died is all duplicates the second time.
func (in *Ingester) importWithRetry(ctx context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	limit := in.RetryFor
	if limit <= 0 {
		limit = DefaultRetryFor
	}
	deadline := time.Now().Add(limit)
	wait := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		res, err := in.Store.ImportObservations(ctx, batch)
		if err == nil || portolan.ErrorCode(err) != portolan.EUNAVAILABLE || time.Now().Add(wait).After(deadline) {
			return res, err
		}
		if in.OnRetry != nil {
			in.retrying.Lock()
			in.OnRetry(err, attempt, wait)
			in.retrying.Unlock()
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 8*time.Second)
	}
}

// importIsolating stores a batch; when the store refuses a record of it
// (ECONFLICT: a constraint or a value the database will not take), the
// batch is halved until the refused records stand alone, so that one odd
// record costs only itself: each is passed to refuse and the rest is stored,
// each part in its own transaction. Any other error is the store's.
func (in *Ingester) importIsolating(ctx context.Context, batch []*portolan.Observation, at []position, refuse func(o *portolan.Observation, at position, err error)) (portolan.ImportResult, error) {
	res, err := in.importWithRetry(ctx, batch)
	if err == nil || portolan.ErrorCode(err) != portolan.ECONFLICT {
		return res, err
	}
	if len(batch) == 1 {
		refuse(batch[0], at[0], err)
		return portolan.ImportResult{}, nil
	}
	half := len(batch) / 2
	var total portolan.ImportResult
	for _, part := range [2][2]int{{0, half}, {half, len(batch)}} {
		res, err := in.importIsolating(ctx, batch[part[0]:part[1]], at[part[0]:part[1]], refuse)
		if err != nil {
			return total, err
		}
		total.Add(res)
	}
	return total, nil
}

// position is where a record of the input started, for a rejection the
// store makes after reading.
type position struct {
	line   int
	offset int64
}

// StoreError is a failure of the store, as opposed to one of the input: the
// caller should stop rather than go on with other inputs.
type StoreError struct{ Err error }

// Error names the failure as the store's.
func (e *StoreError) Error() string { return "store: " + e.Err.Error() }

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }

// countingReader counts the bytes its reader delivered.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// gzipMagic starts every gzip member (RFC 1952).
var gzipMagic = []byte{0x1f, 0x8b}

// gzipErrors says that an error came from decompressing, and what a cut
// file looks like: gzip's own errors are a bare "unexpected EOF" or
// "flate: corrupt input".
type gzipErrors struct{ r io.Reader }

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	return n, gzipError(err)
}

func gzipError(err error) error {
	switch {
	case err == nil || err == io.EOF:
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("gzip: the compressed data ends early (a cut or unfinished file): %w", err)
	case strings.HasPrefix(err.Error(), "gzip: "):
		return err
	default:
		return fmt.Errorf("gzip: %w", err)
	}
}

// positioner is implemented by readers that can tell where the record they
// returned last started, so that a record rejected after reading (by
// normalisation) is reported with its position.
type positioner interface {
	Position() (line int, offset int64)
}

// Ingest reads one input named name. It returns the summary and, when the
// input could not be read to its end (unknown format, truncated file, I/O
// error), an error; the observations read before that point are stored.
func (in *Ingester) Ingest(ctx context.Context, name string, r io.Reader, opts Options) (Summary, error) {
	sum := Summary{Files: 1}
	counter := &countingReader{r: r}
	br := bufio.NewReaderSize(counter, 256<<10)
	head, err := br.Peek(sniffBytes)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return sum, fmt.Errorf("%s: %w", name, err)
	}
	// A gzip-compressed input (shodan download writes .json.gz, and scans
	// are often kept compressed) is read through gzip, whatever it holds:
	// the format is detected from the decompressed bytes. Progress still
	// counts the bytes of the file.
	if bytes.HasPrefix(head, gzipMagic) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return sum, fmt.Errorf("%s: %w", name, gzipError(err))
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gzipErrors{gz}, 256<<10)
		head, err = br.Peek(sniffBytes)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return sum, fmt.Errorf("%s: %w", name, err)
		}
	}
	if blank(br, head) {
		// Not an unknown format: nothing to read (a scan that found
		// nothing may well write nothing, or only a line break).
		sum.Format = "empty"
		return sum, nil
	}
	format := opts.Format
	forced := format != "" && format != "auto"
	if !forced {
		if format = Detect(head); format == "" {
			if hint := notReadable(head); hint != "" {
				return sum, portolan.Errorf(portolan.EINVALID, "%s: not a known format: %s", name, hint)
			}
			return sum, portolan.Errorf(portolan.EINVALID, "%s: not a known format (known: %s); pass --format to choose one", name, strings.Join(FormatNames(), ", "))
		}
	}
	f, ok := formatByName(format)
	if !ok {
		return sum, portolan.Errorf(portolan.EINVALID, "unknown format %q (known: %s)", format, strings.Join(FormatNames(), ", "))
	}
	sum.Format = format
	// A forced format the file does not look like is on probation: if its
	// first record is rejected before any is read, the file is not in that
	// format, and one message says so instead of a rejection per line.
	probation := forced && !f.sniff(head)
	reader, note, err := f.open(br, opts)
	if err != nil {
		return sum, fmt.Errorf("%s: %w", name, err)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	reject := func(rj *portolan.InputError) {
		rj.File = name
		sum.Rejected++
		if in.OnReject != nil {
			in.OnReject(rj)
		}
	}
	// Reading and normalising run here while the previous batches are
	// being stored by Concurrency other goroutines: the two halves use two
	// cores, and at most Concurrency+1 batches are in memory (the channel
	// is unbuffered: a full batch waits here until a storing goroutine is
	// free).
	type job struct {
		batch []*portolan.Observation
		at    []position
		bytes int64
		read  int
	}
	jobs := make(chan job)
	storeFailed := make(chan error, 1)
	// stored and the progress reported so far are the storing goroutines'
	// shared figures.
	var storedMu sync.Mutex
	var stored portolan.ImportResult
	var reportedBytes int64
	var reportedRead int
	// The records the store refused are reported by this goroutine, at the
	// next flush, so that OnReject is only ever called from one goroutine.
	var refusedMu sync.Mutex
	var refused []*portolan.InputError
	refuse := func(o *portolan.Observation, at position, err error) {
		refusedMu.Lock()
		defer refusedMu.Unlock()
		refused = append(refused, &portolan.InputError{Source: o.Source, Line: at.line, Offset: at.offset,
			Reason: fmt.Sprintf("%s port %d/%s refused by the store, the rest of its batch kept: %s", o.Host, o.Port, o.Protocol, portolan.ErrorMessage(err))})
	}
	reportRefused := func() {
		refusedMu.Lock()
		list := refused
		refused = nil
		refusedMu.Unlock()
		for _, rj := range list {
			reject(rj)
		}
	}
	var storing sync.WaitGroup
	var failed atomic.Bool
	for range max(in.Concurrency, 1) {
		storing.Go(func() {
			for j := range jobs {
				if failed.Load() {
					// Another goroutine's batch failed: store
					// nothing after it.
					continue
				}
				res, err := in.importIsolating(ctx, j.batch, j.at, refuse)
				if err != nil {
					failed.Store(true)
					// The first failure is the one reported; a second
					// goroutine's (the same store down) is not news.
					select {
					case storeFailed <- &StoreError{Err: err}:
					default:
					}
					continue
				}
				storedMu.Lock()
				stored.Add(res)
				if in.OnProgress != nil && (j.bytes > reportedBytes || j.read > reportedRead) {
					reportedBytes, reportedRead = max(reportedBytes, j.bytes), max(reportedRead, j.read)
					in.OnProgress(reportedBytes, reportedRead)
				}
				storedMu.Unlock()
			}
		})
	}
	go func() {
		storing.Wait()
		close(storeFailed)
	}()
	var storeErr error
	batch := make([]*portolan.Observation, 0, opts.BatchSize)
	at := make([]position, 0, opts.BatchSize)
	read := 0
	// progressBytes and progressRead are what a stored batch reports:
	// how far the input was read, or, for a window in host order, as far
	// as the window's share that went to the store.
	progressBytes, progressRead := func() int64 { return counter.n }, func() int { return read }
	flush := func() error {
		reportRefused()
		if len(batch) == 0 || storeErr != nil {
			return storeErr
		}
		select {
		case jobs <- job{batch: batch, at: at, bytes: progressBytes(), read: progressRead()}:
			batch = make([]*portolan.Observation, 0, opts.BatchSize)
			at = make([]position, 0, opts.BatchSize)
		case err := <-storeFailed:
			storeErr = err
		}
		return storeErr
	}
	// finish waits for the stored batches and adds their counts.
	finish := func() error {
		close(jobs)
		if err, ok := <-storeFailed; ok && storeErr == nil {
			storeErr = err
		}
		reportRefused()
		sum.ImportResult.Add(stored)
		return storeErr
	}
	// store adds one observation to the batch, which goes to the store
	// when full.
	store := func(o *portolan.Observation, pos position) error {
		batch = append(batch, o)
		at = append(at, pos)
		if len(batch) >= opts.BatchSize {
			return flush()
		}
		return nil
	}
	// storeGrouped is store for a window in host order: a full batch ends
	// where its last host does, so that the batches stored at once share
	// no host, and none waits on another's rows until it commits. Into
	// PostgreSQL half of the hosts' merges waited so, up to half a second;
	// ingest into a database of 978,590 records went from 11.3, 11.5,
	// 10.8 s to 10.1, 10.2, 10.4 s. A batch stops growing at
	// maxGroupedBatch, which splits only a host of thousands of
	// observations (a full-port scan) and bounds the memory it adds.
	maxGroupedBatch := opts.BatchSize + opts.BatchSize/2
	storeGrouped := func(o *portolan.Observation, pos position) error {
		if len(batch) >= opts.BatchSize && (batch[len(batch)-1].Host != o.Host || len(batch) >= maxGroupedBatch) {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, o)
		at = append(at, pos)
		return nil
	}
	var order *hostOrder
	if opts.Sort {
		order = newHostOrder(opts.SortDir, opts.BatchSize)
		defer order.close()
	}
	// windowBytes and windowRead are where the window in host order began.
	var windowBytes int64
	var windowRead int
	drainWindow := func() error {
		total, emitted := order.count, 0
		endBytes, endRead := counter.n, read
		progressBytes = func() int64 { return windowBytes + (endBytes-windowBytes)*int64(emitted)/int64(total) }
		progressRead = func() int { return windowRead + (endRead-windowRead)*emitted/total }
		err := order.drain(func(e sortedEntry) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			emitted++
			return storeGrouped(e.o, e.at)
		})
		windowBytes, windowRead = endBytes, endRead
		if err == nil && len(batch) >= opts.BatchSize {
			// A full batch does not wait for the next window.
			err = flush()
		}
		return err
	}
	var readErr error
	var checked certificateChecks
	for {
		if err := ctx.Err(); err != nil {
			finish()
			return sum, err
		}
		o, err := reader.Read()
		if err == io.EOF {
			break
		}
		var ie *portolan.InputError
		if probation && read == 0 && errors.As(err, &ie) {
			// Whether the reader rejects its first record or gives up on
			// the input (nmap without <nmaprun>, ZMap without a header),
			// the file is not in the forced format: one message, in one
			// shape for every format.
			finish()
			return sum, formatMismatch(name, format, head, ie)
		}
		if ie := portolan.RecordError(err); ie != nil {
			// A copy: the reader's error is its own.
			rj := *ie
			reject(&rj)
			continue
		}
		if err != nil {
			readErr = err
			break
		}
		read++
		// Normalisation rejects what no reader could: the observation is
		// reported where the reader says it started, if it can tell.
		line, off := 0, int64(-1)
		if p, ok := reader.(positioner); ok {
			line, off = p.Position()
		}
		if err := o.Normalize(); err != nil {
			reject(&portolan.InputError{Line: line, Offset: off,
				Reason: fmt.Sprintf("observation %d (%s port %d) rejected: %s", read, portolan.CleanText(o.Host, 80), o.Port, portolan.ErrorMessage(err))})
			continue
		}
		if len(o.Certificate) > 0 {
			if err := checked.check(o.Certificate); err != nil {
				// The certificate goes; the port's observation stays.
				reject(&portolan.InputError{Line: line, Offset: off,
					Reason: fmt.Sprintf("certificate of %s port %d rejected, observation kept: %s", o.Host, o.Port, portolan.ErrorMessage(err))})
				o.Certificate = nil
			}
		}
		if order == nil {
			if err := store(o, position{line, off}); err != nil {
				finish()
				return sum, err
			}
			continue
		}
		addErr := order.add(o, position{line, off})
		if addErr == nil && !order.full() {
			continue
		}
		if err := drainWindow(); err != nil {
			finish()
			return sum, err
		}
		if addErr != nil {
			// Without room for the runs, the rest goes in input order:
			// slower, nothing lost.
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s: stored in input order from observation %d on, which is slower: %v (--sort-dir chooses another directory)", name, read, addErr))
			order.close()
			order = nil
			progressBytes, progressRead = func() int64 { return counter.n }, func() int { return read }
		}
	}
	if order != nil && order.count > 0 {
		if err := drainWindow(); err != nil {
			finish()
			return sum, err
		}
	}
	flush()
	if err := finish(); err != nil {
		return sum, err
	}
	if n := note(); n != "" {
		sum.Notes = append(sum.Notes, name+": "+n)
	}
	if readErr != nil {
		if in.dryRun {
			return sum, fmt.Errorf("%s: reading stopped, the observations before this point were counted (a dry run stores nothing): %w", name, readErr)
		}
		return sum, fmt.Errorf("%s: reading stopped, the observations before this point were stored: %w", name, readErr)
	}
	return sum, nil
}

// formatMismatch is the one error of a file that is not in the format
// --format forced: what the reader said of its first record, and the format
// detection finds in it, if any: "scan.txt: not nmap as --format says
// (line 3: no <nmaprun> element: …); it looks like zmap".
func formatMismatch(name, format string, head []byte, ie *portolan.InputError) error {
	where := ""
	if ie.Line > 0 {
		where = fmt.Sprintf("line %d: ", ie.Line)
	}
	looks := ""
	if d := Detect(head); d != "" {
		looks = "; it looks like " + d
	}
	return portolan.Errorf(portolan.EINVALID, "%s: not %s as --format says (%s%s)%s", name, format, where, ie.Reason, looks)
}

// blank reports whether the input holds nothing but white space (an empty
// file, or only line breaks), looking past head as far as br buffers: a
// file of blank lines is empty, not of an unknown format.
func blank(br *bufio.Reader, head []byte) bool {
	if len(bytes.TrimSpace(head)) > 0 {
		return false
	}
	if len(head) < sniffBytes {
		return true
	}
	all, err := br.Peek(br.Size())
	return err == io.EOF && len(bytes.TrimSpace(all)) == 0
}

// DryRun reads an input like Ingest but writes nothing: it returns how many
// valid observations it holds per host and port ("host tcp/443"), with the
// summary of what was rejected.
func DryRun(ctx context.Context, name string, r io.Reader, opts Options, onReject func(*portolan.InputError)) (map[string]int, Summary, error) {
	counts := map[string]int{}
	counter := &countingStore{counts: counts}
	in := &Ingester{Store: counter, OnReject: onReject, dryRun: true}
	sum, err := in.Ingest(ctx, name, r, opts)
	return counts, sum, err
}

// countingStore is the ObservationService of a dry run.
type countingStore struct{ counts map[string]int }

func (c *countingStore) ImportObservations(_ context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	for _, o := range batch {
		c.counts[fmt.Sprintf("%s %s/%d %s", o.Host, o.Protocol, o.Port, o.Status)]++
	}
	return portolan.ImportResult{Observations: len(batch)}, nil
}

func (c *countingStore) Rebuild(context.Context, func(int)) error { return nil }

// SortedKeys returns the keys of a dry run's counts in order.
func SortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// certificateChecks remembers which certificates parsed, by SHA-1: services
// present the same certificate scan after scan, and parsing one costs more
// than the rest of an observation.
type certificateChecks map[[sha1.Size]byte]error

func (c *certificateChecks) check(der []byte) error {
	key := sha1.Sum(der)
	if err, ok := (*c)[key]; ok {
		return err
	}
	_, err := portolan.ParseCertificate(der)
	if *c == nil || len(*c) >= 4096 {
		*c = make(certificateChecks)
	}
	(*c)[key] = err
	return err
}
