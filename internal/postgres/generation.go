// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"portolan"
)

// changeChannel is the NOTIFY channel of change notifications.
const changeChannel = "portolan_changes"

// notifyChange tells every serve on the database that tx changes what they
// serve: the observation log or the records. NOTIFY is transactional:
// PostgreSQL delivers it when tx commits, not at all when it rolls back,
// and folds the identical notifications of a transaction into one, so a
// writer may call it once or several times. The payload is the schema, as
// the channel is database-wide.
//
// Every writer calls it in its own transaction; migration 0005 did it with
// statement triggers, which 0008 dropped: on Citus the rows of a
// distributed table are written on the worker nodes' shards, so a trigger
// on the coordinator's table never fires, and one propagated to the shards
// would notify the worker node's database, where no serve listens. This
// statement runs where portolan's session is, the coordinator.
func notifyChange(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, current_schema())`, changeChannel)
	return err
}

// changeListener follows the database's change notifications on a
// connection of its own, so that Generation moves within moments of any
// process's import, rebuild or prune: several serve replicas on one
// database can then cache responses as the embedded store's server does.
type changeListener struct {
	once sync.Once
	// generation moves on every notification of this schema, and on
	// every (re)connection, since notifications may have been missed.
	generation atomic.Uint64
	// listening is true while the LISTEN is in force; without it no
	// generation is given, and readers do not cache.
	listening atomic.Bool
	stop      context.CancelFunc
	done      chan struct{}
}

var _ portolan.ChangeTracker = (*DB)(nil)

// Generation implements portolan.ChangeTracker. It starts listening on its
// first call; EUNAVAILABLE while the listening connection is not
// established (the caller then does not cache).
func (db *DB) Generation(ctx context.Context) (uint64, error) {
	l := &db.changes
	l.once.Do(func() {
		lctx, cancel := context.WithCancel(context.Background())
		l.stop, l.done = cancel, make(chan struct{})
		go func() { defer close(l.done); db.listen(lctx) }()
	})
	if !l.listening.Load() {
		return 0, portolan.Errorf(portolan.EUNAVAILABLE, "Not listening for changes yet.")
	}
	return l.generation.Load(), nil
}

// stopListening ends the listener, if it started; Close calls it.
func (db *DB) stopListening() {
	l := &db.changes
	l.once.Do(func() {}) // no listener may start after Close
	if l.stop != nil {
		l.stop()
		<-l.done
	}
}

// listen keeps a LISTEN connection until ctx ends, reconnecting with
// backoff when it breaks.
func (db *DB) listen(ctx context.Context) {
	l := &db.changes
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := db.listenOnce(ctx)
		l.listening.Store(false)
		l.generation.Add(1)
		if ctx.Err() != nil {
			return
		}
		_ = err // the next attempt says more; readers just stop caching meanwhile
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

func (db *DB) listenOnce(ctx context.Context) error {
	l := &db.changes
	// A connection of its own, not the pool's: it is held for ever.
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `LISTEN `+changeChannel); err != nil {
		return err
	}
	// What changed before the LISTEN took effect is unknown: move on.
	l.generation.Add(1)
	l.listening.Store(true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		// The channel is database-wide; other schemas (test schemas,
		// another deployment) notify on it too.
		if n.Payload == schema {
			l.generation.Add(1)
		}
	}
}
