// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/merge"
)

// certificates loads the certificates satisfying cond (whose arguments are
// args), ordered by id.
func (db *DB) certificates(ctx context.Context, cond string, args []any, f portolan.ListFilter) ([]*portolan.SSLCertificate, int, error) {
	total := -1
	if f.Count {
		if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM certificates WHERE "+cond, args...).Scan(&total); err != nil {
			return nil, 0, storeError("count certificates", err)
		}
	}
	where := cond
	if f.AfterID != "" {
		args = append(args, f.AfterID)
		where += " AND id > $" + strconv.Itoa(len(args))
	}
	q, args := pageClause("SELECT sha1, der, first_seen, last_seen FROM certificates WHERE "+where+" ORDER BY id", args, f.Limit, f.Offset)
	var out []*portolan.SSLCertificate
	var sha string
	var der []byte
	var first, last time.Time
	_, err := pgx.ForEachRow(db.queryRows(ctx, q, args...), []any{&sha, &der, &first, &last}, func() error {
		c, err := db.certs.Parse(sha, der)
		if err != nil {
			return err
		}
		c.FirstSeenDateTime, c.LastSeenDateTime = first.UTC(), last.UTC()
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, 0, storeError("find certificates", err)
	}
	return out, total, nil
}

// FindSSLCertificateByID implements portolan.SSLCertificateService.
func (db *DB) FindSSLCertificateByID(ctx context.Context, id string) (*portolan.SSLCertificate, error) {
	sha, ok := portolan.ParseSSLCertificateID(id)
	if !ok {
		return nil, merge.SSLCertificateNotFound(id)
	}
	certs, _, err := db.certificates(ctx, "sha1 = $1", []any{sha}, portolan.ListFilter{})
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
	return db.certificates(ctx, "sha1 IN (SELECT sha1 FROM certificate_terms WHERE field = $1 AND value = $2)",
		[]any{q.Field, strings.ToLower(q.Value)}, f)
}

// FindRelatedHosts implements portolan.SSLCertificateService.
func (db *DB) FindRelatedHosts(ctx context.Context, certID string, f portolan.ListFilter) ([]*portolan.Host, int, error) {
	sha, ok := portolan.ParseSSLCertificateID(certID)
	if !ok {
		return nil, 0, merge.SSLCertificateNotFound(certID)
	}
	var known bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM certificates WHERE sha1 = $1)`, sha).Scan(&known); err != nil {
		return nil, 0, storeError("find certificate", err)
	}
	if !known {
		return nil, 0, merge.SSLCertificateNotFound(certID)
	}
	cond := "sha1 = $1"
	args := []any{sha}
	total := -1
	if f.Count {
		if err := db.pool.QueryRow(ctx, "SELECT count(DISTINCT host) FROM host_certificates WHERE "+cond, args...).Scan(&total); err != nil {
			return nil, 0, storeError("count related hosts", err)
		}
	}
	if f.AfterID != "" {
		cond += " AND host > $2"
		args = append(args, f.AfterID)
	}
	q, args := pageClause("SELECT DISTINCT host FROM host_certificates WHERE "+cond+" ORDER BY host", args, f.Limit, f.Offset)
	var ids []string
	var id string
	if _, err := pgx.ForEachRow(db.queryRows(ctx, q, args...), []any{&id}, func() error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		return nil, 0, storeError("find related hosts", err)
	}
	hosts, err := db.findHosts(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*portolan.Host, 0, len(ids))
	for _, id := range ids {
		if h := hosts[id]; h != nil {
			out = append(out, h)
		}
	}
	return out, total, nil
}

// hostCertificates loads the (host, certificate) pairs of the given hosts,
// optionally of one certificate, ordered by id.
func (db *DB) hostCertificates(ctx context.Context, hosts []string, sha string) ([]*portolan.HostSSLCertificate, error) {
	q := `SELECT h.host, h.sha1, h.port, h.first_seen, h.last_seen, c.der, c.first_seen, c.last_seen
		FROM host_certificates h JOIN certificates c ON c.sha1 = h.sha1 WHERE h.host = ANY($1)`
	args := []any{hosts}
	if sha != "" {
		q += " AND h.sha1 = $2"
		args = append(args, sha)
	}
	var out []*portolan.HostSSLCertificate
	var cur *portolan.HostSSLCertificate
	var span portolan.Span
	var host, sha1 string
	var port int
	var first, last, cfirst, clast time.Time
	var der []byte
	_, err := pgx.ForEachRow(db.queryRows(ctx, q+" ORDER BY h.host, h.sha1, h.port", args...),
		[]any{&host, &sha1, &port, &first, &last, &der, &cfirst, &clast}, func() error {
			id := portolan.HostSSLCertificateID(host, sha1)
			if cur == nil || cur.ID != id {
				if cur != nil {
					cur.FirstSeenDateTime, cur.LastSeenDateTime = span.First, span.Last
				}
				cert, err := db.certs.Parse(sha1, der)
				if err != nil {
					return err
				}
				cert.FirstSeenDateTime, cert.LastSeenDateTime = cfirst.UTC(), clast.UTC()
				cur = &portolan.HostSSLCertificate{ID: id, Host: host, SSLCertificate: cert}
				span = portolan.Span{}
				out = append(out, cur)
			}
			p := portolan.HostSSLCertificatePort{Port: port, FirstSeenDateTime: first.UTC(), LastSeenDateTime: last.UTC()}
			span.Extend(p.FirstSeenDateTime)
			span.Extend(p.LastSeenDateTime)
			cur.Ports = append(cur.Ports, p)
			return nil
		})
	if err != nil {
		return nil, storeError("find host certificates", err)
	}
	if cur != nil {
		cur.FirstSeenDateTime, cur.LastSeenDateTime = span.First, span.Last
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
	items, total := pageByID(all, f, func(c *portolan.HostSSLCertificate) string { return c.ID })
	return items, total, nil
}

// FindHostSSLCertificateByID implements portolan.SSLCertificateService. The
// id is base64 of "host$$sha1", so the lookup reads one host.
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
