// SPDX-License-Identifier: Apache-2.0

// Package sqlite is Portolan's embedded store: SQLite through the cgo-free
// modernc.org/sqlite driver, in WAL mode, with embedded migrations. It keeps
// the append-only observation log and the records derived from it, and
// implements every portolan service interface.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"portolan"
	"portolan/internal/sqlfilter"
	"portolan/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is the embedded store. Writes go through one connection (SQLite has one
// writer at a time; a single connection avoids lock churn inside the
// process); reads use a pool of read-only connections, which WAL lets run
// alongside the writer.
type DB struct {
	path      string
	dsn       string // of the write pool, for BackupTo's own connection
	write     *sql.DB
	read      *sql.DB
	recognize portolan.Recognizer
	now       func() time.Time

	// readStmts caches the read pool's prepared statements by query text:
	// parsing SQL is a quarter of a small read's cost in SQLite. The
	// queries come from a handful of shapes, bounded by maxReadStmts.
	readStmts sync.Map // string -> *sql.Stmt
	nStmts    atomic.Int32

	// direct runs readDialect.Each, past database/sql (direct.go).
	direct *directReads
	// writeDirect runs the writer's statements on its connection.
	writeDirect *directConn
	// legacyIdentities: observation_ids holds identities stored before
	// migration 0010, which imports look up too.
	legacyIdentities bool

	cache readCache
	// checkpoints copies the WAL into the database beside the writer.
	checkpoints *checkpointer

	// Certificates serves the certificate reads, with this store's cache
	// of parsed certificates.
	sqlstore.Certificates
	// Searcher answers estate-wide searches (portolan.SearchService).
	sqlfilter.Searcher
}

const maxReadStmts = 512

// readStmt returns the prepared read statement of q, or nil when the cache
// is full (the caller then runs q unprepared).
func (db *DB) readStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := db.readStmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	if db.nStmts.Load() >= maxReadStmts {
		return nil, nil
	}
	st, err := db.read.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.readStmts.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	db.nStmts.Add(1)
	return st, nil
}

// query runs a read query through the statement cache.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := db.readStmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return db.read.QueryContext(ctx, q, args...)
	}
	return st.QueryContext(ctx, args...)
}

// rowScanner is the part of *sql.Row a caller uses, so that queryRow can
// also report a failed prepare.
type rowScanner interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// queryRow runs a one-row read query through the statement cache.
func (db *DB) queryRow(ctx context.Context, q string, args ...any) rowScanner {
	st, err := db.readStmt(ctx, q)
	if err != nil {
		return errRow{err}
	}
	if st == nil {
		return db.read.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

var _ portolan.Store = (*DB)(nil)

// Options configure Open.
type Options struct {
	// Recognizer names the components of observations (nil: only the
	// scanner's).
	Recognizer portolan.Recognizer
	// Now is the clock of the change record's retention (nil: time.Now).
	Now func() time.Time
	// WriterCacheMB is the page cache of the writer connection in MB
	// (0: DefaultWriterCacheMB).
	WriterCacheMB int

	// checkpointPages is the writer's wal_autocheckpoint (0:
	// writerCheckpointPages); tests make it small.
	checkpointPages int
}

// DefaultWriterCacheMB is the writer's page cache unless Options says
// otherwise: small, so that ingest fits a small container. A larger one
// pays off when the store is much larger than the cache: 64 MB made ingest
// into a store of 700 MB about 1.4 times faster, for about 100 MB more RSS
// (a page takes twice its size in the allocator).
const DefaultWriterCacheMB = 16

// FileName is the database file inside a data directory.
const FileName = "portolan.db"

// OpenDir opens (creating the directory and the database when needed) the
// store in a data directory.
func OpenDir(ctx context.Context, dir string, opts Options) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, portolan.WrapError(portolan.EINVALID, err, "Cannot create the data directory %s: %v.", dir, err)
	}
	return Open(ctx, filepath.Join(dir, FileName), opts)
}

