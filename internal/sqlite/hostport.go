// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"portolan"
	"portolan/internal/merge"
	"portolan/internal/sqlstore"
)

// unixTime is a nullable Unix time column.
func unixTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(v.Int64, 0).UTC()
}

// hostMembers returns the host ids a host id covers (itself and, for a
// name, the addresses it was seen with) and whether it was ever observed.
func (db *DB) hostMembers(ctx context.Context, id string) ([]string, bool, error) {
	rows, err := db.query(ctx, `SELECT id FROM hosts WHERE id = ?1 UNION SELECT address FROM host_aliases WHERE name = ?1`, id)
	if err != nil {
		return nil, false, db.storeError("find host", err)
	}
	defer rows.Close()
	members := []string{id}
	found := false
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, false, db.storeError("find host", err)
		}
		found = true
		if m != id {
			members = append(members, m)
		}
	}
	return members, found, db.storeError("find host", rows.Err())
}

// inList returns "?, ?, ?" for n arguments.
func inList(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

const hostPortColumns = `host, port, protocol, first_seen, last_seen, last_scan, times_observed, status_rank, cert_sha1`

// FindHostPorts implements portolan.HostPortService with keyset paging on
// (port, protocol, host). Pages are cached while the data does not change
// (cache.go); the returned records are shared and must not be modified.
func (db *DB) FindHostPorts(ctx context.Context, f portolan.HostPortFilter) ([]*portolan.HostPort, int, error) {
	generation, err := db.currentGeneration(ctx)
	if err != nil {
		return nil, 0, err
	}
	key := pageKey(f)
	if p, ok := db.cache.get(key, generation); ok {
		return p.ports, p.total, nil
	}
	ports, total, err := db.findHostPorts(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	db.cache.put(key, cachedPage{generation: generation, ports: ports, total: total})
	return ports, total, nil
}

func (db *DB) findHostPorts(ctx context.Context, f portolan.HostPortFilter) ([]*portolan.HostPort, int, error) {
	// An address covers only itself (aliases map names to addresses), so
	// its existence need only be checked when it has no ports to show: the
	// common request costs one query less.
	members, checked := []string{f.Host}, false
	if portolan.HostKindOf(f.Host) != portolan.KindIPAddress {
		var ok bool
		var err error
		if members, ok, err = db.hostMembers(ctx, f.Host); err != nil {
			return nil, 0, err
		} else if !ok {
			return nil, 0, merge.HostNotFound(f.Host)
		}
		checked = true
	}
	where := []string{"host IN (" + inList(len(members)) + ")", "first_seen IS NOT NULL"}
	args := anys(members)
	total := -1
	if f.Count {
		if err := db.queryRow(ctx, "SELECT count(*) FROM host_ports WHERE "+strings.Join(where, " AND "), args...).Scan(&total); err != nil {
			return nil, 0, db.storeError("count ports", err)
		}
	}
	if f.After != nil {
		where = append(where, "(port, protocol, host) > (?, ?, ?)")
		args = append(args, f.After.Port, string(f.After.Protocol), f.After.Host)
	}
	q := "SELECT " + hostPortColumns + " FROM host_ports WHERE " + strings.Join(where, " AND ") + " ORDER BY port, protocol, host"
	q, args = limitOffset(q, args, f.Limit, f.Offset)
	ports, err := db.queryHostPorts(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	if len(ports) == 0 && !checked {
		var known bool
		if err := db.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM hosts WHERE id = ?)`, f.Host).Scan(&known); err != nil {
			return nil, 0, db.storeError("find host", err)
		}
		if !known {
			return nil, 0, merge.HostNotFound(f.Host)
		}
	}
	return ports, total, nil
}

func limitOffset(q string, args []any, limit, offset int) (string, []any) {
	if limit <= 0 && offset <= 0 {
		return q, args
	}
	if limit <= 0 {
		limit = -1
	}
	return q + " LIMIT ? OFFSET ?", append(args, limit, offset)
}

// queryHostPorts runs a query selecting hostPortColumns and loads the banners
// and services of the records with one query each.
func (db *DB) queryHostPorts(ctx context.Context, q string, args ...any) ([]*portolan.HostPort, error) {
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, db.storeError("find ports", err)
	}
	defer rows.Close()
	out := []*portolan.HostPort{} // an empty page is [], never null
	byKey := map[merge.PortKey]*portolan.HostPort{}
	hosts := map[string]bool{}
	minPort, maxPort := 65536, -1
	for rows.Next() {
		hp := &portolan.HostPort{}
		var proto string
		var first, last, scan sql.NullInt64
		var rank int
		var cert sql.NullString
		if err := rows.Scan(&hp.Host, &hp.Port, &proto, &first, &last, &scan, &hp.TimesObserved, &rank, &cert); err != nil {
			return nil, db.storeError("read port", err)
		}
		hp.Protocol = portolan.Protocol(proto)
		hp.ID = portolan.HostPortID(hp.Host, hp.Protocol, hp.Port)
		hp.FirstSeenDateTime, hp.LastSeenDateTime, hp.LastScanDateTime = unixTime(first), unixTime(last), unixTime(scan)
		hp.Status = merge.StatusOfRank(rank)
		if cert.Valid {
			hp.MostRecentSSLCertificateID = portolan.SSLCertificateID(cert.String)
		}
		out = append(out, hp)
		byKey[merge.PortKey{Host: hp.Host, Protocol: hp.Protocol, Port: hp.Port}] = hp
		hosts[hp.Host] = true
		minPort, maxPort = min(minPort, hp.Port), max(maxPort, hp.Port)
	}
	if err := rows.Err(); err != nil {
		return nil, db.storeError("read ports", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	hostList := make([]string, 0, len(hosts))
	for h := range hosts {
		hostList = append(hostList, h)
	}
	// The parts of the page's records: one range scan per table on the
	// (host, port) prefix of its key, filtered to the page's exact keys.
	partArgs := append(anys(hostList), minPort, maxPort)
	partWhere := " WHERE host IN (" + inList(len(hostList)) + ") AND port BETWEEN ? AND ?"
	brows, err := db.query(ctx, "SELECT host, port, protocol, banner, scan_protocol, first_seen, last_seen, times_observed FROM banners"+partWhere, partArgs...)
	if err != nil {
		return nil, db.storeError("find banners", err)
	}
	defer brows.Close()
	for brows.Next() {
		var k merge.PortKey
		var proto string
		var b portolan.HostPortBanner
		var first, last int64
		if err := brows.Scan(&k.Host, &k.Port, &proto, &b.Banner, &b.ScanProtocol, &first, &last, &b.TimesObserved); err != nil {
			return nil, db.storeError("read banner", err)
		}
		k.Protocol = portolan.Protocol(proto)
		if hp := byKey[k]; hp != nil {
			b.FirstSeenDateTime, b.LastSeenDateTime = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
			hp.Banners = append(hp.Banners, b)
		}
	}
	if err := brows.Err(); err != nil {
		return nil, db.storeError("read banners", err)
	}
	crows, err := db.query(ctx, "SELECT host, port, protocol, name, version, category, first_seen, last_seen FROM port_components"+partWhere, partArgs...)
	if err != nil {
		return nil, db.storeError("find services", err)
	}
	defer crows.Close()
	for crows.Next() {
		var k merge.PortKey
		var proto string
		var s portolan.HostPortComponent
		var first, last int64
		if err := crows.Scan(&k.Host, &k.Port, &proto, &s.Component.Name, &s.Component.Version, &s.Component.Category, &first, &last); err != nil {
			return nil, db.storeError("read service", err)
		}
		k.Protocol = portolan.Protocol(proto)
		if hp := byKey[k]; hp != nil {
			s.FirstSeenDateTime, s.LastSeenDateTime = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
			hp.Services = append(hp.Services, s)
		}
	}
	if err := crows.Err(); err != nil {
		return nil, db.storeError("read services", err)
	}
	for _, hp := range out {
		merge.Finish(hp)
	}
	return out, nil
}

// FindHostPortByID implements portolan.HostPortService.
func (db *DB) FindHostPortByID(ctx context.Context, id string) (*portolan.HostPort, error) {
	return sqlstore.HostPortByID(ctx, id, func(ctx context.Context, host string, protocol portolan.Protocol, port int) ([]*portolan.HostPort, error) {
		return db.queryHostPorts(ctx, "SELECT "+hostPortColumns+" FROM host_ports WHERE host = ? AND port = ? AND protocol = ? AND first_seen IS NOT NULL",
			host, port, string(protocol))
	})
}
