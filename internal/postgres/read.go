// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"portolan"
	"portolan/internal/merge"
	"portolan/internal/sqlstore"
)

// readDialect is what the reads both stores share (sqlstore: certificates,
// which DB embeds, host ports, host components) need of PostgreSQL:
// numbered placeholders, a list as one array parameter, the key lists
// unnested from arrays.
type readDialect struct{ db *DB }

var _ sqlstore.Dialect = readDialect{}

// Each implements sqlstore.Dialect: the ? placeholders of the shared SQL
// become $1, $2, … (none of that SQL has a ? in a literal).
func (d readDialect) Each(ctx context.Context, what, q string, args []any, dest []any, fn func() error) error {
	if fn == nil {
		fn = func() error { return nil }
	}
	_, err := pgx.ForEachRow(d.db.queryRows(ctx, numberPlaceholders(q), args...), nativeInstants(dest), fn)
	return storeError(what, err)
}

// nativeInstants returns dest with each *sqlstore.Instant behind a
// pgInstant. Through sql.Scanner pgx boxes every timestamptz it decodes
// (two allocations a value: half of a host-port page's); through
// pgtype.TimestamptzScanner it hands the value over as it is.
func nativeInstants(dest []any) []any {
	out := dest
	cloned := false // the caller's slice is left as it is
	for i, p := range dest {
		if t, ok := p.(*sqlstore.Instant); ok {
			if !cloned {
				out, cloned = slices.Clone(dest), true
			}
			out[i] = &pgInstant{t}
		}
	}
	return out
}

// pgInstant scans a timestamptz into an sqlstore.Instant: UTC, NULL as the
// zero time, as Instant.Scan does.
type pgInstant struct{ t *sqlstore.Instant }

// ScanTimestamptz implements pgtype.TimestamptzScanner.
func (p *pgInstant) ScanTimestamptz(v pgtype.Timestamptz) error {
	p.t.Time = time.Time{}
	if v.Valid {
		p.t.Time = v.Time.UTC()
	}
	return nil
}

// numberPlaceholders rewrites ? placeholders as PostgreSQL's $n.
func numberPlaceholders(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// AnyOf implements sqlstore.Dialect: one array argument, so the query text
// does not depend on the number of values.
//
// One value is an equality, which the planner knows to match one key
// prefix: with "= ANY" of one address and no statistics yet (a schema
// just filled, before autovacuum analysed it) it took a host for 0.5% of
// host_ports and walked the whole port index for the twenty ports of a
// host's page, sorted its way (1.3 s a page at a million hostPorts),
// where the primary key gives them in order.
func (readDialect) AnyOf(column string, values []string) (string, []any) {
	if len(values) == 1 {
		return column + " = ?", []any{values[0]}
	}
	return column + " = ANY(?)", []any{values}
}

// Page implements sqlstore.Dialect (PostgreSQL takes OFFSET without LIMIT).
func (readDialect) Page(q string, args []any, limit, offset int) (string, []any) {
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	if offset > 0 {
		q += " OFFSET ?"
		args = append(args, offset)
	}
	return q, args
}

// Members implements sqlstore.Dialect.
func (d readDialect) Members(ctx context.Context, host string) ([]string, bool, error) {
	return d.db.hostMembers(ctx, host)
}

// Hosts implements sqlstore.Dialect with one query for all the hosts.
func (d readDialect) Hosts(ctx context.Context, ids []string) ([]*portolan.Host, error) {
	hosts, err := d.db.findHosts(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*portolan.Host, 0, len(ids))
	for _, id := range ids {
		if h := hosts[id]; h != nil {
			out = append(out, h)
		}
	}
	return out, nil
}

// portKeys is the condition of PortKeys: three array
// parameters unnested into rows, so that the query text, and so its
// prepared statement, is the same for every number of keys.
const portKeys = `(host, port, protocol) IN (SELECT * FROM unnest(?::text[], ?::integer[], ?::text[]))`

// PortKeys implements sqlstore.Dialect.
func (readDialect) PortKeys(keys []merge.PortKey) (string, []any) {
	hosts := make([]string, len(keys))
	ports := make([]int32, len(keys))
	protocols := make([]string, len(keys))
	for i, k := range keys {
		hosts[i], ports[i], protocols[i] = k.Host, int32(k.Port), string(k.Protocol)
	}
	return portKeys, []any{hosts, ports, protocols}
}

// PartsColumn implements sqlstore.Dialect: this schema does not keep
// which parts a port has, so every port may have both.
func (readDialect) PartsColumn() string { return allParts }

// allParts is sqlstore.AllParts in SQL.
var allParts = strconv.Itoa(int(sqlstore.AllParts))

// PageParts implements sqlstore.Dialect with the page's exact keys: the
// primary keys of banners and port_components begin with them, whether
// the page is of one host or many.
func (readDialect) PageParts(string, sqlstore.Part) (string, []any) {
	return "(host, port, protocol) IN (SELECT host, port, protocol FROM page)", nil
}

// HostComponents implements sqlstore.Dialect: this schema has no table of
// host components, so they are aggregated whole from the ports' (a host
// has few) and the page is cut in memory.
func (d readDialect) HostComponents(ctx context.Context, hosts []string, f portolan.ListFilter) ([]*portolan.HostComponent, int, error) {
	all, err := d.db.hostComponents(ctx, hosts)
	if err != nil {
		return nil, 0, err
	}
	items, total := sqlstore.PageByID(all, f, func(c *portolan.HostComponent) string { return c.ID })
	return items, total, nil
}
