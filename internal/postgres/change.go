// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/merge"
)

// An import notes what it changed (the change record, migration 0003) from
// what its merge statements return: the hostPort upsert computes the kinds
// of change of each row from the stored and the new values (change_kinds,
// under the row's lock, so concurrent importers cannot confuse it), and the
// banner, component and certificate upserts skip unchanged rows and return
// the others, xmax = 0 telling an inserted row from an updated one. A host
// is compared as hosts/{id} shows it (its row and its aliases), read before
// and after the merge in the same transaction.

// mergePorts is mergePortsTemplate with the portolan.ChangeKind bits.
var mergePorts = strings.NewReplacer(
	"{created}", kindSQL(portolan.ChangeCreated),
	"{status}", kindSQL(portolan.ChangeStatus),
	"{certificate}", kindSQL(portolan.ChangeCertificate),
	"{counters}", kindSQL(portolan.ChangeCounters),
).Replace(mergePortsTemplate)

func kindSQL(k portolan.ChangeKind) string { return strconv.Itoa(int(k)) }

// tracker gathers the changes of one import transaction.
type tracker struct {
	ports map[merge.PortKey]portolan.ChangeKind
	hosts map[string]portolan.ChangeKind
	certs map[string]portolan.ChangeKind // by sha1
}

func newTracker() *tracker {
	return &tracker{ports: map[merge.PortKey]portolan.ChangeKind{}, hosts: map[string]portolan.ChangeKind{}, certs: map[string]portolan.ChangeKind{}}
}

// partScanner reads the rows a banner or component upsert returned: an
// inserted row is a new part (kind), an updated one moved counters.
func (t *tracker) partScanner(kind portolan.ChangeKind) func(pgx.Rows) error {
	return func(rows pgx.Rows) error {
		var k merge.PortKey
		var proto string
		var inserted bool
		if err := rows.Scan(&k.Host, &k.Port, &proto, &inserted); err != nil {
			return err
		}
		k.Protocol = portolan.Protocol(proto)
		if inserted {
			t.ports[k] |= kind
		} else {
			t.ports[k] |= portolan.ChangeCounters
		}
		return nil
	}
}

