// SPDX-License-Identifier: Apache-2.0

package sqlstore

import (
	"context"
	"database/sql"

	"portolan"
	"portolan/internal/merge"
)

// hostPortSelect reads the columns of a hostPort record from host_ports,
// which both schemas name alike. A row is a record only once an open
// observation arrived (first_seen not NULL): rows of ports only ever seen
// closed or filtered are kept, hidden, so that a later open observation
// finds their scan figures and the order of ingestion does not matter.
const hostPortSelect = `SELECT host, port, protocol, first_seen, last_seen, last_scan, times_observed, status_rank, cert_sha1
	FROM host_ports WHERE `

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
	q, args := d.Page(hostPortSelect+where+" ORDER BY port, protocol, host", args, f.Limit, f.Offset)
	ports, err := readHostPorts(ctx, d, q, args)
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
		ports, err := readHostPorts(ctx, d, hostPortSelect+"host = ? AND port = ? AND protocol = ? AND first_seen IS NOT NULL",
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
func HostPortsByKeys(ctx context.Context, d Dialect, keys []merge.PortKey) ([]*portolan.HostPort, error) {
	cond, args := d.PortKeys(keys)
	return readHostPorts(ctx, d, hostPortSelect+cond, args)
}

// readHostPorts runs q (selecting hostPortSelect's columns) and loads the
// banners and services of its records with one query each. An empty page
// is an empty list, never nil, as the reference store has it.
func readHostPorts(ctx context.Context, d Dialect, q string, args []any) ([]*portolan.HostPort, error) {
	out := []*portolan.HostPort{}
	byKey := map[merge.PortKey]*portolan.HostPort{}
	var keys []merge.PortKey
	var k merge.PortKey
	var proto string
	var first, last, scan Instant
	var times, rank int
	var cert sql.NullString
	err := d.Each(ctx, "find ports", q, args, []any{&k.Host, &k.Port, &proto, &first, &last, &scan, &times, &rank, &cert}, func() error {
		k.Protocol = portolan.Protocol(proto)
		hp := &portolan.HostPort{
			ID:   portolan.HostPortID(k.Host, k.Protocol, k.Port),
			Host: k.Host, Port: k.Port, Protocol: k.Protocol,
			FirstSeenDateTime: first.Time, LastSeenDateTime: last.Time, LastScanDateTime: scan.Time,
			TimesObserved: times,
			// The rank, not the name, is stored: it is what the
			// status rule compares (merge.StatusOfRank).
			Status: merge.StatusOfRank(rank),
		}
		if cert.Valid {
			hp.MostRecentSSLCertificateID = portolan.SSLCertificateID(cert.String)
		}
		out = append(out, hp)
		byKey[k] = hp
		keys = append(keys, k)
		return nil
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	// The parts of the page's records. The dialect's condition may match
	// more rows than the page's keys (SQLite reads a range of its index),
	// so a part whose key is not on the page is skipped.
	cond, partArgs := d.PortParts(keys)
	var b portolan.HostPortBanner
	err = d.Each(ctx, "find banners", "SELECT host, port, protocol, banner, scan_protocol, first_seen, last_seen, times_observed FROM banners WHERE "+cond, partArgs,
		[]any{&k.Host, &k.Port, &proto, &b.Banner, &b.ScanProtocol, &first, &last, &b.TimesObserved}, func() error {
			k.Protocol = portolan.Protocol(proto)
			if hp := byKey[k]; hp != nil {
				b.FirstSeenDateTime, b.LastSeenDateTime = first.Time, last.Time
				hp.Banners = append(hp.Banners, b)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	var s portolan.HostPortComponent
	err = d.Each(ctx, "find services", "SELECT host, port, protocol, name, version, category, first_seen, last_seen FROM port_components WHERE "+cond, partArgs,
		[]any{&k.Host, &k.Port, &proto, &s.Component.Name, &s.Component.Version, &s.Component.Category, &first, &last}, func() error {
			k.Protocol = portolan.Protocol(proto)
			if hp := byKey[k]; hp != nil {
				s.FirstSeenDateTime, s.LastSeenDateTime = first.Time, last.Time
				hp.Services = append(hp.Services, s)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	// Parts come in the database's order; Finish sorts them and derives
	// what the record shows of them (merge's rules).
	for _, hp := range out {
		merge.Finish(hp)
	}
	return out, nil
}
