// SPDX-License-Identifier: Apache-2.0

package sqlite

// Invalidate drops the read cache's pages, for benchmarks of the uncached
// path.
func (db *DB) Invalidate() { db.changed() }
