// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"portolan"
	"portolan/internal/merge"
)

// An import notes what it changed (the change record, migration 0003) by
// comparing each row it upserts before and after: the writer reads the rows
// of the keys it is about to merge (it reads host_ports for its counts
// anyway) and the upserts return the merged rows. The comparison is of
// stored values, not of rules: whatever the merge decided, a field that
// moved is a change of the item that shows it.

// portRow is a host_ports row as stored: what a hostPort's change is judged
// on, and what the writer merges into (mergePortRow).
type portRow struct {
	first, last    sql.NullInt64
	lastScan       int64
	statusAt, rank int64
	certSeen       sql.NullInt64
	cert           sql.NullString
	notAfter       sql.NullInt64
	instants       []byte
	count          int64 // times_observed, the instants' count (set by mergePortRow only)
	parts          int64 // sqlstore.Part bits (portParts)
}

// spanRow is a banner's or component's stored span (and a banner's
// instants).
type spanRow struct {
	first, last int64
	instants    []byte
}

// bannerRowKey and compRowKey identify a banner or component of a port.
type bannerRowKey struct {
	port   merge.PortKey
	digest string
}

type compRowKey struct {
	port merge.PortKey
	comp portolan.Component
}

// tracker gathers the changes of one import transaction.
type tracker struct {
	ports map[merge.PortKey]portolan.ChangeKind
	hosts map[string]portolan.ChangeKind
	certs map[string]portolan.ChangeKind // by sha1
}

func newTracker() *tracker {
	return &tracker{ports: map[merge.PortKey]portolan.ChangeKind{}, hosts: map[string]portolan.ChangeKind{}, certs: map[string]portolan.ChangeKind{}}
}

// addsInstant reports whether set holds an instant the stored blob lacks.
func addsInstant(stored []byte, set map[int64]struct{}) bool {
	if len(set) == 0 {
		return false
	}
	have, err := decodeInstants(stored)
	if err != nil {
		return true
	}
	for t := range set {
		if _, found := slices.BinarySearch(have, t); !found {
			return true
		}
	}
	return false
}

// portChange is how merging p into the stored rows changes the hostPort of
// k, decided before the upserts with the merge's own rules (merge.StatusWins,
// merge.CertificateWins, min, max and union), which mergePortRow and the
// upserts apply: storetest.RunChanges holds the result to the records' difference.
func portChange(k merge.PortKey, p *merge.PortDelta, before map[merge.PortKey]portRow,
	banners map[bannerRowKey]spanRow, comps map[compRowKey]spanRow) portolan.ChangeKind {
	old, existed := before[k]
	if !existed || !old.first.Valid {
		if p.IsRecord() {
			return portolan.ChangeCreated
		}
		return 0
	}
	var kind portolan.ChangeKind
	if merge.StatusWins(p.StatusAt, p.StatusRank, time.Unix(old.statusAt, 0), int(old.rank)) && int64(p.StatusRank) != old.rank {
		kind |= portolan.ChangeStatus
	}
	if p.CertSHA1 != "" && p.CertSHA1 != old.cert.String &&
		merge.CertificateWins(p.CertSeen, p.CertSHA1, time.Unix(old.certSeen.Int64, 0), old.cert.String) {
		kind |= portolan.ChangeCertificate
	}
	if p.LastScan.Unix() > old.lastScan ||
		(p.IsRecord() && (p.Open.First.Unix() < old.first.Int64 || p.Open.Last.Unix() > old.last.Int64)) ||
		addsInstant(old.instants, p.OpenInstants) {
		kind |= portolan.ChangeCounters
	}
	for bk, bd := range p.Banners {
		switch ob, ok := banners[bannerRowKey{k, string(bk.Digest())}]; {
		case !ok:
			kind |= portolan.ChangeBanners
		case bd.Span.First.Unix() < ob.first || bd.Span.Last.Unix() > ob.last || addsInstant(ob.instants, bd.Instants):
			kind |= portolan.ChangeCounters
		}
	}
	for c, sp := range p.Components {
		switch oc, ok := comps[compRowKey{k, c}]; {
		case !ok && redundantBesideStored(k, c, comps):
			// dropRedundantComponents deletes it at once: no change.
		case !ok:
			kind |= portolan.ChangeServices
		case sp.First.Unix() < oc.first || sp.Last.Unix() > oc.last:
			kind |= portolan.ChangeCounters
		}
	}
	return kind
}

