// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"

	"portolan"
)

// BackupTo writes a consistent copy of the database to the new file path
// with VACUUM INTO: it reads one snapshot (WAL mode lets imports and
// readers go on meanwhile), and the copy is compact and needs no WAL file.
// The file is created with mode 0600; an existing file is refused rather
// than overwritten.
func (db *DB) BackupTo(ctx context.Context, path string) error {
	if _, err := os.Lstat(path); err == nil {
		return portolan.Errorf(portolan.EINVALID, "%s exists; backup writes a new file and never overwrites one", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return portolan.WrapError(portolan.EINVALID, err, "Cannot write %s: %v.", path, err)
	}
	// Created first, empty and private, so the copy is never readable by
	// others, even for the moment before a chmod.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return portolan.WrapError(portolan.EINVALID, err, "Cannot write %s: %v.", path, err)
	}
	f.Close()
	// A connection of its own: the read pool is query_only (which refuses
	// VACUUM INTO although it writes only the target), and the write
	// connection would hold imports up for the length of the copy.
	conn, err := sql.Open("sqlite", db.dsn)
	if err != nil {
		os.Remove(path)
		return db.storeError("backup", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		os.Remove(path)
		return db.storeError("backup", err)
	}
	return nil
}

// SizeBytes is the size of the database file with its write-ahead log, for
// metrics.
func (db *DB) SizeBytes(context.Context) (int64, error) {
	var total int64
	for _, p := range []string{db.path, db.path + "-wal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		total += fi.Size()
	}
	return total, nil
}
