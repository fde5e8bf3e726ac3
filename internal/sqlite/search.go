// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"

	"portolan"
	"portolan/internal/sqlfilter"
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
	False:   "0",
	NoLimit: "-1",
}

// hostPortSchema maps the paths of hostPort to host_ports (alias hp) and the
// tables of its banners and services.
var hostPortSchema = &sqlfilter.Schema{
	Columns: map[string]sqlfilter.Column{
		"id": {SQL: "hp.host", Key: func(id string, b *sqlfilter.Builder) string {
			host, protocol, port, ok := portolan.ParseHostPortID(id)
			if !ok {
				return "0"
			}
			return "(hp.host = " + b.Param(host) + " AND hp.port = " + b.Param(int64(port)) + " AND hp.protocol = " + b.Param(string(protocol)) + ")"
		}},
		"port":                     {SQL: "hp.port"},
		"firstSeenDateTime":        {SQL: "hp.first_seen"},
		"lastSeenDateTime":         {SQL: "hp.last_seen"},
		"lastScanDateTime":         {SQL: "hp.last_scan"},
		"timesObserved":            {SQL: "hp.times_observed"},
		"status":                   {SQL: "hp.status_rank", Enum: statusRanks, Order: "(3 - hp.status_rank)"},
		"protocol":                 {SQL: "hp.protocol", Enum: map[string]any{"tcp": "tcp", "udp": "udp"}},
		"mostRecentSslCertificate": {SQL: "hp.cert_sha1"},
		"host":                     {SQL: "hp.host"},
		"host/id":                  {SQL: "hp.host"},
	},
	Collections: map[string]sqlfilter.Collection{
		"services": {
			From: "port_components {a}",
			Join: "{a}.host = hp.host AND {a}.port = hp.port AND {a}.protocol = hp.protocol",
			Columns: map[string]sqlfilter.Column{
				"component/name":     {SQL: "{a}.name"},
				"component/version":  {SQL: "{a}.version"},
				"component/category": {SQL: "{a}.category"},
				"component/host/id":  {SQL: "{a}.host"},
				"firstSeenDateTime":  {SQL: "{a}.first_seen"},
				"lastSeenDateTime":   {SQL: "{a}.last_seen"},
				// portolan.IsRecentComponent: at or after the newest banner,
				// or without banners within RecentWindow of the last scan.
				"isRecent": {SQL: fmt.Sprintf("({a}.last_seen >= COALESCE((SELECT max(rb.last_seen) FROM banners rb WHERE rb.host = hp.host AND rb.port = hp.port AND rb.protocol = hp.protocol), hp.last_scan - %d))", int64(portolan.RecentWindow/time.Second))},
			},
		},
		"banners": {
			From: "banners {a}",
			Join: "{a}.host = hp.host AND {a}.port = hp.port AND {a}.protocol = hp.protocol",
			Columns: map[string]sqlfilter.Column{
				"banner":            {SQL: "{a}.banner"},
				"scanProtocol":      {SQL: "{a}.scan_protocol"},
				"firstSeenDateTime": {SQL: "{a}.first_seen"},
				"lastSeenDateTime":  {SQL: "{a}.last_seen"},
				"timesObserved":     {SQL: "{a}.times_observed"},
			},
		},
	},
	Aliases:  func(param string) string { return "SELECT address FROM host_aliases WHERE name = " + param },
	Tiebreak: []string{"hp.host", "hp.port", "hp.protocol"},
}

// statusRanks are the stored values of the hostPortStatus members.
var statusRanks = map[string]any{
	string(portolan.StatusOpen):     int64(portolan.StatusOpen.Rank()),
	string(portolan.StatusFiltered): int64(portolan.StatusFiltered.Rank()),
	string(portolan.StatusClosed):   int64(portolan.StatusClosed.Rank()),
}

// SearchHostPorts implements portolan.SearchService: one query for the
// page's keys in order, one for their records, and one for the count.
func (db *DB) SearchHostPorts(ctx context.Context, q portolan.SearchQuery) (portolan.Page[*portolan.HostPort], error) {
	page := portolan.Page[*portolan.HostPort]{Items: []*portolan.HostPort{}, Total: -1}
	plan, err := sqlfilter.NewPlan(dialect, hostPortSchema, "host_ports hp", "hp.first_seen IS NOT NULL", q)
	if err != nil {
		return page, err
	}
	if plan.CountSQL != "" {
		if err := db.read.QueryRowContext(ctx, plan.CountSQL, plan.CountArgs...).Scan(&page.Total); err != nil {
			return page, db.storeError("count ports", err)
		}
	}
	rows, err := db.read.QueryContext(ctx, plan.PageSQL, plan.PageArgs...)
	if err != nil {
		return page, db.storeError("search ports", err)
	}
	defer rows.Close()
	var keys [][]any
	for rows.Next() {
		values := make([]any, len(hostPortSchema.Tiebreak)+len(q.OrderBy))
		ptrs := make([]any, len(values))
		for i := range values {
			ptrs[i] = &values[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return page, db.storeError("search ports", err)
		}
		keys = append(keys, values)
	}
	if err := rows.Err(); err != nil {
		return page, db.storeError("search ports", err)
	}
	rows.Close()
	if q.Top > 0 && len(keys) > q.Top {
		keys = keys[:q.Top]
		page.Next = plan.Next(keys[len(keys)-1])
	}
	if len(keys) == 0 {
		return page, nil
	}
	// The records of the page, by key, in the page's order.
	var in strings.Builder
	args := make([]any, 0, 3*len(keys))
	for i, k := range keys {
		if i > 0 {
			in.WriteString(", ")
		}
		in.WriteString("(?, ?, ?)")
		args = append(args, k[len(k)-3:]...)
	}
	records, err := db.queryHostPorts(ctx, "SELECT "+hostPortColumns+" FROM host_ports WHERE (host, port, protocol) IN (VALUES "+in.String()+")", args...)
	if err != nil {
		return page, err
	}
	byID := make(map[string]*portolan.HostPort, len(records))
	for _, hp := range records {
		byID[hp.ID] = hp
	}
	for _, k := range keys {
		n := len(k)
		host, _ := k[n-3].(string)
		port, _ := k[n-2].(int64)
		protocol, _ := k[n-1].(string)
		if hp := byID[portolan.HostPortID(host, portolan.Protocol(protocol), int(port))]; hp != nil {
			page.Items = append(page.Items, hp)
		}
	}
	return page, nil
}
