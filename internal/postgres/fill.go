// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"portolan"
)

// fillCertificateFields stores the validity and the fields
// (portolan.CertificateFields) of certificates that a schema older than
// migration 0002 stored without them, and their expiry on the records that
// present them (host_ports.cert_not_after), so that $filter finds them. It runs at
// open; a store already filled costs one indexed lookup.
func (db *DB) fillCertificateFields(ctx context.Context) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT sha1, der FROM certificates WHERE not_after IS NULL FOR UPDATE`)
		type pending struct {
			sha  string
			cert *portolan.SSLCertificate
		}
		var todo []pending
		var sha string
		var der []byte
		if _, err := pgx.ForEachRow(rows, []any{&sha, &der}, func() error {
			// Only certificates that parsed were ever stored.
			if c, err := portolan.ParseCertificate(der); err == nil {
				todo = append(todo, pending{sha, c})
			}
			return nil
		}); err != nil {
			return storeError("find certificates to fill", err)
		}
		batch := &pgx.Batch{}
		for _, p := range todo {
			batch.Queue(`UPDATE certificates SET not_before = $1, not_after = $2 WHERE sha1 = $3`, p.cert.IssueDateTime, p.cert.ExpirationDateTime, p.sha)
			// Migration 0007 copied the expiry of filled certificates only.
			batch.Queue(`UPDATE host_ports SET cert_not_after = $1 WHERE cert_sha1 = $2`, p.cert.ExpirationDateTime, p.sha)
			for _, f := range portolan.CertificateFields(p.cert) {
				batch.Queue(`INSERT INTO certificate_fields (sha1, field, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, p.sha, f.Path, f.Value)
			}
		}
		if batch.Len() == 0 {
			return nil
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return storeError("fill certificates", err)
		}
		// Certificates gain the fields the API shows and $filter reads.
		return storeError("fill certificates", notifyChange(ctx, tx))
	})
}
