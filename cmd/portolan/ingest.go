// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"portolan"
	"portolan/internal/cli"
	"portolan/internal/ingest"
	"portolan/internal/metrics"
	"portolan/internal/mmdb"
	"portolan/internal/sqlite"
)

// ingestMemoryLimit is the Go heap's soft limit in ingest and worker
// (GOMEMLIMIT overrides it): their live heap is two batches and a store
// transaction, about 26 MB at the default batch size, so 64 MiB lets the
// collector keep up without running often, and keeps the peak RSS, with
// SQLite's page cache, near 130 MB whatever the input's size.
const ingestMemoryLimit = 64 << 20

// ingestMemoryPerBatch is what each batch stored at once beyond the first
// adds to the limit. Without it, two batches into PostgreSQL made the
// collector run often enough to cost 10-20% more CPU (3.1 -> 3.5 s of the
// harness's file); four, three times as much.
const ingestMemoryPerBatch = 16 << 20

// defaultPostgresIngestConcurrency is how many batches ingest stores at
// once into PostgreSQL: the server merges one while the client reads,
// sorts and folds the next, and two transactions use two of the server's
// cores. On the 2-core machine of the README's figures, where client and
// server share the cores, the harness's file went in about 25% faster
// (alternating runs: 9.3, 10.5, 9.8 s -> 6.9, 7.3, 8.8 s; 7.0 s twice once
// the heap limit grew with the batches); three at once were no faster
// there. The worker's default is the same.
const defaultPostgresIngestConcurrency = 2

// maxIngestConcurrency bounds --concurrency: each batch stored at once is a
// connection of the pool (pool_max_conns in the URL) and a batch in memory.
const maxIngestConcurrency = 16

// maxPrintedRejections bounds what a badly broken file prints; the summary
// still counts every rejection.
const maxPrintedRejections = 1000

