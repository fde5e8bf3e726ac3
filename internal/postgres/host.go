// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/merge"
	"portolan/internal/sqlstore"
)

// hostSpans is the query of host entities: a name's first/last seen spans
// its own observations and those of the addresses it aliases. Each id is
// looked up by key (LATERAL): an import reads its batch's hosts twice, and
// with "host = ANY($1)" of its 700 ids the planner scanned all of hosts,
// or of host_aliases, testing each row against the array: a read that grew
// with the store (9.8 -> 5.7 ms at 20,000 hosts, 13% of the server's time
// ingesting the harness's file; at 384,548 hosts an ingest's reads took
// 1.18 s, by key 0.33 s).
const hostSpans = `SELECT k.id, s.first_seen, s.last_seen FROM unnest($1::text[]) AS k(id)
	CROSS JOIN LATERAL (SELECT min(first_seen) AS first_seen, max(last_seen) AS last_seen FROM (
		SELECT first_seen, last_seen FROM hosts WHERE host = k.id
		UNION ALL SELECT first_seen, last_seen FROM host_aliases WHERE host = k.id) u
		HAVING count(*) > 0) s`

// findHosts returns the host entities of ids that were observed, by id.
func (db *DB) findHosts(ctx context.Context, ids []string) (map[string]*portolan.Host, error) {
	out := make(map[string]*portolan.Host, len(ids))
	var id string
	var first, last *time.Time
	_, err := pgx.ForEachRow(db.queryRows(ctx, hostSpans, ids), []any{&id, &first, &last}, func() error {
		out[id] = &portolan.Host{ID: id, Kind: portolan.HostKindOf(id), FirstSeenDateTime: utc(first), LastSeenDateTime: utc(last)}
		return nil
	})
	if err != nil {
		return nil, storeError("find hosts", err)
	}
	return out, nil
}

// FindHostByID implements portolan.HostService.
func (db *DB) FindHostByID(ctx context.Context, id string) (*portolan.Host, error) {
	hosts, err := db.findHosts(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if h := hosts[id]; h != nil {
		return h, nil
	}
	return nil, merge.HostNotFound(id)
}

// hostComponents aggregates the hostComponent entities of the given hosts
// from their ports' components, ordered by id.
func (db *DB) hostComponents(ctx context.Context, hosts []string) ([]*portolan.HostComponent, error) {
	var out []*portolan.HostComponent
	var c portolan.HostComponent
	var first, last time.Time
	_, err := pgx.ForEachRow(db.queryRows(ctx, `SELECT host, name, version, category, min(first_seen), max(last_seen)
		FROM port_components WHERE host = ANY($1) GROUP BY host, name, version, category`, hosts),
		[]any{&c.Host, &c.Name, &c.Version, &c.Category, &first, &last}, func() error {
			hc := c
			hc.ID = portolan.HostComponentID(c.Host, c.Component)
			hc.FirstSeenDateTime, hc.LastSeenDateTime = first.UTC(), last.UTC()
			out = append(out, &hc)
			return nil
		})
	if err != nil {
		return nil, storeError("find components", err)
	}
	merge.SortByID(out, func(c *portolan.HostComponent) string { return c.ID })
	return out, nil
}

// FindHostComponents implements portolan.HostService.
func (db *DB) FindHostComponents(ctx context.Context, host string, f portolan.ListFilter) ([]*portolan.HostComponent, int, error) {
	return sqlstore.FindHostComponents(ctx, readDialect{db}, host, f)
}

// FindHostComponentByID implements portolan.HostService.
func (db *DB) FindHostComponentByID(ctx context.Context, id string) (*portolan.HostComponent, error) {
	return sqlstore.FindHostComponentByID(ctx, readDialect{db}, id)
}
