// SPDX-License-Identifier: Apache-2.0

package sqlfilter

import (
	"context"
	"fmt"

	"portolan"
	"portolan/internal/merge"
)

// Tables are the few things in which the stores' tables of hostPort records
// differ; the tables and columns are otherwise the same (host_ports as hp,
// banners, port_components, host_aliases).
type Tables struct {
	// RecentSince is SQL for the instant merge.RecentWindow before
	// hp.last_scan.
	RecentSince string
	// AliasName is the column of host_aliases that holds the hostname.
	AliasName string
	// HostID is the column of hosts that holds the host id.
	HostID string
}

// statusRanks are the stored values (merge.StatusRank) of the
// hostPortStatus members.
var statusRanks = map[string]any{
	string(portolan.StatusOpen):     int64(merge.StatusRank(portolan.StatusOpen)),
	string(portolan.StatusFiltered): int64(merge.StatusRank(portolan.StatusFiltered)),
	string(portolan.StatusClosed):   int64(merge.StatusRank(portolan.StatusClosed)),
}

// HostPortSchema maps the paths of hostPort to the stores' tables.
func HostPortSchema(t Tables) *Schema {
	port := "{a}.host = hp.host AND {a}.port = hp.port AND {a}.protocol = hp.protocol"
	s := &Schema{
		Columns: map[string]Column{
			"id": {SQL: "hp.host", Key: func(id string, b *Builder) string {
				host, protocol, port, ok := portolan.ParseHostPortID(id)
				if !ok {
					return b.Dialect.False
				}
				return "(hp.host = " + b.Param(host) + " AND hp.port = " + b.Param(int64(port)) + " AND hp.protocol = " + b.Param(string(protocol)) + ")"
			}},
			"port":              {SQL: "hp.port"},
			"firstSeenDateTime": {SQL: "hp.first_seen"},
			"lastSeenDateTime":  {SQL: "hp.last_seen"},
			"lastScanDateTime":  {SQL: "hp.last_scan"},
			"timesObserved":     {SQL: "hp.times_observed"},
			// Ranks run the other way from the members' order (open first).
			"status":                   {SQL: "hp.status_rank", Enum: statusRanks, Order: "(3 - hp.status_rank)"},
			"protocol":                 {SQL: "hp.protocol", Enum: map[string]any{"tcp": "tcp", "udp": "udp"}},
			"mostRecentSslCertificate": {SQL: "hp.cert_sha1"},
			"host":                     {SQL: "hp.host"},
			"host/id":                  {SQL: "hp.host"},
		},
		Collections: map[string]Collection{
			"services": {
				From: "port_components {a}",
				Join: port,
				Item: "hp.host, hp.port, hp.protocol",
				Elem: "{a}.host, {a}.port, {a}.protocol",
				Columns: map[string]Column{
					"component/name":     {SQL: "{a}.name"},
					"component/version":  {SQL: "{a}.version"},
					"component/category": {SQL: "{a}.category"},
					"component/host/id":  {SQL: "{a}.host"},
					"firstSeenDateTime":  {SQL: "{a}.first_seen"},
					"lastSeenDateTime":   {SQL: "{a}.last_seen"},
					// merge.IsRecent restated in SQL: at or after the
					// newest banner's lastSeen or, without banners, within
					// merge.RecentWindow before the last scan.
					"isRecent": {SQL: "({a}.last_seen >= COALESCE((SELECT max(rb.last_seen) FROM banners rb WHERE rb.host = hp.host AND rb.port = hp.port AND rb.protocol = hp.protocol), " + t.RecentSince + "))"},
				},
			},
			"banners": {
				From: "banners {a}",
				Join: port,
				Item: "hp.host, hp.port, hp.protocol",
				Elem: "{a}.host, {a}.port, {a}.protocol",
				Columns: map[string]Column{
					"banner":            {SQL: "{a}.banner"},
					"scanProtocol":      {SQL: "{a}.scan_protocol"},
					"firstSeenDateTime": {SQL: "{a}.first_seen"},
					"lastSeenDateTime":  {SQL: "{a}.last_seen"},
					"timesObserved":     {SQL: "{a}.times_observed"},
				},
			},
		},
		Aliases: func(param string) string {
			return "SELECT address FROM host_aliases WHERE " + t.AliasName + " = " + param
		},
		Tiebreak: []Key{{SQL: "hp.host", Text: true}, {SQL: "hp.port"}, {SQL: "hp.protocol", Text: true}},
	}
	certificateColumns("mostRecentSslCertificate/", "hp.cert_sha1", s.Columns, s.Collections)
	// The expiry is also kept on the record (host_ports.cert_not_after,
	// set with cert_sha1 by the same upsert), with an index in
	// (expiry, key) order: "expiring soonest" is then a walk of that index
	// that stops after a page, not a sort of every match.
	s.Columns["mostRecentSslCertificate/expirationDateTime"] = Column{SQL: "hp.cert_not_after"}
	return s
}

