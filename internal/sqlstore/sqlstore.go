// SPDX-License-Identifier: Apache-2.0

// Package sqlstore is the part of Portolan's two SQL stores that is the
// same in both: the migration runner, the certificate reads (whose SQL
// differs only in placeholders), the per-store certificate cache and the
// small helpers of paged reads. internal/sqlite and internal/postgres keep
// what really differs: SQLite's multi-row upserts with instants kept as
// blobs in the row, PostgreSQL's COPY staging and set-based merges with
// instants as rows, their schemas, and their driver error normalisation.
// The rules those stores apply live in internal/merge, not here.
package sqlstore
