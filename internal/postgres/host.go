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
// its own observations and those of the addresses it aliases.
const hostSpans = `SELECT id, min(first_seen), max(last_seen) FROM (
		SELECT host AS id, first_seen, last_seen FROM hosts WHERE host = ANY($1)
		UNION ALL SELECT host, first_seen, last_seen FROM host_aliases WHERE host = ANY($1)) s
	GROUP BY id`

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
