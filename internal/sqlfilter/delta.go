// SPDX-License-Identifier: Apache-2.0

package sqlfilter

import (
	"context"
	"fmt"
	"strings"

	"portolan"
	"portolan/internal/merge"
)

// This file answers delta pages (search-and-changes.md §4) from the change
// record both stores keep in record_changes (collection, position, id,
// kinds): which items changed in a range of positions, each once, and their
// current state with the filter evaluated by the store's SQL, so that a
// delta and a search never disagree about what matches.

// keyList is the right-hand side of `(columns) IN (...)` for the rows of
// values keys, whose SQL types are types, adding the parameters to b.
func keyList(b *Builder, types []string, keys [][]any) string {
	rows := make([]string, len(keys))
	for i, k := range keys {
		ps := make([]string, len(k))
		for j, v := range k {
			ps[j] = b.Param(v)
			if b.Dialect.Typed != nil {
				ps[j] = b.Dialect.Typed(ps[j], types[j])
			}
		}
		rows[i] = "(" + strings.Join(ps, ", ") + ")"
	}
	return "VALUES " + strings.Join(rows, ", ")
}

// changedIDs returns the ids of one page of the items of coll changed in
// [q.Since, q.Until): each at its last change in the range, in (position,
// id) order, so that a page boundary never splits or repeats an item. next
// is the position after the page, "" on the last page.
func changedIDs(ctx context.Context, d *Dialect, run Runner, coll portolan.ChangeCollection, q portolan.DeltaQuery) (ids []string, next string, err error) {
	b := &Builder{Dialect: d}
	top := max(q.Top, 1)
	until := b.Param(q.Until)
	conds := []string{
		"c.collection = " + b.Param(int64(coll)),
		"c.position >= " + b.Param(q.Since),
		"c.position < " + until,
		"NOT EXISTS (SELECT 1 FROM record_changes l WHERE l.collection = c.collection AND l.id = c.id AND l.position > c.position AND l.position < " + until + ")",
	}
	if q.After != "" {
		pos, err := d.DecodeCursor(q.After)
		if err != nil || len(pos) != 2 {
			return nil, "", invalidToken()
		}
		if _, ok := asInt64(pos[0]); !ok {
			return nil, "", invalidToken()
		}
		if _, ok := pos[1].(string); !ok {
			return nil, "", invalidToken()
		}
		conds = append(conds, "(c.position > "+b.Param(pos[0])+" OR (c.position = "+b.Param(pos[0])+" AND c.id > "+b.Param(pos[1])+"))")
	}
	sql := "SELECT c.position, c.id FROM record_changes c WHERE " + strings.Join(conds, " AND ") +
		" ORDER BY c.position, c.id LIMIT " + b.Param(int64(top)+1)
	rows, err := run.Rows(ctx, sql, b.Args, 2)
	if err != nil {
		return nil, "", err
	}
	if len(rows) > top {
		rows = rows[:top]
		next = d.EncodeCursor(rows[len(rows)-1])
	}
	for _, r := range rows {
		id, ok := r[1].(string)
		if !ok {
			return nil, "", fmt.Errorf("sqlfilter: change id of type %T", r[1])
		}
		ids = append(ids, id)
	}
	return ids, next, nil
}

// matches reads the boolean a page query selected for the filter.
func matches(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case int64:
		return v != 0
	}
	return false
}

// filterColumn is the SQL selecting whether a row matches the filter (true
// without one).
func filterColumn(b *Builder, s *Schema, filter portolan.Expr) (string, error) {
	if filter == nil {
		return "1 = 1", nil
	}
	w, err := b.Where(filter, s)
	if err != nil {
		return "", err
	}
	return "COALESCE(" + w + ", " + b.Dialect.False + ")", nil
}