// affectedHosts are the host entities a delta may change: its hosts and
// the names of its aliases.
func affectedHosts(d *merge.Delta) []string {
	seen := map[string]bool{}
	for id := range d.Hosts {
		seen[id] = true
	}
	for a := range d.Aliases {
		seen[a.Name] = true
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// queueHostSpans queues the read of the spans of ids as hosts/{id} shows
// them.
func (t *tracker) queueHostSpans(b *pgx.Batch, ids []string, done func(map[string][2]*time.Time)) {
	if len(ids) == 0 {
		return
	}
	b.Queue(hostSpans, ids).Query(func(rows pgx.Rows) error {
		m := map[string][2]*time.Time{}
		var id string
		var first, last *time.Time
		_, err := pgx.ForEachRow(rows, []any{&id, &first, &last}, func() error {
			m[id] = [2]*time.Time{first, last}
			return nil
		})
		done(m)
		return err
	})
}

func (t *tracker) compareHosts(before, after map[string][2]*time.Time) {
	same := func(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
	for id, now := range after {
		old, ok := before[id]
		switch {
		case !ok:
			t.hosts[id] |= portolan.ChangeCreated
		case !same(old[0], now[0]) || !same(old[1], now[1]):
			t.hosts[id] |= portolan.ChangeCounters
		}
	}
}

// recordChanges inserts the rows of the change record at the transaction's
// position, with its mark.
const recordChanges = `WITH mark AS (
	INSERT INTO change_marks (position) VALUES (pg_current_xact_id()::text::bigint) ON CONFLICT DO NOTHING
)
INSERT INTO record_changes (collection, position, id, kinds, scanned_at)
SELECT c, pg_current_xact_id()::text::bigint, i, k, s
FROM unnest($1::smallint[], $2::text[], $3::smallint[], $4::timestamptz[]) AS u(c, i, k, s)
ORDER BY 1, 3`

// record writes the tracker's changes in the import's transaction; a
// hostPort's entry carries the latest scan of the port in d (migration
// 0009), the instant the console's timeline marks it at.
func (t *tracker) record(ctx context.Context, tx pgx.Tx, d *merge.Delta) error {
	var colls, kinds []int16
	var ids []string
	var scanned []*time.Time
	add := func(c portolan.ChangeCollection, id string, k portolan.ChangeKind, at *time.Time) {
		colls, ids, kinds, scanned = append(colls, int16(c)), append(ids, id), append(kinds, int16(k)), append(scanned, at)
	}
	for k, kind := range t.ports {
		if kind&portolan.ChangeCreated != 0 {
			kind = portolan.ChangeCreated
		}
		var at *time.Time
		if p := d.Ports[k]; p != nil && !p.LastScan.IsZero() {
			at = &p.LastScan
		}
		add(portolan.ChangedHostPorts, portolan.HostPortID(k.Host, k.Protocol, k.Port), kind, at)
	}
	for id, kind := range t.hosts {
		add(portolan.ChangedHosts, id, kind, nil)
	}
	for sha, kind := range t.certs {
		add(portolan.ChangedSSLCertificates, portolan.SSLCertificateID(sha), kind, nil)
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, recordChanges, colls, ids, kinds, scanned)
	return err
}

// recordRebuild notes every item that exists as rebuilt (before the records
// are emptied and again after they are rebuilt): a delta client receives
// every item in its new state, or removed when it is gone, and keeps its
// token.
func recordRebuild(ctx context.Context, tx pgx.Tx) error {
	hostPortID := dialect.Base64("host || '$$' || port || CASE WHEN protocol = 'udp' THEN '$$udp' ELSE '' END")
	_, err := tx.Exec(ctx, `WITH mark AS (
		INSERT INTO change_marks (position) VALUES (pg_current_xact_id()::text::bigint) ON CONFLICT DO NOTHING
	), items AS (
		SELECT $1::smallint AS c, `+hostPortID+` AS i FROM host_ports WHERE first_seen IS NOT NULL
		UNION SELECT $2::smallint, host FROM hosts UNION SELECT $2::smallint, host FROM host_aliases
		UNION SELECT $3::smallint, id FROM certificates
	)
	INSERT INTO record_changes (collection, position, id, kinds)
	SELECT c, pg_current_xact_id()::text::bigint, i, $4::smallint FROM items
	ON CONFLICT DO NOTHING`, int16(portolan.ChangedHostPorts), int16(portolan.ChangedHosts), int16(portolan.ChangedSSLCertificates), int16(portolan.ChangeRebuilt))
	return err
}

var _ portolan.ChangeService = (*DB)(nil)

// watermark reads the snapshot's xmin: every transaction before it has
// ended, and every change to come has a position at or after it.
const watermark = `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, horizon FROM change_state WHERE id = 1`

// ChangeWatermark implements portolan.ChangeService.
func (db *DB) ChangeWatermark(ctx context.Context) (portolan.Watermark, error) {
	var wm portolan.Watermark
	err := db.pool.QueryRow(ctx, watermark).Scan(&wm.Position, &wm.Horizon)
	return wm, storeError("read change watermark", err)
}

// Changes implements portolan.ChangeService.
func (db *DB) Changes(ctx context.Context, since, until int64) ([]portolan.Change, error) {
	rows, err := db.pool.Query(ctx, `SELECT collection, position, id, kinds FROM record_changes
		WHERE position >= $1 AND position < $2 ORDER BY position, collection, id`, since, until)
	if err != nil {
		return nil, storeError("read changes", err)
	}
	var out []portolan.Change
	var c portolan.Change
	var coll, kinds int16
	_, err = pgx.ForEachRow(rows, []any{&coll, &c.Position, &c.ID, &kinds}, func() error {
		c.Collection, c.Kinds = portolan.ChangeCollection(coll), portolan.ChangeKind(kinds)
		out = append(out, c)
		return nil
	})
	return out, storeError("read changes", err)
}

// FindPortChanges implements portolan.ChangeService. Each id is a lookup
// of the record's id index; an entry without its scan instant (recorded
// before migration 0009) takes its import's.
func (db *DB) FindPortChanges(ctx context.Context, ids []string, perPort int) ([]portolan.PortChange, error) {
	if perPort < 1 {
		perPort = math.MaxInt32
	}
	rows, err := db.pool.Query(ctx, `SELECT id, position, kinds, at FROM (
		SELECT rc.id, rc.position, rc.kinds, coalesce(rc.scanned_at, m.at) AS at,
			row_number() OVER (PARTITION BY rc.id ORDER BY rc.position DESC) AS n
		FROM record_changes rc LEFT JOIN change_marks m ON m.position = rc.position
		WHERE rc.collection = $1 AND rc.kinds & $2::smallint = 0 AND rc.id = ANY($3::text[])
	) x WHERE n <= $4 ORDER BY id, position`, int16(portolan.ChangedHostPorts), int16(portolan.ChangeRebuilt), ids, perPort)
	if err != nil {
		return nil, storeError("read port changes", err)
	}
	var out []portolan.PortChange
	var c portolan.PortChange
	var kinds int16
	var at *time.Time
	_, err = pgx.ForEachRow(rows, []any{&c.ID, &c.Position, &kinds, &at}, func() error {
		c.Kinds, c.At = portolan.ChangeKind(kinds), time.Time{}
		if at != nil {
			c.At = at.UTC()
		}
		out = append(out, c)
		return nil
	})
	return out, storeError("read port changes", err)
}

// PruneChanges implements portolan.ChangeService. Positions are
// transaction ids, which follow time only roughly: the horizon moves past
// the greatest position recorded before the instant, and every older one
// goes with it.
func (db *DB) PruneChanges(ctx context.Context, before time.Time) (portolan.Watermark, error) {
	var wm portolan.Watermark
	err := db.inTx(ctx, "prune changes", func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `WITH last AS (SELECT max(position) AS p FROM change_marks WHERE at < $1),
			d1 AS (DELETE FROM record_changes WHERE collection IN (1, 2, 3) AND position <= (SELECT p FROM last)),
			d2 AS (DELETE FROM change_marks WHERE position <= (SELECT p FROM last))
			UPDATE change_state SET horizon = GREATEST(horizon, (SELECT p FROM last) + 1) WHERE id = 1 AND (SELECT p FROM last) IS NOT NULL`, before)
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, watermark).Scan(&wm.Position, &wm.Horizon)
	})
	return wm, err
}
