// SPDX-License-Identifier: Apache-2.0

// Package sqlstore is the part of Portolan's two SQL stores that is the
// same in both: the migration runner, the reads whose SQL differs only in
// placeholders and key lists (certificates, host ports, host components),
// the per-store certificate cache and the small helpers of paged reads.
// A store gives the reads a Dialect; what it cannot share (SQLite's page
// cache of host ports, PostgreSQL's aggregated host components) stays in
// the store beside its Dialect, saying why. internal/sqlite and internal/postgres keep
// what really differs: SQLite's multi-row upserts with instants kept as
// blobs in the row, PostgreSQL's COPY staging and set-based merges with
// instants as rows, their schemas, and their driver error normalisation.
// The rules those stores apply live in internal/merge, not here.
package sqlstore