// Open opens the database file at path and applies pending migrations. It
// refuses a database whose schema is newer than this binary.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	db := &DB{path: path, recognize: opts.Recognizer, now: opts.Now}
	if db.now == nil {
		db.now = time.Now
	}
	db.Certificates.Dialect = readDialect{db}
	db.Searcher = db.newSearcher()
	if db.recognize == nil {
		db.recognize = portolan.ScannerComponents{}
	}
	var err error
	// busy_timeout lets concurrent portolan processes wait for each other's
	// write transactions instead of failing; synchronous=NORMAL is safe in
	// WAL mode against process crashes (only an OS crash can lose the last
	// transactions, never consistency).
	//
	// The page caches differ: readers serve requests from many hosts and
	// keep 64 MB each; the one writer gets DefaultWriterCacheMB (see
	// there). The WAL is copied into the database beside the writer, by a
	// connection of its own, and by the writer only when the WAL holds
	// more than writerCheckpointPages (checkpoint.go).
	pragmas := "_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)"
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas + "&_txlock=immediate"
	cacheMB := cmp.Or(opts.WriterCacheMB, DefaultWriterCacheMB)
	db.dsn = dsn + fmt.Sprintf("&_pragma=cache_size(-%d)&_pragma=wal_autocheckpoint(%d)", cacheMB*1024, cmp.Or(opts.checkpointPages, writerCheckpointPages))
	if db.write, err = sql.Open("sqlite", db.dsn); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.write.SetMaxOpenConns(1)
	if err := db.migrate(ctx); err != nil {
		db.write.Close()
		return nil, err
	}
	if err := db.fillCertificateFields(ctx); err != nil {
		db.write.Close()
		return nil, err
	}
	// Identities stored before migration 0010 stay in observation_ids.
	// Nothing adds to it since, so a store that holds none now never will.
	if err := db.write.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM observation_ids)`).Scan(&db.legacyIdentities); err != nil {
		db.write.Close()
		return nil, db.storeError("look for identities stored before 0010", err)
	}
	if db.checkpoints, err = startCheckpointer(dsn); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Readers map the database into memory (the first 2 GB, SQLite's
	// compiled-in cap): a page that is not in a reader's cache is then read
	// from the operating system's cache without a system call and a copy,
	// which made reading hosts at random from a store of a million hostPorts
	// 2.8 times faster. The mapped pages are the kernel's file cache, shared
	// and reclaimable, not the process's own memory. The writer reads
	// through its cache instead, so that ingest's RSS stays its own.
	if db.read, err = sql.Open("sqlite", dsn+"&_pragma=cache_size(-65536)&_pragma=mmap_size(2147418112)&_pragma=query_only(1)"); err != nil {
		db.checkpoints.close()
		db.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0)*2)
	db.read.SetMaxOpenConns(readers)
	db.read.SetMaxIdleConns(readers)
	db.direct = newDirectReads(path, readers)
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	var errs []error
	db.cache.close()
	if db.direct != nil {
		db.direct.close()
	}
	db.readStmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.checkpoints != nil {
		errs = append(errs, db.checkpoints.close())
	}
	if db.writeDirect != nil {
		db.writeDirect.close()
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// migrate applies the embedded migrations (sqlstore.Migrate) on the write
// connection.
func (db *DB) migrate(ctx context.Context) error {
	return sqlstore.Migrate(ctx, migrationFS, sqliteMigrator{db}, func(current, latest int) error {
		return portolan.Errorf(portolan.EINVALID, "The database %s has schema version %d, newer than this binary knows (%d); use a newer portolan.", db.path, current, latest)
	})
}

// sqliteMigrator is the SQLite side of sqlstore.Migrator.
type sqliteMigrator struct{ db *DB }

// SchemaVersion implements sqlstore.Migrator.
func (m sqliteMigrator) SchemaVersion(ctx context.Context) (int, error) {
	if _, err := m.db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)`); err != nil {
		return 0, m.db.storeError("create schema_migrations", err)
	}
	var current int
	if err := m.db.write.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return 0, m.db.storeError("read schema version", err)
	}
	return current, nil
}

// Apply implements sqlstore.Migrator. modernc's driver runs every
// statement of a multi-statement Exec without arguments.
func (m sqliteMigrator) Apply(ctx context.Context, mig sqlstore.Migration) error {
	tx, err := m.db.write.BeginTx(ctx, nil)
	if err != nil {
		return m.db.storeError("begin migration", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, mig.SQL); err != nil {
		return fmt.Errorf("sqlite: migration %s: %w", mig.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, mig.Version, mig.Name); err != nil {
		return fmt.Errorf("sqlite: record migration %s: %w", mig.Name, err)
	}
	return m.db.storeError("commit migration", tx.Commit())
}

// storeError normalises driver errors once: a busy or locked database
// becomes EUNAVAILABLE (retryable), a full disk or read-only file says so,
// anything else is internal with the cause kept for the log.
func (db *DB) storeError(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if code, ok := sqliteCode(err); ok {
		switch code & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return portolan.WrapError(portolan.EUNAVAILABLE, fmt.Errorf("sqlite: %s: %w", what, err), "The database is busy; try again.")
		case sqlite3.SQLITE_FULL:
			return portolan.WrapError(portolan.EINTERNAL, fmt.Errorf("sqlite: %s: %w", what, err), "The disk holding %s is full.", db.path)
		case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_TOOBIG:
			// A record the database will not hold: ingest isolates it and
			// stores the rest of its batch.
			return portolan.WrapError(portolan.ECONFLICT, fmt.Errorf("sqlite: %s: %w", what, err), "The database refused a value (%s).", sqlite.ErrorCodeString[code])
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM:
			return portolan.WrapError(portolan.EINTERNAL, fmt.Errorf("sqlite: %s: %w", what, err), "Cannot write %s: check its permissions.", db.path)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}

// sqliteCode returns the SQLite result code err carries: the driver's
// (*sqlite.Error) or that of a direct read (*directError).
func sqliteCode(err error) (int, bool) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code(), true
	}
	var de *directError
	if errors.As(err, &de) {
		return de.code, true
	}
	return 0, false
}