// hostChanges records the hosts whose entity (hosts/{id}: its row and, for
// a name, its aliases) the delta creates or widens, from their spans before.
func hostChanges(t *tracker, d *merge.Delta, ids []string, before map[string][2]sql.NullInt64) {
	widen := func(span *[2]sql.NullInt64, sp portolan.Span) {
		if sp.IsZero() {
			return
		}
		if f := sp.First.Unix(); !span[0].Valid || f < span[0].Int64 {
			span[0] = sql.NullInt64{Int64: f, Valid: true}
		}
		if l := sp.Last.Unix(); !span[1].Valid || l > span[1].Int64 {
			span[1] = sql.NullInt64{Int64: l, Valid: true}
		}
	}
	after := make(map[string][2]sql.NullInt64, len(ids))
	for _, id := range ids {
		after[id] = before[id]
	}
	for id, sp := range d.Hosts {
		span := after[id]
		widen(&span, *sp)
		after[id] = span
	}
	for a, sp := range d.Aliases {
		span := after[a.Name]
		widen(&span, *sp)
		after[a.Name] = span
	}
	for id, now := range after {
		switch old, ok := before[id]; {
		case !ok:
			t.hosts[id] |= portolan.ChangeCreated
		case old != now:
			t.hosts[id] |= portolan.ChangeCounters
		}
	}
}

func scanPortKey(rows rowScanner, dest ...any) (merge.PortKey, error) {
	var k merge.PortKey
	var proto string
	if err := rows.Scan(append([]any{&k.Host, &k.Port, &proto}, dest...)...); err != nil {
		return k, err
	}
	k.Protocol = portolan.Protocol(proto)
	return k, nil
}

// portArgs are the (host, port, protocol) arguments of keys.
func portArgs(keys []merge.PortKey) []any {
	args := make([]any, 0, len(keys)*3)
	for _, k := range keys {
		args = append(args, k.Host, k.Port, string(k.Protocol))
	}
	return args
}

// readBanners returns the stored spans of the banners of keys.
func (w *writer) readBanners(keys []merge.PortKey) (map[bannerRowKey]spanRow, error) {
	out := map[bannerRowKey]spanRow{}
	err := w.queryRows("look up banners", func(n int) string {
		return "SELECT host, port, protocol, digest, first_seen, last_seen, instants FROM banners WHERE (host, port, protocol) IN (VALUES " + placeholders(n, 3) + ")"
	}, 3, portArgs(keys), func(rows rowScanner) error {
		var digest []byte
		var s spanRow
		k, err := scanPortKey(rows, &digest, &s.first, &s.last, &s.instants)
		out[bannerRowKey{k, string(digest)}] = s
		return err
	})
	return out, err
}

// redundantBesideStored reports whether a stored component of k makes c
// redundant. Only a versionless component or a Linux can be, which keeps
// the walk over the batch's stored components off the common path.
func redundantBesideStored(k merge.PortKey, c portolan.Component, comps map[compRowKey]spanRow) bool {
	if c.Version != "" && c.Name != "Linux" {
		return false
	}
	for rk := range comps {
		if rk.port == k && c.RedundantBeside(rk.comp) {
			return true
		}
	}
	return false
}

// readComponents returns the stored spans of the components of keys.
func (w *writer) readComponents(keys []merge.PortKey) (map[compRowKey]spanRow, error) {
	out := map[compRowKey]spanRow{}
	err := w.queryRows("look up components", func(n int) string {
		return "SELECT host, port, protocol, name, version, category, first_seen, last_seen FROM port_components WHERE (host, port, protocol) IN (VALUES " + placeholders(n, 3) + ")"
	}, 3, portArgs(keys), func(rows rowScanner) error {
		var c portolan.Component
		var s spanRow
		k, err := scanPortKey(rows, &c.Name, &c.Version, &c.Category, &s.first, &s.last)
		out[compRowKey{k, c}] = s
		return err
	})
	return out, err
}

// hostSpans returns the span of each host entity among ids as hosts/{id}
// answers it: its own row and, for a name, its alias rows.
func (w *writer) hostSpans(ids []string) (map[string][2]sql.NullInt64, error) {
	out := map[string][2]sql.NullInt64{}
	err := w.queryRows("look up hosts", func(n int) string {
		ps := make([]string, n)
		for i := range ps {
			ps[i] = "?" + strconv.Itoa(i+1)
		}
		in := strings.Join(ps, ", ")
		return "SELECT id, min(first_seen), max(last_seen) FROM (SELECT id, first_seen, last_seen FROM hosts WHERE id IN (" + in +
			") UNION ALL SELECT name, first_seen, last_seen FROM host_aliases WHERE name IN (" + in + ")) GROUP BY id"
	}, 1, anys(ids), func(rows rowScanner) error {
		var id string
		var span [2]sql.NullInt64
		err := rows.Scan(&id, &span[0], &span[1])
		out[id] = span
		return err
	})
	return out, err
}

