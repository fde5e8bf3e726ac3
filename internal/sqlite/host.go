// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"

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

// hostComponents aggregates the components of hosts from their ports'
// (a host's components are the union of its ports'), in id order.
func (db *DB) hostComponents(ctx context.Context, hosts []string) ([]*portolan.HostComponent, error) {
	rows, err := db.query(ctx, `SELECT host, name, version, category, min(first_seen), max(last_seen)
		FROM port_components WHERE host IN (`+inList(len(hosts))+`) GROUP BY host, name, version, category`, anys(hosts)...)
	if err != nil {
		return nil, db.storeError("find components", err)
	}
	defer rows.Close()
	var out []*portolan.HostComponent
	for rows.Next() {
		c := &portolan.HostComponent{}
		var first, last sql.NullInt64
		if err := rows.Scan(&c.Host, &c.Name, &c.Version, &c.Category, &first, &last); err != nil {
			return nil, db.storeError("read component", err)
		}
		c.ID = portolan.HostComponentID(c.Host, c.Component)
		c.FirstSeenDateTime, c.LastSeenDateTime = unixTime(first), unixTime(last)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, db.storeError("read components", err)
	}
	merge.SortByID(out, func(c *portolan.HostComponent) string { return c.ID })
	return out, nil
}

// FindHostComponentByID implements portolan.HostService.
func (db *DB) FindHostComponentByID(ctx context.Context, id string) (*portolan.HostComponent, error) {
	return sqlstore.FindHostComponentByID(ctx, readDialect{db}, id)
}
