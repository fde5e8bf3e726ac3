// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"portolan"
	"portolan/internal/sqlite"
	"portolan/internal/sqlstore"
)

func openDirectStore(t *testing.T) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "portolan.db")
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// The direct reads scan every column type into the destinations the
// shared reads use as database/sql does: the same statement through
// database/sql must give the same values.
func TestDirectReadsScanAsDatabaseSQL(t *testing.T) {
	db, path := openDirectStore(t)
	ctx := context.Background()
	const q = `SELECT ?, ?, ?, NULL, 'text', x'00ff', 1.5, 1700000000, NULL, 'name', 42, 0, 1, x'', ''`
	args := []any{int64(-3), "bound", ""}
	type row struct {
		i            int
		s, empty     string
		nullString   sql.NullString
		text         string
		blob         []byte
		f            float64
		at, never    sqlstore.Instant
		name         sql.NullString
		n64          int64
		falsy, truth bool
		emptyBlob    []byte
		emptyText    []byte
	}
	dests := func(r *row) []any {
		return []any{&r.i, &r.s, &r.empty, &r.nullString, &r.text, &r.blob, &r.f, &r.at, &r.never, &r.name, &r.n64, &r.falsy, &r.truth, &r.emptyBlob, &r.emptyText}
	}
	var direct row
	rows := 0
	if err := db.DirectEach(ctx, q, args, dests(&direct), func() error { rows++; return nil }); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Fatalf("%d rows, want 1", rows)
	}
	plain, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	var want row
	if err := plain.QueryRowContext(ctx, q, args...).Scan(dests(&want)...); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(direct, want) {
		t.Errorf("direct read\n %#v\ndatabase/sql\n %#v", direct, want)
	}
	if direct.i != -3 || direct.s != "bound" || direct.nullString.Valid || string(direct.blob) != "\x00\xff" || direct.at.Unix() != 1700000000 || !direct.never.IsZero() || direct.at.Location() != time.UTC {
		t.Errorf("values: %+v", direct)
	}
}

// What a read cannot do is an error naming it, never a panic, and the
// connection serves the next read.
func TestDirectReadsRefuseClearly(t *testing.T) {
	db, _ := openDirectStore(t)
	ctx := context.Background()
	var n int
	var s string
	for _, tc := range []struct {
		name, q string
		args    []any
		dest    []any
		want    string
	}{
		{"NULL into an int", "SELECT NULL", nil, []any{&n}, "cannot store NULL in a *int"},
		{"2 into a bool", "SELECT 2", nil, []any{new(bool)}, "cannot store 2 in a *bool"},
		{"text into an int", "SELECT 'x'", nil, []any{&n}, "cannot store a string in a *int"},
		{"columns and destinations", "SELECT 1, 2", nil, []any{&n}, "2 columns into 1 destinations"},
		{"arguments and parameters", "SELECT ?", nil, []any{&n}, "0 arguments for 1 parameters"},
		{"an argument SQLite has no type for", "SELECT ?", []any{struct{}{}}, []any{&s}, "cannot bind a struct {}"},
		{"bad SQL", "SELEC 1", nil, []any{&n}, "syntax error"},
		{"no such table", "SELECT x FROM nowhere", nil, []any{&n}, "no such table: nowhere"},
	} {
		err := db.DirectEach(ctx, tc.q, tc.args, tc.dest, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
		if err := db.DirectEach(ctx, "SELECT 5", nil, []any{&n}, nil); err != nil || n != 5 {
			t.Fatalf("after %s: %d, %v", tc.name, n, err)
		}
	}
	// An error of fn ends the read with it.
	stop := errors.New("enough")
	if err := db.DirectEach(ctx, "SELECT 1 UNION ALL SELECT 2", nil, []any{&n}, func() error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn's error: %v", err)
	}
}

// A read whose context ends stops with the context's error, and the
// interrupt does not reach the connection's next read.
func TestDirectReadsStopWhenTheContextEnds(t *testing.T) {
	db, _ := openDirectStore(t)
	const long = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) SELECT count(*) FROM n`
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var n int
	start := time.Now()
	err := db.DirectEach(ctx, long, nil, []any{&n}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v, want the deadline", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the read went on %v after its deadline", took)
	}
	for i := range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		err := db.DirectEach(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) SELECT count(*) FROM n`, nil, []any{&n}, nil)
		cancel()
		if err != nil || n != 10000 {
			t.Fatalf("read %d after the interrupt: %d, %v", i, n, err)
		}
	}
	if open := db.DirectOpen(); open != 1 {
		t.Errorf("%d connections open for reads one after another, want 1", open)
	}
}

