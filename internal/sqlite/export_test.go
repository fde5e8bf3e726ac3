// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
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
