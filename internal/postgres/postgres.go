// SPDX-License-Identifier: Apache-2.0

// Package postgres is Portolan's server store: PostgreSQL through pgx, for
// deployments that outgrow one file (several scanners ingesting at once,
// several API replicas, large ranges). It keeps the same append-only
// observation log and derived records as the embedded store and implements
// every portolan service interface. Ingest writes each batch with COPY into
// per-connection staging tables and merges them with set-based upserts; the
// schema is keyed by host everywhere so that it can be distributed with
// Citus (README-schema.md).
package postgres

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"portolan"
	"portolan/internal/sqlfilter"
	"portolan/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is the PostgreSQL store. It is safe for concurrent use, and several
// processes may use the same database at once: every import is one
// transaction whose upserts commute.
type DB struct {
	pool      *pgxpool.Pool
	recognize portolan.Recognizer

	// staged records the connections on which the staging tables exist.
	// They are session temporary tables, created on a connection's first
	// import (read-only connections never pay for them) and gone with it.
	staged sync.Map // *pgx.Conn → struct{}

	// Certificates serves the certificate reads, with this store's cache
	// of parsed certificates.
	sqlstore.Certificates
	// Searcher answers estate-wide searches (portolan.SearchService).
	sqlfilter.Searcher

	// mostlyNew tells whether the last import found most of its batch new,
	// in which case the next one builds its delta speculatively.
	mostlyNew atomic.Bool

	// changes follows other processes' imports (generation.go).
	changes changeListener
}

var _ portolan.Store = (*DB)(nil)

// Options configure Open.
type Options struct {
	// Recognizer names the components of observations (nil: only the
	// scanner's).
	Recognizer portolan.Recognizer
}

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string, as pgx accepts), applies pending migrations and returns
// the store. The tables live in the first schema of the search_path, which
// the URL can set (…?search_path=portolan); pool_max_conns and the other
// pgxpool parameters are honoured. Open refuses a schema newer than this
// binary (EINVALID) and returns EUNAVAILABLE when the server cannot be
// reached.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error masks passwords; it is safe to show.
		return nil, portolan.WrapError(portolan.EINVALID, err, "The PostgreSQL URL is invalid: %v.", err)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "portolan"
	}
	db := &DB{recognize: opts.Recognizer}
	db.Certificates.Dialect = readDialect{db}
	db.Searcher = db.newSearcher()
	if db.recognize == nil {
		db.recognize = portolan.ScannerComponents{}
	}
	db.mostlyNew.Store(true)
	// A closed connection takes its temporary tables with it.
	cfg.BeforeClose = func(c *pgx.Conn) { db.staged.Delete(c) }
	if db.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, storeError("open pool", err)
	}
	if err := db.migrate(ctx); err != nil {
		db.pool.Close()
		return nil, err
	}
	if err := db.fillCertificateFields(ctx); err != nil {
		db.pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes every connection of the pool.
func (db *DB) Close() error {
	db.stopListening()
	db.pool.Close()
	return nil
}

// migrate applies the embedded migrations in order, each in its own
// transaction, recording them in schema_migrations. A session advisory lock,
// keyed by the schema, makes processes that start together take turns: the
// first applies the migrations, the others find them applied.
func (db *DB) migrate(ctx context.Context) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return storeError("connect", err)
	}
	defer conn.Release()
	var schema *string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return storeError("read current schema", err)
	}
	if schema == nil {
		return portolan.Errorf(portolan.EINVALID, "No schema of the PostgreSQL search_path exists; create it or fix search_path in the URL.")
	}
	key := migrationLockKey(*schema)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return storeError("lock migrations", err)
	}
	// The lock is a session lock: release it before the connection goes
	// back to the pool (a dead connection releases it on the server).
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)

	return sqlstore.Migrate(ctx, migrationFS, pgMigrator{conn.Conn()}, func(current, latest int) error {
		return portolan.Errorf(portolan.EINVALID, "The PostgreSQL schema %s has version %d, newer than this binary knows (%d); use a newer portolan.", *schema, current, latest)
	})
}

// pgMigrator is the PostgreSQL side of sqlstore.Migrator, on the
// connection that holds the migration lock.
type pgMigrator struct{ conn *pgx.Conn }

// SchemaVersion implements sqlstore.Migrator.
func (m pgMigrator) SchemaVersion(ctx context.Context) (int, error) {
	if _, err := m.conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return 0, storeError("create schema_migrations", err)
	}
	var current int
	if err := m.conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return 0, storeError("read schema version", err)
	}
	return current, nil
}

// Apply implements sqlstore.Migrator.
func (m pgMigrator) Apply(ctx context.Context, mig sqlstore.Migration) error {
	err := pgx.BeginFunc(ctx, m.conn, func(tx pgx.Tx) error {
		// No arguments: pgx sends the file with the simple protocol,
		// which runs several statements.
		if _, err := tx.Exec(ctx, mig.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", mig.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, mig.Version, mig.Name); err != nil {
			return err
		}
		// A migration may rewrite records (0007 filled a column the
		// API reads): the serves already running drop their caches.
		return notifyChange(ctx, tx)
	})
	return storeError("migrate", err)
}

// migrationLockKey is the advisory lock key of a schema's migrations, so
// that test schemas of one database migrate in parallel.
func migrationLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("portolan migrations " + schema))
	return int64(h.Sum64())
}

// SizeBytes is the size of the database on the server, for metrics.
func (db *DB) SizeBytes(ctx context.Context) (int64, error) {
	var n int64
	err := db.pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
	return n, storeError("database size", err)
}
