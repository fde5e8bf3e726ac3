// SPDX-License-Identifier: Apache-2.0

package sqlfilter

import (
	"context"
	"fmt"

	"portolan"
)

// componentsFrom is every hostComponent (alias hc): the components of each
// host's ports, first and last seen over the ports, with the id
// portolan.HostComponentID computes.
func componentsFrom(d *Dialect) string {
	return "(SELECT host, name, version, category, min(first_seen) AS first_seen, max(last_seen) AS last_seen, " +
		d.Base64("name || '$$' || version || '$$' || category || '$$' || host") + " AS id " +
		"FROM port_components GROUP BY host, name, version, category) hc"
}

// ComponentSchema maps the paths of hostComponent to componentsFrom.
func ComponentSchema() *Schema {
	return &Schema{
		Columns: map[string]Column{
			"id":                {SQL: "hc.id"},
			"firstSeenDateTime": {SQL: "hc.first_seen"},
			"lastSeenDateTime":  {SQL: "hc.last_seen"},
			"name":              {SQL: "hc.name"},
			"version":           {SQL: "hc.version"},
			"category":          {SQL: "hc.category"},
			"host":              {SQL: "hc.host"},
			"host/id":           {SQL: "hc.host"},
		},
		Tiebreak: []Key{{SQL: "hc.id", Text: true}},
	}
}

// SearchHostComponents runs q over every hostComponent. The host's aliases
// are those of t: host/id eq a hostname finds its addresses' components, as
// hosts/{name}/components lists them.
func SearchHostComponents(ctx context.Context, d *Dialect, s *Schema, t Tables, run Runner, q portolan.SearchQuery) (portolan.Page[*portolan.HostComponent], error) {
	page := portolan.Page[*portolan.HostComponent]{Items: []*portolan.HostComponent{}, Total: -1}
	withAliases := *s
	withAliases.Aliases = func(param string) string {
		return "SELECT address FROM host_aliases WHERE " + t.AliasName + " = " + param
	}
	rows, err := Search(ctx, d, &withAliases, run, componentsFrom(d), "",
		[]string{"hc.host", "hc.name", "hc.version", "hc.category", "hc.first_seen", "hc.last_seen"}, q)
	page.Total, page.Next = rows.Total, rows.Next
	if err != nil {
		return page, err
	}
	for _, r := range rows.Rows {
		x := r[rows.Order:]
		c := &portolan.HostComponent{}
		var ok [4]bool
		c.Host, ok[0] = x[0].(string)
		c.Name, ok[1] = x[1].(string)
		c.Version, ok[2] = x[2].(string)
		c.Category, ok[3] = x[3].(string)
		if ok != [4]bool{true, true, true, true} {
			return page, fmt.Errorf("sqlfilter: component row of types %T %T %T %T", x[0], x[1], x[2], x[3])
		}
		c.ID = portolan.HostComponentID(c.Host, c.Component)
		c.FirstSeenDateTime, c.LastSeenDateTime = d.timeOf(x[4]), d.timeOf(x[5])
		page.Items = append(page.Items, c)
	}
	return page, nil
}

// hostCertificatesFrom is every hostSslCertificate (alias hsc): a
// certificate on a host, first and last seen over its ports, with the id
// portolan.HostSSLCertificateID computes.
func hostCertificatesFrom(d *Dialect) string {
	return "(SELECT host, sha1, min(first_seen) AS first_seen, max(last_seen) AS last_seen, " +
		d.Base64("host || '$$' || sha1") + " AS id FROM host_certificates GROUP BY host, sha1) hsc"
}

// HostCertificateSchema maps the paths of hostSslCertificate to
// hostCertificatesFrom, its ports and its certificate.
func HostCertificateSchema() *Schema {
	s := &Schema{
		Columns: map[string]Column{
			"id":                {SQL: "hsc.id"},
			"firstSeenDateTime": {SQL: "hsc.first_seen"},
			"lastSeenDateTime":  {SQL: "hsc.last_seen"},
			"host":              {SQL: "hsc.host"},
			"host/id":           {SQL: "hsc.host"},
			"sslCertificate":    {SQL: "hsc.sha1"},
		},
		Collections: map[string]Collection{
			"ports": {
				From: "host_certificates {a}",
				Join: "{a}.host = hsc.host AND {a}.sha1 = hsc.sha1",
				Item: "hsc.host, hsc.sha1",
				Elem: "{a}.host, {a}.sha1",
				Columns: map[string]Column{
					"port":              {SQL: "{a}.port"},
					"firstSeenDateTime": {SQL: "{a}.first_seen"},
					"lastSeenDateTime":  {SQL: "{a}.last_seen"},
				},
			},
		},
		Tiebreak: []Key{{SQL: "hsc.id", Text: true}},
	}
	certificateColumns("sslCertificate/", "hsc.sha1", s.Columns, s.Collections)
	return s
}

// SearchHostCertificates runs q over every hostSslCertificate; load returns
// the entities of the page's ids (the store's read, which assembles ports
// and the certificate).
func SearchHostCertificates(ctx context.Context, d *Dialect, s *Schema, t Tables, run Runner, q portolan.SearchQuery,
	load func(ctx context.Context, ids []string) ([]*portolan.HostSSLCertificate, error)) (portolan.Page[*portolan.HostSSLCertificate], error) {
	page := portolan.Page[*portolan.HostSSLCertificate]{Items: []*portolan.HostSSLCertificate{}, Total: -1}
	withAliases := *s
	withAliases.Aliases = func(param string) string {
		return "SELECT address FROM host_aliases WHERE " + t.AliasName + " = " + param
	}
	rows, err := Search(ctx, d, &withAliases, run, hostCertificatesFrom(d), "", nil, q)
	page.Total, page.Next = rows.Total, rows.Next
	if err != nil || len(rows.Rows) == 0 {
		return page, err
	}
	ids := make([]string, len(rows.Rows))
	for i, r := range rows.Rows {
		id, ok := r[rows.Order-1].(string)
		if !ok {
			return page, fmt.Errorf("sqlfilter: hostSslCertificate id of type %T", r[rows.Order-1])
		}
		ids[i] = id
	}
	items, err := load(ctx, ids)
	if err != nil {
		return page, err
	}
	byID := make(map[string]*portolan.HostSSLCertificate, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	for _, id := range ids {
		if it := byID[id]; it != nil {
			page.Items = append(page.Items, it)
		}
	}
	return page, nil
}
