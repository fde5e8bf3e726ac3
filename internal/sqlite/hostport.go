// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"portolan"
	"portolan/internal/sqlstore"
)

// unixTime is a nullable Unix time column.
func unixTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(v.Int64, 0).UTC()
}

// hostMembers returns the host ids a host id covers (itself and, for a
// name, the addresses it was seen with) and whether it was ever observed.
// ?1 is bound once and read twice, so the UNION costs one argument.
func (db *DB) hostMembers(ctx context.Context, id string) ([]string, bool, error) {
	rows, err := db.query(ctx, `SELECT id FROM hosts WHERE id = ?1 UNION SELECT address FROM host_aliases WHERE name = ?1`, id)
	if err != nil {
		return nil, false, db.storeError("find host", err)
	}
	defer rows.Close()
	members := []string{id}
	found := false
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, false, db.storeError("find host", err)
		}
		found = true
		if m != id {
			members = append(members, m)
		}
	}
	return members, found, db.storeError("find host", rows.Err())
}

// inList returns "?, ?, ?" for n arguments: SQLite has no array
// parameters, so a list is one placeholder a value.
func inList(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// FindHostPorts implements portolan.HostPortService: sqlstore.FindHostPorts
// behind a page cache of this store (cache.go). Only SQLite has one, because
// PRAGMA data_version tells it cheaply whether anything was committed; on
// PostgreSQL that news comes as notifications (generation.go), which the
// server uses to cache whole responses. The returned records are shared and
// must not be modified. A fresh read (portolan.FreshReadFromContext) is
// answered from the tables, which another process's commit reaches at
// once, where the cache learns of it within versionCheckInterval; its
// answer replaces the cached page.
func (db *DB) FindHostPorts(ctx context.Context, f portolan.HostPortFilter) ([]*portolan.HostPort, int, error) {
	generation, err := db.currentGeneration(ctx)
	if err != nil {
		return nil, 0, err
	}
	key := pageKey(f)
	if !portolan.FreshReadFromContext(ctx) {
		if p, ok := db.cache.get(key, generation); ok {
			return p.ports, p.total, nil
		}
	}
	// The page is read to its end even when the request is cancelled: it
	// is one host's ports, done in well under a millisecond, and the
	// driver arms a cancellable statement with a goroutine, a channel and
	// SQLite's progress handler, which cost a random host's request more
	// than a cancelled page could save.
	ports, total, err := sqlstore.FindHostPorts(context.WithoutCancel(ctx), readDialect{db}, f)
	if err != nil {
		return nil, 0, err
	}
	db.cache.put(key, cachedPage{generation: generation, ports: ports, total: total})
	return ports, total, nil
}

// limitOffset appends a page's LIMIT and OFFSET. SQLite takes no OFFSET
// without a LIMIT, and -1 is its LIMIT that does not limit.
func limitOffset(q string, args []any, limit, offset int) (string, []any) {
	if limit <= 0 && offset <= 0 {
		return q, args
	}
	if limit <= 0 {
		limit = -1
	}
	return q + " LIMIT ? OFFSET ?", append(args, limit, offset)
}

// FindHostPortByID implements portolan.HostPortService.
func (db *DB) FindHostPortByID(ctx context.Context, id string) (*portolan.HostPort, error) {
	return sqlstore.HostPortByID(ctx, readDialect{db}, id)
}
