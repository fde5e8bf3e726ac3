// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Checkpoints copy the WAL's pages into the database file. SQLite runs them
// in the committing connection, inside the commit, once the WAL holds
// wal_autocheckpoint pages: for ingest of a small file that was about a
// seventh of the writer's time, spent while nothing else could be written.
// Here a connection of the checkpointer's own copies the WAL once the
// commits since its last copy wrote checkpointAfterPages pages (after each
// commit into a large store), on another core, while the writer goes on
// with the next transaction: SQLite lets a PASSIVE checkpoint run beside a
// writer, and the writer starts the WAL over from its beginning at its
// next commit once every frame is copied. When the copies fall behind
// (an import into a large store rewrites pages all over the file, tens of
// thousands of them, and the writer commits the next before the copy
// ends), the WAL grows until it reaches the writer's own threshold,
// writerCheckpointPages, and the writer copies what is left in its commit
// and starts the WAL over.
// Copying only beside the writer let the WAL grow without bound and made
// building a store of a million hostPorts 1.7 times slower.
type checkpointer struct {
	db   *sql.DB
	kick chan struct{}
	stop chan struct{}
	done sync.WaitGroup
	log  *slog.Logger
	// uncopied counts the pages the commits wrote since the last kick.
	uncopied atomic.Int64
}

const (
	// writerCheckpointPages is the writer's wal_autocheckpoint, 160 MB of
	// 4 KiB pages: a page that several imports rewrite is copied once, and
	// an import into a large store (about 30,000 pages at a million
	// hostPorts) is copied beside the writer rather than in its commit.
	// Against 10,000: ingest of the harness's file into a store of a
	// million hostPorts 37.4 -> 33.5 s, into an empty store 11.5 -> 10.7 s,
	// building the million-hostPort store 105 -> 94 s. 100,000 saved
	// another 6% into the full store for a WAL of up to half a gigabyte.
	writerCheckpointPages = 40000
	// checkpointEvery is how often the checkpointer looks at the WAL when
	// no commit kicked it: other processes write the same file too.
	checkpointEvery = 5 * time.Second
)

// checkpointAfterPages is how many pages (16 MB) the commits write to the
// WAL before the checkpointer copies them: a page that several commits
// rewrite (an index's pages near its end, a b-tree's inner pages) is then
// copied once. An import of the harness's native file writes about 1,700
// pages a commit into an empty store (6,400 into a store of a million
// hostPorts, which is copied after each commit as before): with the
// copies after every third commit instead of every one, it took 3.26,
// 3.27, 3.88 s against 3.47, 3.48, 3.98, the nmap file 2.99, 3.09, 3.41 s
// against 3.19, 3.29, 3.62, and the checkpointer's system time fell by a
// fifth. 8,000 and 16,000 pages were no faster into the empty store and
// slower into the full one, whose WAL then grew toward the writer's own
// threshold. A variable for the tests.
var checkpointAfterPages int64 = 4000

func startCheckpointer(dsn string) (*checkpointer, error) {
	// The checkpointer's connection reads WAL frames and writes database
	// pages; it needs no page cache of its own.
	db, err := sql.Open("sqlite", dsn+"&_pragma=cache_size(-256)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), stop: make(chan struct{}), log: slog.Default()}
	c.done.Add(1)
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer c.done.Done()
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		case <-tick.C:
		}
		c.checkpoint(context.Background())
	}
}

// checkpoint copies what the WAL holds. A busy database (another
// checkpoint running) is no failure: the next commit kicks again.
func (c *checkpointer) checkpoint(ctx context.Context) {
	var busy, logPages, copied int64
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &copied); err != nil {
		c.log.Warn("sqlite: checkpoint", "err", err)
	}
}

// written tells the checkpointer that a transaction committed, having
// written pages pages to the WAL (-1: not known); it never waits. It copies
// once the commits since its last copy wrote checkpointAfterPages pages,
// or at once when the count is not known.
func (c *checkpointer) written(pages int) {
	if pages >= 0 && c.uncopied.Add(int64(pages)) < checkpointAfterPages {
		return
	}
	c.uncopied.Store(0)
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// stopCopying stops the copies beside the writer (close, and tests of the
// writer's own checkpoints).
func (c *checkpointer) stopCopying() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.done.Wait()
}

func (c *checkpointer) close() error {
	c.stopCopying()
	return c.db.Close()
}
