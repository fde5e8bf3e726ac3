// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"sort"
	"strings"
	"time"

	"portolan"
	"portolan/internal/merge"
)

// certificates loads the certificates whose SHA-1 satisfy cond, ordered by id.
func (db *DB) certificates(ctx context.Context, cond string, args []any, f portolan.ListFilter) ([]*portolan.SSLCertificate, int, error) {
	total := -1
	if f.Count {
		if err := db.queryRow(ctx, "SELECT count(*) FROM certificates WHERE "+cond, args...).Scan(&total); err != nil {
			return nil, 0, db.storeError("count certificates", err)
		}
	}
	where := cond
	if f.AfterID != "" {
		where += " AND id > ?"
		args = append(args, f.AfterID)
	}
	q, args := limitOffset("SELECT sha1, der, first_seen, last_seen FROM certificates WHERE "+where+" ORDER BY id", args, f.Limit, f.Offset)
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, 0, db.storeError("find certificates", err)
	}
	defer rows.Close()
	var out []*portolan.SSLCertificate
	for rows.Next() {
		var sha string
		var der []byte
		var first, last int64
		if err := rows.Scan(&sha, &der, &first, &last); err != nil {
			return nil, 0, db.storeError("read certificate", err)
		}
		c, err := db.certs.Parse(sha, der)
		if err != nil {
			return nil, 0, db.storeError("parse stored certificate", err)
		}
		c.FirstSeenDateTime, c.LastSeenDateTime = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
		out = append(out, c)
	}
	return out, total, db.storeError("read certificates", rows.Err())
}

// FindSSLCertificateByID implements portolan.SSLCertificateService.
func (db *DB) FindSSLCertificateByID(ctx context.Context, id string) (*portolan.SSLCertificate, error) {
	sha, ok := portolan.ParseSSLCertificateID(id)
	if !ok {
		return nil, merge.SSLCertificateNotFound(id)
	}
	certs, _, err := db.certificates(ctx, "sha1 = ?", []any{sha}, portolan.ListFilter{})
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, merge.SSLCertificateNotFound(id)
	}
	return certs[0], nil
}

// SearchSSLCertificates implements portolan.SSLCertificateService.
func (db *DB) SearchSSLCertificates(ctx context.Context, q portolan.CertificateSearch, f portolan.ListFilter) ([]*portolan.SSLCertificate, int, error) {
	if !portolan.IsSearchableCertificateField(q.Field) {
		return nil, 0, portolan.Errorf(portolan.EINVALID, "The search field '%s' is not supported.", q.Field)
	}
	return db.certificates(ctx, "sha1 IN (SELECT sha1 FROM certificate_terms WHERE field = ? AND value = ?)",
		[]any{q.Field, strings.ToLower(q.Value)}, f)
}