// runIngest is `portolan ingest`: it reads each input into the store and
// prints one summary line; rejected records make the exit status 1.
func runIngest(ctx context.Context, env *cli.Env, args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	stores := addStoreFlags(fs, env)
	format := fs.String("format", "auto", "input format: "+strings.Join(ingest.FormatNames(), ", "))
	port := fs.Int("port", 0, "port of inputs that carry none (zgrab2 run with -p, ZMap's default output)")
	metricsFile := fs.String("metrics-file", "", "write the run's counts and duration to this `file` in the Prometheus text format, for\n"+
		"node_exporter's textfile collector (replaced atomically at the end of the run)")
	modulePorts := map[string]int{}
	fs.Func("module-port", "`name=port` of a zgrab2 `multiple` module whose results carry no port (repeatable)", func(v string) error {
		name, port, ok := strings.Cut(v, "=")
		n, err := strconv.Atoi(port)
		if !ok || name == "" || err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("want name=port, got %q", v)
		}
		modulePorts[name] = n
		return nil
	})
	var scannedAt time.Time
	fs.Func("scanned-at", "`time` of the scan (RFC 3339, or a date in UTC) for files without timestamps (ZMap's default output, masscan -oL without times); default: the file's modification time", func(v string) error {
		t, err := parseScanTime(v)
		scannedAt = t
		return err
	})
	// Address facts are added when serve reads hosts, not stored
	// (internal/mmdb explains why); ingest checks the files, so a cron job
	// learns of a bad path before serve is restarted, and --dry-run shows
	// what serve will say of each address.
	geoipDB := fs.String("geoip-db", env.Getenv("PORTOLAN_GEOIP_DB"), "a MaxMind-format country `file`, checked and shown by --dry-run; serve adds its facts to hosts as it\n"+
		"reads them, so give serve the same flag (env PORTOLAN_GEOIP_DB)")
	asnDB := fs.String("asn-db", env.Getenv("PORTOLAN_ASN_DB"), "a MaxMind-format autonomous-system `file`, as --geoip-db (env PORTOLAN_ASN_DB)")
	fs.IntVar(&stores.writerCacheMB, "cache-mb", sqlite.DefaultWriterCacheMB, "page cache of the embedded store's writer, in MB: more ingests faster into a store much\n"+
		"larger than the cache, at twice its size in memory (64 made a 700 MB store take a file 1.4x faster)")
	sortDir := fs.String("sort-dir", "", "`directory` of the sorted runs that put an input in host order before it is stored (or\n"+
		"published with --bus), which stores it several times faster; they take up to about half the\n"+
		"input's size, and are removed as they go (default: the embedded store's --data, else $TMPDIR or /tmp)")
	concurrency := fs.Int("concurrency", 0, "batches stored at once, each in a transaction of its own: PostgreSQL only, whose server\n"+
		"then works on one while the next is read (default 2 with --store postgres://…; the embedded store has one writer)")
	noSort := fs.Bool("no-sort", false, "store (or publish) each input in its own order, as it is read, without sorted runs (slower)")
	dryRun := fs.Bool("dry-run", false, "print what the files would add (observations per host and port) without writing")
	noProgress := fs.Bool("no-progress", false, "do not draw a progress bar, even on a terminal")
	remote := addRemoteIngestFlags(fs, env)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: portolan ingest [flags] FILE|- ...\n\nIngests scanner output into the store. The format of each file is detected\n(or set with --format); '-' reads standard input. Malformed records are\nreported with their position and skipped; everything valid is kept, and the\nexit status is 1 when anything was rejected. Ingesting a file again is a\nno-op: observations already stored are counted as duplicates.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if stores.writerCacheMB < 1 || stores.writerCacheMB > 1<<16 {
		return fmt.Errorf("ingest: --cache-mb %d: want 1 to 65536: %w", stores.writerCacheMB, cli.ErrUsage)
	}
	if !slices.Contains(ingest.FormatNames(), *format) {
		return fmt.Errorf("ingest: --format %q: not a format%s (known: %s): %w", *format, cli.DidYouMean(*format, ingest.FormatNames()), strings.Join(ingest.FormatNames(), ", "), cli.ErrUsage)
	}
	if *concurrency < 0 || *concurrency > maxIngestConcurrency {
		return fmt.Errorf("ingest: --concurrency %d: want 1 to %d: %w", *concurrency, maxIngestConcurrency, cli.ErrUsage)
	}
	if *concurrency > 1 && (remote.bus.url != "" || remote.server != "" || stores.embedded()) {
		return fmt.Errorf("ingest: --concurrency %d stores batches side by side in PostgreSQL: it needs --store postgres://… (the embedded store has one writer; --bus and --server send batches in order): %w", *concurrency, cli.ErrUsage)
	}
	files := fs.Args()
	if len(files) == 0 {
		return fmt.Errorf("ingest: no input: name files, or - for standard input: %w", cli.ErrUsage)
	}
	opts := ingest.Options{Format: *format, Port: *port, ModulePorts: modulePorts, ScannedAt: scannedAt}
	printed := 0
	onReject := func(r *portolan.InputError) {
		printed++
		if printed <= maxPrintedRejections {
			fmt.Fprintf(env.Stderr, "rejected: %s\n", r)
		} else if printed == maxPrintedRejections+1 {
			fmt.Fprintf(env.Stderr, "rejected: more rejections follow; only the first %d are printed\n", maxPrintedRejections)
		}
	}
	opener := func(name string) (io.ReadCloser, error) {
		if name == "-" {
			return io.NopCloser(env.Stdin), nil
		}
		return os.Open(name)
	}
	addresses, err := mmdb.Open(*geoipDB, *asnDB)
	if err != nil {
		return err
	}
	defer addresses.Close()
	if *dryRun {
		return dryRunFiles(ctx, env, files, opener, opts, onReject, addresses)
	}
	if err := remote.check(); err != nil {
		return err
	}
	if remote.bus.url != "" {
		// In host order, each message holds whole hosts (every scan of
		// them in the file), and a worker's transaction, a message of
		// each partition, writes each of their records once rather than
		// once per scan: one worker merged the harness's 171,942
		// observations in 10.2 s rather than 14.3. The runs go to
		// --sort-dir or the system's temporary directory: a publisher
		// needs no data directory.
		opts.Sort, opts.SortDir = !*noSort, *sortDir
		sum, err := publishFiles(ctx, env, &remote.bus, files, opener, opts, env.Interactive && !*noProgress, onReject)
		return finishIngest(env, sum, err)
	}
	if remote.server != "" {
		token, err := remote.bearer(env)
		if err != nil {
			return err
		}
		sum, err := remoteImport(ctx, env, remote.server, token, files, opener, opts, env.Interactive && !*noProgress, onReject)
		return finishIngest(env, sum, err)
	}
	if *concurrency == 0 && !stores.embedded() {
		*concurrency = defaultPostgresIngestConcurrency
	}
	env.LimitMemory(ingestMemoryLimit + int64(max(*concurrency-1, 0))*ingestMemoryPerBatch)
	logger := slog.New(slog.NewTextHandler(env.Stderr, nil))
	store, err := stores.Open(ctx, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	// Host order pays where this process makes the batches: into its
	// store, and onto the bus (above); the import endpoint reads what
	// --server sends. The runs go beside the embedded store, on the
	// disk sized for it, rather than to a /tmp that may be memory (tmpfs,
	// Debian's default since 13).
	opts.Sort, opts.SortDir = !*noSort, *sortDir
	if opts.SortDir == "" && stores.embedded() {
		opts.SortDir = stores.DataDir()
	}
	in := &ingest.Ingester{Store: store, OnReject: onReject, OnRetry: func(err error, attempt int, wait time.Duration) {
		fmt.Fprintf(env.Stderr, "portolan: %s; retrying the batch in %s (attempt %d)\n", userMessage(err), wait, attempt)
	}, Concurrency: *concurrency}
	started := time.Now()
	sum, err := ingestFiles(ctx, env, in, files, opener, opts, env.Interactive && !*noProgress)
	fmt.Fprintf(env.Stdout, "ingested: %s\n", sum)
	for _, n := range sum.Notes {
		fmt.Fprintf(env.Stdout, "note: %s\n", n)
	}
	if *metricsFile != "" {
		run := metrics.Ingest{Files: sum.Files, Failed: sum.Failed, Observations: sum.Observations, Rejected: sum.Rejected,
			Duplicates: sum.Duplicates, Created: sum.Created, Updated: sum.Updated, Duration: time.Since(started),
			Finished: time.Now(), OK: err == nil && sum.Rejected == 0}
		if werr := metrics.WriteIngest(*metricsFile, run); werr != nil {
			fmt.Fprintf(env.Stderr, "portolan: cannot write --metrics-file: %v\n", werr)
			if err == nil {
				err = cli.ErrSilentExit
			}
		}
	}
	if err != nil {
		return err
	}
	if sum.Rejected > 0 {
		return cli.ErrSilentExit
	}
	return nil
}

