// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"portolan/internal/bus/bustest"
)

// TestServeImportsSortInTheDataDirectory: serve's imports put their sorted
// runs in its data directory, made if missing (0700), into the store as
// onto the bus; where it cannot be made, bodies go in their own order.
// Into PostgreSQL, two batches are stored at once, as `ingest --store`
// does; into the embedded store and onto the bus, one.
func TestServeImportsSortInTheDataDirectory(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := filepath.Join(t.TempDir(), "data")
	var c scaleConfig
	release, err := c.open(context.Background(), nil, dir, false, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if c.sortDir != dir || c.importConcurrency > 1 {
		t.Errorf("sort directory %q, concurrency %d; want the data directory %q, one batch at a time", c.sortDir, c.importConcurrency, dir)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v, %v; want a directory of mode 0700", fi, err)
	}
	var pg scaleConfig
	release, err = pg.open(context.Background(), nil, dir, true, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if pg.sortDir != dir || pg.importConcurrency != defaultPostgresIngestConcurrency {
		t.Errorf("PostgreSQL: sort directory %q, concurrency %d; want %q, %d", pg.sortDir, pg.importConcurrency, dir, defaultPostgresIngestConcurrency)
	}
	server := bustest.Start(t)
	stream, prefix := bustest.UniqueNames()
	onBus := scaleConfig{bus: busFlags{url: server.URL, stream: stream, subject: prefix, partitions: 2, maxBytes: 1 << 20}}
	release, err = onBus.open(context.Background(), nil, dir, true, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if onBus.sortDir != dir || onBus.importConcurrency > 1 {
		t.Errorf("onto the bus: sort directory %q, concurrency %d; want %q, one batch at a time", onBus.sortDir, onBus.importConcurrency, dir)
	}

	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var unsorted scaleConfig
	release, err = unsorted.open(context.Background(), nil, filepath.Join(file, "data"), false, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if unsorted.sortDir != "" {
		t.Errorf("sort directory %q under a file, want none", unsorted.sortDir)
	}
}
