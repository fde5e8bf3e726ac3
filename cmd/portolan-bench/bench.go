// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"portolan"
	"portolan/internal/cli"
	"portolan/internal/gen"
	"portolan/internal/ingest"
)

// The harness is a Go command rather than a set of scripts: the data comes
// from internal/gen in-process, the portolan binary under test runs as child
// processes (so that peak RSS comes from the kernel's rusage and the server
// runs as it does in production), and the only outside tools are the load
// generator and the baseline server.

// benchProbe is the address of the generated host with 20 open ports that
// the serve benchmark requests.
const benchProbe = "198.51.100.20"

// benchPortsPath is the request of issue 3: the ports of one host.
const benchPortsPath = "/beta/security/threatIntelligence/hosts/" + benchProbe + "/ports"

// benchOptions are the flags of `portolan-bench [all|ingest|serve]`.
type benchOptions struct {
	portolan  string // the binary under test
	seed      uint64
	dir       string
	keep      bool
	noInstall bool
	// ingest
	ingestHosts, ingestRescans int
	bigFactor                  int
	fixtureCacheMB             int
	bigFile                    string
	format                     string
	store                      string
	nmapHosts, nmapPorts       int
	filledHostPorts            int
	// serve
	serveHosts, serveRescans int
	duration                 time.Duration
	conns                    []int
	scale                    []int
	randomHostPorts          int
	randomSample             int
	// search
	searchScale []int
	searchRuns  int
	searchTime  time.Duration
}

// benchSection is the command that measures section: ingest, serve,
// search, or all (ingest and serve). They share their flags, so that a run
// of one section reproduces that part of a full run.
func benchSection(section string) func(context.Context, *cli.Env, []string) error {
	return func(ctx context.Context, env *cli.Env, args []string) error {
		return runBench(ctx, env, section, args)
	}
}

// runBench parses the flags of a benchmark run, checks them before any
// data is generated, and runs the sections asked for. all leaves search
// out: it builds a store of a million hostPorts, which takes minutes.
func runBench(ctx context.Context, env *cli.Env, section string, args []string) error {
	sections := map[string]bool{"ingest": true, "serve": true}
	if section != "all" {
		sections = map[string]bool{section: true}
	}
	o := benchOptions{}
	fs := flag.NewFlagSet(section, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.StringVar(&o.portolan, "portolan", "", "the portolan binary to measure (default: portolan next to portolan-bench, else on PATH)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated data")
	fs.StringVar(&o.dir, "dir", "", "work directory for data, stores and configuration (default: a temporary directory, removed)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory")
	fs.BoolVar(&o.noInstall, "no-install", false, "do not apt-get install wrk or nginx when they are missing")
	fs.IntVar(&o.ingestHosts, "ingest-hosts", 20000, "ingest: hosts of the generated file (about 2.9 ports each)")
	fs.IntVar(&o.ingestRescans, "ingest-rescans", 5, "ingest: scans of every host")
	fs.IntVar(&o.fixtureCacheMB, "fixture-cache-mb", 256, "serve, search, ingest's filled store: the writer page cache (MiB) of the untimed ingests that build the stores a measurement reads; a 10m scale check builds faster with a few GiB")
	fs.IntVar(&o.bigFactor, "big", 10, "ingest: the memory check ingests a file this many times bigger (0: skip)")
	fs.StringVar(&o.bigFile, "big-file", "", "ingest: use this file for the memory check instead (e.g. 1 GB from 'portolan-bench gen --size 1GB')")
	fs.StringVar(&o.format, "format", gen.FormatNative, "ingest: format of the generated file: "+strings.Join(gen.Formats, ", "))
	fs.IntVar(&o.nmapHosts, "nmap-hosts", 5000, "ingest: hosts of the nmap XML file ingested and parsed next to encoding/xml (0: skip)")
	fs.IntVar(&o.nmapPorts, "nmap-ports", 11, "ingest: open ports of every host of the nmap file, TLS ones with a certificate")
	filled := fs.String("filled-hostports", "1m", "ingest: also ingest the file into an embedded store already holding this many hostPorts (\"0\" to skip)")
	fs.StringVar(&o.store, "store", env.Getenv("PORTOLAN_STORE"), "ingest, search: also measure this PostgreSQL store (postgres://...; ingest: use an empty database; search: creates and drops a schema) (env PORTOLAN_STORE)")
	fs.IntVar(&o.serveHosts, "serve-hosts", 3500, "serve: hosts of the store (about 10,000 hostPorts), besides the 20-port host requested")
	fs.IntVar(&o.serveRescans, "serve-rescans", 5, "serve: scans of every host")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "serve: length of each wrk run")
	conns := fs.String("conns", "1,16,64", "serve: concurrent connections to measure")
	scale := fs.String("scale", "10k,100k", "serve: store sizes in hostPorts for the scale check, e.g. 10k,100k,1m,10m (\"\" to skip)")
	random := fs.String("random-hostports", "1m", "serve: store size in hostPorts of the random-host workload (\"0\" to skip)")
	fs.IntVar(&o.randomSample, "random-sample", 20000, "serve: draw the random hosts from this many of the store's hosts, spread evenly, one nginx file each (0: all, about 385,000 at 1m: minutes more to fetch and write)")
	searchScale := fs.String("search-scale", "100k,1m", "search: store sizes in hostPorts")
	fs.IntVar(&o.searchRuns, "search-runs", 50, "search: timed runs of each search, after a warm-up")
	fs.DurationVar(&o.searchTime, "search-time", time.Minute, "search: stop a slow search after this long once 10 runs are done (0: never)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: portolan-bench [ingest|serve|search|all] [flags]

Generates data, measures the portolan binary (--portolan; by default the one
next to portolan-bench, as 'go build -o DIR ./cmd/portolan ./cmd/portolan-bench'
puts them) and prints a Markdown table in which every figure stands next to
a baseline measured in the same run:
  ingest  observations/s and peak RSS of 'portolan ingest' (embedded store,
          and PostgreSQL with --store) next to parsing the same file alone;
          with --store, PostgreSQL next to a plain COPY of the same rows
          into an unindexed table; peak RSS of a file 10x bigger next to
          the small one's; an nmap XML file of 5,000 hosts x 11 ports
          (--nmap-hosts) into the embedded store (ports/s), and its
          parse-only next to encoding/xml tokenising the same bytes
  serve   requests/s, p50 and p99 of hosts/{id}/ports (20 ports), with
          $select=id,port, and a $top=1 walk along nextLinks, at 1, 16 and
          64 connections, with wrk, next to nginx serving the same bytes;
          p50 of the same request as the store grows (--scale); a random
          host per request from a store of 1,000,000 hostPorts
          (--random-hostports), read from the store, next to nginx
          serving one file per host
  search  p50 and p99 of estate-wide searches (a product and version, a
          port, an address range, a certificate expiry window, a banner
          substring), first page and $count, read from the store
          in-process, on stores of --search-scale hostPorts (embedded,
          and PostgreSQL with --store); with --dir the embedded stores are
          kept and reused by the next run. Not part of all: building a
          store of a million hostPorts takes minutes.
Without a section, ingest and serve run (all). wrk and nginx are installed with apt-get when
missing (unless --no-install). The machine's load average is printed: run
it on a quiet machine.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("bench: unexpected argument %q: %w", fs.Arg(0), cli.ErrUsage)
	}
	var err error
	if o.conns, err = parseCounts(*conns); err != nil || len(o.conns) == 0 {
		return fmt.Errorf("bench: --conns %q: want numbers such as 1,16,64: %w", *conns, cli.ErrUsage)
	}
	if o.scale, err = parseCounts(*scale); err != nil {
		return fmt.Errorf("bench: --scale %q: want sizes such as 10k,100k,1m: %w", *scale, cli.ErrUsage)
	}
	if f := strings.TrimSpace(*filled); f != "" && f != "0" {
		counts, err := parseCounts(f)
		if err != nil || len(counts) != 1 {
			return fmt.Errorf("bench: --filled-hostports %q: want one size such as 1m, or 0: %w", *filled, cli.ErrUsage)
		}
		o.filledHostPorts = counts[0]
	}
	if r := strings.TrimSpace(*random); r != "" && r != "0" {
		counts, err := parseCounts(r)
		if err != nil || len(counts) != 1 {
			return fmt.Errorf("bench: --random-hostports %q: want one size such as 1m, or 0: %w", *random, cli.ErrUsage)
		}
		o.randomHostPorts = counts[0]
	}
	if o.randomSample < 0 {
		return fmt.Errorf("bench: --random-sample must not be negative: %w", cli.ErrUsage)
	}
	if o.searchScale, err = parseCounts(*searchScale); err != nil || len(o.searchScale) == 0 {
		return fmt.Errorf("bench: --search-scale %q: want sizes such as 100k,1m: %w", *searchScale, cli.ErrUsage)
	}
	if o.searchRuns < 1 || o.searchTime < 0 {
		return fmt.Errorf("bench: --search-runs must be at least 1 and --search-time not negative: %w", cli.ErrUsage)
	}
	if o.nmapHosts < 0 || o.nmapPorts < 1 || o.nmapPorts > gen.MaxPortsPerHost {
		return fmt.Errorf("bench: --nmap-hosts must be at least 0 and --nmap-ports 1 to %d: %w", gen.MaxPortsPerHost, cli.ErrUsage)
	}
	if o.ingestHosts < 1 || o.ingestRescans < 1 || o.serveHosts < 0 || o.serveRescans < 1 || o.bigFactor < 0 || o.fixtureCacheMB < 1 || o.duration < time.Second {
		return fmt.Errorf("bench: sizes must be positive and --duration at least 1s: %w", cli.ErrUsage)
	}
	var command []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "dir" && f.Name != "keep" && f.Name != "store" && f.Name != "portolan" {
			command = append(command, "--"+f.Name+"="+f.Value.String())
		}
	})
	if len(sections) == 1 {
		for s := range sections {
			command = append([]string{s}, command...)
		}
	}

	b, err := newBench(ctx, env, o)
	if err != nil {
		return err
	}
	defer b.close()
	return b.run(ctx, sections, strings.TrimSpace("portolan-bench "+strings.Join(command, " ")))
}