// ingestFiles ingests each named input in turn. An input that cannot be
// read to its end is reported and the others are still ingested; the error
// returned then says how many failed.
func ingestFiles(ctx context.Context, env *cli.Env, in *ingest.Ingester, names []string, open func(string) (io.ReadCloser, error), opts ingest.Options, progress bool) (ingest.Summary, error) {
	var total ingest.Summary
	for _, name := range names {
		sum, err := ingestOne(ctx, env, in, name, open, opts, progress)
		var storeErr *ingest.StoreError
		if err != nil && (errors.Is(err, context.Canceled) || errors.As(err, &storeErr)) {
			// Not the input's fault: stop rather than fail every file.
			total.Add(sum)
			return total, err
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "portolan: %s\n", userMessage(err))
			sum.Failed = 1
		}
		total.Add(sum)
		fmt.Fprintln(env.Stdout, fileLine(name, sum))
	}
	if total.Failed > 0 {
		return total, fmt.Errorf("%d of %d inputs could not be read to their end: %w", total.Failed, len(names), cli.ErrSilentExit)
	}
	return total, nil
}

// fileLine says what became of one input: which format it was read as and
// how much it held, or that it failed.
func fileLine(name string, sum ingest.Summary) string {
	switch {
	case sum.Format == "":
		return name + ": failed, not read"
	case sum.Format == "empty":
		return name + ": empty, nothing to read"
	case sum.Failed > 0:
		return fmt.Sprintf("%s: read as %s, failed after %s", name, sum.Format, ingest.Plural(sum.Observations, "observation"))
	}
	return fmt.Sprintf("%s: read as %s, %s", name, sum.Format, ingest.Plural(sum.Observations, "observation"))
}

// parseScanTime reads --scanned-at: RFC 3339, or a date (midnight UTC).
func parseScanTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("want RFC 3339 such as 2026-12-01T14:00:00Z, or a date such as 2026-12-01")
}

