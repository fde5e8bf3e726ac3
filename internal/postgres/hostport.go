// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/sqlstore"
)

// utc returns a nullable instant read from the database in UTC (pgx returns
// timestamptz in the local zone), the zero time for NULL.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// hostMembers returns the host ids a host id covers (itself and, for a
// name, the addresses it was seen with) and whether it was ever observed.
// Both tables are keyed by host here, so one parameter serves the UNION.
func (db *DB) hostMembers(ctx context.Context, id string) ([]string, bool, error) {
	rows, _ := db.pool.Query(ctx, `SELECT host FROM hosts WHERE host = $1 UNION SELECT address FROM host_aliases WHERE host = $1`, id)
	members := []string{id}
	found := false
	var m string
	_, err := pgx.ForEachRow(rows, []any{&m}, func() error {
		found = true
		if m != id {
			members = append(members, m)
		}
		return nil
	})
	if err != nil {
		return nil, false, storeError("find host", err)
	}
	return members, found, nil
}

// FindHostPorts implements portolan.HostPortService (sqlstore.FindHostPorts).
// Unlike SQLite's, it keeps no page cache in the store: whether the data
// changed is known from notifications (generation.go), with which the
// server caches whole responses.
func (db *DB) FindHostPorts(ctx context.Context, f portolan.HostPortFilter) ([]*portolan.HostPort, int, error) {
	return sqlstore.FindHostPorts(ctx, readDialect{db}, f)
}

// queryRows runs a query on the pool. pgx reports a failed query from the
// rows, so its error is left to the caller's ForEachRow or Err.
func (db *DB) queryRows(ctx context.Context, q string, args ...any) pgx.Rows {
	rows, _ := db.pool.Query(ctx, q, args...)
	return rows
}

// FindHostPortByID implements portolan.HostPortService
// (sqlstore.HostPortByID).
func (db *DB) FindHostPortByID(ctx context.Context, id string) (*portolan.HostPort, error) {
	return sqlstore.HostPortByID(ctx, readDialect{db}, id)
}