// bench is one run of the harness.
type bench struct {
	env   *cli.Env
	o     benchOptions
	exe   string // the portolan binary under test
	self  string // this program, whose parse-only is the ingest baseline
	dir   string
	temp  bool
	procs []*exec.Cmd // long-running children, stopped by close
	// version is what the binary under test says of itself.
	version string
	// failed counts the searches a store failed (search.go).
	failed int
}

func newBench(ctx context.Context, env *cli.Env, o benchOptions) (*bench, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: cannot find portolan-bench itself for the parse-only baseline: %w", err)
	}
	exe, err := findPortolan(o.portolan, self)
	if err != nil {
		return nil, err
	}
	b := &bench{env: env, o: o, exe: exe, self: self, dir: o.dir}
	// Say which binary is measured: one left over from an older build
	// would give figures of the wrong code.
	if out, err := exec.CommandContext(ctx, exe, "version").Output(); err == nil {
		b.version = strings.TrimSpace(string(out))
		b.logf("measuring %s (%s)", exe, b.version)
	} else {
		return nil, fmt.Errorf("bench: %s version: %w", exe, err)
	}
	if b.dir == "" {
		if b.dir, err = os.MkdirTemp("", "portolan-bench-"); err != nil {
			return nil, err
		}
		b.temp = true
	} else if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return nil, err
	}
	// nginx's workers may run as another user: they must reach the files.
	if err := os.Chmod(b.dir, 0o755); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *bench) close() {
	b.stopAll()
	if b.temp && !b.o.keep {
		os.RemoveAll(b.dir)
	} else {
		b.logf("work directory kept: %s", b.dir)
	}
}

// stopAll stops the long-running children, newest first.
func (b *bench) stopAll() {
	for i := len(b.procs) - 1; i >= 0; i-- {
		stopProcess(b.procs[i])
	}
	b.procs = nil
}

// logf reports progress on standard error; the table goes to standard output.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.env.Stderr, "bench: "+format+"\n", args...)
}

// run measures the sections and prints the tables, the machine first.
func (b *bench) run(ctx context.Context, sections map[string]bool, command string) error {
	started := time.Now()
	loadBefore := loadAverage()
	var tools []string
	if sections["serve"] {
		var err error
		if tools, err = b.ensureTools(ctx); err != nil {
			return err
		}
	}
	var tables []*table
	if sections["ingest"] {
		t, err := b.ingest(ctx)
		if err != nil {
			return err
		}
		tables = append(tables, t)
	}
	if sections["serve"] {
		ts, err := b.serve(ctx)
		if err != nil {
			return err
		}
		tables = append(tables, ts...)
	}
	if sections["search"] {
		ts, err := b.search(ctx)
		if err != nil {
			return err
		}
		tables = append(tables, ts...)
	}
	m := machineTable(loadBefore, loadAverage(), tools, time.Since(started))
	out := b.env.Stdout
	fmt.Fprintf(out, "Measured with `portolan-bench` on %s. Reproduce with:\n\n    go build -o . ./cmd/portolan ./cmd/portolan-bench && ./%s\n\n", started.UTC().Format("2006-01-02"), command)
	m.markdown(out)
	for _, t := range tables {
		fmt.Fprintln(out)
		t.markdown(out)
	}
	if b.failed > 0 {
		return fmt.Errorf("bench: %d searches failed; the notes of the search tables say why", b.failed)
	}
	return nil
}