func ingestOne(ctx context.Context, env *cli.Env, in *ingest.Ingester, name string, open func(string) (io.ReadCloser, error), opts ingest.Options, progress bool) (ingest.Summary, error) {
	f, err := open(name)
	if err != nil {
		return ingest.Summary{Files: 1}, err
	}
	defer f.Close()
	opts, size := withFileInfo(f, opts)
	if progress {
		bar := progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(env.Stderr),
			progressbar.OptionSetDescription(name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		start := time.Now()
		in.OnProgress = func(read int64, observations int) {
			rate := float64(observations) / max(time.Since(start).Seconds(), 1e-3)
			bar.Describe(fmt.Sprintf("%s: %d observations (%.0f/s)", name, observations, rate))
			bar.Set64(read)
		}
		defer func() { bar.Finish(); in.OnProgress = nil }()
	}
	return in.Ingest(ctx, name, f, opts)
}

// withFileInfo adds the file's modification time to opts (the time of
// files without timestamps) and returns its size, -1 when unknown.
func withFileInfo(f io.Reader, opts ingest.Options) (ingest.Options, int64) {
	size := int64(-1)
	if st, ok := f.(interface{ Stat() (os.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil {
			opts.ModTime = fi.ModTime()
			if fi.Mode().IsRegular() {
				size = fi.Size()
			}
		}
	}
	return opts, size
}

func dryRunFiles(ctx context.Context, env *cli.Env, names []string, open func(string) (io.ReadCloser, error), opts ingest.Options, onReject func(*portolan.InputError), addresses *mmdb.DB) error {
	var total ingest.Summary
	for _, name := range names {
		f, err := open(name)
		if err != nil {
			fmt.Fprintf(env.Stderr, "portolan: %v\n", err)
			total.Add(ingest.Summary{Files: 1, Failed: 1})
			fmt.Fprintln(env.Stdout, fileLine(name, ingest.Summary{}))
			continue
		}
		fileOpts, _ := withFileInfo(f, opts)
		counts, sum, err := ingest.DryRun(ctx, name, f, fileOpts, onReject)
		f.Close()
		if err != nil {
			fmt.Fprintf(env.Stderr, "portolan: %s\n", userMessage(err))
			sum.Failed = 1
		}
		total.Add(sum)
		// The colon introduces the observations per host and port; a file
		// with none (failed, empty) ends its line without one.
		if len(counts) == 0 {
			fmt.Fprintln(env.Stdout, fileLine(name, sum))
			continue
		}
		fmt.Fprintf(env.Stdout, "%s:\n", fileLine(name, sum))
		for _, k := range ingest.SortedKeys(counts) {
			fmt.Fprintf(env.Stdout, "  %-48s %s\n", k, ingest.Plural(counts[k], "observation"))
		}
		printAddressFacts(env, addresses, counts)
	}
	line := fmt.Sprintf("dry run, nothing written: %s, %d valid %s, %d rejected", ingest.Plural(total.Files, "file"), total.Observations, plural(total.Observations, "observation", "observations"), total.Rejected)
	if total.Failed > 0 {
		line += fmt.Sprintf("; %d of %s read, %d failed", total.Files-total.Failed, ingest.Plural(total.Files, "file"), total.Failed)
	}
	fmt.Fprintln(env.Stdout, line)
	for _, n := range total.Notes {
		fmt.Fprintf(env.Stdout, "note: %s\n", n)
	}
	if total.Failed > 0 || total.Rejected > 0 {
		return cli.ErrSilentExit
	}
	return nil
}

// userMessage is what a person at the terminal should read: the client-safe
// message of a domain error (with its cause, which is not secret on the
// command line), else the error text.
func userMessage(err error) string {
	var pe *portolan.Error
	if errors.As(err, &pe) && pe.Err != nil {
		return pe.Message + " (" + pe.Err.Error() + ")"
	} else if errors.As(err, &pe) {
		return pe.Message
	}
	return err.Error()
}

// ingestPaths ingests named inputs opened by open into store, printing
// rejections and the summary line like the ingest command; serve --demo
// loads its bundled captures with it.
func ingestPaths(ctx context.Context, env *cli.Env, store portolan.Store, names []string, open func(name string) (io.ReadCloser, error)) error {
	in := &ingest.Ingester{Store: store, OnReject: func(r *portolan.InputError) {
		fmt.Fprintf(env.Stderr, "rejected: %s\n", r)
	}}
	sum, err := ingestFiles(ctx, env, in, names, open, ingest.Options{}, false)
	fmt.Fprintf(env.Stdout, "ingested: %s\n", sum)
	return err
}

// printAddressFacts prints, for each address among the hosts of counts
// (keyed "host proto/port status"), what the address databases say of it,
// as serve will serve it.
func printAddressFacts(env *cli.Env, addresses *mmdb.DB, counts map[string]int) {
	if addresses == nil {
		return
	}
	seen := map[string]bool{}
	for _, k := range ingest.SortedKeys(counts) {
		id, _, _ := strings.Cut(k, " ")
		if seen[id] || portolan.HostKindOf(id) != portolan.KindIPAddress {
			continue
		}
		seen[id] = true
		h := addresses.Enrich(&portolan.Host{ID: id, Kind: portolan.KindIPAddress})
		var facts []string
		if h.CountryOrRegion != "" {
			facts = append(facts, "countryOrRegion "+h.CountryOrRegion)
		}
		if as := h.AutonomousSystem; as != nil {
			facts = append(facts, "autonomousSystem "+as.Value+" "+as.Organization)
		}
		if h.Netblock != "" {
			facts = append(facts, "netblock "+h.Netblock)
		}
		if h.HostingProvider != "" {
			facts = append(facts, "hostingProvider "+h.HostingProvider)
		}
		if len(facts) == 0 {
			facts = append(facts, "not in the address databases")
		}
		fmt.Fprintf(env.Stdout, "  %s: %s\n", id, strings.Join(facts, ", "))
	}
}
