// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/sqlite"
)

// The writer's direct statements run on the connection of the
// transaction database/sql began: a temporary table, which only its own
// connection sees, created through one is written and read through the
// other, and the rollback takes both.
func TestWriterStatementsShareTheTransaction(t *testing.T) {
	db, _ := openDirectStore(t)
	ctx := context.Background()
	tx, exec, query, end, err := db.WriteDirect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer end()
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE shared (k TEXT PRIMARY KEY, n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if err := exec(`INSERT INTO shared (k, n) VALUES (?, ?), (?, ?)`, "a", 1, "b", int64(2)); err != nil {
		t.Fatalf("direct insert into the transaction's temporary table: %v", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT sum(n) FROM shared`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("database/sql reads %d, %v of the direct insert; want 3", n, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO shared (k, n) VALUES ('c', 4)`); err != nil {
		t.Fatal(err)
	}
	var k string
	rows, err := query(`SELECT k, n FROM shared WHERE n > ? ORDER BY n`, []any{3}, &k, &n)
	if err != nil || rows != 1 || k != "c" || n != 4 {
		t.Fatalf("direct read of database/sql's insert: %d rows, last %q %d, %v; want 1 row, c 4", rows, k, n, err)
	}
	// A value the table refuses is the store's conflict, as through the
	// driver, and the transaction goes on.
	err = exec(`INSERT INTO shared (k, n) VALUES (?, ?)`, "a", 5)
	if code := portolan.ErrorCode(err); code != portolan.ECONFLICT || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("duplicate key: %v (code %q), want ECONFLICT naming the constraint", err, code)
	}
	if rows, err := query(`SELECT k, n FROM shared WHERE k = ?`, []any{"a"}, &k, &n); err != nil || rows != 1 || n != 1 {
		t.Fatalf("after the refusal: %d rows, n %d, %v; want a still 1", rows, n, err)
	}
}

// An import's statements of full groups of rows are prepared once and
// kept for the next imports on the same connection (those of the last,
// shorter group of a batch are not: their number of rows varies).
func TestWriterStatementsKeptAcrossImports(t *testing.T) {
	db, _ := openDirectStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	const ports = 600 // two full groups of 256 rows and one of 88
	batch := func(first int) []*portolan.Observation {
		var b []*portolan.Observation
		for port := first; port < first+ports; port++ {
			b = append(b, &portolan.Observation{Host: "192.0.2.7", Port: port, Protocol: portolan.TCP, Status: portolan.StatusOpen, Source: "native",
				ScannedAt: at, SeenAt: at, Banner: "SSH-2.0-OpenSSH_9.2p1", ScanProtocol: "ssh"})
		}
		return b
	}
	// The first import of a host differs in shape from the next ones (no
	// stored host to compare with); the second and third are alike.
	for _, first := range []int{1, 1001} {
		if _, err := db.ImportObservations(ctx, batch(first)); err != nil {
			t.Fatal(err)
		}
	}
	kept, handle := db.WriterStatements()
	if kept == 0 || handle == 0 {
		t.Fatalf("after two imports the writer keeps %d statements on handle %#x", kept, handle)
	}
	if _, err := db.ImportObservations(ctx, batch(2001)); err != nil {
		t.Fatal(err)
	}
	if again, h := db.WriterStatements(); again != kept || h != handle {
		t.Errorf("a third import of the same shape: %d statements on %#x, want the %d kept on %#x", again, h, kept, handle)
	}
	got, _, err := db.FindHostPorts(ctx, portolan.HostPortFilter{Host: "192.0.2.7", Count: true})
	if err != nil || len(got) != 3*ports {
		t.Fatalf("ports after three imports: %d, %v; want %d", len(got), err, 3*ports)
	}
}

// A cancelled context stops a direct write with its error, and the next
// import on the connection works.
func TestWriterStatementsStopWhenTheContextEnds(t *testing.T) {
	db, _ := openDirectStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, query, end, err := db.WriteDirect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	_, err = query(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) SELECT max(x) FROM c`, nil, &n)
	end()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a billion-row read past its deadline: %v, want the deadline's error", err)
	}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if _, err := db.ImportObservations(context.Background(), []*portolan.Observation{{Host: "192.0.2.8", Port: 80, Protocol: portolan.TCP,
		Status: portolan.StatusOpen, Source: "native", ScannedAt: at, SeenAt: at}}); err != nil {
		t.Fatalf("an import after the interrupted statement: %v", err)
	}
}

// driverHandle refuses a connection that is not the driver's as this
// version of it is built, rather than reading something else.
func TestDriverHandleRefusesOtherConnections(t *testing.T) {
	for _, dc := range []any{nil, 42, struct{}{}, &struct{ db int }{7}, &struct{ db uintptr }{0}} {
		if err := sqlite.DriverHandle(dc); err == nil {
			t.Errorf("driverHandle(%#v) took it", dc)
		}
	}
}
