// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"

	"portolan"
)

// fillCertificateFields stores the validity and the fields
// (portolan.CertificateFields) of certificates that a schema older than
// migration 0002 stored without them, and their expiry on the records that
// present them (host_ports.cert_not_after), so that $filter finds them. It runs at
// open; a store already filled costs one indexed lookup.
func (db *DB) fillCertificateFields(ctx context.Context) error {
	rows, err := db.write.QueryContext(ctx, `SELECT sha1, der FROM certificates WHERE not_after IS NULL`)
	if err != nil {
		return db.storeError("find certificates to fill", err)
	}
	type pending struct {
		sha  string
		cert *portolan.SSLCertificate
	}
	var todo []pending
	for rows.Next() {
		var sha string
		var der []byte
		if err := rows.Scan(&sha, &der); err != nil {
			rows.Close()
			return db.storeError("find certificates to fill", err)
		}
		// Only certificates that parsed were ever stored.
		if c, err := portolan.ParseCertificate(der); err == nil {
			todo = append(todo, pending{sha, c})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(todo) == 0 {
		return db.storeError("find certificates to fill", err)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.storeError("fill certificates", err)
	}
	defer tx.Rollback()
	for _, p := range todo {
		if _, err := tx.ExecContext(ctx, `UPDATE certificates SET not_before = ?, not_after = ? WHERE sha1 = ?`,
			p.cert.IssueDateTime.Unix(), p.cert.ExpirationDateTime.Unix(), p.sha); err != nil {
			return db.storeError("fill certificates", err)
		}
		// Migration 0006 copied the expiry of filled certificates only.
		if _, err := tx.ExecContext(ctx, `UPDATE host_ports SET cert_not_after = ? WHERE cert_sha1 = ?`,
			p.cert.ExpirationDateTime.Unix(), p.sha); err != nil {
			return db.storeError("fill certificates", err)
		}
		for _, f := range portolan.CertificateFields(p.cert) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO certificate_fields (sha1, field, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
				p.sha, f.Path, f.Value); err != nil {
				return db.storeError("fill certificates", err)
			}
		}
	}
	return db.storeError("fill certificates", tx.Commit())
}
