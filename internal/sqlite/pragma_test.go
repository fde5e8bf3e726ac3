// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// TestConnectionSettings: the writer's page cache follows the options and
// it checkpoints at 10,000 pages (checkpoint.go); the readers keep 64 MB each and map
// the database.
func TestConnectionSettings(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		opts      Options
		wantCache int64
	}{{Options{}, -DefaultWriterCacheMB * 1024}, {Options{WriterCacheMB: 64}, -64 * 1024}} {
		db, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		var writerCache, readerCache, readerMmap, checkpoint int64
		if err := db.write.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&writerCache); err != nil {
			t.Fatal(err)
		}
		if err := db.write.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&checkpoint); err != nil {
			t.Fatal(err)
		}
		if err := db.read.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&readerCache); err != nil {
			t.Fatal(err)
		}
		if err := db.read.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&readerMmap); err != nil {
			t.Fatal(err)
		}
		if writerCache != tc.wantCache || checkpoint != writerCheckpointPages {
			t.Errorf("%+v: writer cache_size %d, wal_autocheckpoint %d; want %d, %d", tc.opts, writerCache, checkpoint, tc.wantCache, writerCheckpointPages)
		}
		if readerCache != -65536 || readerMmap < 1<<30 {
			t.Errorf("reader cache_size %d, mmap_size %d; want -65536 and at least 1 GiB", readerCache, readerMmap)
		}
		db.Close()
	}
}