// record writes the tracker's changes at a new position, in the import's
// transaction; a hostPort's entry carries the latest scan of the port in d
// (migration 0007), the instant the console's timeline marks it at.
func (w *writer) record(t *tracker, d *merge.Delta) error {
	type entry struct {
		coll    portolan.ChangeCollection
		id      string
		kinds   portolan.ChangeKind
		scanned any // Unix seconds, or nil
	}
	entries := make([]entry, 0, len(t.ports)+len(t.hosts)+len(t.certs))
	for k, kinds := range t.ports {
		var scanned any
		if p := d.Ports[k]; p != nil && !p.LastScan.IsZero() {
			scanned = p.LastScan.Unix()
		}
		entries = append(entries, entry{portolan.ChangedHostPorts, portolan.HostPortID(k.Host, k.Protocol, k.Port), kinds, scanned})
	}
	for id, kinds := range t.hosts {
		entries = append(entries, entry{portolan.ChangedHosts, id, kinds, nil})
	}
	for sha, kinds := range t.certs {
		entries = append(entries, entry{portolan.ChangedSSLCertificates, portolan.SSLCertificateID(sha), kinds, nil})
	}
	if len(entries) == 0 {
		return nil
	}
	// In key order, which is also the id index's order within a
	// collection: the b-tree pages are written in sequence.
	slices.SortFunc(entries, func(a, b entry) int {
		if a.coll != b.coll {
			return int(a.coll) - int(b.coll)
		}
		return strings.Compare(a.id, b.id)
	})
	pos, err := w.nextPosition()
	if err != nil {
		return err
	}
	withPos := make([]any, 0, len(entries)*5)
	for _, e := range entries {
		withPos = append(withPos, int(e.coll), pos, e.id, int(e.kinds), e.scanned)
	}
	return w.execRows("record changes", "INSERT OR FAIL INTO record_changes (collection, position, id, kinds, scanned_at)", "", 5, withPos)
}

// nextPosition hands out the transaction's position. The write lock,
// taken at BEGIN, makes positions commit in order.
func (w *writer) nextPosition() (int64, error) {
	var pos int64
	if err := w.tx.QueryRowContext(w.ctx, `UPDATE change_state SET position = position + 1 WHERE id = 1 RETURNING position`).Scan(&pos); err != nil {
		return 0, w.db.storeError("next change position", err)
	}
	if _, err := w.tx.ExecContext(w.ctx, `INSERT INTO change_marks (position, at) VALUES (?, ?)`, pos, w.db.now().Unix()); err != nil {
		return 0, w.db.storeError("mark change position", err)
	}
	return pos, nil
}

// recordRebuild notes every item that exists (called before the records are
// emptied and again after they are rebuilt) as rebuilt, at pos: a delta
// client then receives every item in its new state, or removed when it is
// gone, and keeps its token.
func (w *writer) recordRebuild(pos int64) error {
	kind := int(portolan.ChangeRebuilt)
	for _, q := range []struct{ what, sql string }{
		{"record rebuilt hostPorts", `INSERT OR IGNORE INTO record_changes (collection, position, id, kinds)
			SELECT ?1, ?2, portolan_base64(host || '$$' || port || CASE protocol WHEN 'udp' THEN '$$udp' ELSE '' END), ?3
			FROM host_ports WHERE first_seen IS NOT NULL`},
		{"record rebuilt hosts", `INSERT OR IGNORE INTO record_changes (collection, position, id, kinds)
			SELECT ?4, ?2, id, ?3 FROM (SELECT id FROM hosts UNION SELECT name FROM host_aliases)`},
		{"record rebuilt certificates", `INSERT OR IGNORE INTO record_changes (collection, position, id, kinds)
			SELECT ?5, ?2, id, ?3 FROM certificates`},
	} {
		if _, err := w.tx.ExecContext(w.ctx, q.sql, int(portolan.ChangedHostPorts), pos, kind, int(portolan.ChangedHosts), int(portolan.ChangedSSLCertificates)); err != nil {
			return w.db.storeError(q.what, err)
		}
	}
	return nil
}

var _ portolan.ChangeService = (*DB)(nil)

