// SPDX-License-Identifier: Apache-2.0

package sqlstore

import (
	"context"
	"strings"

	"portolan"
	"portolan/internal/merge"
)

// Certificates implements portolan.SSLCertificateService over a Dialect:
// both schemas store certificates, their search terms and the (host,
// certificate, port) spans in tables of the same columns, so the reads are
// the same but for placeholders. A store embeds it and sets Dialect.
type Certificates struct {
	Dialect Dialect
	// cache holds this store's parsed certificates.
	cache CertificateCache
}

var _ portolan.SSLCertificateService = (*Certificates)(nil)

// certificates loads the certificates satisfying cond (whose arguments are
// args), ordered by id.
func (c *Certificates) certificates(ctx context.Context, cond string, args []any, f portolan.ListFilter) ([]*portolan.SSLCertificate, int, error) {
	d := c.Dialect
	total := -1
	if f.Count {
		if err := d.Each(ctx, "count certificates", "SELECT count(*) FROM certificates WHERE "+cond, args, []any{&total}, nil); err != nil {
			return nil, 0, err
		}
	}
	where := cond
	if f.AfterID != "" {
		where += " AND id > ?"
		args = append(args, f.AfterID)
	}
	q, args := d.Page("SELECT sha1, der, first_seen, last_seen FROM certificates WHERE "+where+" ORDER BY id", args, f.Limit, f.Offset)
	var out []*portolan.SSLCertificate
	var sha string
	var der []byte
	var first, last Instant
	err := d.Each(ctx, "find certificates", q, args, []any{&sha, &der, &first, &last}, func() error {
		cert, err := c.cache.Parse(sha, der)
		if err != nil {
			return err
		}
		cert.FirstSeenDateTime, cert.LastSeenDateTime = first.Time, last.Time
		out = append(out, cert)
		return nil
	})
	return out, total, err
}

// ParseCertificate returns the certificate of der (whose SHA-1 is sha)
// through this store's cache; the caller may fill first and last seen.
func (c *Certificates) ParseCertificate(sha string, der []byte) (*portolan.SSLCertificate, error) {
	return c.cache.Parse(sha, der)
}

// FindSSLCertificateByID implements portolan.SSLCertificateService.
func (c *Certificates) FindSSLCertificateByID(ctx context.Context, id string) (*portolan.SSLCertificate, error) {
	sha, ok := portolan.ParseSSLCertificateID(id)
	if !ok {
		return nil, merge.SSLCertificateNotFound(id)
	}
	certs, _, err := c.certificates(ctx, "sha1 = ?", []any{sha}, portolan.ListFilter{})
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, merge.SSLCertificateNotFound(id)
	}
	return certs[0], nil
}

// SearchSSLCertificates implements portolan.SSLCertificateService.
func (c *Certificates) SearchSSLCertificates(ctx context.Context, q portolan.CertificateSearch, f portolan.ListFilter) ([]*portolan.SSLCertificate, int, error) {
	if !portolan.IsSearchableCertificateField(q.Field) {
		return nil, 0, portolan.Errorf(portolan.EINVALID, "The search field '%s' is not supported.", q.Field)
	}
	return c.certificates(ctx, "sha1 IN (SELECT sha1 FROM certificate_terms WHERE field = ? AND value = ?)",
		[]any{q.Field, strings.ToLower(q.Value)}, f)
}

// FindRelatedHosts implements portolan.SSLCertificateService.
func (c *Certificates) FindRelatedHosts(ctx context.Context, certID string, f portolan.ListFilter) ([]*portolan.Host, int, error) {
	d := c.Dialect
	sha, ok := portolan.ParseSSLCertificateID(certID)
	if !ok {
		return nil, 0, merge.SSLCertificateNotFound(certID)
	}
	var known bool
	if err := d.Each(ctx, "find certificate", `SELECT EXISTS (SELECT 1 FROM certificates WHERE sha1 = ?)`, []any{sha}, []any{&known}, nil); err != nil {
		return nil, 0, err
	}
	if !known {
		return nil, 0, merge.SSLCertificateNotFound(certID)
	}
	cond := "sha1 = ?"
	args := []any{sha}
	total := -1
	if f.Count {
		if err := d.Each(ctx, "count related hosts", "SELECT count(DISTINCT host) FROM host_certificates WHERE "+cond, args, []any{&total}, nil); err != nil {
			return nil, 0, err
		}
	}
	if f.AfterID != "" {
		cond += " AND host > ?"
		args = append(args, f.AfterID)
	}
	q, args := d.Page("SELECT DISTINCT host FROM host_certificates WHERE "+cond+" ORDER BY host", args, f.Limit, f.Offset)
	var ids []string
	var id string
	if err := d.Each(ctx, "find related hosts", q, args, []any{&id}, func() error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		return nil, 0, err
	}
	hosts, err := d.Hosts(ctx, ids)
	return hosts, total, err
}

