// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The COPY baseline reads the file with the ingest pipeline: as many rows
// as parse-only counts observations, each in the columns of the table.
func TestCopyReadRows(t *testing.T) {
	file := filepath.Join(t.TempDir(), "in.ndjson")
	if _, stderr, err := run(t, nil, "gen", "--hosts", "40", "--rescans", "2", "-o", file); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	rows, err := readRows(context.Background(), file, "native")
	if err != nil {
		t.Fatal(err)
	}
	parsed, _, err := run(t, nil, "parse-only", file)
	if err != nil {
		t.Fatal(err)
	}
	if m := parsedLine.FindStringSubmatch(parsed); m == nil || m[1] != strconv.Itoa(len(rows)) {
		t.Errorf("%d rows, parse-only says %q", len(rows), parsed)
	}
	certs := 0
	for _, r := range rows {
		if len(r) != len(plainColumns) || strings.Count(plainTableDDL, ",")+1 != len(plainColumns) {
			t.Fatalf("row of %d cells for %d columns: %v", len(r), len(plainColumns), r)
		}
		if host, _ := r[0].(string); host == "" {
			t.Errorf("row without a host: %v", r)
		}
		if _, ok := r[4].(time.Time); !ok {
			t.Errorf("seen_at is %T", r[4])
		}
		if r[10] != nil {
			certs++
		}
	}
	if certs == 0 {
		t.Errorf("no row carries a certificate")
	}
	if _, err := readRows(context.Background(), filepath.Join(t.TempDir(), "missing"), "native"); err == nil {
		t.Error("a missing file gives no error")
	}
}

func TestCopyRow(t *testing.T) {
	pg := ingestFigures{observations: 16000, run: childRun{wall: time.Second}}
	got := copyRow(pg, copyFigures{rows: 16000, wall: time.Second / 22})
	want := []string{"PostgreSQL vs plain COPY: observations/s", "16,000", "352,000 plain COPY", "0.045× (1/22)"}
	if !slices.Equal(got, want) {
		t.Errorf("copyRow = %q, want %q", got, want)
	}
	// At or above COPY there is no fraction.
	if got := copyRow(pg, copyFigures{rows: 8000, wall: time.Second}); got[3] != "2.00×" {
		t.Errorf("copyRow above COPY: %q", got)
	}
	for _, c := range []struct {
		a, b float64
		want string
	}{{1, 3, "1/3"}, {16293, 380000, "1/23"}, {1, 1, ""}, {0, 1, ""}, {1, 0, ""}} {
		if got := oneIn(c.a, c.b); got != c.want {
			t.Errorf("oneIn(%v, %v) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

// TestCopyRows COPYs rows into a fresh schema of PORTOLAN_TEST_POSTGRES and
// checks that the table is gone afterwards.
func TestCopyRows(t *testing.T) {
	base := os.Getenv("PORTOLAN_TEST_POSTGRES")
	if base == "" {
		t.Skip("set PORTOLAN_TEST_POSTGRES=postgres://... to COPY into PostgreSQL")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	schema := "bench_copy_test"
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE; CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	file := filepath.Join(t.TempDir(), "in.ndjson")
	if _, stderr, err := run(t, nil, "gen", "--hosts", "3000", "--rescans", "1", "-o", file); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	rows, err := readRows(ctx, file, "native")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := copyRows(ctx, u.String(), rows)
	if err != nil {
		t.Fatal(err)
	}
	if cp.rows != len(rows) || cp.rows <= copyBatch || cp.wall <= 0 {
		t.Errorf("copyRows = %+v for %d rows", cp, len(rows))
	}
	// The subcommand the harness runs as a child: the same COPY, its count
	// and time on one line.
	out, stderr, err := run(t, nil, "copy-baseline", "--store", u.String(), "--format", "native", file)
	if err != nil {
		t.Fatalf("copy-baseline: %v\n%s", err, stderr)
	}
	m := copiedLine.FindStringSubmatch(out)
	if m == nil || m[1] != strconv.Itoa(len(rows)) {
		t.Errorf("copy-baseline printed %q, want %d rows", out, len(rows))
	}
	if _, _, err := run(t, nil, "copy-baseline", file); err == nil {
		t.Error("copy-baseline without --store: no error")
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = $1", schema).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d tables left in %s (%v)", n, schema, err)
	}
}
