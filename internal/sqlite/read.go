// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"strconv"
	"strings"

	"portolan"
	"portolan/internal/merge"
	"portolan/internal/sqlstore"
)

// readDialect is what the reads both stores share (sqlstore: certificates,
// which DB embeds, host ports, host components) need of SQLite: its ?
// placeholders as written, a list as one placeholder a value, a page with
// LIMIT -1 when only an OFFSET is asked for.
type readDialect struct{ db *DB }

var _ sqlstore.Dialect = readDialect{}

// Each implements sqlstore.Dialect on the direct read connections
// (direct.go).
func (d readDialect) Each(ctx context.Context, what, q string, args []any, dest []any, fn func() error) error {
	return d.db.storeError(what, d.db.direct.each(ctx, q, args, dest, fn))
}

// AnyOf implements sqlstore.Dialect: "column IN (?, …)", one argument a
// value (SQLite has no array parameters).
func (readDialect) AnyOf(column string, values []string) (string, []any) {
	return column + " IN (" + inList(len(values)) + ")", anys(values)
}

// Page implements sqlstore.Dialect.
func (readDialect) Page(q string, args []any, limit, offset int) (string, []any) {
	return limitOffset(q, args, limit, offset)
}

// Members implements sqlstore.Dialect.
func (d readDialect) Members(ctx context.Context, host string) ([]string, bool, error) {
	return d.db.hostMembers(ctx, host)
}

// Hosts implements sqlstore.Dialect: a certificate is seen on few hosts,
// and FindHostByID is one indexed read each.
func (d readDialect) Hosts(ctx context.Context, ids []string) ([]*portolan.Host, error) {
	out := make([]*portolan.Host, 0, len(ids))
	for _, id := range ids {
		h, err := d.db.FindHostByID(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// PortKeys implements sqlstore.Dialect with a VALUES list, three
// parameters a key.
func (readDialect) PortKeys(keys []merge.PortKey) (string, []any) {
	var in strings.Builder
	args := make([]any, 0, 3*len(keys))
	for i, k := range keys {
		if i > 0 {
			in.WriteString(", ")
		}
		in.WriteString("(?, ?, ?)")
		args = append(args, k.Host, k.Port, string(k.Protocol))
	}
	return "(host, port, protocol) IN (VALUES " + in.String() + ")", args
}

// PartsColumn implements sqlstore.Dialect: host_ports.parts (migration
// 0009).
func (readDialect) PartsColumn() string { return "parts" }

// PageParts implements sqlstore.Dialect with one range scan a table on the
// (host, port) prefix of the tables' keys: the page's hosts and the span
// of its ports, rather than a lookup a key, over the ports that have the
// part only. When none has, the span's bounds are NULL and SQLite does not
// descend into the table at all: a host seen only by port sweeps is read
// from host_ports alone. A page of one known host names it: "host IN
// (SELECT host FROM page)" builds a temporary index of the page's hosts
// for each table, which made reading a random host's ports a fifth slower.
func (readDialect) PageParts(host string, part sqlstore.Part) (string, []any) {
	c := pageParts[part]
	if host != "" {
		return c.ofHost, []any{host}
	}
	return c.ofPage, nil
}

// partCondition is PageParts' condition for a part, built once: for a page
// of one named host and for a page of many.
type partCondition struct{ ofHost, ofPage string }

var pageParts = map[sqlstore.Part]partCondition{
	sqlstore.PartBanners:  partConditions(sqlstore.PartBanners),
	sqlstore.PartServices: partConditions(sqlstore.PartServices),
}

func partConditions(part sqlstore.Part) partCondition {
	with := "FROM page WHERE parts & " + strconv.Itoa(int(part))
	ports := " AND port BETWEEN (SELECT min(port) " + with + ") AND (SELECT max(port) " + with + ")"
	return partCondition{ofHost: "host = ?" + ports, ofPage: "host IN (SELECT host " + with + ")" + ports}
}

// HostComponents implements sqlstore.Dialect: a host's components are
// aggregated whole from its ports' (migration 0008) and the page is cut in
// memory.
func (d readDialect) HostComponents(ctx context.Context, hosts []string, f portolan.ListFilter) ([]*portolan.HostComponent, int, error) {
	all, err := d.db.hostComponents(ctx, hosts)
	if err != nil {
		return nil, 0, err
	}
	items, total := sqlstore.PageByID(all, f, func(c *portolan.HostComponent) string { return c.ID })
	return items, total, nil
}
