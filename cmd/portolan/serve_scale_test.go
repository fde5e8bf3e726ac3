// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestServeImportsSortInTheDataDirectory: without a bus, serve's imports
// put their sorted runs in its data directory, made if missing (0700);
// where it cannot be made, bodies go to the store in their own order.
func TestServeImportsSortInTheDataDirectory(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := filepath.Join(t.TempDir(), "data")
	var c scaleConfig
	release, err := c.open(context.Background(), nil, dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if c.sortDir != dir {
		t.Errorf("sort directory %q, want the data directory %q", c.sortDir, dir)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v, %v; want a directory of mode 0700", fi, err)
	}

	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var unsorted scaleConfig
	release, err = unsorted.open(context.Background(), nil, filepath.Join(file, "data"), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if unsorted.sortDir != "" {
		t.Errorf("sort directory %q under a file, want none", unsorted.sortDir)
	}
}
