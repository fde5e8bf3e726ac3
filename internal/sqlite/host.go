// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"portolan"
	"portolan/internal/merge"
	"portolan/internal/sqlstore"
)

// FindHostByID implements portolan.HostService. A name's first/last seen
// spans its own observations and those of the addresses it aliases.
func (db *DB) FindHostByID(ctx context.Context, id string) (*portolan.Host, error) {
	var first, last sql.NullInt64
	var n int
	err := db.queryRow(ctx, `SELECT count(*), min(first_seen), max(last_seen) FROM (
		SELECT first_seen, last_seen FROM hosts WHERE id = ?1
		UNION ALL SELECT first_seen, last_seen FROM host_aliases WHERE name = ?1)`, id).Scan(&n, &first, &last)
	if err != nil {
		return nil, db.storeError("find host", err)
	}
	// The count, not the spans, tells an unknown host: a host seen only
	// on closed ports exists with NULL spans.
	if n == 0 {
		return nil, merge.HostNotFound(id)
	}
	return &portolan.Host{ID: id, Kind: portolan.HostKindOf(id), FirstSeenDateTime: unixTime(first), LastSeenDateTime: unixTime(last)}, nil
}

// FindHostComponents implements portolan.HostService.
func (db *DB) FindHostComponents(ctx context.Context, host string, f portolan.ListFilter) ([]*portolan.HostComponent, int, error) {
	return sqlstore.FindHostComponents(ctx, readDialect{db}, host, f)
}

// queryComponents reads the page f of the host_components rows satisfying
// cond (whose arguments are args), in id order, and their total (-1 unless
// f.Count).
func (db *DB) queryComponents(ctx context.Context, cond string, args []any, f portolan.ListFilter) ([]*portolan.HostComponent, int, error) {
	where := []string{cond}
	total := -1
	if f.Count {
		if err := db.queryRow(ctx, "SELECT count(*) FROM host_components WHERE "+cond, args...).Scan(&total); err != nil {
			return nil, 0, db.storeError("count components", err)
		}
	}
	// The total is of the whole list, so it is counted before the
	// cursor narrows it.
	if f.AfterID != "" {
		where = append(where, "id > ?")
		args = append(args, f.AfterID)
	}
	q, args := limitOffset("SELECT id, host, name, version, category, first_seen, last_seen FROM host_components WHERE "+strings.Join(where, " AND ")+" ORDER BY id", args, f.Limit, f.Offset)
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, 0, db.storeError("find components", err)
	}
	defer rows.Close()
	var out []*portolan.HostComponent
	for rows.Next() {
		c := &portolan.HostComponent{}
		var first, last sql.NullInt64
		if err := rows.Scan(&c.ID, &c.Host, &c.Name, &c.Version, &c.Category, &first, &last); err != nil {
			return nil, 0, db.storeError("read component", err)
		}
		c.FirstSeenDateTime, c.LastSeenDateTime = unixTime(first), unixTime(last)
		out = append(out, c)
	}
	return out, total, db.storeError("read components", rows.Err())
}

// FindHostComponentByID implements portolan.HostService. The entity id is
// stored with the row, under a unique index, so the lookup is one read.
func (db *DB) FindHostComponentByID(ctx context.Context, id string) (*portolan.HostComponent, error) {
	comps, _, err := db.queryComponents(ctx, "id = ?", []any{id}, portolan.ListFilter{})
	if err != nil {
		return nil, err
	}
	if len(comps) == 0 {
		return nil, merge.HostComponentNotFound(id)
	}
	return comps[0], nil
}
