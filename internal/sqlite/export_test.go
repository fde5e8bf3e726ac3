// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"time"

	"portolan/internal/sqlfilter"
)

// Invalidate drops the read cache's pages, for benchmarks of the uncached
// path.
func (db *DB) Invalidate() { db.changed() }

// SetVersionCheckInterval sets how often the read cache asks SQLite
// whether another connection committed (before the first read).
func (db *DB) SetVersionCheckInterval(d time.Duration) { db.cache.checkEvery = d }

// Dialect and Tables are the store's search SQL, for tests of its plans.
func Dialect() *sqlfilter.Dialect { return dialect }
func Tables() sqlfilter.Tables    { return tables }

// DirectEach runs q on the direct read connections (direct.go), its error
// normalised as the store's reads have it.
func (db *DB) DirectEach(ctx context.Context, q string, args, dest []any, fn func() error) error {
	return db.storeError("direct read", db.direct.each(ctx, q, args, dest, fn))
}

// DirectOpen is how many direct read connections are open, of at most
// DirectMax.
func (db *DB) DirectOpen() int { return int(db.direct.open.Load()) }
func (db *DB) DirectMax() int  { return int(db.direct.max) }

// WriteDirect begins a write transaction as an import does and returns
// it with the writer's direct statements on its connection (directwrite.go),
// their errors normalised as the store's; end rolls back and returns the
// connection.
func (db *DB) WriteDirect(ctx context.Context) (tx *sql.Tx, exec func(q string, args ...any) error, query func(q string, args []any, dest ...any) (int, error), end func(), err error) {
	conn, tx, c, err := db.beginWrite(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	exec = func(q string, args ...any) error { return db.storeError("direct write", c.exec(ctx, q, true, args)) }
	query = func(q string, args []any, dest ...any) (int, error) {
		n := 0
		err := c.query(ctx, q, true, args, func(r rowScanner) error { n++; return r.Scan(dest...) })
		return n, db.storeError("direct write", err)
	}
	return tx, exec, query, func() { tx.Rollback(); conn.Close() }, nil
}

// WriterStatements is how many statements the writer keeps prepared, and
// the handle they belong to.
func (db *DB) WriterStatements() (int, uintptr) {
	if db.writeDirect == nil {
		return 0, 0
	}
	return len(db.writeDirect.stmts), db.writeDirect.db
}

// DriverHandle is driverHandle, for its refusals.
func DriverHandle(dc any) error {
	_, err := driverHandle(dc)
	return err
}
