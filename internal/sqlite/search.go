// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql/driver"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"modernc.org/sqlite"

	"portolan"
	"portolan/internal/merge"
	"portolan/internal/sqlfilter"
	"portolan/internal/sqlstore"
)

// The SQL functions searches use, registered with the driver once: they
// run portolan's own rules (version order, address parsing) so that SQLite
// and the Go evaluator cannot disagree.
func init() {
	sqlite.MustRegisterDeterministicScalarFunction("portolan_version_key", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		s, ok := args[0].(string)
		if !ok {
			return nil, nil
		}
		return portolan.VersionKey(s), nil
	})
	sqlite.MustRegisterDeterministicScalarFunction("portolan_base64", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		s, ok := args[0].(string)
		if !ok {
			return nil, nil
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	})
	sqlite.MustRegisterDeterministicScalarFunction("portolan_addr_key", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		s, ok := args[0].(string)
		if !ok {
			return nil, nil
		}
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return nil, nil // a hostname has no address
		}
		return addrKey(addr), nil
	})
}

// addrKey is an address as 17 bytes (its family, then 16 bytes), so that
// one family's addresses sort together and a prefix is a range of keys.
func addrKey(addr netip.Addr) []byte {
	addr = addr.Unmap()
	family := byte(6)
	if addr.Is4() {
		family = 4
	}
	a16 := addr.As16()
	return append([]byte{family}, a16[:]...)
}

// prefixRange is the first and last key of the addresses in p.
func prefixRange(p netip.Prefix) (lo, hi []byte) {
	first := p.Masked().Addr()
	last := first
	bits := first.BitLen()
	b := last.AsSlice()
	for i := p.Bits(); i < bits; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	last, _ = netip.AddrFromSlice(b)
	return addrKey(first), addrKey(last)
}

// dialect is how searches are written for this schema, where instants are
// Unix seconds and addresses are matched through portolan_addr_key.
var dialect = &sqlfilter.Dialect{
	Placeholder: func(n int) string { return "?" + strconv.Itoa(n) },
	// NOCASE and LIKE fold ASCII letters only, which is the rule.
	FoldEqual: func(col, param string) string { return col + " = " + param + " COLLATE NOCASE" },
	FoldLike:  func(col, param string) string { return col + " LIKE " + param + ` ESCAPE '\'` },
	Binary:    func(col string) string { return col },
	Time:      func(t time.Time) any { return t.Unix() },
	VersionKey: func(col string) string {
		return "portolan_version_key(" + col + ")"
	},
	InSubnet: func(col string, p netip.Prefix, b *sqlfilter.Builder) string {
		lo, hi := prefixRange(p)
		return "portolan_addr_key(" + col + ") BETWEEN " + b.Param(lo) + " AND " + b.Param(hi)
	},
	FromTime: func(v any) (time.Time, bool) {
		n, ok := v.(int64)
		return time.Unix(n, 0), ok
	},
	Base64: func(expr string) string { return "portolan_base64(" + expr + ")" },
	// SQLite's unary + is its documented way to keep a column off an
	// index.
	Unindexed: func(col string) string { return "+" + col },
	False:     "0",
	NoLimit:   "-1",
}

// tables are what this store's tables name differently.
var tables = sqlfilter.Tables{
	// last_scan is Unix seconds, so the window is subtracted in seconds.
	RecentSince: fmt.Sprintf("hp.last_scan - %d", int64(merge.RecentWindow/time.Second)),
	AliasName:   "name",
	HostID:      "id",
}

// newSearcher is this store's portolan.SearchService (embedded in DB).
func (db *DB) newSearcher() sqlfilter.Searcher {
	return sqlfilter.NewSearcher(dialect, tables, searchRunner{db}, db.Certificates.ParseCertificate, db.Certificates.HostSSLCertificatesByIDs)
}

// searchRunner runs the SQL of a search on the read connections; the
// statements vary with every filter, so they are not kept prepared.
type searchRunner struct{ db *DB }

// Count implements sqlfilter.Runner.
func (r searchRunner) Count(ctx context.Context, q string, args []any) (int, error) {
	q, args = positional(q, args)
	var n int
	if err := r.db.read.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, r.db.storeError("count", err)
	}
	return n, nil
}

// Rows implements sqlfilter.Runner. Each value is scanned into an any, as
// the driver gives it (int64, float64, string, []byte or nil), since the
// columns vary with the query; sqlfilter converts them (Dialect.FromTime).
func (r searchRunner) Rows(ctx context.Context, q string, args []any, width int) ([][]any, error) {
	q, args = positional(q, args)
	rows, err := r.db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, r.db.storeError("search", err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		values := make([]any, width)
		ptrs := make([]any, width)
		for i := range values {
			ptrs[i] = &values[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, r.db.storeError("search", err)
		}
		out = append(out, values)
	}
	return out, r.db.storeError("search", rows.Err())
}

// HostPorts implements sqlfilter.Runner with the reads the store's own
// lists use, so that a search's records and a host's ports are identical.
func (r searchRunner) HostPorts(ctx context.Context, keys []merge.PortKey) ([]*portolan.HostPort, error) {
	return sqlstore.HostPortsByKeys(ctx, readDialect(r), keys)
}
