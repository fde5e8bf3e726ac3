// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"portolan"
	"portolan/internal/merge"
	"portolan/internal/obslog"
	"portolan/internal/sqlstore"
)

// ImportObservations implements portolan.ObservationService: in one
// transaction it appends the observations to the log (skipping identities
// already there) and merges the new ones into the records.
func (db *DB) ImportObservations(ctx context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	res := portolan.ImportResult{Observations: len(batch)}
	conn, tx, c, err := db.beginWrite(ctx)
	if err != nil {
		return res, db.storeError("begin import", err)
	}
	defer conn.Close()
	defer tx.Rollback()
	w := newWriter(ctx, db, tx, c)
	// An import records what it changes, for delta queries (change.go).
	w.track = newTracker()
	// The batch is folded in memory first, so that each record is written
	// once an import however many observations it received. The fold
	// needs no store: it runs on another core while the identities are
	// checked, over the whole batch, which is what is new unless the
	// batch repeats what is stored (a file ingested again), when it is
	// done again over what is new.
	folded := make(chan *merge.Delta, 1)
	go func() { folded <- db.fold(batch) }()
	// Observations already stored are dropped before the log, so that the
	// log holds each once and a rebuild replays what the imports merged.
	fresh, err := w.newObservations(batch)
	if err != nil {
		<-folded // it reads the caller's observations: it must not outlive the call
		return res, err
	}
	res.Duplicates = len(batch) - len(fresh)
	// The log, which Rebuild and Prune replay, takes the batch as one
	// row: appending stays one insert however large the batch. It is
	// encoded here, beside the fold, and over what is new alone: this
	// side's checks are the shorter (a fifth of the fold's time for an
	// nmap file's banners and certificates). Compressed, the log is a
	// quarter to a third of its size, and its pages are written twice
	// (the WAL, then the database): stores 25-37% smaller, and an import
	// into a store of a million hostPorts 5-9% faster.
	if len(fresh) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO observation_log (count, data, imported_at) VALUES (?, ?, ?)`, len(fresh), obslog.EncodeCompressed(fresh), time.Now().Unix()); err != nil {
			<-folded
			return res, db.storeError("append log", err)
		}
	}
	delta := <-folded
	if len(fresh) != len(batch) {
		delta = db.fold(fresh)
	}
	if res.Created, res.Updated, err = w.apply(delta); err != nil {
		return res, err
	}
	if err := w.record(w.track, delta); err != nil {
		return res, err
	}
	if err := tx.Commit(); err != nil {
		return res, db.storeError("commit import", err)
	}
	// After the commit, not before: a reader that sees the new generation
	// must find the new rows, or it would cache the old page under it.
	db.changedWriting(c.walPagesWritten())
	return res, nil
}

// fold merges obs into one delta: what an import computes from its
// observations alone.
func (db *DB) fold(obs []*portolan.Observation) *merge.Delta {
	delta := merge.NewDelta()
	for _, o := range obs {
		delta.Add(o, db.recognize)
	}
	return delta
}

// writer applies one transaction's changes with multi-row statements: the
// per-statement cost of SQLite dominates single-row upserts, so rows go
// in groups of up to bulkRows, in key order (which keeps b-tree pages hot).
type writer struct {
	ctx context.Context
	db  *DB
	tx  *sql.Tx
	// c runs the writer's statements on the transaction's own connection
	// through SQLite's C API (directwrite.go).
	c *directConn
	// track gathers what an import changes; nil in a rebuild, which
	// records every item instead.
	track *tracker
}

func newWriter(ctx context.Context, db *DB, tx *sql.Tx, c *directConn) *writer {
	return &writer{ctx: ctx, db: db, tx: tx, c: c}
}

// bulkRows is the most rows one statement carries (SQLite allows 32766
// parameters; the widest table has 12 columns).
const bulkRows = 256

// placeholders returns "(?, ?), (?, ?)" for rows rows of cols columns.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}

// execRows runs "head VALUES (...), (...) tail" over args, cols values per
// row, in groups of bulkRows rows.
//
// The writer's inserts say INSERT OR FAIL. A multi-row statement that may
// abort (SQLite's default for a NOT NULL or UNIQUE failure) has SQLite copy
// every page it modifies into a statement journal first, so that the abort
// can undo the statement's own rows; FAIL keeps them instead. No import
// goes on after a failed statement (its transaction is rolled back whole),
// so the journal bought nothing: it was 6% of the CPU of an ingest into a
// store of a million hostPorts, which took 11% less time without it. The
// upserts' DO UPDATE still journals (SQLite runs it as ABORT whatever the
// statement says); inserting new hostPorts apart from updating stored ones
// to spare that measured nothing beyond the noise.
func (w *writer) execRows(what, head, tail string, cols int, args []any) error {
	for len(args) > 0 {
		n := min(len(args)/cols, bulkRows)
		if err := w.c.exec(w.ctx, head+" VALUES "+placeholders(n, cols)+" "+tail, n == bulkRows, args[:n*cols]); err != nil {
			return w.db.storeError(what, err)
		}
		args = args[n*cols:]
	}
	return nil
}

// bulkStatement gathers the rows of one multi-row statement and runs it
// each time bulkRows rows are gathered, reusing one argument slice: the
// rows of a batch are produced, sent and dropped bulkRows at a time.
type bulkStatement struct {
	w                *writer
	what, head, tail string
	cols             int
	args             []any
	err              error // the first failure; add does nothing after it
}

func (w *writer) bulk(what, head, tail string, cols int) *bulkStatement {
	return &bulkStatement{w: w, what: what, head: head, tail: tail, cols: cols, args: make([]any, 0, cols*bulkRows)}
}

// add appends one row of b.cols values, running the statement when it
// holds bulkRows rows. The first error is kept in b.err.
func (b *bulkStatement) add(row ...any) {
	if b.err != nil {
		return
	}
	b.args = append(b.args, row...)
	if len(b.args) >= b.cols*bulkRows {
		b.err = b.flush()
	}
}

// flush runs the statement over the rows gathered so far.
func (b *bulkStatement) flush() error {
	if b.err != nil {
		return b.err
	}
	err := b.w.execRows(b.what, b.head, b.tail, b.cols, b.args)
	clear(b.args) // let the values be collected
	b.args = b.args[:0]
	return err
}

// queryRows runs a query built by build(n) for groups of up to bulkRows keys
// of cols values each, calling scan for every row.
func (w *writer) queryRows(what string, build func(n int) string, cols int, args []any, scan func(rowScanner) error) error {
	for len(args) > 0 {
		n := min(len(args)/cols, bulkRows)
		if err := w.c.query(w.ctx, build(n), n == bulkRows, args[:n*cols], scan); err != nil {
			return w.db.storeError(what, err)
		}
		args = args[n*cols:]
	}
	return nil
}

// newObservations returns the observations of batch whose identity is not
// stored yet (nor repeated earlier in the batch), and records their
// identities. The transaction holds SQLite's write lock, so no other writer
// can store the same identity between the check and the insert.
func (w *writer) newObservations(batch []*portolan.Observation) ([]*portolan.Observation, error) {
	idOf := make([][16]byte, len(batch))
	first := make(map[[16]byte]int, len(batch)) // identity -> index of its first occurrence
	order := make([]int, 0, len(batch))         // the first occurrences
	for i, o := range batch {
		id := o.Identity()
		idOf[i] = id
		if _, dup := first[id]; !dup {
			first[id] = i
			order = append(order, i)
		}
	}
	// In key order, host then digest, the lookups and the inserts walk
	// observation_keys forward (migration 0010).
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(strings.Compare(batch[a].Host, batch[b].Host), bytes.Compare(idOf[a][:], idOf[b][:]))
	})
	args := make([]any, 0, 2*len(order))
	for _, i := range order {
		args = append(args, batch[i].Host, idOf[i][:])
	}
	stored := func(rows rowScanner) error {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			return err
		}
		delete(first, [16]byte(id))
		return nil
	}
	err := w.queryRows("look up identities", func(n int) string {
		return "SELECT identity FROM observation_keys WHERE (host, identity) IN (VALUES " + placeholders(n, 2) + ")"
	}, 2, args, stored)
	if err != nil {
		return nil, err
	}
	if w.db.legacyIdentities {
		var legacy []any
		for _, i := range order {
			if _, ok := first[idOf[i]]; ok {
				legacy = append(legacy, idOf[i][:])
			}
		}
		if err := w.queryRows("look up identities stored before 0010", func(n int) string {
			return "SELECT identity FROM observation_ids WHERE identity IN (" + inList(n) + ")"
		}, 1, legacy, stored); err != nil {
			return nil, err
		}
	}
	// What remains in first is new to the store; of a repeated identity
	// only its first occurrence in the batch is kept.
	fresh := make([]*portolan.Observation, 0, len(first))
	for i, o := range batch {
		if j, ok := first[idOf[i]]; ok && j == i {
			fresh = append(fresh, o)
		}
	}
	args = args[:0]
	for _, i := range order {
		if _, ok := first[idOf[i]]; ok {
			args = append(args, batch[i].Host, idOf[i][:])
		}
	}
	if err := w.execRows("record identities", "INSERT OR FAIL INTO observation_keys (host, identity)", "", 2, args); err != nil {
		return nil, err
	}
	return fresh, nil
}

// unixSeconds is t as stored, a Unix time, or NULL for the zero time: a
// port seen only closed has no first/last seen, and the upserts' coalesce
// keeps NULL apart from every time.
func unixSeconds(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.Unix(), Valid: true}
}

// mergePortRow merges p into the stored row old (stored reports whether
// there is one) with the rules of internal/merge: the open span's min and
// max, the union of the instants (timesObserved counts them), the greatest
// scan, merge.StatusWins for the status and merge.CertificateWins for the
// most recent certificate, whose expiry (expiry) goes with it. Times are
// compared as stored, in whole seconds.
func mergePortRow(old portRow, stored bool, p *merge.PortDelta, expiry time.Time) (portRow, error) {
	row := old
	if !stored {
		row = portRow{lastScan: p.LastScan.Unix(), statusAt: p.StatusAt.Unix(), rank: int64(p.StatusRank)}
	}
	if f := unixSeconds(p.Open.First); f.Valid && (!row.first.Valid || f.Int64 < row.first.Int64) {
		row.first = f
	}
	if l := unixSeconds(p.Open.Last); l.Valid && (!row.last.Valid || l.Int64 > row.last.Int64) {
		row.last = l
	}
	row.lastScan = max(row.lastScan, p.LastScan.Unix())
	row.parts |= portParts(p)
	if at := p.StatusAt.Unix(); merge.StatusWins(time.Unix(at, 0), p.StatusRank, time.Unix(row.statusAt, 0), int(row.rank)) {
		row.statusAt, row.rank = at, int64(p.StatusRank)
	}
	if merge.CertificateWins(time.Unix(p.CertSeen.Unix(), 0), p.CertSHA1, time.Unix(row.certSeen.Int64, 0), row.cert.String) {
		row.certSeen = unixSeconds(p.CertSeen)
		row.cert = sql.NullString{String: p.CertSHA1, Valid: true}
		row.notAfter = unixSeconds(expiry)
	}
	var err error
	if len(p.OpenInstants) > 0 {
		if row.instants, err = mergeInstants(old.instants, instantsFromSet(p.OpenInstants)); err != nil {
			return row, err
		}
	}
	count, _, _, err := instantsHeader(row.instants)
	row.count = int64(count)
	return row, err
}

// sameIndexed reports whether row and old agree on every column an index
// of host_ports holds (first_seen, cert_sha1, cert_not_after; the key is
// the same).
func (row portRow) sameIndexed(old portRow) bool {
	return row.first == old.first && row.cert == old.cert && row.notAfter == old.notAfter
}

// sameCounters reports whether row and old agree on the columns
// updatePortCounters writes.
func (row portRow) sameCounters(old portRow) bool {
	return row.last == old.last && row.lastScan == old.lastScan && row.statusAt == old.statusAt && row.rank == old.rank &&
		row.certSeen == old.certSeen && row.parts == old.parts && bytes.Equal(row.instants, old.instants)
}

// portParts returns the parts p brings its port, the bits of
// host_ports.parts (sqlstore.Part, migration 0009), which tell a read of
// the port whether to look in banners and port_components. A bit once
// set stays set (mergePortRow ORs them): a port never loses its banners
// or, though a redundant component is dropped for a better one, its
// services.
func portParts(p *merge.PortDelta) int64 {
	var parts int64
	if len(p.Banners) > 0 {
		parts |= int64(sqlstore.PartBanners)
	}
	if len(p.Components) > 0 {
		parts |= int64(sqlstore.PartServices)
	}
	return parts
}

// The upserts. In an upsert's SET, bare column names are the stored values
// and excluded.* the new ones; SQLite's two-argument min and max return
// NULL when an argument is NULL, hence the coalesce where a side may be
// NULL. Every expression is a min, a max, a set union or a lexicographic
// max, so applying deltas in any order gives the same rows.
//
// A hostPort is not merged in SQL: the writer has read every stored row of
// its keys before writing them (for its counts and the change record), so
// it merges in Go with the rules of internal/merge (mergePortRow) and
// stores the result. Which statement stores it depends on what moved: most
// merges (a rescan) change only columns no index holds, and
// updatePortCounters then leaves host_ports' five indexes alone, where a
// SET naming every column would delete and insert each index entry again.
const (
	// storePort inserts a hostPort or replaces every column of it.
	storePort = `ON CONFLICT (host, port, protocol) DO UPDATE SET
		first_seen = excluded.first_seen, last_seen = excluded.last_seen, last_scan = excluded.last_scan,
		instants = excluded.instants, times_observed = excluded.times_observed,
		status_at = excluded.status_at, status_rank = excluded.status_rank,
		cert_seen = excluded.cert_seen, cert_sha1 = excluded.cert_sha1, cert_not_after = excluded.cert_not_after,
		parts = excluded.parts`
	// updatePortCounters replaces the columns of a stored hostPort that no
	// index holds; its rows always conflict (the writer read them in this
	// transaction, which holds the write lock).
	updatePortCounters = `ON CONFLICT (host, port, protocol) DO UPDATE SET
		last_seen = excluded.last_seen, last_scan = excluded.last_scan,
		instants = excluded.instants, times_observed = excluded.times_observed,
		status_at = excluded.status_at, status_rank = excluded.status_rank, cert_seen = excluded.cert_seen,
		parts = excluded.parts`
	upsertBanners = `ON CONFLICT (host, port, protocol, digest) DO UPDATE SET
		first_seen = min(first_seen, excluded.first_seen),
		last_seen = max(last_seen, excluded.last_seen),
		instants = portolan_instants_merge(instants, excluded.instants),
		times_observed = portolan_instants_count(portolan_instants_merge(instants, excluded.instants))`
	upsertSpan         = `DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`
	upsertNullableSpan = `DO UPDATE SET
		first_seen = coalesce(min(first_seen, excluded.first_seen), first_seen, excluded.first_seen),
		last_seen = coalesce(max(last_seen, excluded.last_seen), last_seen, excluded.last_seen)`
)

// apply merges a delta into the records. It returns how many records were
// created (keys without an open observation before that have one now) and
// updated (records that existed and received new observations).
func (w *writer) apply(d *merge.Delta) (created, updated int, err error) {
	if len(d.Ports) == 0 && len(d.Hosts) == 0 {
		return 0, 0, nil
	}
	keys := make([]merge.PortKey, 0, len(d.Ports))
	for k := range d.Ports {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, comparePortKeys)

	// Which keys were records before, and their rows (what an import's
	// change record compares with): one indexed lookup per key, in bulk.
	existed := make(map[merge.PortKey]bool)
	before := make(map[merge.PortKey]portRow)
	err = w.queryRows("look up records", func(n int) string {
		return "SELECT host, port, protocol, first_seen, last_seen, last_scan, status_at, status_rank, cert_seen, cert_sha1, cert_not_after, instants, parts FROM host_ports WHERE (host, port, protocol) IN (VALUES " + placeholders(n, 3) + ")"
	}, 3, portArgs(keys), func(rows rowScanner) error {
		var r portRow
		k, err := scanPortKey(rows, &r.first, &r.last, &r.lastScan, &r.statusAt, &r.rank, &r.certSeen, &r.cert, &r.notAfter, &r.instants, &r.parts)
		if err != nil {
			return err
		}
		before[k] = r
		// A row without first_seen is a port seen only closed: it was
		// not a record.
		existed[k] = r.first.Valid
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	var oldBanners map[bannerRowKey]spanRow
	var oldComps map[compRowKey]spanRow
	var oldHosts map[string][2]sql.NullInt64
	var hostIDs []string
	if w.track != nil {
		// Banners and components matter only on ports that were records
		// and receive some: a new record is created, whatever it holds.
		var withBanners, withComps []merge.PortKey
		for _, k := range keys {
			if existed[k] {
				if len(d.Ports[k].Banners) > 0 {
					withBanners = append(withBanners, k)
				}
				if len(d.Ports[k].Components) > 0 {
					withComps = append(withComps, k)
				}
			}
		}
		if oldBanners, err = w.readBanners(withBanners); err != nil {
			return 0, 0, err
		}
		if oldComps, err = w.readComponents(withComps); err != nil {
			return 0, 0, err
		}
		// Hosts change through their own spans and their aliases'
		// (a name's span covers its addresses'), so both are compared.
		seen := map[string]bool{}
		for id := range d.Hosts {
			seen[id] = true
		}
		for a := range d.Aliases {
			seen[a.Name] = true
		}
		for id := range seen {
			hostIDs = append(hostIDs, id)
		}
		slices.Sort(hostIDs)
		if oldHosts, err = w.hostSpans(hostIDs); err != nil {
			return 0, 0, err
		}
	}

	// Rows go to their statements as they are produced, bulkRows at a
	// time, so that a batch's arguments are never all in memory at once.
	ports := w.bulk("store hostPorts", "INSERT OR FAIL INTO host_ports (host, port, protocol, first_seen, last_seen, last_scan, instants, times_observed, status_at, status_rank, cert_seen, cert_sha1, cert_not_after, parts)", storePort, 14)
	portCounters := w.bulk("update hostPorts", "INSERT OR FAIL INTO host_ports (host, port, protocol, last_seen, last_scan, instants, times_observed, status_at, status_rank, cert_seen, parts)", updatePortCounters, 11)
	banners := w.bulk("upsert banners", "INSERT OR FAIL INTO banners (host, port, protocol, digest, banner, scan_protocol, first_seen, last_seen, instants, times_observed)", upsertBanners, 10)
	comps := w.bulk("upsert port components", "INSERT OR FAIL INTO port_components (host, port, protocol, name, version, category, first_seen, last_seen)", "ON CONFLICT "+upsertSpan, 8)
	hostCerts := w.bulk("upsert host certificates", "INSERT OR FAIL INTO host_certificates (host, sha1, port, first_seen, last_seen)", "ON CONFLICT "+upsertSpan, 5)
	// A certificate's span is the union over the ports of the batch,
	// gathered here and upserted once after them. (A host's components
	// are not stored: reads aggregate its ports'.)
	certSpans := map[string]*portolan.Span{}
	for _, k := range keys {
		p := d.Ports[k]
		// A key that was a record is updated; one that becomes a record
		// (its first open observation) is created; a port still seen
		// only closed is neither.
		switch {
		case existed[k]:
			updated++
		case p.IsRecord():
			created++
		}
		if w.track != nil {
			if kind := portChange(k, p, before, oldBanners, oldComps); kind != 0 {
				w.track.ports[k] |= kind
			}
		}
		proto := string(k.Protocol)
		old, stored := before[k]
		row, err := mergePortRow(old, stored, p, d.Expiry(p.CertSHA1))
		if err != nil {
			return 0, 0, fmt.Errorf("sqlite: merge hostPort %s: %w", k.ID(), err)
		}
		switch {
		case !stored || !row.sameIndexed(old):
			ports.add(k.Host, k.Port, proto, row.first, row.last, row.lastScan, row.instants, row.count,
				row.statusAt, row.rank, row.certSeen, row.cert, row.notAfter, row.parts)
		case !row.sameCounters(old):
			portCounters.add(k.Host, k.Port, proto, row.last, row.lastScan, row.instants, row.count, row.statusAt, row.rank, row.certSeen, row.parts)
		}
		for _, bk := range sortedKeys(p.Banners, compareBannerKeys) {
			bd := p.Banners[bk]
			banners.add(k.Host, k.Port, proto, bk.Digest(), bk.Text, bk.ScanProtocol,
				bd.Span.First.Unix(), bd.Span.Last.Unix(), instantsFromSet(bd.Instants), len(bd.Instants))
		}
		for _, c := range sortedKeys(p.Components, compareComponents) {
			sp := p.Components[c]
			comps.add(k.Host, k.Port, proto, c.Name, c.Version, c.Category, sp.First.Unix(), sp.Last.Unix())
		}
		for _, sha := range sortedStrings(p.Certificates) {
			sp := p.Certificates[sha]
			hostCerts.add(k.Host, sha, k.Port, sp.First.Unix(), sp.Last.Unix())
			if certSpans[sha] == nil {
				certSpans[sha] = &portolan.Span{}
			}
			certSpans[sha].Union(*sp)
		}
		// The bulk statements keep their first error; stop at it.
		if err := cmp.Or(ports.err, portCounters.err, banners.err, comps.err, hostCerts.err); err != nil {
			return 0, 0, err
		}
	}
	for _, b := range []*bulkStatement{ports, portCounters, banners, comps, hostCerts} {
		if err := b.flush(); err != nil {
			return 0, 0, err
		}
	}
	if err := w.dropRedundantComponents(componentsToRecheck(d, keys, before, oldComps, w.track != nil)); err != nil {
		return 0, 0, err
	}
	if err := w.applyCertificates(d.Certificates, certSpans); err != nil {
		return 0, 0, err
	}
	// Hosts and aliases are few a batch next to ports: one argument list
	// each.
	var hosts, aliases []any
	for _, id := range sortedStrings(d.Hosts) {
		sp := d.Hosts[id]
		hosts = append(hosts, id, unixSeconds(sp.First), unixSeconds(sp.Last))
	}
	for _, a := range sortedKeys(d.Aliases, compareAliases) {
		sp := d.Aliases[a]
		aliases = append(aliases, a.Name, a.Address, unixSeconds(sp.First), unixSeconds(sp.Last))
	}
	if err := w.execRows("upsert hosts", "INSERT OR FAIL INTO hosts (id, first_seen, last_seen)", "ON CONFLICT "+upsertNullableSpan, 3, hosts); err != nil {
		return 0, 0, err
	}
	if err := w.execRows("upsert aliases", "INSERT OR FAIL INTO host_aliases (name, address, first_seen, last_seen)", "ON CONFLICT "+upsertNullableSpan, 4, aliases); err != nil {
		return 0, 0, err
	}
	if w.track != nil {
		hostChanges(w.track, d, hostIDs, oldHosts)
	}
	return created, updated, nil
}

// componentsToRecheck returns the keys whose components may include one
// another makes redundant once the batch's are stored. What a port held
// before is free of them (this check runs after every import), so a port
// needs it only when it receives a component it did not hold. When the
// components stored before are known (known: an import, which read them
// for its change record), a port is skipped when it was no row before and
// the batch's components leave none redundant among themselves (the delta
// does not drop them: several observations may name a product with and
// without its version), or when it was a record already holding every
// component the batch brings (a rescan). A rebuild rechecks every port
// with components.
func componentsToRecheck(d *merge.Delta, keys []merge.PortKey, before map[merge.PortKey]portRow, held map[compRowKey]spanRow, known bool) []merge.PortKey {
	var out []merge.PortKey
	for _, k := range keys {
		comps := d.Ports[k].Components
		if len(comps) == 0 {
			continue
		}
		if known {
			row, stored := before[k]
			if !stored && !anyRedundant(comps) {
				continue
			}
			// held has the components of the ports that were records
			// (apply reads no others).
			if stored && row.first.Valid && allHeld(k, comps, held) {
				continue
			}
		}
		out = append(out, k)
	}
	return out
}

// anyRedundant reports whether a component of comps is redundant beside
// another of them.
func anyRedundant(comps map[portolan.Component]*portolan.Span) bool {
	for c := range comps {
		for other := range comps {
			if c.RedundantBeside(other) {
				return true
			}
		}
	}
	return false
}

// allHeld reports whether every component of comps is held on port k.
func allHeld(k merge.PortKey, comps map[portolan.Component]*portolan.Span, held map[compRowKey]spanRow) bool {
	for c := range comps {
		if _, ok := held[compRowKey{k, c}]; !ok {
			return false
		}
	}
	return true
}

// dropRedundantComponents deletes, on the ports of keys
// (componentsToRecheck), the components another makes redundant
// (portolan.Component.RedundantBeside), within the batch and across
// batches, so that a versioned "Redis 7.0.15" replaces the versionless
// "Redis" stored before it, and a versionless one arriving after it is
// dropped. A host's components, aggregated from its ports' when read,
// follow. (SQLite's DELETE names the table, not an alias, in its
// subqueries.)
func (w *writer) dropRedundantComponents(keys []merge.PortKey) error {
	return w.execRows("drop redundant components", "DELETE FROM port_components WHERE (host, port, protocol) IN (",
		") AND "+sqlstore.RedundantComponent("port_components"), 3, portArgs(keys))
}

// applyCertificates stores the certificates and indexes the new ones for
// $search.
func (w *writer) applyCertificates(certs map[string]*merge.Certificate, spans map[string]*portolan.Span) error {
	if len(spans) == 0 {
		return nil
	}
	shas := sortedStrings(spans)
	known := map[string]bool{}
	knownSpans := map[string][2]int64{}
	described := map[string][]byte{} // the stored bytes that are a description
	err := w.queryRows("look up certificates", func(n int) string {
		return "SELECT sha1, first_seen, last_seen, CASE WHEN substr(der, 1, 1) = x'7b' THEN der END FROM certificates WHERE sha1 IN (" + inList(n) + ")"
	}, 1, anys(shas), func(rows rowScanner) error {
		var sha string
		var span [2]int64
		var held []byte
		err := rows.Scan(&sha, &span[0], &span[1], &held)
		known[sha] = true
		knownSpans[sha] = span
		if held != nil {
			described[sha] = held
		}
		return err
	})
	if err != nil {
		return err
	}
	var rows, terms, fields []any
	var replaced []string
	for _, sha := range shas {
		c, sp := certs[sha], spans[sha]
		rows = append(rows, sha, c.Parsed.ID, c.DER, sp.First.Unix(), sp.Last.Unix(), c.Parsed.IssueDateTime.Unix(), c.Parsed.ExpirationDateTime.Unix())
		// A certificate never changes, so its search terms and fields
		// are written once, when it is new to the store, or when its
		// DER replaces its description (merge.CertificateReplaces).
		replaces := known[sha] && merge.CertificateReplaces(c.DER, described[sha])
		if replaces {
			replaced = append(replaced, sha)
		}
		if !known[sha] || replaces {
			for _, t := range portolan.CertificateSearchTerms(c.Parsed) {
				terms = append(terms, t.Field, t.Value, sha)
			}
			for _, f := range portolan.CertificateFields(c.Parsed) {
				fields = append(fields, sha, f.Path, f.Value)
			}
		}
	}
	if err := w.execRows("upsert certificates", "INSERT OR FAIL INTO certificates (sha1, id, der, first_seen, last_seen, not_before, not_after)", "ON CONFLICT (sha1) "+upsertSpan, 7, rows); err != nil {
		return err
	}
	for _, sha := range replaced {
		// The description's terms go by their keys (the terms' index
		// begins with the field), its fields by the certificate's.
		c := certs[sha]
		if old, err := portolan.ParseCertificate(described[sha]); err == nil {
			for _, t := range portolan.CertificateSearchTerms(old) {
				if _, err := w.tx.ExecContext(w.ctx, "DELETE FROM certificate_terms WHERE field = ? AND value = ? AND sha1 = ?", t.Field, t.Value, sha); err != nil {
					return w.db.storeError("replace a certificate's description", err)
				}
			}
		}
		if _, err := w.tx.ExecContext(w.ctx, "DELETE FROM certificate_fields WHERE sha1 = ?", sha); err != nil {
			return w.db.storeError("replace a certificate's description", err)
		}
		if _, err := w.tx.ExecContext(w.ctx, "UPDATE certificates SET der = ?, not_before = ?, not_after = ? WHERE sha1 = ?",
			c.DER, c.Parsed.IssueDateTime.Unix(), c.Parsed.ExpirationDateTime.Unix(), sha); err != nil {
			return w.db.storeError("replace a certificate's description", err)
		}
	}
	if w.track != nil {
		// A certificate's span is the union of what was stored and what
		// this import saw, as the upsert computed it.
		for _, sha := range shas {
			sp := spans[sha]
			old, ok := knownSpans[sha]
			switch {
			case !ok:
				w.track.certs[sha] |= portolan.ChangeCreated
			case slices.Contains(replaced, sha), sp.First.Unix() < old[0] || sp.Last.Unix() > old[1]:
				w.track.certs[sha] |= portolan.ChangeCounters
			}
		}
	}
	if err := w.execRows("index certificates", "INSERT OR FAIL INTO certificate_terms (field, value, sha1)", "ON CONFLICT DO NOTHING", 3, terms); err != nil {
		return err
	}
	return w.execRows("store certificate fields", "INSERT OR FAIL INTO certificate_fields (sha1, field, value)", "ON CONFLICT DO NOTHING", 3, fields)
}

// comparePortKeys orders keys as host_ports' primary key, (host, port,
// protocol), for the writer's key-ordered statements.
func comparePortKeys(a, b merge.PortKey) int {
	if c := strings.Compare(a.Host, b.Host); c != 0 {
		return c
	}
	if a.Port != b.Port {
		return a.Port - b.Port
	}
	return strings.Compare(string(a.Protocol), string(b.Protocol))
}

// sortedKeys returns the keys of m in cmp's order. The writer sends rows in
// key order, which keeps SQLite's b-tree pages hot; any fixed order would
// do, it is not a rule of the records.
func sortedKeys[K comparable, V any](m map[K]V, cmp func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp)
	return keys
}

func sortedStrings[V any](m map[string]V) []string { return sortedKeys(m, strings.Compare) }

func compareBannerKeys(a, b merge.BannerKey) int {
	return cmp.Or(strings.Compare(a.ScanProtocol, b.ScanProtocol), strings.Compare(a.Text, b.Text))
}

func compareComponents(a, b portolan.Component) int {
	return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Version, b.Version), strings.Compare(a.Category, b.Category))
}

func compareAliases(a, b merge.AliasKey) int {
	return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Address, b.Address))
}

// rebuildChunk is how many logged observations a rebuild folds per delta:
// it bounds a rebuild's memory, and since the upserts are order-independent
// the chunks give the records one delta would.
const rebuildChunk = 20000

// Rebuild implements portolan.ObservationService: in one transaction it
// empties the records and replays the log, in log order, through the current
// rules. A crash mid-rebuild leaves the previous records.
func (db *DB) Rebuild(ctx context.Context, progress func(int)) error {
	conn, tx, c, err := db.beginWrite(ctx)
	if err != nil {
		return db.storeError("begin rebuild", err)
	}
	defer conn.Close()
	defer tx.Rollback()
	if err := db.rebuildInTx(ctx, tx, c, progress); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return db.storeError("commit rebuild", err)
	}
	db.changed()
	return nil
}

// rebuildInTx empties the records and replays the log in tx.
func (db *DB) rebuildInTx(ctx context.Context, tx *sql.Tx, c *directConn, progress func(int)) error {
	w := newWriter(ctx, db, tx, c)
	pos, err := w.nextPosition()
	if err != nil {
		return err
	}
	// Before emptying: every item that exists now is noted, so that a
	// delta client learns of those the rebuild removes.
	if err := w.recordRebuild(pos); err != nil {
		return err
	}
	// The records are derived: the log and the identities stay, the rest
	// is emptied and replayed.
	for _, table := range []string{"host_ports", "banners", "port_components",
		"hosts", "host_aliases", "certificates", "certificate_terms", "certificate_fields", "host_certificates"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
			return db.storeError("empty "+table, err)
		}
	}
	var last int64
	replayed := 0
	for {
		obs, next, err := readLog(ctx, tx, last, rebuildChunk)
		if err != nil {
			return db.storeError("read log", err)
		}
		if len(obs) == 0 {
			break
		}
		d := merge.NewDelta()
		for _, o := range obs {
			d.Add(o, db.recognize)
		}
		if _, _, err := w.apply(d); err != nil {
			return err
		}
		replayed += len(obs)
		last = next
		if progress != nil {
			progress(replayed)
		}
	}
	// An empty log still reports once, so a progress display ends.
	if progress != nil && replayed == 0 {
		progress(0)
	}
	// And after: every item in its rebuilt state.
	return w.recordRebuild(pos)
}

// Prune implements portolan.Pruner: in one transaction it removes from the
// log the observations scanned before opts.Before (and their identities, so
// that ingesting them again brings them back), then rebuilds every record
// from what remains, as Rebuild does. With DryRun it only counts.
func (db *DB) Prune(ctx context.Context, opts portolan.PruneOptions) (portolan.PruneResult, error) {
	var res portolan.PruneResult
	conn, tx, c, err := db.beginWrite(ctx)
	if err != nil {
		return res, db.storeError("begin prune", err)
	}
	defer conn.Close()
	defer tx.Rollback()
	before := opts.Before.UTC()
	var last int64
	// The log is walked 256 entries at a time by seq, so that a large log
	// is never held whole.
	for {
		rows, err := tx.QueryContext(ctx, `SELECT seq, count, data FROM observation_log WHERE seq > ? ORDER BY seq LIMIT 256`, last)
		if err != nil {
			return res, db.storeError("read log", err)
		}
		type entry struct {
			seq int64
			obs []*portolan.Observation
		}
		var entries []entry
		for rows.Next() {
			var e entry
			var count int
			var data []byte
			if err := rows.Scan(&e.seq, &count, &data); err != nil {
				rows.Close()
				return res, db.storeError("read log", err)
			}
			if e.obs, err = obslog.Decode(data); err != nil || len(e.obs) != count {
				rows.Close()
				return res, fmt.Errorf("observation log entry %d: %w", e.seq, obslog.ErrCorrupt)
			}
			entries = append(entries, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return res, db.storeError("read log", err)
		}
		if len(entries) == 0 {
			break
		}
		for _, e := range entries {
			last = e.seq
			keep := e.obs[:0:0]
			for _, o := range e.obs {
				if !o.ScannedAt.Before(before) {
					keep = append(keep, o)
					continue
				}
				res.Removed++
				if opts.DryRun {
					continue
				}
				id := o.Identity()
				if _, err := tx.ExecContext(ctx, `DELETE FROM observation_keys WHERE host = ? AND identity = ?`, o.Host, id[:]); err != nil {
					return res, db.storeError("forget identity", err)
				}
				if db.legacyIdentities {
					if _, err := tx.ExecContext(ctx, `DELETE FROM observation_ids WHERE identity = ?`, id[:]); err != nil {
						return res, db.storeError("forget identity", err)
					}
				}
			}
			res.Kept += len(keep)
			// An entry left whole stays as it is, one emptied goes,
			// and any other is encoded again with what it keeps.
			switch {
			case opts.DryRun || len(keep) == len(e.obs):
			case len(keep) == 0:
				if _, err := tx.ExecContext(ctx, `DELETE FROM observation_log WHERE seq = ?`, e.seq); err != nil {
					return res, db.storeError("prune log", err)
				}
			default:
				if _, err := tx.ExecContext(ctx, `UPDATE observation_log SET count = ?, data = ? WHERE seq = ?`, len(keep), obslog.EncodeCompressed(keep), e.seq); err != nil {
					return res, db.storeError("prune log", err)
				}
			}
		}
	}
	// Nothing removed, nothing to rebuild: the records are already those
	// of the log.
	if opts.DryRun || res.Removed == 0 {
		return res, nil
	}
	if err := db.rebuildInTx(ctx, tx, c, opts.Progress); err != nil {
		return res, err
	}
	if err := tx.Commit(); err != nil {
		return res, db.storeError("commit prune", err)
	}
	db.changed()
	return res, nil
}

// readLog reads the log entries after sequence number after, up to about n
// observations. Entries are read whole, so a chunk may pass n by one
// entry's observations, and the sequence number returned is where the next
// chunk starts.
func readLog(ctx context.Context, tx *sql.Tx, after int64, n int) ([]*portolan.Observation, int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, count, data FROM observation_log WHERE seq > ? ORDER BY seq`, after)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*portolan.Observation
	last := after
	for len(out) < n && rows.Next() {
		var count int
		var data []byte
		if err := rows.Scan(&last, &count, &data); err != nil {
			return nil, 0, err
		}
		obs, err := obslog.Decode(data)
		if err != nil || len(obs) != count {
			return nil, 0, fmt.Errorf("observation log entry %d: %w", last, obslog.ErrCorrupt)
		}
		out = append(out, obs...)
	}
	return out, last, rows.Err()
}
