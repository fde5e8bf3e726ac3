// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"portolan/internal/cli"
	"portolan/internal/sqlite"
)

// runBackup is `portolan backup --to FILE`: a consistent online copy of the
// embedded store, taken while serve and ingest go on.
func runBackup(ctx context.Context, env *cli.Env, args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	stores := addStoreFlags(fs, env)
	var to string
	fs.StringVar(&to, "to", "", "the new `file` to write the copy to (never overwritten; mode 0600)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: portolan backup --to FILE [--data DIR]

Writes a consistent copy of the embedded store (one snapshot, through
SQLite's VACUUM INTO) to a new file, while serve and ingest keep running.
The copy is compact and complete: the observation log and every record.

Restore: stop serve and ingest, then
  mv DIR/%[1]s DIR/%[1]s.old; rm -f DIR/%[1]s-wal DIR/%[1]s-shm
  cp FILE DIR/%[1]s
and start serve again. A copy made by an older portolan is migrated when
opened; one made by a newer portolan is refused.

For PostgreSQL (--store), use the database's own tools (pg_dump).

Flags:
`, sqlite.FileName)
		fs.PrintDefaults()
	}
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("backup: unexpected argument %q (the target is --to FILE): %w", fs.Arg(0), cli.ErrUsage)
	}
	if to == "" {
		return fmt.Errorf("backup: --to FILE is required: %w", cli.ErrUsage)
	}
	if stores.store != "" {
		return errors.New("backup copies the embedded store; for PostgreSQL (--store) use pg_dump")
	}
	src := filepath.Join(stores.DataDir(), sqlite.FileName)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("backup: no store to copy at %s (set --data or PORTOLAN_DATA): %w", src, err)
	}
	db, err := sqlite.Open(ctx, src, sqlite.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	if err := db.BackupTo(ctx, to); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fi, err := os.Stat(to)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "backup: %s written (%d bytes) in %s\n", to, fi.Size(), time.Since(start).Round(time.Millisecond))
	return nil
}