// Runner is what a store does for a search: run the planned SQL and load
// records.
type Runner interface {
	// Count runs a count query.
	Count(ctx context.Context, sql string, args []any) (int, error)
	// Rows runs a query and returns each row's values as scanned into
	// *any.
	Rows(ctx context.Context, sql string, args []any, width int) ([][]any, error)
	// HostPorts returns the records of keys, in any order.
	HostPorts(ctx context.Context, keys []merge.PortKey) ([]*portolan.HostPort, error)
}

// Rows is one page of a search as the store's rows: each row holds the
// values of the ordering (keys, then the schema's tiebreak columns), then
// those of the extra columns asked for.
type Rows struct {
	Rows  [][]any
	Total int
	Next  string
	// Order is how many leading values of a row are the ordering's.
	Order int
}

// Search runs q over from (a table or subquery with its alias) where base
// holds, selecting extra columns after the ordering's: one query for the
// page and one for the count when asked. A negative q.Top asks for the
// count alone.
func Search(ctx context.Context, d *Dialect, s *Schema, run Runner, from, base string, extra []string, q portolan.SearchQuery) (Rows, error) {
	out := Rows{Total: -1, Order: len(q.OrderBy) + len(s.Tiebreak)}
	plan, err := NewPlan(d, s, from, base, q, extra)
	if err != nil {
		return out, err
	}
	if plan.CountSQL != "" {
		if out.Total, err = run.Count(ctx, plan.CountSQL, plan.CountArgs); err != nil {
			return out, err
		}
	}
	if q.Top < 0 {
		return out, nil // the count alone
	}
	rows, err := run.Rows(ctx, plan.PageSQL, plan.PageArgs, out.Order+len(extra))
	if err != nil {
		return out, err
	}
	if q.Top > 0 && len(rows) > q.Top {
		rows = rows[:q.Top]
		out.Next = plan.Next(rows[len(rows)-1][:out.Order])
	}
	out.Rows = rows
	return out, nil
}

// SearchHostPorts runs q over a store's hostPort tables: the page's keys in
// order, then (the store's) query for their records.
func SearchHostPorts(ctx context.Context, d *Dialect, s *Schema, run Runner, q portolan.SearchQuery) (portolan.Page[*portolan.HostPort], error) {
	page := portolan.Page[*portolan.HostPort]{Items: []*portolan.HostPort{}, Total: -1}
	rows, err := Search(ctx, d, s, run, "host_ports hp", "hp.first_seen IS NOT NULL", nil, q)
	page.Total, page.Next = rows.Total, rows.Next
	if err != nil || len(rows.Rows) == 0 {
		return page, err
	}
	keys := make([]merge.PortKey, len(rows.Rows))
	for i, r := range rows.Rows {
		n := len(r)
		host, ok1 := r[n-3].(string)
		port, ok2 := asInt64(r[n-2])
		protocol, ok3 := r[n-1].(string)
		if !ok1 || !ok2 || !ok3 {
			return page, fmt.Errorf("sqlfilter: unexpected key types %T, %T, %T", r[n-3], r[n-2], r[n-1])
		}
		keys[i] = merge.PortKey{Host: host, Port: int(port), Protocol: portolan.Protocol(protocol)}
	}
	records, err := run.HostPorts(ctx, keys)
	if err != nil {
		return page, err
	}
	byID := make(map[string]*portolan.HostPort, len(records))
	for _, hp := range records {
		byID[hp.ID] = hp
	}
	for _, k := range keys {
		// A record that a concurrent rebuild removed is left out rather
		// than failing the page.
		if hp := byID[portolan.HostPortID(k.Host, k.Protocol, k.Port)]; hp != nil {
			page.Items = append(page.Items, hp)
		}
	}
	return page, nil
}

func asInt64(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case int32:
		return int64(v), true
	case int16:
		return int64(v), true
	case int:
		return int64(v), true
	}
	return 0, false
}