// ---- ingest ----

// childRun is what a finished child process cost.
type childRun struct {
	wall   time.Duration
	maxRSS int64 // bytes
	stdout string
	// complaint is the last line the child wrote on standard error.
	complaint string
}

// runChild runs the binary under test with args and measures it.
func (b *bench) runChild(ctx context.Context, args ...string) (childRun, error) {
	return b.runProgram(ctx, b.exe, args...)
}

// runProgram runs exe with args and measures it. The environment is the
// bench's own with PORTOLAN_STORE and PORTOLAN_DATA removed, so that a store
// is only ever chosen by the arguments.
func (b *bench) runProgram(ctx context.Context, exe string, args ...string) (childRun, error) {
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = childEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	run := childRun{wall: time.Since(start), stdout: stdout.String(), complaint: lastLine(stderr.Bytes())}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			run.maxRSS = int64(ru.Maxrss) << 10 // Linux reports KiB
		}
	}
	if err != nil {
		return run, fmt.Errorf("%s %s: %w: %s", filepath.Base(exe), strings.Join(args, " "), err, run.complaint)
	}
	return run, nil
}

func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PORTOLAN_STORE=") && !strings.HasPrefix(kv, "PORTOLAN_DATA=") {
			env = append(env, kv)
		}
	}
	return env
}

// ingestFigures are the measured cost of one ingestion.
type ingestFigures struct {
	observations int
	created      int
	run          childRun
}

func (f ingestFigures) rate() float64 { return float64(f.observations) / f.run.wall.Seconds() }

var (
	// ingestedLine takes ingest's summary whether a count of 1 has a
	// singular noun ("1 file, 1 observation", since issue 15) or the plural
	// older binaries printed ("1 files"): the bench may measure either.
	ingestedLine = regexp.MustCompile(`ingested: \d+ files?, (\d+) observations?, (\d+) records? created`)
	parsedLine   = regexp.MustCompile(`parsed: (\d+) observations`)
)

// fixtureCacheMB is the writer page cache of `portolan ingest` when it
// builds a store that a measurement then reads (--fixture-cache-mb):
// building is not what is measured, and a large cache builds large stores
// faster.
func (b *bench) fixtureCacheMB() string { return strconv.Itoa(b.o.fixtureCacheMB) }

// settle waits for the kernel to write out what the fixture just wrote
// (sync), so that the reads measured next do not share the machine with
// its writeback: a store of ten million hostPorts leaves gigabytes of
// dirty pages behind its ingest. The wait is not part of any figure.
func (b *bench) settle() {
	b.logf("writing the store's pages out (sync) before measuring")
	syscall.Sync()
}

// ingestFile runs `portolan ingest` on file, in --format, with storeArgs.
func (b *bench) ingestFile(ctx context.Context, file string, storeArgs ...string) (ingestFigures, error) {
	return b.ingestAs(ctx, file, b.o.format, storeArgs...)
}

// ingestAs runs `portolan ingest` on file, in format, with storeArgs.
func (b *bench) ingestAs(ctx context.Context, file, format string, storeArgs ...string) (ingestFigures, error) {
	run, err := b.runChild(ctx, append(append([]string{"ingest", "--no-progress", "--format", format}, storeArgs...), file)...)
	if err != nil {
		return ingestFigures{run: run}, err
	}
	m := ingestedLine.FindStringSubmatch(run.stdout)
	if m == nil {
		return ingestFigures{}, fmt.Errorf("bench: portolan ingest printed no summary: %q", run.stdout)
	}
	obs, _ := strconv.Atoi(m[1])
	created, _ := strconv.Atoi(m[2])
	return ingestFigures{observations: obs, created: created, run: run}, nil
}

// parseFile runs `portolan-bench parse-only` on file: the same pipeline
// with a store that discards.
func (b *bench) parseFile(ctx context.Context, file string) (ingestFigures, error) {
	return b.parseAs(ctx, file, b.o.format)
}

// parseAs runs `portolan-bench parse-only` on file in format.
func (b *bench) parseAs(ctx context.Context, file, format string) (ingestFigures, error) {
	run, err := b.runProgram(ctx, b.self, "parse-only", "--format", format, file)
	if err != nil {
		return ingestFigures{}, err
	}
	m := parsedLine.FindStringSubmatch(run.stdout)
	if m == nil {
		return ingestFigures{}, fmt.Errorf("bench: parse-only printed no summary: %q", run.stdout)
	}
	obs, _ := strconv.Atoi(m[1])
	return ingestFigures{observations: obs, run: run}, nil
}

// writeGenerated writes the world of cfg to file and says what it holds.
func (b *bench) writeGenerated(ctx context.Context, file string, cfg gen.Config, format string) (gen.Stats, error) {
	start := time.Now()
	f, err := os.Create(file)
	if err != nil {
		return gen.Stats{}, err
	}
	st, err := generate(ctx, f, cfg, format)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return st, err
	}
	if err := os.Chmod(file, 0o644); err != nil {
		return st, err
	}
	b.logf("generated %s: %s observations, %s (%.0f%% of open ones with a banner, %.1f%% with a certificate) in %s",
		filepath.Base(file), formatCount(st.Observations), formatBytes(st.Bytes), pct(st.Banners, st.Open), pct(st.Certificates, st.Open),
		time.Since(start).Round(time.Millisecond))
	return st, nil
}

// ingestIntoFilled builds an embedded store of about b.o.filledHostPorts
// hostPorts from another seed (a fixture: its build is not measured) and
// measures ingesting file into it. It returns the figures and the store's
// size in hostPorts.
func (b *bench) ingestIntoFilled(ctx context.Context, file string) (ingestFigures, int, error) {
	fill := filepath.Join(b.dir, "filled.ndjson")
	cfg := gen.Config{Seed: b.o.seed + 1000, Hosts: gen.HostsFor(b.o.filledHostPorts), Rescans: 1}
	if _, err := b.writeGenerated(ctx, fill, cfg, gen.FormatNative); err != nil {
		return ingestFigures{}, 0, err
	}
	data := filepath.Join(b.dir, "filled-data")
	defer os.RemoveAll(data)
	b.logf("building a store of about %s hostPorts to ingest into (not timed)", formatCount(b.o.filledHostPorts))
	built, err := b.ingestAs(ctx, fill, gen.FormatNative, "--store=", "--data", data, "--cache-mb", b.fixtureCacheMB())
	os.Remove(fill)
	if err != nil {
		return ingestFigures{}, 0, err
	}
	b.logf("ingesting %s into the store already holding %s records", filepath.Base(file), formatCount(built.created))
	measured, err := b.ingestFile(ctx, file, "--store=", "--data", data)
	return measured, built.created, err
}