// deltaEntries orders the entries of a page as its ids: the item when it
// matches, removed when it exists and does not, gone when it does not exist.
func deltaEntries[T any](ids []string, items map[string]T, exists map[string]bool) []portolan.DeltaEntry[T] {
	out := make([]portolan.DeltaEntry[T], 0, len(ids))
	for _, id := range ids {
		if item, ok := items[id]; ok {
			out = append(out, portolan.DeltaEntry[T]{ID: id, Item: item})
		} else {
			out = append(out, portolan.DeltaEntry[T]{ID: id, Removed: true, Gone: !exists[id]})
		}
	}
	return out
}

// HostPortChanges answers portolan.ChangeService.HostPortChanges.
func HostPortChanges(ctx context.Context, d *Dialect, s *Schema, run Runner, q portolan.DeltaQuery) (portolan.DeltaPage[*portolan.HostPort], error) {
	page := portolan.DeltaPage[*portolan.HostPort]{Entries: []portolan.DeltaEntry[*portolan.HostPort]{}}
	ids, next, err := changedIDs(ctx, d, run, portolan.ChangedHostPorts, q)
	page.Next = next
	if err != nil || len(ids) == 0 {
		return page, err
	}
	b := &Builder{Dialect: d}
	match, err := filterColumn(b, s, q.Filter)
	if err != nil {
		return page, err
	}
	var keys [][]any
	for _, id := range ids {
		if host, protocol, port, ok := portolan.ParseHostPortID(id); ok {
			keys = append(keys, []any{host, int64(port), string(protocol)})
		}
	}
	exists := map[string]bool{}
	var matching []merge.PortKey
	if len(keys) > 0 {
		list := keyList(b, []string{"text", "integer", "text"}, keys)
		rows, err := run.Rows(ctx, "SELECT hp.host, hp.port, hp.protocol, "+match+" FROM host_ports hp WHERE hp.first_seen IS NOT NULL AND (hp.host, hp.port, hp.protocol) IN ("+list+")", b.Args, 4)
		if err != nil {
			return page, err
		}
		for _, r := range rows {
			host, _ := r[0].(string)
			port, _ := asInt64(r[1])
			protocol, _ := r[2].(string)
			k := merge.PortKey{Host: host, Port: int(port), Protocol: portolan.Protocol(protocol)}
			exists[portolan.HostPortID(k.Host, k.Protocol, k.Port)] = true
			if matches(r[3]) {
				matching = append(matching, k)
			}
		}
	}
	items := map[string]*portolan.HostPort{}
	if len(matching) > 0 {
		records, err := run.HostPorts(ctx, matching)
		if err != nil {
			return page, err
		}
		for _, hp := range records {
			items[hp.ID] = hp
		}
	}
	page.Entries = deltaEntries(ids, items, exists)
	return page, nil
}

// HostChanges answers portolan.ChangeService.HostChanges.
func HostChanges(ctx context.Context, d *Dialect, s *Schema, t Tables, run Runner, q portolan.DeltaQuery) (portolan.DeltaPage[*portolan.Host], error) {
	page := portolan.DeltaPage[*portolan.Host]{Entries: []portolan.DeltaEntry[*portolan.Host]{}}
	ids, next, err := changedIDs(ctx, d, run, portolan.ChangedHosts, q)
	page.Next = next
	if err != nil || len(ids) == 0 {
		return page, err
	}
	b := &Builder{Dialect: d}
	match, err := filterColumn(b, s, q.Filter)
	if err != nil {
		return page, err
	}
	keys := make([][]any, len(ids))
	for i, id := range ids {
		keys[i] = []any{id}
	}
	list := keyList(b, []string{"text"}, keys)
	from := "(SELECT id, min(first_seen) AS first_seen, max(last_seen) AS last_seen FROM (" +
		"SELECT " + t.HostID + " AS id, first_seen, last_seen FROM hosts WHERE " + t.HostID + " IN (" + list + ") UNION ALL " +
		"SELECT " + t.AliasName + " AS id, first_seen, last_seen FROM host_aliases WHERE " + t.AliasName + " IN (" + list + ")) u GROUP BY id) h"
	rows, err := run.Rows(ctx, "SELECT h.id, h.first_seen, h.last_seen, "+match+" FROM "+from, b.Args, 4)
	if err != nil {
		return page, err
	}
	exists := map[string]bool{}
	items := map[string]*portolan.Host{}
	for _, r := range rows {
		id, _ := r[0].(string)
		exists[id] = true
		if matches(r[3]) {
			items[id] = &portolan.Host{ID: id, Kind: portolan.HostKindOf(id), FirstSeenDateTime: d.timeOf(r[1]), LastSeenDateTime: d.timeOf(r[2])}
		}
	}
	page.Entries = deltaEntries(ids, items, exists)
	return page, nil
}