// ChangeWatermark implements portolan.ChangeService.
func (db *DB) ChangeWatermark(ctx context.Context) (portolan.Watermark, error) {
	var wm portolan.Watermark
	err := db.queryRow(ctx, `SELECT position + 1, horizon FROM change_state WHERE id = 1`).Scan(&wm.Position, &wm.Horizon)
	return wm, db.storeError("read change watermark", err)
}

// Changes implements portolan.ChangeService.
func (db *DB) Changes(ctx context.Context, since, until int64) ([]portolan.Change, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT collection, position, id, kinds FROM record_changes
		WHERE position >= ? AND position < ? ORDER BY position, collection, id`, since, until)
	if err != nil {
		return nil, db.storeError("read changes", err)
	}
	defer rows.Close()
	var out []portolan.Change
	for rows.Next() {
		var c portolan.Change
		if err := rows.Scan(&c.Collection, &c.Position, &c.ID, &c.Kinds); err != nil {
			return nil, db.storeError("read changes", err)
		}
		out = append(out, c)
	}
	return out, db.storeError("read changes", rows.Err())
}

// portChangesChunk bounds the ids of one query of FindPortChanges, well
// under SQLite's limit of parameters.
const portChangesChunk = 500

// portChangesSQL reads the entries of a list of hostPorts, newest first
// for each: one search of the record's id index per id, which returns them
// in the order asked, so that the latest perPort of each are the first
// rows of its run. The import's instant is read only for an entry recorded
// without its scan's (coalesce stops at its first non-null argument).
var portChangesSQL = `SELECT rc.id, rc.position, rc.kinds,
	coalesce(rc.scanned_at, (SELECT m.at FROM change_marks m WHERE m.position = rc.position))
	FROM record_changes rc
	WHERE rc.collection = ` + strconv.Itoa(int(portolan.ChangedHostPorts)) + ` AND rc.kinds & ` + strconv.Itoa(int(portolan.ChangeRebuilt)) + ` = 0
	AND rc.id IN (%s) ORDER BY rc.id, rc.position DESC`

// FindPortChanges implements portolan.ChangeService. An entry without its
// scan's instant (recorded before migration 0007) takes its import's.
func (db *DB) FindPortChanges(ctx context.Context, ids []string, perPort int) ([]portolan.PortChange, error) {
	if perPort < 1 {
		perPort = math.MaxInt
	}
	var out []portolan.PortChange
	for chunk := range slices.Chunk(slices.Sorted(slices.Values(ids)), portChangesChunk) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		q := fmt.Sprintf(portChangesSQL, strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", "))
		rows, err := db.read.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, db.storeError("read port changes", err)
		}
		// Rows come newest first within an id; each id's run is turned
		// around once it ends, so that out is in position order.
		run, n := len(out), 0
		for rows.Next() {
			var c portolan.PortChange
			var at sql.NullInt64
			if err := rows.Scan(&c.ID, &c.Position, &c.Kinds, &at); err != nil {
				rows.Close()
				return nil, db.storeError("read port changes", err)
			}
			if run < len(out) && out[run].ID != c.ID {
				slices.Reverse(out[run:])
				run, n = len(out), 0
			}
			if n++; n > perPort {
				continue
			}
			if at.Valid {
				c.At = time.Unix(at.Int64, 0).UTC()
			}
			out = append(out, c)
		}
		slices.Reverse(out[run:])
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, db.storeError("read port changes", err)
		}
	}
	return out, nil
}

// PruneChanges implements portolan.ChangeService.
func (db *DB) PruneChanges(ctx context.Context, before time.Time) (portolan.Watermark, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return portolan.Watermark{}, db.storeError("begin prune", err)
	}
	defer tx.Rollback()
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(position) FROM change_marks WHERE at < ?`, before.Unix()).Scan(&last); err != nil {
		return portolan.Watermark{}, db.storeError("prune changes", err)
	}
	if last.Valid {
		for _, q := range []string{
			`DELETE FROM record_changes WHERE collection IN (1, 2, 3) AND position <= ?`,
			`DELETE FROM change_marks WHERE position <= ?`,
			`UPDATE change_state SET horizon = max(horizon, ? + 1) WHERE id = 1`,
		} {
			if _, err := tx.ExecContext(ctx, q, last.Int64); err != nil {
				return portolan.Watermark{}, db.storeError("prune changes", err)
			}
		}
	}
	var wm portolan.Watermark
	if err := tx.QueryRowContext(ctx, `SELECT position + 1, horizon FROM change_state WHERE id = 1`).Scan(&wm.Position, &wm.Horizon); err != nil {
		return wm, db.storeError("prune changes", err)
	}
	return wm, db.storeError("commit prune", tx.Commit())
}
