// SPDX-License-Identifier: Apache-2.0

package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"

	"portolan"
	"portolan/internal/merge"
)

// selectHostPorts returns the statement that reads the columns of the
// hostPort records of host_ports that where selects, which both schemas
// name alike, and their parts (Dialect.PartsColumn), followed by tail. A
// row is a record only once an open observation arrived (first_seen not
// NULL): rows of ports only ever seen closed or filtered are kept, hidden,
// so that a later open observation finds their scan figures and the order
// of ingestion does not matter.
func selectHostPorts(d Dialect, where, tail string) string {
	return `SELECT host, port, protocol, first_seen, last_seen, last_scan, times_observed, status_rank, cert_sha1, ` +
		d.PartsColumn() + ` AS parts FROM host_ports WHERE ` + where + tail
}

// FindHostPorts implements portolan.HostPortService.FindHostPorts over d,
// with keyset paging on (port, protocol, host), the order of the table's
// key in both schemas.
func FindHostPorts(ctx context.Context, d Dialect, f portolan.HostPortFilter) ([]*portolan.HostPort, int, error) {
	// An address covers only itself (aliases map names to addresses), so
	// its existence need only be checked when it has no ports to show: the
	// common request costs one query less.
	members, checked := []string{f.Host}, false
	if portolan.HostKindOf(f.Host) != portolan.KindIPAddress {
		var err error
		if members, err = HostMembers(ctx, d, f.Host); err != nil {
			return nil, 0, err
		}
		checked = true
	}
	where, args := d.AnyOf("host", members)
	where += " AND first_seen IS NOT NULL"
	total := -1
	if f.Count {
		if err := d.Each(ctx, "count ports", "SELECT count(*) FROM host_ports WHERE "+where, args, []any{&total}, nil); err != nil {
			return nil, 0, err
		}
	}
	if f.After != nil {
		where += " AND (port, protocol, host) > (?, ?, ?)"
		args = append(args, f.After.Port, string(f.After.Protocol), f.After.Host)
	}
	q, args := d.Page(selectHostPorts(d, where, " ORDER BY port, protocol, host"), args, f.Limit, f.Offset)
	// Every record of the page is of the one address asked for, or of
	// any of a name's addresses.
	one := ""
	if len(members) == 1 {
		one = members[0]
	}
	ports, err := readHostPorts(ctx, d, one, q, args)
	if err != nil {
		return nil, 0, err
	}
	if len(ports) == 0 && !checked {
		if _, err := HostMembers(ctx, d, f.Host); err != nil {
			return nil, 0, err
		}
	}
	return ports, total, nil
}

// HostPortByID implements portolan.HostPortService.FindHostPortByID over d.
// The id holds the whole key, so the lookup is one primary-key read. An id
// that is not canonical, or names no record, is merge.HostPortNotFound.
func HostPortByID(ctx context.Context, d Dialect, id string) (*portolan.HostPort, error) {
	if host, protocol, port, ok := portolan.ParseHostPortID(id); ok {
		ports, err := readHostPorts(ctx, d, host, selectHostPorts(d, "host = ? AND port = ? AND protocol = ? AND first_seen IS NOT NULL", ""),
			[]any{host, port, string(protocol)})
		if err != nil {
			return nil, err
		}
		if len(ports) == 1 {
			return ports[0], nil
		}
	}
	return nil, merge.HostPortNotFound(id)
}

// HostPortsByKeys returns the records of keys, in any order: the records a
// search or a delta page selected, which applied the record rule itself.
//
// The LIMIT, the number of keys, changes nothing of the result: it tells
// the planner how few records the page holds. PostgreSQL without
// statistics on host_ports (a schema just filled, or autovacuum off)
// took the keys for 150,000 records and read the page's banners and
// services by scanning both tables whole (300 ms a delta page of 100 at a
// million hostPorts, growing with the store) instead of by key.
func HostPortsByKeys(ctx context.Context, d Dialect, keys []merge.PortKey) ([]*portolan.HostPort, error) {
	cond, args := d.PortKeys(keys)
	return readHostPorts(ctx, d, "", selectHostPorts(d, cond, " LIMIT "+strconv.Itoa(len(keys))), args)
}