// CertificateChanges answers portolan.ChangeService.SSLCertificateChanges.
func CertificateChanges(ctx context.Context, d *Dialect, s *Schema, run Runner, q portolan.DeltaQuery,
	parse func(sha string, der []byte) (*portolan.SSLCertificate, error)) (portolan.DeltaPage[*portolan.SSLCertificate], error) {
	page := portolan.DeltaPage[*portolan.SSLCertificate]{Entries: []portolan.DeltaEntry[*portolan.SSLCertificate]{}}
	ids, next, err := changedIDs(ctx, d, run, portolan.ChangedSSLCertificates, q)
	page.Next = next
	if err != nil || len(ids) == 0 {
		return page, err
	}
	b := &Builder{Dialect: d}
	match, err := filterColumn(b, s, q.Filter)
	if err != nil {
		return page, err
	}
	var keys [][]any
	for _, id := range ids {
		if sha, ok := portolan.ParseSSLCertificateID(id); ok {
			keys = append(keys, []any{sha})
		}
	}
	exists := map[string]bool{}
	items := map[string]*portolan.SSLCertificate{}
	if len(keys) > 0 {
		list := keyList(b, []string{"text"}, keys)
		rows, err := run.Rows(ctx, "SELECT c.sha1, c.der, c.first_seen, c.last_seen, "+match+" FROM certificates c WHERE c.sha1 IN ("+list+")", b.Args, 5)
		if err != nil {
			return page, err
		}
		for _, r := range rows {
			sha, ok1 := r[0].(string)
			der, ok2 := r[1].([]byte)
			if !ok1 || !ok2 {
				return page, fmt.Errorf("sqlfilter: certificate row of types %T, %T", r[0], r[1])
			}
			id := portolan.SSLCertificateID(sha)
			exists[id] = true
			if !matches(r[4]) {
				continue
			}
			cert, err := parse(sha, der)
			if err != nil {
				return page, err
			}
			cert.FirstSeenDateTime, cert.LastSeenDateTime = d.timeOf(r[2]), d.timeOf(r[3])
			items[id] = cert
		}
	}
	page.Entries = deltaEntries(ids, items, exists)
	return page, nil
}

// HostPortChanges implements portolan.ChangeService over the store of s
// (which embeds s, so that the delta reads are written once).
func (s Searcher) HostPortChanges(ctx context.Context, q portolan.DeltaQuery) (portolan.DeltaPage[*portolan.HostPort], error) {
	return HostPortChanges(ctx, s.Dialect, s.schemas.hostPort, s.Run, q)
}

// HostChanges implements portolan.ChangeService over the store of s.
func (s Searcher) HostChanges(ctx context.Context, q portolan.DeltaQuery) (portolan.DeltaPage[*portolan.Host], error) {
	return HostChanges(ctx, s.Dialect, s.schemas.host, s.Tables, s.Run, q)
}

// SSLCertificateChanges implements portolan.ChangeService over the store
// of s.
func (s Searcher) SSLCertificateChanges(ctx context.Context, q portolan.DeltaQuery) (portolan.DeltaPage[*portolan.SSLCertificate], error) {
	return CertificateChanges(ctx, s.Dialect, s.schemas.certificate, s.Run, q, s.ParseCertificate)
}