// Past the statements a connection keeps, reads are prepared and
// finalized each time, and answer alike.
func TestDirectReadsPastTheStatementsKept(t *testing.T) {
	db, _ := openDirectStore(t)
	ctx := context.Background()
	for round := range 2 {
		for i := range 300 {
			var n int
			if err := db.DirectEach(ctx, fmt.Sprintf("SELECT ? + %d", i), []any{round}, []any{&n}, nil); err != nil || n != i+round {
				t.Fatalf("round %d, statement %d: %d, %v", round, i, n, err)
			}
		}
	}
}

// A connection in use when the store closes is closed when its read ends,
// and no read opens one afterwards.
func TestDirectReadsClose(t *testing.T) {
	db, _ := openDirectStore(t)
	ctx := context.Background()
	var n int
	if err := db.DirectEach(ctx, "SELECT 1 UNION ALL SELECT 2", nil, []any{&n}, func() error {
		if n == 1 {
			return db.Close()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("the read in progress stopped at row %d", n)
	}
	if open := db.DirectOpen(); open != 0 {
		t.Errorf("%d connections open after Close", open)
	}
	if err := db.DirectEach(ctx, "SELECT 1", nil, []any{&n}, nil); err == nil {
		t.Error("a read after Close succeeded")
	}
	if open := db.DirectOpen(); open != 0 {
		t.Errorf("%d connections open after a read after Close", open)
	}
}

// A read waiting for a connection, all of them in use, ends when the store
// closes instead of waiting for ever.
func TestDirectReadsWaitEndsOnClose(t *testing.T) {
	db, _ := openDirectStore(t)
	ctx := context.Background()
	release := make(chan struct{})
	var holding sync.WaitGroup
	var held sync.WaitGroup
	for range db.DirectMax() {
		holding.Add(1)
		held.Add(1)
		go func() {
			defer held.Done()
			var n int
			db.DirectEach(ctx, "SELECT 1", nil, []any{&n}, func() error {
				holding.Done()
				<-release
				return nil
			})
		}()
	}
	holding.Wait()
	waited := make(chan error, 1)
	go func() {
		var n int
		waited <- db.DirectEach(ctx, "SELECT 1", nil, []any{&n}, nil)
	}()
	select {
	case err := <-waited:
		t.Fatalf("a read with every connection in use did not wait: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	db.Close()
	select {
	case err := <-waited:
		if err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("the waiting read ended with %v, want the store closed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting read still waits after Close")
	}
	close(release)
	held.Wait()
	if open := db.DirectOpen(); open != 0 {
		t.Errorf("%d connections open after the reads in progress ended", open)
	}
}

// SQLite's result code reaches the store's error rules on this path as
// on the driver's: a write refused is said to be one, not an internal
// error without a message.
func TestDirectReadsErrorsCarryTheirCode(t *testing.T) {
	db, _ := openDirectStore(t)
	err := db.DirectEach(context.Background(), "CREATE TABLE t (x)", nil, nil, nil)
	if msg := portolan.ErrorMessage(err); !strings.Contains(msg, "Cannot write") {
		t.Errorf("%v: message %q, want the read-only rule's", err, msg)
	}
}
