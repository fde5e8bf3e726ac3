// SPDX-License-Identifier: Apache-2.0

package sqlite

import "context"

// Ping reports whether the database file answers a read, for serve's
// /readyz.
func (db *DB) Ping(ctx context.Context) error {
	if _, err := db.read.ExecContext(ctx, "SELECT 1"); err != nil {
		return db.storeError("ping", err)
	}
	return nil
}
