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
// writer. The checkpointer's own threshold is one page here, so that the
// commit kicks it rather than its tick five seconds later.
func TestCheckpointerCopiesTheWAL(t *testing.T) {
	defer func(n int64) { checkpointAfterPages = n }(checkpointAfterPages)
	checkpointAfterPages = 1
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

// TestCheckpointerWaitsForPages: commits kick the checkpointer once those
// since its last copy wrote checkpointAfterPages pages, and a commit whose
// count is not known kicks it at once.
func TestCheckpointerWaitsForPages(t *testing.T) {
	c := &checkpointer{kick: make(chan struct{}, 1)}
	kicked := func() bool {
		select {
		case <-c.kick:
			return true
		default:
			return false
		}
	}
	third := int(checkpointAfterPages / 3)
	for i, want := range []bool{false, false, true, false, false, true} {
		c.written(third + 1)
		if got := kicked(); got != want {
			t.Fatalf("commit %d of %d pages: kicked %v, want %v", i+1, third+1, got, want)
		}
	}
	c.written(1)
	c.written(-1)
	if !kicked() {
		t.Fatal("a commit of an unknown count did not kick the checkpointer")
	}
	c.written(int(checkpointAfterPages) - 1)
	if kicked() {
		t.Fatal("the count did not start over after the unknown one's kick")
	}
}

// TestWriterCountsTheWALPagesOfACommit: the count the checkpointer gets is
// the pages the commit wrote (SQLite's SQLITE_DBSTATUS_CACHE_WRITE), read
// once.
func TestWriterCountsTheWALPagesOfACommit(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, tx, c, err := db.beginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 5000)
		INSERT INTO hosts (id, first_seen, last_seen) SELECT '10.0.' || (v / 256) || '.' || (v % 256), 1, 2 FROM n`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := c.walPagesWritten(); n < 20 {
		t.Errorf("a commit of 5,000 hosts wrote %d pages to the WAL, want 20 or more", n)
	}
	if n := c.walPagesWritten(); n != 0 {
		t.Errorf("read again: %d pages, want 0", n)
	}
}