// hostCertificates loads the (host, certificate) pairs of the given hosts,
// optionally of one certificate, ordered by id.
func (c *Certificates) hostCertificates(ctx context.Context, hosts []string, sha string) ([]*portolan.HostSSLCertificate, error) {
	in, args := c.Dialect.AnyOf("h.host", hosts)
	q := `SELECT h.host, h.sha1, h.port, h.first_seen, h.last_seen, c.der, c.first_seen, c.last_seen
		FROM host_certificates h JOIN certificates c ON c.sha1 = h.sha1 WHERE ` + in
	if sha != "" {
		q += " AND h.sha1 = ?"
		args = append(args, sha)
	}
	var out []*portolan.HostSSLCertificate
	var cur *portolan.HostSSLCertificate
	var span portolan.Span
	var host, sha1 string
	var port int
	var first, last, cfirst, clast Instant
	var der []byte
	// Rows come per pair, one per port: a pair's span is the union of its
	// ports' spans.
	err := c.Dialect.Each(ctx, "find host certificates", q+" ORDER BY h.host, h.sha1, h.port", args,
		[]any{&host, &sha1, &port, &first, &last, &der, &cfirst, &clast}, func() error {
			id := portolan.HostSSLCertificateID(host, sha1)
			if cur == nil || cur.ID != id {
				if cur != nil {
					cur.FirstSeenDateTime, cur.LastSeenDateTime = span.First, span.Last
				}
				cert, err := c.cache.Parse(sha1, der)
				if err != nil {
					return err
				}
				cert.FirstSeenDateTime, cert.LastSeenDateTime = cfirst.Time, clast.Time
				cur = &portolan.HostSSLCertificate{ID: id, Host: host, SSLCertificate: cert}
				span = portolan.Span{}
				out = append(out, cur)
			}
			p := portolan.HostSSLCertificatePort{Port: port, FirstSeenDateTime: first.Time, LastSeenDateTime: last.Time}
			span.Extend(p.FirstSeenDateTime)
			span.Extend(p.LastSeenDateTime)
			cur.Ports = append(cur.Ports, p)
			return nil
		})
	if err != nil {
		return nil, err
	}
	if cur != nil {
		cur.FirstSeenDateTime, cur.LastSeenDateTime = span.First, span.Last
	}
	// Ids are base64, whose order is not (host, sha1)'s.
	merge.SortByID(out, func(c *portolan.HostSSLCertificate) string { return c.ID })
	return out, nil
}

// FindHostSSLCertificates implements portolan.SSLCertificateService. A host
// holds few certificates, so the page is cut in memory.
func (c *Certificates) FindHostSSLCertificates(ctx context.Context, host string, f portolan.ListFilter) ([]*portolan.HostSSLCertificate, int, error) {
	members, err := HostMembers(ctx, c.Dialect, host)
	if err != nil {
		return nil, 0, err
	}
	all, err := c.hostCertificates(ctx, members, "")
	if err != nil {
		return nil, 0, err
	}
	items, total := PageByID(all, f, func(c *portolan.HostSSLCertificate) string { return c.ID })
	return items, total, nil
}

// HostSSLCertificatesByIDs returns the hostSslCertificates of ids (in any
// order, those that exist), with one query over their hosts.
func (c *Certificates) HostSSLCertificatesByIDs(ctx context.Context, ids []string) ([]*portolan.HostSSLCertificate, error) {
	want := make(map[string]bool, len(ids))
	var hosts []string
	seen := map[string]bool{}
	for _, id := range ids {
		if host, _, ok := portolan.ParseHostSSLCertificateID(id); ok {
			want[id] = true
			if !seen[host] {
				seen[host] = true
				hosts = append(hosts, host)
			}
		}
	}
	if len(hosts) == 0 {
		return nil, nil
	}
	all, err := c.hostCertificates(ctx, hosts, "")
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, hc := range all {
		if want[hc.ID] {
			out = append(out, hc)
		}
	}
	return out, nil
}

// FindHostSSLCertificateByID implements portolan.SSLCertificateService. The
// id is base64 of "host$$sha1", so the lookup reads one host.
func (c *Certificates) FindHostSSLCertificateByID(ctx context.Context, id string) (*portolan.HostSSLCertificate, error) {
	if host, sha, ok := portolan.ParseHostSSLCertificateID(id); ok {
		certs, err := c.hostCertificates(ctx, []string{host}, sha)
		if err != nil {
			return nil, err
		}
		if len(certs) == 1 {
			return certs[0], nil
		}
	}
	return nil, merge.HostSSLCertificateNotFound(id)
}
