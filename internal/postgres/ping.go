// SPDX-License-Identifier: Apache-2.0

package postgres

import "context"

// Ping reports whether the database answers, for serve's /readyz:
// EUNAVAILABLE when it does not.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return storeError("ping", err)
	}
	return nil
}
