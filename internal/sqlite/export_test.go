// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
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
