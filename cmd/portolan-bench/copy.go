// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"portolan"
	"portolan/internal/cli"
	"portolan/internal/ingest"
)

// The baseline of PostgreSQL ingest is a plain COPY of the same observation
// rows into one unindexed table of the same database: the limit of what the
// server takes in, which every index, upsert and transaction of the store
// falls short of. The rows are those of BenchmarkIngest's "copy" in
// internal/postgres (plain_observations), read from the file the ingest
// table measured by the reader `portolan ingest` and parse-only use.

// plainTable is the unindexed table of the COPY baseline, created in the
// first schema of the --store URL's search_path and dropped afterwards. The
// name is the harness's own, apart from the store's tables.
const plainTable = "portolan_bench_plain_observations"

// plainColumns are the columns of plainTable, in the order of plainRow.
var plainColumns = []string{"host", "port", "protocol", "status", "seen_at", "scanned_at", "source", "scan_protocol", "banner", "components", "certificate", "hostnames"}

const plainTableDDL = `CREATE TABLE ` + plainTable + ` (
	host text, port integer, protocol text, status text, seen_at timestamptz, scanned_at timestamptz,
	source text, scan_protocol text, banner text, components jsonb, certificate bytea, hostnames text[])`

// copyBatch is how many rows one COPY sends, as the Go benchmark does.
const copyBatch = 5000

// plainRow is an observation as a row of plainTable.
func plainRow(o *portolan.Observation) []any {
	var comps any
	if len(o.Components) > 0 {
		comps, _ = json.Marshal(o.Components)
	}
	var cert any
	if len(o.Certificate) > 0 {
		cert = append([]byte(nil), o.Certificate...)
	}
	return []any{o.Host, o.Port, string(o.Protocol), string(o.Status), o.SeenAt, o.ScannedAt,
		o.Source, o.ScanProtocol, o.Banner, comps, cert, o.Hostnames}
}

// rowCollector is an ingest store that keeps every observation as a row of
// plainTable.
type rowCollector struct{ rows [][]any }

var _ portolan.ObservationService = (*rowCollector)(nil)

// ImportObservations keeps the batch's rows.
func (c *rowCollector) ImportObservations(_ context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	for _, o := range batch {
		c.rows = append(c.rows, plainRow(o))
	}
	return portolan.ImportResult{Observations: len(batch)}, nil
}

// Rebuild has nothing to replay.
func (*rowCollector) Rebuild(context.Context, func(int)) error { return nil }

// readRows reads file in format with the ingest pipeline (internal/ingest,
// as parse-only) and returns its observations as rows of plainTable.
func readRows(ctx context.Context, file, format string) ([][]any, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := &rowCollector{}
	in := &ingest.Ingester{Store: c}
	if _, err := in.Ingest(ctx, file, f, ingest.Options{Format: format}); err != nil {
		return nil, err
	}
	return c.rows, nil
}

// copyFigures is what the COPY baseline measured.
type copyFigures struct {
	rows int
	wall time.Duration
}

func (f copyFigures) rate() float64 { return float64(f.rows) / f.wall.Seconds() }

// copyRows creates plainTable in the database of url, COPYs rows into it
// in batches of copyBatch, times that, and drops the table.
func copyRows(ctx context.Context, url string, rows [][]any) (copyFigures, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return copyFigures{}, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return copyFigures{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, plainTableDDL); err != nil {
		return copyFigures{}, fmt.Errorf("create table %s: %w", plainTable, err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+plainTable)
	start := time.Now()
	for i := 0; i < len(rows); i += copyBatch {
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{plainTable}, plainColumns, pgx.CopyFromRows(rows[i:min(i+copyBatch, len(rows))])); err != nil {
			return copyFigures{}, fmt.Errorf("copy into %s: %w", plainTable, err)
		}
	}
	return copyFigures{rows: len(rows), wall: time.Since(start)}, nil
}

// oneIn writes a ratio below 1 as "1/N" (0.045 is 1/22), the form of the
// goal of PostgreSQL ingest (a third of COPY); "" when it is not below 1.
func oneIn(a, b float64) string {
	if a <= 0 || b <= 0 || a >= b {
		return ""
	}
	return fmt.Sprintf("1/%.0f", b/a)
}

// copyRow is the row of the ingest table that sets PostgreSQL ingest next
// to the plain COPY of the same rows.
func copyRow(pg ingestFigures, cp copyFigures) []string {
	ratio := formatRatio(pg.rate(), cp.rate())
	if n := oneIn(pg.rate(), cp.rate()); n != "" {
		ratio += " (" + n + ")"
	}
	return []string{"PostgreSQL vs plain COPY: observations/s", formatCount(int(pg.rate())), formatCount(int(cp.rate())) + " plain COPY", ratio}
}

// copiedLine is what `portolan-bench copy-baseline` prints.
var copiedLine = regexp.MustCompile(`copied: (\d+) rows in (\d+) ns`)

// copyBaseline times the plain COPY of the observations of file (the
// ingest table's) into the --store database, in a child process: the rows
// are all held in memory before the COPY, and the harness must not grow by
// them, because a child started later reports the harness's peak RSS as
// its own (Go starts children with vfork, whose shared memory counts in
// the child's ru_maxrss).
func (b *bench) copyBaseline(ctx context.Context, file string) (copyFigures, error) {
	run, err := b.runProgram(ctx, b.self, "copy-baseline", "--store", b.o.store, "--format", b.o.format, file)
	if err != nil {
		return copyFigures{}, err
	}
	m := copiedLine.FindStringSubmatch(run.stdout)
	if m == nil {
		return copyFigures{}, fmt.Errorf("bench: copy-baseline printed no summary: %q", run.stdout)
	}
	rows, _ := strconv.Atoi(m[1])
	ns, _ := strconv.ParseInt(m[2], 10, 64)
	return copyFigures{rows: rows, wall: time.Duration(ns)}, nil
}

// runCopyBaseline is `portolan-bench copy-baseline`: it reads a file with the
// ingest pipeline, then times a plain COPY of its observations into an
// unindexed table of the PostgreSQL database (dropped afterwards).
func runCopyBaseline(ctx context.Context, env *cli.Env, args []string) error {
	fs := flag.NewFlagSet("copy-baseline", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	store := fs.String("store", "", "PostgreSQL URL (postgres://...) of the database to COPY into")
	format := fs.String("format", "auto", "input format: "+strings.Join(ingest.FormatNames(), ", "))
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *store == "" || fs.NArg() != 1 {
		return fmt.Errorf("copy-baseline: want --store URL and one file: %w", cli.ErrUsage)
	}
	rows, err := readRows(ctx, fs.Arg(0), *format)
	if err != nil {
		return err
	}
	cp, err := copyRows(ctx, *store, rows)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "copied: %d rows in %d ns\n", cp.rows, cp.wall.Nanoseconds())
	return nil
}
