// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"portolan"
	"portolan/internal/gen"
)

// importGenerated imports n batches of a generated scan, each new to the
// store.
func importGenerated(t *testing.T, db *DB, seed uint64, hosts int) {
	t.Helper()
	g := gen.New(gen.Config{Seed: seed, Hosts: hosts, Rescans: 1})
	var batch []*portolan.Observation
	for o := g.Next(); o != nil; o = g.Next() {
		batch = append(batch, o)
	}
	if _, err := db.ImportObservations(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestCheckpointerCopiesTheWAL: an import far smaller than the writer's
// checkpoint threshold reaches the database file, copied there beside the
// writer.
func TestCheckpointerCopiesTheWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before := fileSize(t, path)
	importGenerated(t, db, 1, 2000)
	deadline := time.Now().Add(20 * time.Second)
	for fileSize(t, path) < before+1<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes 20 s after an import of about %d bytes of WAL (%d before): nothing was checkpointed",
				fileSize(t, path), fileSize(t, path+"-wal"), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWriterBoundsTheWAL: with no copies beside it (a checkpointer that
// falls behind), the writer's own checkpoints keep the WAL file near its
// threshold (writerCheckpointPages, here 2,000 pages, so that a few imports
// cross it).
func TestWriterBoundsTheWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	const pages = 2000
	db, err := Open(context.Background(), path, Options{checkpointPages: pages})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.checkpoints.stopCopying()
	const threshold = pages * 4096
	var biggest int64
	for i := range 16 {
		importGenerated(t, db, uint64(10+i), 1000)
		biggest = max(biggest, fileSize(t, path+"-wal"))
	}
	// Each import writes several MB of WAL; without the writer's
	// checkpoints the file would hold them all (over 120 MB).
	if biggest > threshold+20<<20 {
		t.Errorf("WAL file reached %d bytes; the writer checkpoints at %d", biggest, threshold)
	}
}
