// SPDX-License-Identifier: Apache-2.0

package sqlfilter

import (
	"context"
	"fmt"

	"portolan"
)

// certificateColumns maps the paths of an sslCertificate, under prefix
// ("" or "mostRecentSslCertificate/"), to SQL over the certificate whose
// SHA-1 is the expression sha: its own columns, its validity
// (certificates.not_before, not_after) and its fields (certificate_fields,
// one row per path and value, portolan.CertificateFields). A missing field
// is NULL, as an empty value is null in the entity.
func certificateColumns(prefix, sha string, columns map[string]Column, collections map[string]Collection) {
	of := func(column string) string {
		return "(SELECT cc." + column + " FROM certificates cc WHERE cc.sha1 = " + sha + ")"
	}
	columns[prefix+"id"] = Column{SQL: sha, Key: func(id string, b *Builder) string {
		s, ok := portolan.ParseSSLCertificateID(id)
		if !ok {
			return b.Dialect.False
		}
		return sha + " = " + b.Param(s)
	}}
	columns[prefix+"sha1"] = Column{SQL: sha}
	ofCertificate := func(column string) Column {
		return Column{SQL: of(column), Lookup: &Lookup{Key: sha, Table: "certificates", KeyColumn: "sha1", Value: "{a}." + column}}
	}
	columns[prefix+"firstSeenDateTime"] = ofCertificate("first_seen")
	columns[prefix+"lastSeenDateTime"] = ofCertificate("last_seen")
	columns[prefix+"issueDateTime"] = ofCertificate("not_before")
	columns[prefix+"expirationDateTime"] = ofCertificate("not_after")
	for _, p := range portolan.CertificateFieldPaths {
		// The path is one of the code's own constants, never request text.
		field := "{a}.field = '" + p + "'"
		columns[prefix+p] = Column{
			SQL:    "(SELECT cf.value FROM certificate_fields cf WHERE cf.sha1 = " + sha + " AND cf.field = '" + p + "')",
			Lookup: &Lookup{Key: sha, Table: "certificate_fields", KeyColumn: "sha1", Value: "{a}.value", Where: field},
		}
	}
	for _, p := range portolan.CertificateNamePaths {
		collections[prefix+p] = Collection{
			From:    "certificate_fields {a}",
			Join:    "{a}.sha1 = " + sha + " AND {a}.field = '" + p + "'",
			Item:    sha,
			Elem:    "{a}.sha1",
			Where:   "{a}.field = '" + p + "'",
			Columns: map[string]Column{"": {SQL: "{a}.value"}},
		}
	}
}

// CertificateSchema maps the paths of sslCertificate to certificates (alias
// c) and its fields.
func CertificateSchema() *Schema {
	s := &Schema{Columns: map[string]Column{}, Collections: map[string]Collection{}, Tiebreak: []Key{{SQL: "c.id", Text: true}}}
	certificateColumns("", "c.sha1", s.Columns, s.Collections)
	// The certificate's own columns, without a subquery; the id is one,
	// so that $orderby=id (the default order) works too.
	s.Columns["id"] = Column{SQL: "c.id"}
	for path, column := range map[string]string{"firstSeenDateTime": "c.first_seen", "lastSeenDateTime": "c.last_seen",
		"issueDateTime": "c.not_before", "expirationDateTime": "c.not_after"} {
		s.Columns[path] = Column{SQL: column}
	}
	return s
}

// SearchCertificates runs q over every certificate; parse turns a row's
// SHA-1 and DER into the entity (the store's parsed-certificate cache).
func SearchCertificates(ctx context.Context, d *Dialect, s *Schema, run Runner, q portolan.SearchQuery,
	parse func(sha string, der []byte) (*portolan.SSLCertificate, error)) (portolan.Page[*portolan.SSLCertificate], error) {
	page := portolan.Page[*portolan.SSLCertificate]{Items: []*portolan.SSLCertificate{}, Total: -1}
	rows, err := Search(ctx, d, s, run, "certificates c", "", []string{"c.sha1", "c.der", "c.first_seen", "c.last_seen"}, q)
	page.Total, page.Next = rows.Total, rows.Next
	if err != nil {
		return page, err
	}
	for _, r := range rows.Rows {
		extra := r[rows.Order:]
		sha, ok1 := extra[0].(string)
		der, ok2 := extra[1].([]byte)
		if !ok1 || !ok2 {
			return page, fmt.Errorf("sqlfilter: certificate row of types %T, %T", extra[0], extra[1])
		}
		c, err := parse(sha, der)
		if err != nil {
			return page, err
		}
		c.FirstSeenDateTime, c.LastSeenDateTime = d.timeOf(extra[2]), d.timeOf(extra[3])
		page.Items = append(page.Items, c)
	}
	return page, nil
}