// ingest measures `portolan ingest` next to parse-only on the same file,
// and memory on a bigger one.
func (b *bench) ingest(ctx context.Context) (*table, error) {
	small := filepath.Join(b.dir, "ingest."+b.o.format)
	cfg := gen.Config{Seed: b.o.seed, Hosts: b.o.ingestHosts, Rescans: b.o.ingestRescans}
	st, err := b.writeGenerated(ctx, small, cfg, b.o.format)
	if err != nil {
		return nil, err
	}
	t := &table{
		title: fmt.Sprintf("Ingest: %s, %s observations (%s; %.0f%% of open ones with a banner, %.1f%% with a certificate)",
			formatName(b.o.format), formatCount(st.Observations), formatBytes(st.Bytes), pct(st.Banners, st.Open), pct(st.Certificates, st.Open)),
		head: []string{"Measure", "Portolan", "Baseline (same run)", "Ratio"},
	}

	b.logf("parsing %s alone (the decoding limit)", filepath.Base(small))
	parsed, err := b.parseFile(ctx, small)
	if err != nil {
		return nil, err
	}
	b.logf("ingesting %s into the embedded store", filepath.Base(small))
	data := filepath.Join(b.dir, "ingest-data")
	embedded, err := b.ingestFile(ctx, small, "--store=", "--data", data)
	if err != nil {
		return nil, err
	}
	os.RemoveAll(data)
	t.add("Embedded store: observations/s", formatCount(int(embedded.rate())),
		formatCount(int(parsed.rate()))+" parse only", formatRatio(embedded.rate(), parsed.rate()))
	t.add("Embedded store: peak RSS", formatBytes(embedded.run.maxRSS),
		formatBytes(parsed.run.maxRSS)+" parse only", formatRatio(float64(embedded.run.maxRSS), float64(parsed.run.maxRSS)))

	if b.o.filledHostPorts > 0 {
		filled, n, err := b.ingestIntoFilled(ctx, small)
		if err != nil {
			return nil, err
		}
		t.add(fmt.Sprintf("Embedded store already holding %s hostPorts: observations/s", formatCount(n)), formatCount(int(filled.rate())),
			formatCount(int(embedded.rate()))+" empty store", formatRatio(filled.rate(), embedded.rate()))
		t.add("Embedded store already holding them: peak RSS", formatBytes(filled.run.maxRSS),
			formatBytes(embedded.run.maxRSS)+" empty store", formatRatio(float64(filled.run.maxRSS), float64(embedded.run.maxRSS)))
	}

	if b.o.store != "" {
		b.logf("ingesting %s into PostgreSQL (--store)", filepath.Base(small))
		pg, err := b.ingestFile(ctx, small, "--store", b.o.store, "--data", filepath.Join(b.dir, "pg-data"))
		if err != nil {
			b.logf("PostgreSQL: %v", err)
			t.add("PostgreSQL: observations/s", "not measured", "", "")
			t.notes = append(t.notes, "PostgreSQL was not measured: "+strings.TrimPrefix(pg.run.complaint, "portolan: "))
		} else {
			t.add("PostgreSQL: observations/s", formatCount(int(pg.rate())),
				formatCount(int(parsed.rate()))+" parse only", formatRatio(pg.rate(), parsed.rate()))
			t.add("PostgreSQL: peak RSS of portolan", formatBytes(pg.run.maxRSS),
				formatBytes(parsed.run.maxRSS)+" parse only", formatRatio(float64(pg.run.maxRSS), float64(parsed.run.maxRSS)))
			if pg.created < embedded.created {
				t.notes = append(t.notes, fmt.Sprintf("PostgreSQL created %d records where the empty embedded store created %d: the database was not empty, so part of the file was duplicates.", pg.created, embedded.created))
			}
			b.logf("COPY of the same rows into an unindexed table (the baseline of PostgreSQL)")
			cp, err := b.copyBaseline(ctx, small)
			if err != nil {
				b.logf("plain COPY: %v", err)
				t.add("PostgreSQL vs plain COPY: observations/s", formatCount(int(pg.rate())), "not measured", "")
				t.notes = append(t.notes, "The plain COPY was not measured: "+err.Error())
			} else {
				t.add(copyRow(pg, cp)...)
				if cp.rows != pg.observations {
					t.notes = append(t.notes, fmt.Sprintf("The plain COPY sent %d rows where portolan ingest read %d observations.", cp.rows, pg.observations))
				}
			}
		}
	}

	if b.o.nmapHosts > 0 {
		if err := b.ingestNmap(ctx, t); err != nil {
			return nil, err
		}
	}

	if b.o.bigFactor > 0 || b.o.bigFile != "" {
		big := b.o.bigFile
		if big == "" {
			big = filepath.Join(b.dir, "ingest-big."+b.o.format)
			bigCfg := cfg
			bigCfg.Hosts *= b.o.bigFactor
			if _, err := b.writeGenerated(ctx, big, bigCfg, b.o.format); err != nil {
				return nil, err
			}
		}
		fi, err := os.Stat(big)
		if err != nil {
			return nil, err
		}
		b.logf("parsing %s alone", filepath.Base(big))
		bigParsed, err := b.parseFile(ctx, big)
		if err != nil {
			return nil, err
		}
		b.logf("ingesting %s into the embedded store (memory check)", filepath.Base(big))
		bigData := filepath.Join(b.dir, "ingest-big-data")
		bigIngest, err := b.ingestFile(ctx, big, "--store=", "--data", bigData)
		if err != nil {
			return nil, err
		}
		os.RemoveAll(bigData)
		factor := float64(bigIngest.observations) / float64(max(embedded.observations, 1))
		t.add(fmt.Sprintf("Memory flat: peak RSS, %.0f× the file (%s observations, %s)", factor, formatCount(bigIngest.observations), formatBytes(fi.Size())),
			formatBytes(bigIngest.run.maxRSS), formatBytes(embedded.run.maxRSS)+" small file",
			formatRatio(float64(bigIngest.run.maxRSS), float64(embedded.run.maxRSS)))
		t.add(fmt.Sprintf("%.0f× the file: observations/s", factor), formatCount(int(bigIngest.rate())),
			formatCount(int(bigParsed.rate()))+" parse only", formatRatio(bigIngest.rate(), bigParsed.rate()))
	}
	t.notes = append(t.notes,
		"Each figure is one run of the real binary as a child process: wall time from start to exit (store creation included), peak RSS from the kernel (rusage maxrss).",
		"Parse only is `portolan-bench parse-only`: the same ingest pipeline (read, decode, normalise, check certificates, batch) with a store that discards; the gap to it is the cost of the store.")
	if b.o.store != "" {
		t.notes = append(t.notes, "Plain COPY: `portolan-bench copy-baseline`, a child process, reads the same file with the same pipeline, then COPYs its observations as rows of one unindexed table ("+plainTable+", the columns of plain_observations in internal/postgres's BenchmarkIngest), 5,000 rows per COPY, in the --store database, and drops it; only the COPY is timed. 1/N is the ratio as a fraction (the goal is 1/3 or better).")
	}
	if b.o.filledHostPorts > 0 {
		t.notes = append(t.notes, "Already holding: a store built first from another generated world (another seed, one scan per host, with `ingest --cache-mb "+b.fixtureCacheMB()+"` (--fixture-cache-mb), not timed), then the same file ingested into it with the defaults, as into the empty store (--filled-hostports; 0 skips).")
	}
	if b.o.nmapHosts > 0 {
		t.notes = append(t.notes, fmt.Sprintf("The nmap rows (--nmap-hosts, --nmap-ports; --nmap-hosts 0 skips them): `portolan-bench gen --format nmap --hosts %d --ports-per-host %d --rescans 1` writes every host with %d ports open, a banner where the service sends one, a certificate on every TLS port (ssl-cert's PEM). Ports/s is observations (one per port) over the wall time of `portolan ingest`. The reader's baseline is encoding/xml's Decoder.Token() over the same bytes in the harness process, with nothing done with the tokens: MB/s of the file (10^6 bytes) for each; parse-only's includes its process start.", b.o.nmapHosts, b.o.nmapPorts, b.o.nmapPorts))
	}
	t.notes = append(t.notes, "The memory check on a 1 GB file: `portolan-bench gen --size 1GB -o big.ndjson && portolan-bench ingest --big-file big.ndjson`.")
	return t, nil
}