// recordsWithParts returns the statement that reads a page of records and
// their banners and services at once: the page (q, selecting
// selectHostPorts' columns) is materialised as the table page and its rows
// come first (kind 0), then the banners (kind 1) and services (kind 2) that
// the dialect's PageParts conditions (banners, services) select from it.
// Columns a kind has not are NULL, 0 or empty. It is one concatenation:
// the statement is built for every page.
//
// One statement is one read transaction and one trip through the driver
// where three were (on PostgreSQL one round trip): hosts drawn at random
// from a store of a million hostPorts are served 10-15% faster. The price
// is a wider row, twelve columns where a part had eight, and SQLite's
// driver pays for each column: a page of many parts, such as twenty ports
// each with a banner and a service, costs about a fifth more to read
// (BenchmarkFindHostPorts in internal/sqlite), and is what the response
// caches hold.
func recordsWithParts(q, banners, services string) string {
	return `WITH page AS MATERIALIZED (` + q + `)
SELECT 0, host, port, protocol, first_seen, last_seen, last_scan, times_observed, status_rank, cert_sha1, '', '' FROM page
UNION ALL
SELECT 1, host, port, protocol, first_seen, last_seen, NULL, times_observed, 0, banner, scan_protocol, '' FROM banners WHERE ` + banners + `
UNION ALL
SELECT 2, host, port, protocol, first_seen, last_seen, NULL, 0, 0, name, version, category FROM port_components WHERE ` + services
}

// The kinds of recordsWithParts' rows.
const (
	recordRow = iota
	bannerRow
	serviceRow
)

// A part read before its record is attached once the statement is done:
// neither database promises the order of a UNION ALL's rows.
type portBanner struct {
	key    merge.PortKey
	banner portolan.HostPortBanner
}

type portService struct {
	key     merge.PortKey
	service portolan.HostPortComponent
}

// readHostPorts runs q (selecting selectHostPorts' columns) with the
// banners and services of its records (recordsWithParts), and returns the
// records in key order (port, protocol, host), the order pages are cut in.
// host is the one host of every record q selects, or "" (PageParts). An
// empty page is an empty list, never nil, as the reference store has it.
func readHostPorts(ctx context.Context, d Dialect, host, q string, args []any) ([]*portolan.HostPort, error) {
	out := []*portolan.HostPort{}
	byKey := map[merge.PortKey]*portolan.HostPort{}
	var banners []portBanner
	var services []portService
	// The row's columns are scanned into one value: one allocation where
	// a variable each would escape on its own.
	r := new(struct {
		kind, times, rank int
		k                 merge.PortKey
		proto, b, c       string
		first, last, scan Instant
		a                 sql.NullString
		dest              [12]any
	})
	r.dest = [12]any{&r.kind, &r.k.Host, &r.k.Port, &r.proto, &r.first, &r.last, &r.scan, &r.times, &r.rank, &r.a, &r.b, &r.c}
	withBanners, bannerArgs := d.PageParts(host, PartBanners)
	withServices, serviceArgs := d.PageParts(host, PartServices)
	if len(bannerArgs)+len(serviceArgs) > 0 {
		args = append(append(slices.Clip(args), bannerArgs...), serviceArgs...)
	}
	err := d.Each(ctx, "find ports", recordsWithParts(q, withBanners, withServices), args, r.dest[:], func() error {
		r.k.Protocol = portolan.Protocol(r.proto)
		switch r.kind {
		case recordRow:
			hp := &portolan.HostPort{
				ID:   portolan.HostPortID(r.k.Host, r.k.Protocol, r.k.Port),
				Host: r.k.Host, Port: r.k.Port, Protocol: r.k.Protocol,
				FirstSeenDateTime: r.first.Time, LastSeenDateTime: r.last.Time, LastScanDateTime: r.scan.Time,
				TimesObserved: r.times,
				// The rank, not the name, is stored: it is what the
				// status rule compares (merge.StatusOfRank).
				Status: merge.StatusOfRank(r.rank),
			}
			if r.a.Valid {
				hp.MostRecentSSLCertificateID = portolan.SSLCertificateID(r.a.String)
			}
			out = append(out, hp)
			byKey[r.k] = hp
		case bannerRow:
			banners = append(banners, portBanner{r.k, portolan.HostPortBanner{Banner: r.a.String, ScanProtocol: r.b, TimesObserved: r.times,
				FirstSeenDateTime: r.first.Time, LastSeenDateTime: r.last.Time}})
		case serviceRow:
			services = append(services, portService{r.k, portolan.HostPortComponent{Component: portolan.Component{Name: r.a.String, Version: r.b, Category: r.c},
				FirstSeenDateTime: r.first.Time, LastSeenDateTime: r.last.Time}})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The dialect's condition may select parts of ports that are not on
	// the page (SQLite reads a range of its index): those are skipped.
	for _, pb := range banners {
		if hp := byKey[pb.key]; hp != nil {
			hp.Banners = append(hp.Banners, pb.banner)
		}
	}
	for _, ps := range services {
		if hp := byKey[ps.key]; hp != nil {
			hp.Services = append(hp.Services, ps.service)
		}
	}
	slices.SortFunc(out, func(x, y *portolan.HostPort) int {
		return cmp.Or(cmp.Compare(x.Port, y.Port), strings.Compare(string(x.Protocol), string(y.Protocol)), strings.Compare(x.Host, y.Host))
	})
	// Parts come in the database's order; Finish sorts them and derives
	// what the record shows of them (merge's rules).
	for _, hp := range out {
		merge.Finish(hp)
	}
	return out, nil
}
