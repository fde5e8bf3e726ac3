// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"

	"portolan"
	"portolan/internal/sqlstore"
)

// The certificate reads are sqlstore.Certificates, which DB embeds; readDialect
// is what they need of SQLite.
type readDialect struct{ db *DB }

var _ sqlstore.Dialect = readDialect{}

// Each implements sqlstore.Dialect through the read statement cache.
func (d readDialect) Each(ctx context.Context, what, q string, args []any, dest []any, fn func() error) error {
	rows, err := d.db.query(ctx, q, args...)
	if err != nil {
		return d.db.storeError(what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return d.db.storeError(what, err)
		}
		if fn != nil {
			if err := fn(); err != nil {
				return d.db.storeError(what, err)
			}
		}
	}
	return d.db.storeError(what, rows.Err())
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
