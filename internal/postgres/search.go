// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"net/netip"
	"strconv"
	"time"

	"portolan"
	"portolan/internal/merge"
	"portolan/internal/sqlfilter"
	"portolan/internal/sqlstore"
)

// dialect is how searches are written for this schema, where instants are
// timestamptz and addresses are matched as inet.
var dialect = &sqlfilter.Dialect{
	Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	// Under the "C" collation lower() folds ASCII letters only, which is
	// the rule (portolan.FoldASCII), and LIKE compares bytes.
	FoldEqual: func(col, param string) string { return "lower(" + col + ` COLLATE "C") = ` + param },
	FoldLike:  func(col, param string) string { return "lower(" + col + ` COLLATE "C") LIKE ` + param + ` ESCAPE '\'` },
	Binary:    func(col string) string { return "(" + col + ` COLLATE "C")` },
	Time:      func(t time.Time) any { return t },
	VersionKey: func(col string) string {
		return "portolan_version_key(" + col + ")"
	},
	// portolan_addr (migration 0002) is NULL for a name, so names never
	// match; host_ports_addr indexes it for <<=, inet containment.
	InSubnet: func(col string, p netip.Prefix, b *sqlfilter.Builder) string {
		return "portolan_addr(" + col + ") <<= " + b.Param(p.String()) + "::inet"
	},
	FromTime: func(v any) (time.Time, bool) {
		t, ok := v.(time.Time)
		return t, ok
	},
	// encode() breaks base64 into lines of 76 characters; ids have none.
	Base64: func(expr string) string {
		return "translate(encode(convert_to(" + expr + ", 'UTF8'), 'base64'), E'\\n', '')"
	},
	False:   "false",
	NoLimit: "ALL",
	Typed:   func(param, sqlType string) string { return param + "::" + sqlType },
}

// tables are what this store's tables name differently.
var tables = sqlfilter.Tables{
	// last_scan is a timestamptz, so the window is an interval.
	RecentSince: "hp.last_scan - make_interval(secs => " + strconv.FormatInt(int64(merge.RecentWindow/time.Second), 10) + ")",
	AliasName:   "host",
	HostID:      "host",
}

// newSearcher is this store's portolan.SearchService (embedded in DB).
func (db *DB) newSearcher() sqlfilter.Searcher {
	return sqlfilter.NewSearcher(dialect, tables, searchRunner{db}, db.Certificates.ParseCertificate, db.Certificates.HostSSLCertificatesByIDs)
}

// searchRunner runs the SQL of a search on the pool.
type searchRunner struct{ db *DB }

// Count implements sqlfilter.Runner.
func (r searchRunner) Count(ctx context.Context, q string, args []any) (int, error) {
	var n int
	if err := r.db.pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, storeError("count", err)
	}
	return n, nil
}

// Rows implements sqlfilter.Runner with pgx's decoded values (timestamptz
// as time.Time, integers as int32 or int64), which sqlfilter converts.
func (r searchRunner) Rows(ctx context.Context, q string, args []any, width int) ([][]any, error) {
	rows, err := r.db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, storeError("search", err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		values, err := rows.Values()
		if err != nil {
			return nil, storeError("search", err)
		}
		out = append(out, values)
	}
	return out, storeError("search", rows.Err())
}

// HostPorts implements sqlfilter.Runner with the reads the store's own
// lists use, so that a search's records and a host's ports are identical.
func (r searchRunner) HostPorts(ctx context.Context, keys []merge.PortKey) ([]*portolan.HostPort, error) {
	return sqlstore.HostPortsByKeys(ctx, readDialect(r), keys)
}