// FindRelatedHosts implements portolan.SSLCertificateService.
func (db *DB) FindRelatedHosts(ctx context.Context, certID string, f portolan.ListFilter) ([]*portolan.Host, int, error) {
	sha, ok := portolan.ParseSSLCertificateID(certID)
	if !ok {
		return nil, 0, merge.SSLCertificateNotFound(certID)
	}
	var known bool
	if err := db.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM certificates WHERE sha1 = ?)`, sha).Scan(&known); err != nil {
		return nil, 0, db.storeError("find certificate", err)
	}
	if !known {
		return nil, 0, merge.SSLCertificateNotFound(certID)
	}
	cond := "sha1 = ?"
	args := []any{sha}
	total := -1
	if f.Count {
		if err := db.queryRow(ctx, "SELECT count(DISTINCT host) FROM host_certificates WHERE "+cond, args...).Scan(&total); err != nil {
			return nil, 0, db.storeError("count related hosts", err)
		}
	}
	if f.AfterID != "" {
		cond += " AND host > ?"
		args = append(args, f.AfterID)
	}
	q, args := limitOffset("SELECT DISTINCT host FROM host_certificates WHERE "+cond+" ORDER BY host", args, f.Limit, f.Offset)
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, 0, db.storeError("find related hosts", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, 0, db.storeError("read related host", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, db.storeError("read related hosts", err)
	}
	out := make([]*portolan.Host, 0, len(ids))
	for _, id := range ids {
		h, err := db.FindHostByID(ctx, id)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, h)
	}
	return out, total, nil
}

// hostCertificates loads the (host, certificate) pairs of the given hosts,
// optionally of one certificate, ordered by id.
func (db *DB) hostCertificates(ctx context.Context, hosts []string, sha string) ([]*portolan.HostSSLCertificate, error) {
	q := "SELECT h.host, h.sha1, h.port, h.first_seen, h.last_seen, c.der, c.first_seen, c.last_seen FROM host_certificates h JOIN certificates c ON c.sha1 = h.sha1 WHERE h.host IN (" + inList(len(hosts)) + ")"
	args := anys(hosts)
	if sha != "" {
		q += " AND h.sha1 = ?"
		args = append(args, sha)
	}
	rows, err := db.query(ctx, q+" ORDER BY h.host, h.sha1, h.port", args...)
	if err != nil {
		return nil, db.storeError("find host certificates", err)
	}
	defer rows.Close()
	var out []*portolan.HostSSLCertificate
	var cur *portolan.HostSSLCertificate
	var span portolan.Span
	for rows.Next() {
		var host, sha1 string
		var port int
		var first, last, cfirst, clast int64
		var der []byte
		if err := rows.Scan(&host, &sha1, &port, &first, &last, &der, &cfirst, &clast); err != nil {
			return nil, db.storeError("read host certificate", err)
		}
		id := portolan.HostSSLCertificateID(host, sha1)
		if cur == nil || cur.ID != id {
			if cur != nil {
				cur.FirstSeenDateTime, cur.LastSeenDateTime = span.First, span.Last
			}
			cert, err := db.certs.Parse(sha1, der)
			if err != nil {
				return nil, db.storeError("parse stored certificate", err)
			}
			cert.FirstSeenDateTime, cert.LastSeenDateTime = time.Unix(cfirst, 0).UTC(), time.Unix(clast, 0).UTC()
			cur = &portolan.HostSSLCertificate{ID: id, Host: host, SSLCertificate: cert}
			span = portolan.Span{}
			out = append(out, cur)
		}
		p := portolan.HostSSLCertificatePort{Port: port, FirstSeenDateTime: time.Unix(first, 0).UTC(), LastSeenDateTime: time.Unix(last, 0).UTC()}
		span.Extend(p.FirstSeenDateTime)
		span.Extend(p.LastSeenDateTime)
		cur.Ports = append(cur.Ports, p)
	}
	if cur != nil {
		cur.FirstSeenDateTime, cur.LastSeenDateTime = span.First, span.Last
	}
	if err := rows.Err(); err != nil {
		return nil, db.storeError("read host certificates", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// FindHostSSLCertificates implements portolan.SSLCertificateService. A host
// holds few certificates, so the page is cut in memory.
func (db *DB) FindHostSSLCertificates(ctx context.Context, host string, f portolan.ListFilter) ([]*portolan.HostSSLCertificate, int, error) {
	members, ok, err := db.hostMembers(ctx, host)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, merge.HostNotFound(host)
	}
	all, err := db.hostCertificates(ctx, members, "")
	if err != nil {
		return nil, 0, err
	}
	total := -1
	if f.Count {
		total = len(all)
	}
	if f.AfterID != "" {
		i := sort.Search(len(all), func(i int) bool { return all[i].ID > f.AfterID })
		all = all[i:]
	}
	if f.Offset > 0 {
		all = all[min(f.Offset, len(all)):]
	}
	if f.Limit > 0 && f.Limit < len(all) {
		all = all[:f.Limit]
	}
	return all, total, nil
}

// FindHostSSLCertificateByID implements portolan.SSLCertificateService.
func (db *DB) FindHostSSLCertificateByID(ctx context.Context, id string) (*portolan.HostSSLCertificate, error) {
	if host, sha, ok := portolan.ParseHostSSLCertificateID(id); ok {
		certs, err := db.hostCertificates(ctx, []string{host}, sha)
		if err != nil {
			return nil, err
		}
		if len(certs) == 1 {
			return certs[0], nil
		}
	}
	return nil, merge.HostSSLCertificateNotFound(id)
}
