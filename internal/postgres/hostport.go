// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/merge"
	"portolan/internal/sqlstore"
)

// utc returns a nullable instant read from the database in UTC (pgx returns
// timestamptz in the local zone), the zero time for NULL.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// hostMembers returns the host ids a host id covers (itself and, for a
// name, the addresses it was seen with) and whether it was ever observed.
func (db *DB) hostMembers(ctx context.Context, id string) ([]string, bool, error) {
	rows, _ := db.pool.Query(ctx, `SELECT host FROM hosts WHERE host = $1 UNION SELECT address FROM host_aliases WHERE host = $1`, id)
	members := []string{id}
	found := false
	var m string
	_, err := pgx.ForEachRow(rows, []any{&m}, func() error {
		found = true
		if m != id {
			members = append(members, m)
		}
		return nil
	})
	if err != nil {
		return nil, false, storeError("find host", err)
	}
	return members, found, nil
}

// pageClause appends LIMIT and OFFSET (none when both are zero) and their
// arguments.
func pageClause(q string, args []any, limit, offset int) (string, []any) {
	if limit > 0 {
		args = append(args, limit)
		q += " LIMIT $" + strconv.Itoa(len(args))
	}
	if offset > 0 {
		args = append(args, offset)
		q += " OFFSET $" + strconv.Itoa(len(args))
	}
	return q, args
}

const hostPortColumns = `host, port, protocol, first_seen, last_seen, last_scan, times_observed, status_rank, cert_sha1`

// FindHostPorts implements portolan.HostPortService with keyset paging on
// (port, protocol, host).
func (db *DB) FindHostPorts(ctx context.Context, f portolan.HostPortFilter) ([]*portolan.HostPort, int, error) {
	members, ok, err := db.hostMembers(ctx, f.Host)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, merge.HostNotFound(f.Host)
	}
	where := "host = ANY($1) AND first_seen IS NOT NULL"
	args := []any{members}
	total := -1
	if f.Count {
		if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM host_ports WHERE "+where, args...).Scan(&total); err != nil {
			return nil, 0, storeError("count ports", err)
		}
	}
	if f.After != nil {
		where += " AND (port, protocol, host) > ($2, $3, $4)"
		args = append(args, f.After.Port, string(f.After.Protocol), f.After.Host)
	}
	q, args := pageClause("SELECT "+hostPortColumns+" FROM host_ports WHERE "+where+" ORDER BY port, protocol, host", args, f.Limit, f.Offset)
	ports, err := db.queryHostPorts(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	return ports, total, nil
}

// queryHostPorts runs a query selecting hostPortColumns and loads the banners
// and services of the records, each with one query on the page's exact
// keys.
func (db *DB) queryHostPorts(ctx context.Context, q string, args ...any) ([]*portolan.HostPort, error) {
	rows, _ := db.pool.Query(ctx, q, args...)
	// An empty page is an empty list, not nil, as the reference store has it.
	out := []*portolan.HostPort{}
	byKey := map[merge.PortKey]*portolan.HostPort{}
	var keyHosts, keyProtos []string
	var keyPorts []int32
	var proto string
	var first, last *time.Time
	var scan time.Time
	var rank int
	var cert *string
	for rows.Next() {
		hp := &portolan.HostPort{}
		if err := rows.Scan(&hp.Host, &hp.Port, &proto, &first, &last, &scan, &hp.TimesObserved, &rank, &cert); err != nil {
			rows.Close()
			return nil, storeError("read port", err)
		}
		hp.Protocol = portolan.Protocol(proto)
		hp.ID = portolan.HostPortID(hp.Host, hp.Protocol, hp.Port)
		hp.FirstSeenDateTime, hp.LastSeenDateTime, hp.LastScanDateTime = utc(first), utc(last), scan.UTC()
		hp.Status = merge.StatusOfRank(rank)
		if cert != nil {
			hp.MostRecentSSLCertificateID = portolan.SSLCertificateID(*cert)
		}
		out = append(out, hp)
		byKey[merge.PortKey{Host: hp.Host, Protocol: hp.Protocol, Port: hp.Port}] = hp
		keyHosts, keyPorts, keyProtos = append(keyHosts, hp.Host), append(keyPorts, int32(hp.Port)), append(keyProtos, proto)
	}
	if err := rows.Err(); err != nil {
		return nil, storeError("find ports", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	keys := `(host, port, protocol) IN (SELECT * FROM unnest($1::text[], $2::integer[], $3::text[]))`
	var k merge.PortKey
	var b portolan.HostPortBanner
	var bFirst, bLast time.Time
	_, err := pgx.ForEachRow(db.queryRows(ctx, "SELECT host, port, protocol, banner, scan_protocol, first_seen, last_seen, times_observed FROM banners WHERE "+keys,
		keyHosts, keyPorts, keyProtos),
		[]any{&k.Host, &k.Port, &proto, &b.Banner, &b.ScanProtocol, &bFirst, &bLast, &b.TimesObserved}, func() error {
			k.Protocol = portolan.Protocol(proto)
			if hp := byKey[k]; hp != nil {
				b.FirstSeenDateTime, b.LastSeenDateTime = bFirst.UTC(), bLast.UTC()
				hp.Banners = append(hp.Banners, b)
			}
			return nil
		})
	if err != nil {
		return nil, storeError("find banners", err)
	}
	var s portolan.HostPortComponent
	_, err = pgx.ForEachRow(db.queryRows(ctx, "SELECT host, port, protocol, name, version, category, first_seen, last_seen FROM port_components WHERE "+keys,
		keyHosts, keyPorts, keyProtos),
		[]any{&k.Host, &k.Port, &proto, &s.Component.Name, &s.Component.Version, &s.Component.Category, &bFirst, &bLast}, func() error {
			k.Protocol = portolan.Protocol(proto)
			if hp := byKey[k]; hp != nil {
				s.FirstSeenDateTime, s.LastSeenDateTime = bFirst.UTC(), bLast.UTC()
				hp.Services = append(hp.Services, s)
			}
			return nil
		})
	if err != nil {
		return nil, storeError("find services", err)
	}
	for _, hp := range out {
		merge.Finish(hp)
	}
	return out, nil
}

// queryRows runs a query on the pool; its error surfaces from the rows.
func (db *DB) queryRows(ctx context.Context, q string, args ...any) pgx.Rows {
	rows, _ := db.pool.Query(ctx, q, args...)
	return rows
}

// FindHostPortByID implements portolan.HostPortService. The id holds the
// key, host included, so the lookup is one primary-key read (one shard).
func (db *DB) FindHostPortByID(ctx context.Context, id string) (*portolan.HostPort, error) {
	return sqlstore.HostPortByID(ctx, id, func(ctx context.Context, host string, protocol portolan.Protocol, port int) ([]*portolan.HostPort, error) {
		return db.queryHostPorts(ctx, "SELECT "+hostPortColumns+" FROM host_ports WHERE host = $1 AND port = $2 AND protocol = $3 AND first_seen IS NOT NULL",
			host, port, string(protocol))
	})
}