// runParseOnly is the child of the parse-only baseline: the ingest
// pipeline of `portolan ingest` (internal/ingest, the same code) with a
// store that keeps nothing.
func runParseOnly(ctx context.Context, env *cli.Env, args []string) error {
	fs := flag.NewFlagSet("parse-only", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	format := fs.String("format", "auto", "input format: "+strings.Join(ingest.FormatNames(), ", "))
	if err := fs.Parse(args); err != nil {
		return err
	}
	in := &ingest.Ingester{Store: discardStore{}}
	var total ingest.Summary
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		sum, err := in.Ingest(ctx, name, f, ingest.Options{Format: *format})
		f.Close()
		total.Add(sum)
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(env.Stdout, "parsed: %d observations, %d rejected\n", total.Observations, total.Rejected)
	return nil
}

// discardStore is the store of the parse-only baseline.
type discardStore struct{}

var _ portolan.ObservationService = discardStore{}

// ImportObservations counts the batch and keeps nothing.
func (discardStore) ImportObservations(_ context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	return portolan.ImportResult{Observations: len(batch)}, nil
}

// Rebuild has nothing to replay.
func (discardStore) Rebuild(context.Context, func(int)) error { return nil }

// ---- serve ----

// endpoint is one request the serve benchmark measures.
type endpoint struct {
	name  string
	query string
	walk  bool   // follow @odata.nextLink with the wrk script
	file  string // the body's file name under nginx's root
	body  []byte
}

// serve measures `portolan serve` with wrk next to nginx serving the
// bytes Portolan answered, then the scale table.
func (b *bench) serve(ctx context.Context) ([]*table, error) {
	file := filepath.Join(b.dir, "serve.ndjson")
	cfg := gen.Config{Seed: b.o.seed, Hosts: b.o.serveHosts, Rescans: b.o.serveRescans, Probe: benchProbe}
	if _, err := b.writeGenerated(ctx, file, cfg, gen.FormatNative); err != nil {
		return nil, err
	}
	data := filepath.Join(b.dir, "serve-data")
	b.logf("ingesting %s", filepath.Base(file))
	loaded, err := b.ingestFile(ctx, file, "--store=", "--data", data)
	if err != nil {
		return nil, err
	}
	srv, token, err := b.serveData(ctx, data)
	if err != nil {
		return nil, err
	}
	endpoints := []*endpoint{
		{name: "hosts/{id}/ports, 20 ports, full JSON", file: "full.json"},
		{name: "hosts/{id}/ports?$select=id,port", query: "?$select=id,port", file: "select.json"},
		{name: "hosts/{id}/ports?$top=1, walking nextLinks", query: "?$top=1", walk: true, file: "top1.json"},
	}
	root := filepath.Join(b.dir, "nginx-root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	var contentType string
	for _, e := range endpoints {
		body, ct, err := fetch(ctx, srv+benchPortsPath+e.query, token)
		if err != nil {
			return nil, err
		}
		e.body, contentType = body, ct
		if err := os.WriteFile(filepath.Join(root, e.file), body, 0o644); err != nil {
			return nil, err
		}
	}
	var full struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(endpoints[0].body, &full); err != nil || len(full.Value) != len(gen.ProbePorts) {
		return nil, fmt.Errorf("bench: %s lists %d ports, want %d (%v)", benchPortsPath, len(full.Value), len(gen.ProbePorts), err)
	}
	nginx, err := b.startNginx(ctx, root, contentType)
	if err != nil {
		return nil, err
	}
	for _, e := range endpoints {
		got, _, err := fetch(ctx, nginx+"/"+e.file, token)
		if err != nil || !bytes.Equal(got, e.body) {
			return nil, fmt.Errorf("bench: nginx does not serve the bytes Portolan returned for %s (%v)", e.name, err)
		}
	}
	script := filepath.Join(b.dir, "walk.lua")
	if err := os.WriteFile(script, []byte(walkScript), 0o644); err != nil {
		return nil, err
	}

	t := &table{
		title: fmt.Sprintf("Serve: wrk over loopback with keep-alive, %s per run; Portolan's store holds %s hostPorts; nginx serves the identical bodies from files",
			b.o.duration, formatCount(loaded.created)),
		head: []string{"Request", "Conns", "Portolan req/s", "nginx req/s", "Ratio", "Portolan p50", "nginx p50", "Ratio", "Portolan p99", "nginx p99", "Ratio"},
	}
	// Warm both servers (store cache, heap, nginx's open file cache).
	b.logf("warming up")
	for _, u := range []string{srv + benchPortsPath, nginx + "/full.json"} {
		if _, err := b.wrk(ctx, u, 16, time.Second, token, ""); err != nil {
			return nil, err
		}
	}
	var fullC1 time.Duration
	for _, e := range endpoints {
		for _, c := range b.o.conns {
			b.logf("%s, %d connections", e.name, c)
			var p, n wrkResult
			if e.walk {
				first := benchPortsPath + e.query
				p, err = b.wrk(ctx, srv+first, c, b.o.duration, token, script, first)
				if err == nil {
					n, err = b.wrk(ctx, nginx+"/"+e.file, c, b.o.duration, token, script, "/"+e.file, "fixed")
				}
			} else {
				p, err = b.wrk(ctx, srv+benchPortsPath+e.query, c, b.o.duration, token, "")
				if err == nil {
					n, err = b.wrk(ctx, nginx+"/"+e.file, c, b.o.duration, token, "")
				}
			}
			if err != nil {
				return nil, err
			}
			if e.file == "full.json" && c == 1 {
				fullC1 = n.p50
			}
			t.add(fmt.Sprintf("%s (%s)", e.name, formatBytes(int64(len(e.body)))), strconv.Itoa(c),
				formatCount(int(p.rps)), formatCount(int(n.rps)), formatRatio(p.rps, n.rps),
				formatLatency(p.p50), formatLatency(n.p50), formatRatio(float64(p.p50), float64(n.p50)),
				formatLatency(p.p99), formatLatency(n.p99), formatRatio(float64(p.p99), float64(n.p99)))
		}
	}
	t.notes = append(t.notes,
		"Ratios are Portolan ÷ nginx: above 1 is slower for latencies, below 1 is fewer requests for req/s.",
		"Both servers get the same Authorization header; Portolan verifies the token on every request and logs every request to a file, as in production.",
		"The $top=1 walk runs bench's wrk Lua script on both: on Portolan each response's @odata.nextLink is the next request of the walk (one walk per connection, restarted at the end); nginx gets the same script (same parsing of the body) but serves the first page's bytes for every request.",
		"wrk, nginx (worker_processes auto) and Portolan share the machine's cores, as the client does on a real single machine.")
	// The scale runs have the machine to themselves.
	b.stopAll()

	tables := []*table{t}
	if len(b.o.scale) > 0 {
		st, err := b.scaleTable(ctx, fullC1)
		if err != nil {
			return nil, err
		}
		tables = append(tables, st)
	}
	if b.o.randomHostPorts > 0 {
		rt, err := b.randomTable(ctx)
		if err != nil {
			return nil, err
		}
		tables = append(tables, rt)
	}
	return tables, nil
}

// scaleTable measures p50 of the 20-port request as the store grows.
func (b *bench) scaleTable(ctx context.Context, nginxP50 time.Duration) (*table, error) {
	t := &table{
		title: "Scale: hosts/{id}/ports (20 ports, full JSON) as the store grows, 1 connection",
		head:  []string{"hostPorts in the store", "Generate + ingest", "Portolan p50", "Baseline p50", "Ratio", "Portolan req/s", "p50 from the store (no-cache)", "Ratio (no-cache)"},
	}
	var base, baseFresh time.Duration
	var baseName string
	for _, target := range b.o.scale {
		name := formatCount(target)
		file := filepath.Join(b.dir, "scale.ndjson")
		data := filepath.Join(b.dir, "scale-data")
		start := time.Now()
		cfg := gen.Config{Seed: b.o.seed, Hosts: gen.HostsFor(target), Rescans: 1, Probe: benchProbe}
		if _, err := b.writeGenerated(ctx, file, cfg, gen.FormatNative); err != nil {
			return nil, err
		}
		b.logf("ingesting a store of about %s hostPorts", name)
		loaded, err := b.ingestFile(ctx, file, "--store=", "--data", data, "--cache-mb", b.fixtureCacheMB())
		if err != nil {
			return nil, err
		}
		os.Remove(file)
		took := time.Since(start)
		b.settle()
		srv, token, err := b.serveData(ctx, data)
		if err != nil {
			return nil, err
		}
		if _, err := b.wrk(ctx, srv+benchPortsPath, 1, time.Second, token, ""); err != nil {
			return nil, err
		}
		r, err := b.wrk(ctx, srv+benchPortsPath, 1, b.o.duration, token, "")
		if err != nil {
			return nil, err
		}
		// The same request with Cache-Control: no-cache reads the store
		// every time: how the store's cost grows with its size.
		fresh, err := b.wrkWith(ctx, []string{"Cache-Control: no-cache"}, srv+benchPortsPath, 1, b.o.duration, token, "")
		if err != nil {
			return nil, err
		}
		b.stopAll()
		os.RemoveAll(data)
		baseline, ratio, freshRatio := "", "", ""
		if base == 0 {
			base, baseFresh, baseName = r.p50, fresh.p50, formatCount(loaded.created)
			if nginxP50 > 0 {
				baseline, ratio = formatLatency(nginxP50)+" nginx", formatRatio(float64(r.p50), float64(nginxP50))
			}
		} else {
			baseline, ratio = formatLatency(base)+" at "+baseName, formatRatio(float64(r.p50), float64(base))
			freshRatio = formatRatio(float64(fresh.p50), float64(baseFresh))
		}
		t.add(formatCount(loaded.created), fmt.Sprintf("%s (%s observations/s)", took.Round(100*time.Millisecond), formatCount(int(loaded.rate()))),
			formatLatency(r.p50), baseline, ratio, formatCount(int(r.rps)), formatLatency(fresh.p50), freshRatio)
	}
	t.notes = append(t.notes,
		"Repeated requests are answered from the response cache while the store is unchanged; the last column sends Cache-Control: no-cache, so each request reads the store.",
		"One scan per host; the requested host is the same 20-port host in every store. The first row's baseline is nginx serving the serve table's full body at 1 connection (that store has more scans, so the body is a little larger); the others' baseline is the first row.",
		"The ratios of the rows after the first are to the first row (the goal at 10,000,000 hostPorts against 10,000 is at most 1.5×); the no-cache ratio compares reads from the store.",
		"Larger stores: --scale 10k,100k,1m,10m. Each store is generated to a file, ingested by `portolan ingest --cache-mb "+b.fixtureCacheMB()+"` (a fixture, --fixture-cache-mb: a larger writer cache builds large stores faster) and deleted before the next, so memory stays that of one ingest; 10 million hostPorts are about 10.5 million observations, to ingest at the rate of a full store, not the empty one of the ingest table (12–13 minutes on a 2-core machine with --fixture-cache-mb 8000), and about 3 GB of NDJSON plus about 10 GB of store on disk.")
	return t, nil
}

// serveData starts `portolan serve` on data and returns its base URL with
// a token of its issuer.
func (b *bench) serveData(ctx context.Context, data string) (srv, token string, err error) {
	if srv, err = b.startServer(ctx, data); err != nil {
		return "", "", err
	}
	token, err = b.token(ctx, data)
	return srv, token, err
}

// startServer starts `portolan serve` on data at a free loopback port and
// returns its base URL once it answers.
func (b *bench) startServer(ctx context.Context, data string) (string, error) {
	cmd := exec.CommandContext(ctx, b.exe, "serve", "--store=", "--data", data, "--addr", "127.0.0.1:0", "--rate-limit", "0") // one token at full speed
	cmd.Env = childEnv()
	log, err := os.Create(filepath.Join(b.dir, filepath.Base(data)+".log"))
	if err != nil {
		return "", err
	}
	defer log.Close() // the child has its own descriptor
	cmd.Stderr = log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	b.procs = append(b.procs, cmd)
	announce := regexp.MustCompile(`API at (http://\S+)/beta`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if m := announce.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case base, ok := <-found:
		if !ok {
			return "", fmt.Errorf("bench: portolan serve exited before listening; see %s", log.Name())
		}
		return base, waitHealthy(ctx, base+"/healthz")
	case <-time.After(30 * time.Second):
		return "", fmt.Errorf("bench: portolan serve did not start within 30s; see %s", log.Name())
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (b *bench) token(ctx context.Context, data string) (string, error) {
	run, err := b.runChild(ctx, "token", "--data", data)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(run.stdout), nil
}

// nginxConfig serves root on 127.0.0.1 with keep-alive that never closes a
// busy connection (Portolan's server does not either), so that the baseline
// is the machine's HTTP limit rather than nginx's defaults.
const nginxConfig = `%s
worker_processes auto;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path %[2]s/tmp/body;
	proxy_temp_path %[2]s/tmp/proxy;
	fastcgi_temp_path %[2]s/tmp/fastcgi;
	uwsgi_temp_path %[2]s/tmp/uwsgi;
	scgi_temp_path %[2]s/tmp/scgi;
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	keepalive_timeout 120s;
	keepalive_requests 100000000;
	open_file_cache max=64 inactive=600s;
	open_file_cache_valid 600s;
	types { }
	default_type "%[3]s";
	server {
		listen 127.0.0.1:%[4]d;
		root %[5]s;
		location / { }
	}
}
`

// startNginx starts a private nginx serving root and returns its base URL.
func (b *bench) startNginx(ctx context.Context, root, contentType string) (string, error) {
	bin, err := findTool("nginx")
	if err != nil {
		return "", err
	}
	prefix := filepath.Join(b.dir, "nginx")
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		return "", err
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	user := ""
	if os.Geteuid() == 0 {
		// As root the workers would switch to nobody, who may not read
		// the work directory's parents.
		user = "user root;"
	}
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConfig, user, prefix, contentType, port, root), 0o644); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, "-p", prefix, "-c", conf, "-e", filepath.Join(prefix, "error.log"))
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		return "", err
	}
	b.procs = append(b.procs, cmd)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHealthy(ctx, base+"/"); err != nil {
		return "", fmt.Errorf("bench: nginx: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return base, nil
}

// walkScript is the wrk script of the $top=1 walk. Every response's
// @odata.nextLink is queued and becomes a later request, so that as many
// walks run as there are connections; a walk that ends (no nextLink) starts
// again at the first page. With "fixed" (nginx) every request is the first
// page, after the same work on the body.
const walkScript = `-- Follows @odata.nextLink; written by portolan-bench.
local first, fixed
local queue, head, tail = {}, 1, 0

function init(args)
  first = args[1]
  fixed = args[2] == "fixed"
end

function request()
  local path = first
  if head <= tail then
    path = queue[head]
    queue[head] = nil
    head = head + 1
  end
  if fixed then
    path = first
  end
  return wrk.format(nil, path)
end

function response(status, headers, body)
  local link = string.match(body, '"@odata%.nextLink":"([^"]+)"')
  if link then
    link = string.gsub(link, "\\u0026", "&")
    link = string.gsub(link, "^https?://[^/]+", "")
    tail = tail + 1
    queue[tail] = link
  end
end
`

// wrkResult is what wrk measured.
type wrkResult struct {
	rps      float64
	p50, p99 time.Duration
	requests int
}

// wrk runs wrk against url with conns connections for d. With a script,
// args go to its init.
func (b *bench) wrk(ctx context.Context, url string, conns int, d time.Duration, token, script string, args ...string) (wrkResult, error) {
	return b.wrkWith(ctx, nil, url, conns, d, token, script, args...)
}

// wrkWith is wrk with extra request headers ("Name: value").
func (b *bench) wrkWith(ctx context.Context, headers []string, url string, conns int, d time.Duration, token, script string, args ...string) (wrkResult, error) {
	bin, err := findTool("wrk")
	if err != nil {
		return wrkResult{}, err
	}
	threads := min(conns, runtime.NumCPU())
	cmdArgs := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%ds", int(d.Seconds())),
		"--latency", "--timeout", "10s", "-H", "Authorization: Bearer " + token}
	for _, h := range headers {
		cmdArgs = append(cmdArgs, "-H", h)
	}
	if script != "" {
		cmdArgs = append(cmdArgs, "-s", script)
	}
	cmdArgs = append(cmdArgs, url)
	if len(args) > 0 {
		cmdArgs = append(append(cmdArgs, "--"), args...)
	}
	out, err := exec.CommandContext(ctx, bin, cmdArgs...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("bench: wrk %s: %w: %s", url, err, out)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return r, fmt.Errorf("bench: wrk %s: %w", url, err)
	}
	return r, nil
}

var (
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$`)
	wrkRequests = regexp.MustCompile(`(\d+) requests in`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkErrors   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk --latency output. A run with failed responses or
// socket errors is an error: its figures would flatter the server.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in the output: %q", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkRequests.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
	}
	for _, m := range wrkPct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}[m[3]]
		d := time.Duration(v * float64(unit))
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		return r, fmt.Errorf("no latency distribution in the output: %q", out)
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		return r, fmt.Errorf("%s responses were not 2xx", m[1])
	}
	if m := wrkErrors.FindStringSubmatch(out); m != nil && m[1]+m[2]+m[3]+m[4] != "0000" {
		return r, fmt.Errorf("socket errors: %s", strings.TrimPrefix(m[0], "Socket errors: "))
	}
	return r, nil
}

// ensureTools installs wrk and nginx with apt-get when they are missing, and
// returns their versions.
func (b *bench) ensureTools(ctx context.Context) ([]string, error) {
	var missing []string
	if _, err := findTool("wrk"); err != nil {
		missing = append(missing, "wrk")
	}
	if _, err := findTool("nginx"); err != nil {
		missing = append(missing, "nginx-light")
	}
	if len(missing) > 0 {
		install := "apt-get install -y --no-install-recommends " + strings.Join(missing, " ")
		if b.o.noInstall || os.Geteuid() != 0 {
			return nil, fmt.Errorf("bench: %s missing; install with: %s", strings.Join(missing, " and "), install)
		}
		b.logf("installing %s", strings.Join(missing, " "))
		args := append([]string{"install", "-y", "--no-install-recommends"}, missing...)
		if _, err := exec.CommandContext(ctx, "apt-get", args...).CombinedOutput(); err != nil {
			// The package lists may be missing or stale.
			if out, err := exec.CommandContext(ctx, "apt-get", "update").CombinedOutput(); err != nil {
				return nil, fmt.Errorf("bench: apt-get update: %v: %s", err, lastLine(out))
			}
			if out, err := exec.CommandContext(ctx, "apt-get", args...).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("bench: %s: %v: %s", install, err, lastLine(out))
			}
		}
	}
	var versions []string
	wrk, _ := findTool("wrk")
	out, _ := exec.CommandContext(ctx, wrk, "-v").CombinedOutput()
	if f := strings.Fields(string(out)); len(f) > 1 {
		versions = append(versions, "wrk "+strings.TrimPrefix(f[1], "debian/"))
	}
	nginx, _ := findTool("nginx")
	out, _ = exec.CommandContext(ctx, nginx, "-v").CombinedOutput()
	versions = append(versions, strings.TrimSpace(strings.TrimPrefix(string(out), "nginx version: ")))
	return versions, nil
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// findPortolan returns the portolan binary to measure: flagValue when set,
// else the portolan next to self (where 'go build -o DIR ./cmd/portolan
// ./cmd/portolan-bench' and 'make bench' put the two), else portolan on
// PATH. The sibling comes first so that a build of this tree is measured
// rather than an older installed release.
func findPortolan(flagValue, self string) (string, error) {
	if flagValue != "" {
		if _, err := os.Stat(flagValue); err != nil {
			return "", fmt.Errorf("bench: --portolan: %w", err)
		}
		return filepath.Abs(flagValue)
	}
	sibling := filepath.Join(filepath.Dir(self), "portolan")
	if fi, err := os.Stat(sibling); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return sibling, nil
	}
	if p, err := exec.LookPath("portolan"); err == nil {
		return filepath.Abs(p)
	}
	return "", fmt.Errorf("bench: no portolan binary next to %s or on PATH; build both with 'go build -o DIR ./cmd/portolan ./cmd/portolan-bench', or name one with --portolan: %w", self, cli.ErrUsage)
}

// findTool looks for a program in PATH and in the sbin directories, which a
// non-root PATH lacks and where Debian puts nginx.
func findTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitHealthy polls url until it answers at all, for up to 10 seconds.
func waitHealthy(ctx context.Context, url string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s does not answer: %w", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fetch GETs url with the token and returns the body and Content-Type of a
// 200 response.
func fetch(ctx context.Context, url, token string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("bench: GET %s: %s: %.200s", url, resp.Status, body)
	}
	return body, resp.Header.Get("Content-Type"), nil
}

// stopProcess asks a child to stop (SIGTERM: serve shuts down gracefully,
// nginx stops its workers) and kills it after a grace period.
func stopProcess(cmd *exec.Cmd) {
	if cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// ---- machine and formatting ----

// machineTable describes where the figures were measured.
func machineTable(loadBefore, loadAfter string, tools []string, took time.Duration) *table {
	t := &table{title: "Machine", head: []string{"", ""}, left: 2}
	t.add("CPU", fmt.Sprintf("%s, %d cores (GOMAXPROCS %d)", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0)))
	if mem := memTotal(); mem > 0 {
		t.add("Memory", formatBytes(mem))
	}
	if rel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		t.add("OS", runtime.GOOS+" "+strings.TrimSpace(string(rel)))
	}
	t.add("Go", runtime.Version())
	if len(tools) > 0 {
		t.add("Load generator, baseline", strings.Join(tools, ", "))
	}
	t.add("Load average (1, 5, 15 min)", fmt.Sprintf("%s before, %s after (other jobs share this machine when it is not 0)", loadBefore, loadAfter))
	t.add("Duration of the run", took.Round(time.Second).String())
	return t
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotal() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// table is one Markdown table with a title and notes.
type table struct {
	title string
	head  []string
	rows  [][]string
	notes []string
	// left is how many columns, from the first, hold text and are
	// left-aligned (at least one); the others hold figures.
	left int
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// markdown writes the table with its columns padded, so that it reads as
// well in a terminal as rendered: text left-aligned, figures right-aligned.
func (t *table) markdown(w io.Writer) {
	width := make([]int, len(t.head))
	for i, h := range t.head {
		width[i] = max(3, len([]rune(h)))
	}
	for _, r := range t.rows {
		for i := range min(len(r), len(width)) {
			width[i] = max(width[i], len([]rune(r[i])))
		}
	}
	line := func(cells []string, sep bool) {
		var b strings.Builder
		b.WriteString("|")
		for i := range width {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			text := i < max(t.left, 1)
			switch {
			case sep && text:
				c = strings.Repeat("-", width[i])
			case sep:
				c = strings.Repeat("-", width[i]-1) + ":"
			case text:
				c += pad
			default:
				c = pad + c
			}
			b.WriteString(" " + c + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	if t.title != "" {
		fmt.Fprintf(w, "**%s**\n\n", t.title)
	}
	line(t.head, false)
	line(nil, true)
	for _, r := range t.rows {
		line(r, false)
	}
	if len(t.notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range t.notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
}

// formatCount writes n with thousands separators: 1,234,567.
func formatCount(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatBytes writes a size in binary units: 512 B, 1.5 KiB, 95.3 MiB.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, exp := float64(n), 0
	for v >= unit && exp < 4 {
		v /= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[exp-1])
}

// formatLatency writes a latency in milliseconds with three significant
// digits: 0.412 ms, 12.3 ms, 1,234 ms.
func formatLatency(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 1:
		return fmt.Sprintf("%.3f ms", ms)
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return formatCount(int(ms+0.5)) + " ms"
}

// formatRatio writes a/b with two significant digits and a ×: 0.42×, 1.0×,
// 12×; "–" when b is zero.
func formatRatio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	r := a / b
	switch {
	case r < 0.1:
		return fmt.Sprintf("%.3f×", r)
	case r < 10:
		return fmt.Sprintf("%.2f×", r)
	}
	return fmt.Sprintf("%.0f×", r)
}

func formatName(format string) string {
	if format == gen.FormatNmap {
		return "nmap XML"
	}
	return "native NDJSON"
}

// parseCounts reads a list such as "10k,100k,1m": k is a thousand, m a
// million.
func parseCounts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		mult := 1
		switch {
		case strings.HasSuffix(f, "k"):
			mult, f = 1000, strings.TrimSuffix(f, "k")
		case strings.HasSuffix(f, "m"):
			mult, f = 1000000, strings.TrimSuffix(f, "m")
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || v <= 0 {
			return nil, errors.New("not a count: " + f)
		}
		out = append(out, int(v*float64(mult)+0.5))
	}
	return out, nil
}
