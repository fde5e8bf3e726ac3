// SPDX-License-Identifier: Apache-2.0

package sqlfilter

import (
	"context"
	"fmt"
	"time"

	"portolan"
)

// hostsFrom is every host as hosts/{id} answers it: the hosts observed and
// the hostnames scanners named, first and last seen spanning both
// (portolan.HostService.FindHostByID).
func hostsFrom(t Tables) string {
	return "(SELECT id, min(first_seen) AS first_seen, max(last_seen) AS last_seen FROM (" +
		"SELECT " + t.HostID + " AS id, first_seen, last_seen FROM hosts UNION ALL " +
		"SELECT " + t.AliasName + " AS id, first_seen, last_seen FROM host_aliases) u GROUP BY id) h"
}

// HostSchema maps the paths of host to the hosts of hostsFrom (alias h).
func HostSchema() *Schema {
	return &Schema{
		Columns: map[string]Column{
			"id":                {SQL: "h.id"},
			"firstSeenDateTime": {SQL: "h.first_seen"},
			"lastSeenDateTime":  {SQL: "h.last_seen"},
		},
		Tiebreak: []Key{{SQL: "h.id", Text: true}},
	}
}

// SearchHosts runs q over every host.
func SearchHosts(ctx context.Context, d *Dialect, s *Schema, t Tables, run Runner, q portolan.SearchQuery) (portolan.Page[*portolan.Host], error) {
	page := portolan.Page[*portolan.Host]{Items: []*portolan.Host{}, Total: -1}
	rows, err := Search(ctx, d, s, run, hostsFrom(t), "", []string{"h.first_seen", "h.last_seen"}, q)
	page.Total, page.Next = rows.Total, rows.Next
	if err != nil {
		return page, err
	}
	for _, r := range rows.Rows {
		id, ok := r[rows.Order-1].(string)
		if !ok {
			return page, fmt.Errorf("sqlfilter: host id of type %T", r[rows.Order-1])
		}
		h := &portolan.Host{ID: id, Kind: portolan.HostKindOf(id)}
		h.FirstSeenDateTime = d.timeOf(r[rows.Order])
		h.LastSeenDateTime = d.timeOf(r[rows.Order+1])
		page.Items = append(page.Items, h)
	}
	return page, nil
}

// timeOf reads a scanned time column (NULL is the zero time).
func (d *Dialect) timeOf(v any) time.Time {
	if v == nil {
		return time.Time{}
	}
	t, _ := d.FromTime(v)
	return t.UTC()
}
