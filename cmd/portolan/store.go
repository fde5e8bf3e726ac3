// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"portolan"
	"portolan/internal/cli"
	"portolan/internal/fingerprint"
	"portolan/internal/postgres"
	"portolan/internal/sqlite"
)

// storeFlags are the flags every command that touches the store shares.
type storeFlags struct {
	data  string
	store string
	// writerCacheMB is the embedded store's writer page cache (0: its
	// default); only ingest sets it.
	writerCacheMB int
}

// addStoreFlags registers --data (PORTOLAN_DATA, default ./portolan-data) and
// --store (PORTOLAN_STORE: a postgres:// URL; empty means the embedded
// store in the data directory).
func addStoreFlags(fs *flag.FlagSet, env *cli.Env) *storeFlags {
	s := &storeFlags{}
	data := env.Getenv("PORTOLAN_DATA")
	if data == "" {
		data = "portolan-data"
	}
	fs.StringVar(&s.data, "data", data, "data directory of the embedded store, keys and certificates (env PORTOLAN_DATA)")
	fs.StringVar(&s.store, "store", env.Getenv("PORTOLAN_STORE"), "PostgreSQL URL (postgres://...) to use instead of the embedded store (env PORTOLAN_STORE)")
	return s
}

// embedded reports whether the store is the embedded one, in the data
// directory.
func (s *storeFlags) embedded() bool { return s.store == "" }

// DataDir is the data directory.
func (s *storeFlags) DataDir() string { return s.data }

// Open opens (creating and migrating when needed) the configured store.
func (s *storeFlags) Open(ctx context.Context, logger *slog.Logger) (portolan.Store, error) {
	if strings.HasPrefix(s.store, "postgres://") || strings.HasPrefix(s.store, "postgresql://") {
		db, err := postgres.Open(ctx, s.store, postgres.Options{Recognizer: recognizer()})
		if err != nil {
			return nil, err
		}
		// Not the URL: it may carry a password.
		logger.Debug("store opened", "kind", "postgres")
		return db, nil
	}
	if s.store != "" {
		return nil, fmt.Errorf("--store %q is not a postgres:// URL; leave it empty to use the embedded store in --data", s.store)
	}
	db, err := sqlite.OpenDir(ctx, s.data, sqlite.Options{Recognizer: recognizer(), WriterCacheMB: s.writerCacheMB})
	if err != nil {
		return nil, err
	}
	logger.Debug("store opened", "kind", "sqlite", "path", filepath.Join(s.data, sqlite.FileName))
	return db, nil
}

// recognizer is the component recognition every store uses: the
// scanner's own product names plus the embedded fingerprint rules.
func recognizer() portolan.Recognizer {
	return fingerprint.Default()
}
