// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Checkpoints copy the WAL's pages into the database file. SQLite runs them
// in the committing connection by default, inside the commit: for ingest
// that was about a seventh of the writer's time, spent while nothing else
// could be written. Here the writer never checkpoints on its own
// (wal_autocheckpoint(0)); a connection of the checkpointer's own copies
// the WAL after each commit, on another core, while the writer goes on with
// the next transaction. SQLite lets a PASSIVE checkpoint run beside a
// writer: it copies the frames committed when it began, and the writer
// starts the WAL over from its beginning once they are all copied.
//
// Should the writer outpace it, or a reader hold an old snapshot for long,
// the WAL would grow without end: once its file passes walLimit the writer
// waits, after its commit, for a checkpoint that copies every frame and
// empties the file (written). SQLite truncates the file to walKeep whenever
// it starts the WAL over, so that its size tells how far behind the copies
// are.
type checkpointer struct {
	db      *sql.DB
	walPath string
	limit   int64 // walLimit, or a test's
	kick    chan struct{}
	stop    chan struct{}
	done    sync.WaitGroup
	log     *slog.Logger
}

const (
	// walLimit is the WAL file's size past which the writer checkpoints
	// itself.
	walLimit = 256 << 20
	// walKeep is the size SQLite leaves the WAL file at when it starts it
	// over (the writer's journal_size_limit).
	walKeep = 64 << 20
	// checkpointEvery is how often the checkpointer looks at the WAL when
	// no commit kicked it: other processes write the same file too.
	checkpointEvery = 5 * time.Second
)

func startCheckpointer(dsn, dbPath string) (*checkpointer, error) {
	// The checkpointer's connection reads WAL frames and writes database
	// pages; it needs no page cache of its own.
	db, err := sql.Open("sqlite", dsn+"&_pragma=cache_size(-256)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, walPath: dbPath + "-wal", limit: walLimit,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), log: slog.Default()}
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
		c.checkpoint(context.Background(), "PASSIVE")
	}
}

// checkpoint runs one checkpoint of mode. A busy database (another
// process checkpointing, a reader in the way of TRUNCATE) is no failure:
// the next commit tries again.
func (c *checkpointer) checkpoint(ctx context.Context, mode string) {
	var busy, logPages, copied int64
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logPages, &copied); err != nil {
		c.log.Warn("sqlite: checkpoint", "mode", mode, "err", err)
	}
}

// written tells the checkpointer that a transaction committed. It never
// waits, unless the WAL file has grown past the limit: then it runs a
// checkpoint that copies every frame and empties the file.
func (c *checkpointer) written(ctx context.Context) {
	if fi, err := os.Stat(c.walPath); err == nil && fi.Size() > c.limit {
		c.checkpoint(ctx, "TRUNCATE")
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// stopCopying stops the copies beside the writer (close, and tests of the
// writer's own bound).
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
