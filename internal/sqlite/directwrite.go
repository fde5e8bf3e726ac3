// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"reflect"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// The writer's statements (writer.execRows and writer.queryRows: an
// import's lookups and its multi-row upserts, a rebuild's) run through
// SQLite's C API, as the direct reads do (direct.go), on the connection of
// the transaction database/sql began: the transaction, its locks, its
// commit and the Go functions the driver registers on the connection
// (the instants' merge, the address and version keys of two indexes) stay
// the driver's, and only the statements skip database/sql and the driver.
// An import runs a few dozen statements of 256 rows each: what that skips
// is a boxed value and a conversion for every column of every row read, a
// C string allocated for every text argument, and the statement prepared
// again every import. Ingest of the harness's native file took 13% less
// time with it, its nmap file 6% (README, Performance).
//
// The driver does not hand out its connection's handle, so beginWrite
// reads it from the driver's connection (its field db, the sqlite3
// pointer), checked by name and type; a version of the driver without it
// makes every import fail with an error saying so, and
// TestWriterStatementsShareTheTransaction, which runs on every build,
// fails first. The handle is used only while database/sql has handed the
// connection to the import (sql.Conn). The one other use meanwhile is
// database/sql rolling the transaction back, from a goroutine of its own,
// when the import's context ends: the connection's mutex (the driver opens
// it serialized) orders that rollback with a statement in progress, which
// the context's interrupt ends. The direct reads, alone on connections of
// their own, do without that mutex.

// beginWrite begins a write transaction and returns, beside it, the
// writer's statements on its connection (kept on db across transactions,
// since the write pool holds one connection). The caller rolls back or
// commits tx, then closes conn.
func (db *DB) beginWrite(ctx context.Context) (*sql.Conn, *sql.Tx, *directConn, error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	var handle uintptr
	if err := conn.Raw(func(dc any) error {
		var err error
		handle, err = driverHandle(dc)
		return err
	}); err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	// A connection database/sql opened again (after one went bad) has a
	// new handle; the statements of the old one are finalized, which
	// lets SQLite free it.
	if db.writeDirect == nil || db.writeDirect.db != handle {
		if db.writeDirect != nil {
			db.writeDirect.close()
		}
		db.writeDirect = borrowDirect(handle)
	}
	return conn, tx, db.writeDirect, nil
}

// driverHandle returns the sqlite3 handle of a modernc.org/sqlite
// connection (database/sql's driver connection, from sql.Conn.Raw).
func driverHandle(dc any) (uintptr, error) {
	v := reflect.ValueOf(dc)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct {
		if f := v.FieldByName("db"); f.IsValid() && f.Kind() == reflect.Uintptr && f.Uint() != 0 {
			return uintptr(f.Uint()), nil
		}
	}
	return 0, fmt.Errorf("the SQLite driver's connection (%T) has no handle where this build of Portolan expects it: was modernc.org/sqlite upgraded without internal/sqlite/directwrite.go?", dc)
}

// borrowDirect wraps the driver's connection handle; closing it finalizes
// its statements and leaves the connection to the driver.
func borrowDirect(handle uintptr) *directConn {
	return &directConn{tls: libc.NewTLS(), db: handle, stmts: map[string]uintptr{}, borrowed: true}
}

// directRow is the row a direct statement is on, for queryRows' scan.
type directRow struct {
	c    *directConn
	stmt uintptr
}

func (r directRow) Scan(dest ...any) error {
	if n := int(sqlite3.Xsqlite3_column_count(r.c.tls, r.stmt)); n != len(dest) {
		return fmt.Errorf("%d columns into %d destinations", n, len(dest))
	}
	return r.c.scan(r.stmt, dest)
}

// exec runs q with args to its end; keep asks to keep its statement
// prepared for the next time (prepare).
// walPagesWritten returns how many pages the connection wrote to the WAL
// since the last call (SQLite's SQLITE_DBSTATUS_CACHE_WRITE, reset), or -1
// when SQLite does not say.
func (c *directConn) walPagesWritten() int {
	counts := c.tls.Alloc(8) // the current value and the high-water mark, int32 each
	defer c.tls.Free(8)
	if rc := sqlite3.Xsqlite3_db_status(c.tls, c.db, sqlite3.SQLITE_DBSTATUS_CACHE_WRITE, counts, counts+4, 1); rc != sqlite3.SQLITE_OK {
		return -1
	}
	return int(int32(binary.NativeEndian.Uint32(libc.GoBytes(counts, 4))))
}

func (c *directConn) exec(ctx context.Context, q string, keep bool, args []any) error {
	return c.query(ctx, q, keep, args, nil)
}

// query runs q with args, calling fn (when not nil) on each row.
func (c *directConn) query(ctx context.Context, q string, keep bool, args []any, fn func(rowScanner) error) error {
	stmt, kept, err := c.prepare(q, keep)
	if err != nil {
		return err
	}
	defer c.release(stmt, kept)
	if err := c.bind(stmt, args); err != nil {
		return err
	}
	return c.step(ctx, stmt, func() error {
		if fn == nil {
			return nil
		}
		return fn(directRow{c, stmt})
	})
}
