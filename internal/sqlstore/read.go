// SPDX-License-Identifier: Apache-2.0

package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"portolan"
	"portolan/internal/merge"
)

// Dialect is what a store gives the shared reads. The reads' SQL is written
// once, with ? placeholders and the column names both schemas share; a
// dialect runs it (PostgreSQL numbers the placeholders), and says how a
// column is matched against a list and how a page is cut, which is where
// the two databases' SQL differs.
type Dialect interface {
	// Each runs q and, for every row, scans it into dest and calls fn. An
	// error comes normalised (the store's storeError, with what).
	Each(ctx context.Context, what, q string, args []any, dest []any, fn func() error) error
	// AnyOf returns a condition that column is one of values, and its
	// arguments.
	AnyOf(column string, values []string) (string, []any)
	// Page appends LIMIT and OFFSET (neither when both are 0) to q and
	// their arguments to args.
	Page(q string, args []any, limit, offset int) (string, []any)
	// Members returns the host ids host covers (merge's alias rule) and
	// whether it was ever observed.
	Members(ctx context.Context, host string) ([]string, bool, error)
	// Hosts returns the host entities of ids, in their order, skipping
	// those never observed.
	Hosts(ctx context.Context, ids []string) ([]*portolan.Host, error)
	// HostComponents returns the page f of the hostComponent entities of
	// hosts in id order, and their total (-1 unless f.Count). SQLite keeps
	// them in a table of its own and pages in SQL; PostgreSQL aggregates
	// them from the ports' components and pages in memory (PageByID).
	HostComponents(ctx context.Context, hosts []string, f portolan.ListFilter) ([]*portolan.HostComponent, int, error)
	// PortKeys returns a condition that (host, port, protocol) is one of
	// keys, and its arguments.
	PortKeys(keys []merge.PortKey) (string, []any)
	// PartsColumn is the SQL of a host_ports row's parts (Part bits): the
	// column that says which parts a port has, or, in a schema without
	// one, a constant naming them all.
	PartsColumn() string
	// PageParts returns a condition on banners (part PartBanners) or
	// port_components (PartServices) that holds for every row of a key in
	// the table page (the records being read, with host, port, protocol
	// and parts columns) whose parts include part, and may hold for
	// others, which the reader skips: each database's cheapest way to read
	// a page's parts in the page's statement. host is the one host of
	// every record of the page when the caller knows it (a host's ports, a
	// hostPort by id), or "" (a search's page); args are the condition's.
	PageParts(host string, part Part) (cond string, args []any)
}

// Part is a bit of a hostPort's parts: which of banners and
// port_components hold rows of its key (SQLite's host_ports.parts,
// migration 0009).
type Part int

// The parts.
const (
	PartBanners  Part = 1
	PartServices Part = 2
	AllParts          = PartBanners | PartServices
)

// Instant scans a stored instant: Unix seconds (SQLite) or a timestamp
// (PostgreSQL), NULL as the zero time; always in UTC.
type Instant struct{ time.Time }

// Scan implements sql.Scanner.
func (t *Instant) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		t.Time = time.Time{}
	case int64:
		t.ScanUnix(v)
	case time.Time:
		t.Time = v.UTC()
	default:
		return fmt.Errorf("sqlstore: cannot scan %T as an instant", src)
	}
	return nil
}

// ScanUnix sets t to sec, SQLite's stored form, without the boxing of a
// Scan (the embedded store's reads call it for every instant column).
func (t *Instant) ScanUnix(sec int64) { t.Time = time.Unix(sec, 0).UTC() }

// PageByID cuts a page out of items sorted by id, for lists short enough to
// be read whole (a host's components and certificates). The total is -1
// unless f.Count.
func PageByID[T any](all []T, f portolan.ListFilter, id func(T) string) ([]T, int) {
	total := -1
	if f.Count {
		total = len(all)
	}
	if f.AfterID != "" {
		i := sort.Search(len(all), func(i int) bool { return id(all[i]) > f.AfterID })
		all = all[i:]
	}
	if f.Offset > 0 {
		all = all[min(f.Offset, len(all)):]
	}
	if f.Limit > 0 && f.Limit < len(all) {
		all = all[:f.Limit]
	}
	return all, total
}

// HostMembers returns the host ids host covers (itself and, for a name,
// the addresses it aliases), or merge.HostNotFound when it was never
// observed.
func HostMembers(ctx context.Context, d Dialect, host string) ([]string, error) {
	members, ok, err := d.Members(ctx, host)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, merge.HostNotFound(host)
	}
	return members, nil
}
