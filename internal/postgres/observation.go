// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	mathrand "math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/merge"
	"portolan/internal/obslog"
	"portolan/internal/sqlstore"
)

// pending is a batch prepared for import outside the transaction, so that
// a retried transaction does not redo it: identities computed, repeats
// inside the batch dropped, log rows encoded, components recognised.
type pending struct {
	obs        []*portolan.Observation
	ids        [][16]byte
	log        copyRows // of stage_observations
	recognized recognized

	// all is the delta of the whole batch, built once, while the database
	// inserts the log: usually every observation is new and it is the
	// delta to apply, so the Go work overlaps the database's.
	allOnce sync.Once
	all     *prepared
}

// prepared is a delta and its rows for the staging tables.
type prepared struct {
	delta *merge.Delta
	rows  staged
}

// prepare builds the delta of obs and its staging rows.
func prepare(obs []*portolan.Observation, r portolan.Recognizer) *prepared {
	d := merge.NewDelta()
	for _, o := range obs {
		d.Add(o, r)
	}
	return &prepared{delta: d, rows: stageDelta(d)}
}

// recognized is a Recognizer that answers from components recognised
// beforehand. Recognition (fingerprint rules over banners) is the costly
// part of building a delta; doing it before the transaction keeps it out of
// the time locks are held and out of retries.
type recognized map[*portolan.Observation][]portolan.Component

// Recognize returns what was recognised for o.
func (r recognized) Recognize(o *portolan.Observation) []portolan.Component { return r[o] }

// ImportObservations implements portolan.ObservationService. In one
// transaction it COPYs the batch into a staging table and inserts it into
// the log, keyed by identity, with ON CONFLICT DO NOTHING: the rows that
// went in are the new observations (an identity another importer is
// inserting at the same moment makes this one wait for it, then skip it, so
// nothing is counted twice). It merges the delta of the new observations
// with set-based upserts. A transaction that loses a deadlock is retried
// from the start. A lost connection is EUNAVAILABLE; retrying the batch then
// is safe, since a batch that committed before the connection died is all
// duplicates the second time (and counted as such).
func (db *DB) ImportObservations(ctx context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	res := portolan.ImportResult{Observations: len(batch)}
	p := &pending{recognized: make(recognized)}
	seen := make(map[[16]byte]struct{}, len(batch))
	// Sized first: grown by appending, the log rows' buffer was copied as
	// it doubled, twice the batch's bytes allocated again.
	size := 0
	for _, o := range batch {
		size += logRowSize(o)
	}
	p.log.grow(size)
	for _, o := range batch {
		id := o.Identity()
		if _, dup := seen[id]; dup {
			res.Duplicates++
			continue
		}
		seen[id] = struct{}{}
		p.obs = append(p.obs, o)
		p.ids = append(p.ids, id)
		p.log.logRow(o, id)
		// merge.Delta.Add asks for the components of open observations only.
		if o.Status == portolan.StatusOpen {
			p.recognized[o] = db.recognize.Recognize(o)
		}
	}
	if len(p.obs) == 0 {
		return res, nil
	}
	var out importOutcome
	err := db.inTx(ctx, "import", func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = db.importTx(ctx, tx, p)
		return err
	})
	if err != nil {
		return res, err
	}
	res.Duplicates += len(p.obs) - out.fresh
	res.Created, res.Updated = out.created, out.updated
	return res, nil
}

// importOutcome is what one import transaction did.
type importOutcome struct {
	fresh, created, updated int
}

// insertLog appends the observations not stored yet and returns their
// identities. The sort gives every importer the same lock order on the
// unique index.
const insertLog = `INSERT INTO observation_log (host, identity, data)
	SELECT host, identity, data FROM pg_temp.stage_observations ORDER BY host, identity
	ON CONFLICT DO NOTHING
	RETURNING identity`

// importTx is one attempt at importing p, inside tx.
func (db *DB) importTx(ctx context.Context, tx pgx.Tx, p *pending) (importOutcome, error) {
	var out importOutcome
	// Unless the last batch was mostly duplicates (a file ingested again),
	// build the delta of the whole batch while the database inserts it.
	if db.mostlyNew.Load() {
		ready := make(chan struct{})
		go func() {
			defer close(ready)
			p.allOnce.Do(func() { p.all = prepare(p.obs, p.recognized) })
		}()
		// The goroutine reads the caller's observations: it must not
		// outlive the call, whatever the outcome.
		defer func() { <-ready }()
	}
	// Sorting the staged rows spills to disk with the default 4 MB.
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '64MB'`); err != nil {
		return out, err
	}
	if err := copyIn(ctx, tx, "stage_observations", stagingColumns["stage_observations"], &p.log); err != nil {
		return out, err
	}
	fresh := make(map[[16]byte]bool, len(p.obs))
	var id [16]byte
	var raw []byte
	_, err := pgx.ForEachRow(mustQuery(ctx, tx, insertLog), []any{&raw}, func() error {
		copy(id[:], raw)
		fresh[id] = true
		return nil
	})
	if err != nil {
		return out, err
	}
	out.fresh = len(fresh)
	db.mostlyNew.Store(out.fresh*10 >= len(p.obs)*9)
	if out.fresh == 0 {
		return out, nil
	}
	var pr *prepared
	if out.fresh == len(p.obs) {
		// Waits for the speculative build, or builds it now.
		p.allOnce.Do(func() { p.all = prepare(p.obs, p.recognized) })
		pr = p.all
	} else {
		obs := make([]*portolan.Observation, 0, out.fresh)
		for i, o := range p.obs {
			if fresh[p.ids[i]] {
				obs = append(obs, o)
			}
		}
		pr = prepare(obs, p.recognized)
	}
	track := newTracker()
	if out.created, out.updated, err = db.apply(ctx, tx, pr, randomBatchID(), track); err != nil {
		return out, err
	}
	if err := track.record(ctx, tx, pr.delta); err != nil {
		return out, err
	}
	// New observations went into the log: the replicas' caches go at
	// commit. (A batch of duplicates changed nothing and returned above.)
	return out, notifyChange(ctx, tx)
}

// mustQuery runs a query whose error, if any, surfaces from the rows.
func mustQuery(ctx context.Context, tx pgx.Tx, sql string, args ...any) pgx.Rows {
	rows, _ := tx.Query(ctx, sql, args...)
	return rows
}

// randomBatchID draws an import id, which marks the records the import
// created; being random rather than from a sequence, it needs no
// coordination between processes or Citus nodes.
func randomBatchID() int64 {
	var b [8]byte
	rand.Read(b[:])
	id := int64(binary.BigEndian.Uint64(b[:]) >> 1)
	if id == 0 {
		id = 1
	}
	return id
}

// maxAttempts bounds the retries of a transaction that lost a deadlock.
const maxAttempts = 10

// inTx runs fn in a transaction on a connection that has the staging
// tables, and commits. A deadlock or serialization failure runs it again
// from the start after a short random pause (the winner of the deadlock
// commits meanwhile); other errors are normalised by storeError.
func (db *DB) inTx(ctx context.Context, what string, fn func(context.Context, pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.txOnce(ctx, fn)
		if err == nil {
			return nil
		}
		if !isRetryable(err) || attempt == maxAttempts {
			return storeError(what, err)
		}
		pause := time.Duration(mathrand.Int64N(int64(5*time.Millisecond) << min(attempt, 7)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// txOnce is one attempt of inTx.
func (db *DB) txOnce(ctx context.Context, fn func(context.Context, pgx.Tx) error) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if err := db.ensureStaging(ctx, conn.Conn()); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return fn(ctx, tx) })
}

// stagingTables are the session temporary tables an import COPYs into.
// ON COMMIT DELETE ROWS empties them at every commit (and a rollback
// discards what was copied), so each transaction starts with them empty.
// Their text columns sort like the real tables' keys.
var stagingTables = []struct{ name, columns string }{
	{"stage_observations", `host text COLLATE "C", identity bytea, data bytea`},
	{"stage_hosts", `host text COLLATE "C", first_seen timestamptz, last_seen timestamptz`},
	{"stage_aliases", `host text COLLATE "C", address text COLLATE "C", first_seen timestamptz, last_seen timestamptz`},
	{"stage_ports", `host text COLLATE "C", port integer, protocol text COLLATE "C", first_seen timestamptz, last_seen timestamptz,
		last_scan timestamptz, status_at timestamptz, status_rank smallint, cert_seen timestamptz, cert_sha1 text COLLATE "C", cert_not_after timestamptz`},
	{"stage_port_instants", `host text COLLATE "C", port integer, protocol text COLLATE "C", seen_at timestamptz`},
	{"stage_banners", `host text COLLATE "C", port integer, protocol text COLLATE "C", digest bytea, banner text, scan_protocol text,
		first_seen timestamptz, last_seen timestamptz`},
	{"stage_banner_instants", `host text COLLATE "C", port integer, protocol text COLLATE "C", digest bytea, seen_at timestamptz`},
	{"stage_port_components", `host text COLLATE "C", port integer, protocol text COLLATE "C", name text COLLATE "C",
		version text COLLATE "C", category text COLLATE "C", first_seen timestamptz, last_seen timestamptz`},
	{"stage_host_certificates", `host text COLLATE "C", sha1 text COLLATE "C", port integer, first_seen timestamptz, last_seen timestamptz`},
	{"stage_certificate_terms", `field text COLLATE "C", value text COLLATE "C", sha1 text COLLATE "C"`},
	{"stage_certificates", `sha1 text COLLATE "C", id text COLLATE "C", der bytea, first_seen timestamptz, last_seen timestamptz, not_before timestamptz, not_after timestamptz`},
	{"stage_certificate_fields", `sha1 text COLLATE "C", field text COLLATE "C", value text`},
	// Filled by mergePortComponents, not copied: the ports that received
	// a component they did not hold.
	{"stage_new_component_ports", `host text COLLATE "C", port integer, protocol text COLLATE "C"`},
}

// stagingDDL creates every staging table in one round trip.
var stagingDDL = func() string {
	s := ""
	for _, t := range stagingTables {
		s += "CREATE TEMP TABLE IF NOT EXISTS " + t.name + " (" + t.columns + ") ON COMMIT DELETE ROWS;\n"
	}
	return s
}()

// stagingColumns are the column names of each staging table, for COPY.
var stagingColumns = map[string][]string{
	"stage_observations":       {"host", "identity", "data"},
	"stage_hosts":              {"host", "first_seen", "last_seen"},
	"stage_aliases":            {"host", "address", "first_seen", "last_seen"},
	"stage_ports":              {"host", "port", "protocol", "first_seen", "last_seen", "last_scan", "status_at", "status_rank", "cert_seen", "cert_sha1", "cert_not_after"},
	"stage_port_instants":      {"host", "port", "protocol", "seen_at"},
	"stage_banners":            {"host", "port", "protocol", "digest", "banner", "scan_protocol", "first_seen", "last_seen"},
	"stage_banner_instants":    {"host", "port", "protocol", "digest", "seen_at"},
	"stage_port_components":    {"host", "port", "protocol", "name", "version", "category", "first_seen", "last_seen"},
	"stage_host_certificates":  {"host", "sha1", "port", "first_seen", "last_seen"},
	"stage_certificate_terms":  {"field", "value", "sha1"},
	"stage_certificates":       {"sha1", "id", "der", "first_seen", "last_seen", "not_before", "not_after"},
	"stage_certificate_fields": {"sha1", "field", "value"},
}

// ensureStaging creates the staging tables on conn once. It runs outside
// any transaction, so that a rolled-back import cannot take them away.
func (db *DB) ensureStaging(ctx context.Context, conn *pgx.Conn) error {
	if _, ok := db.staged.Load(conn); ok {
		return nil
	}
	if _, err := conn.Exec(ctx, stagingDDL); err != nil {
		return err
	}
	db.staged.Store(conn, struct{}{})
	return nil
}

// The merge statements. Each reads a staging table in key order (so that
// concurrent importers lock rows in the same order and rarely deadlock) and
// combines it with the stored rows by min, max, distinct count or union,
// which is what makes the result independent of the order of imports.
//
// PostgreSQL's LEAST and GREATEST ignore NULL arguments (SQLite's min and
// max return NULL); for first_seen/last_seen, where NULL means "never seen
// open", ignoring NULL is exactly the rule. The comparisons in CASE and
// WHERE do not ignore NULL, hence the explicit IS NULL tests there.
//
// The WHERE of a DO UPDATE skips rows the batch does not change, which
// saves a row version (rescans re-confirm far more than they change).
const (
	mergeHosts = `INSERT INTO hosts AS h (host, first_seen, last_seen)
	SELECT host, first_seen, last_seen FROM pg_temp.stage_hosts ORDER BY host
	ON CONFLICT (host) DO UPDATE SET
		first_seen = LEAST(h.first_seen, excluded.first_seen),
		last_seen = GREATEST(h.last_seen, excluded.last_seen)
	WHERE excluded.first_seen < h.first_seen OR excluded.last_seen > h.last_seen
		OR (h.first_seen IS NULL AND excluded.first_seen IS NOT NULL)`

	mergeAliases = `INSERT INTO host_aliases AS a (host, address, first_seen, last_seen)
	SELECT host, address, first_seen, last_seen FROM pg_temp.stage_aliases ORDER BY host, address
	ON CONFLICT (host, address) DO UPDATE SET
		first_seen = LEAST(a.first_seen, excluded.first_seen),
		last_seen = GREATEST(a.last_seen, excluded.last_seen)
	WHERE excluded.first_seen < a.first_seen OR excluded.last_seen > a.last_seen
		OR (a.first_seen IS NULL AND excluded.first_seen IS NOT NULL)`

	// mergePorts first inserts the open instants, counting per port those
	// that were not stored (timesObserved grows by that count), then
	// upserts the ports. created_batch marks the import that turned a row
	// into a record (its first open observation), which is how the import
	// tells created records from updated ones, as the embedded store does.
	// status_rank restates merge.StatusWins and cert_seen/cert_sha1
	// merge.CertificateWins, as row comparisons (storetest.RunRules checks
	// that they agree).
	// The final sort makes the instants CTE run to completion before the
	// first port row is locked.
	mergePortsTemplate = `WITH added AS (
		INSERT INTO port_instants (host, port, protocol, seen_at)
		SELECT host, port, protocol, seen_at FROM pg_temp.stage_port_instants
		ORDER BY host, port, protocol, seen_at
		ON CONFLICT DO NOTHING
		RETURNING host, port, protocol
	), counts AS (
		SELECT host, port, protocol, count(*) AS n FROM added GROUP BY host, port, protocol
	), up AS (
		INSERT INTO host_ports AS hp (host, port, protocol, first_seen, last_seen, last_scan, times_observed,
			status_at, status_rank, cert_seen, cert_sha1, cert_not_after, created_batch, change_kinds)
		SELECT s.host, s.port, s.protocol, s.first_seen, s.last_seen, s.last_scan, coalesce(c.n, 0),
			s.status_at, s.status_rank, s.cert_seen, s.cert_sha1, s.cert_not_after,
			CASE WHEN s.first_seen IS NOT NULL THEN $1::bigint END,
			CASE WHEN s.first_seen IS NOT NULL THEN {created} ELSE 0 END
		FROM pg_temp.stage_ports s LEFT JOIN counts c ON c.host = s.host AND c.port = s.port AND c.protocol = s.protocol
		ORDER BY s.host, s.port, s.protocol
		ON CONFLICT (host, port, protocol) DO UPDATE SET
			first_seen = LEAST(hp.first_seen, excluded.first_seen),
			last_seen = GREATEST(hp.last_seen, excluded.last_seen),
			last_scan = GREATEST(hp.last_scan, excluded.last_scan),
			times_observed = hp.times_observed + excluded.times_observed,
			status_at = GREATEST(hp.status_at, excluded.status_at),
			status_rank = CASE WHEN (excluded.status_at, excluded.status_rank) > (hp.status_at, hp.status_rank)
				THEN excluded.status_rank ELSE hp.status_rank END,
			cert_seen = CASE WHEN excluded.cert_sha1 IS NOT NULL AND (hp.cert_sha1 IS NULL
					OR (excluded.cert_seen, excluded.cert_sha1) > (hp.cert_seen, hp.cert_sha1))
				THEN excluded.cert_seen ELSE hp.cert_seen END,
			cert_sha1 = CASE WHEN excluded.cert_sha1 IS NOT NULL AND (hp.cert_sha1 IS NULL
					OR (excluded.cert_seen, excluded.cert_sha1) > (hp.cert_seen, hp.cert_sha1))
				THEN excluded.cert_sha1 ELSE hp.cert_sha1 END,
			cert_not_after = CASE WHEN excluded.cert_sha1 IS NOT NULL AND (hp.cert_sha1 IS NULL
					OR (excluded.cert_seen, excluded.cert_sha1) > (hp.cert_seen, hp.cert_sha1))
				THEN excluded.cert_not_after ELSE hp.cert_not_after END,
			created_batch = CASE WHEN hp.first_seen IS NULL AND excluded.first_seen IS NOT NULL
				THEN excluded.created_batch ELSE hp.created_batch END,
			change_kinds = CASE WHEN hp.first_seen IS NULL THEN
					CASE WHEN excluded.first_seen IS NOT NULL THEN {created} ELSE 0 END
				ELSE
					CASE WHEN (excluded.status_at, excluded.status_rank) > (hp.status_at, hp.status_rank)
						AND excluded.status_rank <> hp.status_rank THEN {status} ELSE 0 END
					| CASE WHEN excluded.cert_sha1 IS NOT NULL AND (hp.cert_sha1 IS NULL
							OR (excluded.cert_seen, excluded.cert_sha1) > (hp.cert_seen, hp.cert_sha1))
						AND excluded.cert_sha1 IS DISTINCT FROM hp.cert_sha1 THEN {certificate} ELSE 0 END
					| CASE WHEN excluded.first_seen < hp.first_seen OR excluded.last_seen > hp.last_seen
						OR excluded.last_scan > hp.last_scan OR excluded.times_observed > 0 THEN {counters} ELSE 0 END
				END
		RETURNING host, port, protocol, change_kinds, first_seen IS NOT NULL AS is_record,
			coalesce(created_batch = $1::bigint, false) AS created
	)
	SELECT host, port, protocol, change_kinds, is_record, created FROM up`

	mergeBanners = `WITH added AS (
		INSERT INTO banner_instants (host, port, protocol, digest, seen_at)
		SELECT host, port, protocol, digest, seen_at FROM pg_temp.stage_banner_instants
		ORDER BY host, port, protocol, digest, seen_at
		ON CONFLICT DO NOTHING
		RETURNING host, port, protocol, digest
	), counts AS (
		SELECT host, port, protocol, digest, count(*) AS n FROM added GROUP BY host, port, protocol, digest
	)
	INSERT INTO banners AS b (host, port, protocol, digest, banner, scan_protocol, first_seen, last_seen, times_observed)
	SELECT s.host, s.port, s.protocol, s.digest, s.banner, s.scan_protocol, s.first_seen, s.last_seen, coalesce(c.n, 0)
	FROM pg_temp.stage_banners s
		LEFT JOIN counts c ON c.host = s.host AND c.port = s.port AND c.protocol = s.protocol AND c.digest = s.digest
	ORDER BY s.host, s.port, s.protocol, s.digest
	ON CONFLICT (host, port, protocol, digest) DO UPDATE SET
		first_seen = LEAST(b.first_seen, excluded.first_seen),
		last_seen = GREATEST(b.last_seen, excluded.last_seen),
		times_observed = b.times_observed + excluded.times_observed
	WHERE excluded.times_observed > 0 OR excluded.first_seen < b.first_seen OR excluded.last_seen > b.last_seen
	RETURNING host, port, protocol, xmax = 0`

	mergeHostCertificates = `INSERT INTO host_certificates AS hc (host, sha1, port, first_seen, last_seen)
	SELECT host, sha1, port, first_seen, last_seen FROM pg_temp.stage_host_certificates ORDER BY host, sha1, port
	ON CONFLICT (host, sha1, port) DO UPDATE SET
		first_seen = LEAST(hc.first_seen, excluded.first_seen),
		last_seen = GREATEST(hc.last_seen, excluded.last_seen)
	WHERE excluded.first_seen < hc.first_seen OR excluded.last_seen > hc.last_seen`

	// Terms are a function of the certificate, so two importers indexing
	// the same new certificate at once insert the same rows: DO NOTHING.
	mergeCertificateTerms = `INSERT INTO certificate_terms (field, value, sha1)
	SELECT field, value, sha1 FROM pg_temp.stage_certificate_terms ORDER BY field, value, sha1
	ON CONFLICT DO NOTHING`

	// mergeCertificates runs last: a popular certificate's row is shared by
	// every importer, and the later it is locked, the sooner it is
	// released by the commit.
	mergeCertificateFields = `INSERT INTO certificate_fields (sha1, field, value)
	SELECT sha1, field, value FROM pg_temp.stage_certificate_fields ORDER BY sha1, field, value
	ON CONFLICT DO NOTHING`
	mergeCertificates = `INSERT INTO certificates AS c (sha1, id, der, first_seen, last_seen, not_before, not_after)
	SELECT sha1, id, der, first_seen, last_seen, not_before, not_after FROM pg_temp.stage_certificates ORDER BY sha1
	ON CONFLICT (sha1) DO UPDATE SET
		first_seen = LEAST(c.first_seen, excluded.first_seen),
		last_seen = GREATEST(c.last_seen, excluded.last_seen)
	WHERE excluded.first_seen < c.first_seen OR excluded.last_seen > c.last_seen
	RETURNING sha1, xmax = 0`
)

var (
	// A staged component that a stored one makes redundant is not
	// inserted, and dropRedundantComponents then deletes the stored ones
	// that the staged make redundant: a port lists one product once,
	// whichever batch named which (portolan.Component.RedundantBeside).
	// The ports where a component was inserted are noted: a port that
	// only saw components it held again (a rescan) holds what it held,
	// which was free of redundant ones, so only the noted ports are
	// searched for them.
	mergePortComponents = `WITH merged AS (
	INSERT INTO port_components AS pc (host, port, protocol, name, version, category, first_seen, last_seen)
	SELECT host, port, protocol, name, version, category, first_seen, last_seen FROM pg_temp.stage_port_components s
	WHERE NOT ` + sqlstore.RedundantComponent("s") + `
	ORDER BY host, port, protocol, name, version, category
	ON CONFLICT (host, port, protocol, name, version, category) DO UPDATE SET
		first_seen = LEAST(pc.first_seen, excluded.first_seen),
		last_seen = GREATEST(pc.last_seen, excluded.last_seen)
	WHERE excluded.first_seen < pc.first_seen OR excluded.last_seen > pc.last_seen
	RETURNING host, port, protocol, xmax = 0 AS inserted
), noted AS (
	INSERT INTO pg_temp.stage_new_component_ports (host, port, protocol)
	SELECT DISTINCT host, port, protocol FROM merged WHERE inserted
)
SELECT host, port, protocol, inserted FROM merged`

	dropRedundantComponents = `DELETE FROM port_components v
	USING pg_temp.stage_new_component_ports k
	WHERE v.host = k.host AND v.port = k.port AND v.protocol = k.protocol AND ` + sqlstore.RedundantComponent("v")
)

// staged is a delta as rows of the staging tables, by table.
type staged map[string]*copyRows

// table returns the rows of the named table, adding it when absent.
func (s staged) table(name string) *copyRows {
	r := s[name]
	if r == nil {
		r = &copyRows{}
		s[name] = r
	}
	return r
}

// has reports whether the named table has rows.
func (s staged) has(name string) bool { return s[name] != nil && s[name].rows > 0 }

// stageDelta turns a delta into staging rows.
func stageDelta(d *merge.Delta) staged {
	s := staged{}
	hosts := s.table("stage_hosts")
	for host, sp := range d.Hosts {
		hosts.row(3)
		hosts.text(host)
		hosts.timestamptzOrNull(sp.First)
		hosts.timestamptzOrNull(sp.Last)
	}
	aliases := s.table("stage_aliases")
	for a, sp := range d.Aliases {
		aliases.row(4)
		aliases.text(a.Name)
		aliases.text(a.Address)
		aliases.timestamptzOrNull(sp.First)
		aliases.timestamptzOrNull(sp.Last)
	}
	// Certificates are staged per host and port, and over every host. The
	// per-port table has no protocol (hostSslCertificate ports are
	// numbers): tcp and udp on one port number are one row, whose span is
	// the union, or the upsert would meet its key twice.
	type hostCert struct {
		host, sha1 string
		port       int
	}
	hostCerts := map[hostCert]*portolan.Span{}
	certSpans := map[string]*portolan.Span{}
	ports, portInstants := s.table("stage_ports"), s.table("stage_port_instants")
	banners, bannerInstants := s.table("stage_banners"), s.table("stage_banner_instants")
	components := s.table("stage_port_components")
	// key begins a row of the table with a hostPort's key.
	key := func(rows *copyRows, fields int, k merge.PortKey) {
		rows.row(fields)
		rows.text(k.Host)
		rows.int4(k.Port)
		rows.text(string(k.Protocol))
	}
	for k, p := range d.Ports {
		key(ports, 11, k)
		ports.timestamptzOrNull(p.Open.First)
		ports.timestamptzOrNull(p.Open.Last)
		ports.timestamptz(p.LastScan)
		ports.timestamptz(p.StatusAt)
		ports.int2(p.StatusRank)
		ports.timestamptzOrNull(p.CertSeen)
		ports.textOrNull(p.CertSHA1)
		ports.timestamptzOrNull(d.Expiry(p.CertSHA1))
		for t := range p.OpenInstants {
			key(portInstants, 4, k)
			portInstants.unixSeconds(t)
		}
		for bk, bd := range p.Banners {
			digest := bk.Digest()
			key(banners, 8, k)
			banners.bytea(digest)
			banners.text(bk.Text)
			banners.text(bk.ScanProtocol)
			banners.timestamptz(bd.Span.First)
			banners.timestamptz(bd.Span.Last)
			for t := range bd.Instants {
				key(bannerInstants, 5, k)
				bannerInstants.bytea(digest)
				bannerInstants.unixSeconds(t)
			}
		}
		for c, sp := range p.Components {
			key(components, 8, k)
			components.text(c.Name)
			components.text(c.Version)
			components.text(c.Category)
			components.timestamptz(sp.First)
			components.timestamptz(sp.Last)
		}
		for sha, sp := range p.Certificates {
			widen(hostCerts, hostCert{k.Host, sha, k.Port}, *sp)
			widen(certSpans, sha, *sp)
		}
	}
	hostCertRows := s.table("stage_host_certificates")
	for hk, sp := range hostCerts {
		hostCertRows.row(5)
		hostCertRows.text(hk.host)
		hostCertRows.text(hk.sha1)
		hostCertRows.int4(hk.port)
		hostCertRows.timestamptz(sp.First)
		hostCertRows.timestamptz(sp.Last)
	}
	certs := s.table("stage_certificates")
	for sha, sp := range certSpans {
		c := d.Certificates[sha]
		certs.row(7)
		certs.text(sha)
		certs.text(c.Parsed.ID)
		certs.bytea(c.DER)
		certs.timestamptz(sp.First)
		certs.timestamptz(sp.Last)
		certs.timestamptz(c.Parsed.IssueDateTime)
		certs.timestamptz(c.Parsed.ExpirationDateTime)
	}
	return s
}

// widen unions sp into the span of key.
func widen[K comparable](spans map[K]*portolan.Span, key K, sp portolan.Span) {
	if spans[key] == nil {
		spans[key] = &portolan.Span{}
	}
	spans[key].Union(sp)
}

// apply merges a delta into the records: COPY into the staging tables, then
// the merge statements in one round trip, always in the same table order.
// It returns how many records were created and updated; batch marks the
// records created.
func (db *DB) apply(ctx context.Context, tx pgx.Tx, pr *prepared, batch int64, track *tracker) (created, updated int, err error) {
	d := pr.delta
	if len(d.Ports) == 0 && len(d.Hosts) == 0 {
		return 0, 0, nil
	}
	// The prepared rows are reused when a transaction is retried: the terms,
	// which depend on what the database holds, go to a map of their own.
	s := staged{}
	for table, rows := range pr.rows {
		s[table] = rows
	}
	// Index each certificate for $search when it is new to the database.
	if len(d.Certificates) > 0 {
		shas := make([]string, 0, len(d.Certificates))
		for sha := range d.Certificates {
			shas = append(shas, sha)
		}
		known := map[string]bool{}
		described := map[string][]byte{} // the stored bytes that are a description
		var sha string
		var held []byte
		if _, err := pgx.ForEachRow(mustQuery(ctx, tx, `SELECT sha1, CASE WHEN get_byte(der, 0) = 123 THEN der END
			FROM certificates WHERE sha1 = ANY($1)`, shas), []any{&sha, &held}, func() error {
			known[sha] = true
			if held != nil {
				described[sha] = held
			}
			return nil
		}); err != nil {
			return 0, 0, err
		}
		for sha, c := range d.Certificates {
			// Its DER (or a later description) replaces a stored
			// description: merge.CertificateReplaces.
			if known[sha] && merge.CertificateReplaces(c.DER, described[sha]) {
				replaced, err := replaceDescription(ctx, tx, sha, described[sha], c)
				if err != nil {
					return 0, 0, err
				}
				if replaced {
					if track != nil {
						track.certs[sha] |= portolan.ChangeCounters
					}
					known[sha] = false // index it below
				}
			}
			if known[sha] {
				continue
			}
			terms := s.table("stage_certificate_terms")
			for _, t := range portolan.CertificateSearchTerms(c.Parsed) {
				terms.row(3)
				terms.text(t.Field)
				terms.text(t.Value)
				terms.text(sha)
			}
			fields := s.table("stage_certificate_fields")
			for _, f := range portolan.CertificateFields(c.Parsed) {
				fields.row(3)
				fields.text(sha)
				fields.text(f.Path)
				fields.text(f.Value)
			}
		}
	}
	for _, t := range stagingTables {
		if err := copyIn(ctx, tx, t.name, stagingColumns[t.name], s[t.name]); err != nil {
			return 0, 0, err
		}
	}
	b := &pgx.Batch{}
	queue := func(table, sql string) {
		if s.has(table) {
			b.Queue(sql)
		}
	}
	// Which of the rows a statement returns changed something, and how
	// (the change record): nothing is read when the import is a rebuild.
	queueTracked := func(table, sql string, scan func(pgx.Rows) error) {
		if !s.has(table) {
			return
		}
		if track == nil {
			b.Queue(sql)
			return
		}
		b.Queue(sql).Query(func(rows pgx.Rows) error {
			defer rows.Close()
			for rows.Next() {
				if err := scan(rows); err != nil {
					return err
				}
			}
			return rows.Err()
		})
	}
	var hostIDs []string
	var hostsBefore map[string][2]*time.Time
	if track != nil {
		hostIDs = affectedHosts(d)
		track.queueHostSpans(b, hostIDs, func(m map[string][2]*time.Time) { hostsBefore = m })
	}
	queue("stage_hosts", mergeHosts)
	queue("stage_aliases", mergeAliases)
	if s.has("stage_ports") {
		b.Queue(mergePorts, batch).Query(func(rows pgx.Rows) error {
			defer rows.Close()
			for rows.Next() {
				var k merge.PortKey
				var proto string
				var kinds int16
				var isRecord, isCreated bool
				if err := rows.Scan(&k.Host, &k.Port, &proto, &kinds, &isRecord, &isCreated); err != nil {
					return err
				}
				switch {
				case isCreated:
					created++
				case isRecord:
					updated++
				}
				if track != nil && isRecord && kinds != 0 {
					k.Protocol = portolan.Protocol(proto)
					track.ports[k] |= portolan.ChangeKind(kinds)
				}
			}
			return rows.Err()
		})
	}
	queueTracked("stage_banners", mergeBanners, track.partScanner(portolan.ChangeBanners))
	queueTracked("stage_port_components", mergePortComponents, track.partScanner(portolan.ChangeServices))
	// A temporary table has no statistics until it is analysed: without
	// them the planner took the noted ports for a thousand and read every
	// versionless component of the store for each import (28 ms an import
	// at 40,000 hostPorts, growing with the store) instead of looking up
	// the few noted ports' components by key.
	queue("stage_port_components", "ANALYZE pg_temp.stage_new_component_ports")
	queue("stage_port_components", dropRedundantComponents)
	queue("stage_host_certificates", mergeHostCertificates)
	queue("stage_certificate_terms", mergeCertificateTerms)
	queue("stage_certificate_fields", mergeCertificateFields)
	queueTracked("stage_certificates", mergeCertificates, func(rows pgx.Rows) error {
		var sha string
		var inserted bool
		if err := rows.Scan(&sha, &inserted); err != nil {
			return err
		}
		if inserted {
			track.certs[sha] |= portolan.ChangeCreated
		} else {
			track.certs[sha] |= portolan.ChangeCounters
		}
		return nil
	})
	if track != nil {
		track.queueHostSpans(b, hostIDs, func(after map[string][2]*time.Time) { track.compareHosts(hostsBefore, after) })
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, 0, err
	}
	return created, updated, nil
}

// replaceDescription puts c, a certificate's DER or a description that
// sorts after the stored one, in place of the stored description held, and
// drops what was indexed of the description; the caller then indexes c.
// The update is conditional and comes first: when another importer has
// replaced the description since it was read, the rule is applied again
// to what it stored, and false is returned when c no longer wins, so that
// what is stored and indexed is always the rule's.
func replaceDescription(ctx context.Context, tx pgx.Tx, sha string, held []byte, c *merge.Certificate) (bool, error) {
	for {
		tag, err := tx.Exec(ctx, `UPDATE certificates SET der = $2, not_before = $3, not_after = $4
			WHERE sha1 = $1 AND der = $5`, sha, c.DER, c.Parsed.IssueDateTime, c.Parsed.ExpirationDateTime, held)
		if err != nil {
			return false, err
		}
		if tag.RowsAffected() > 0 {
			break
		}
		// Another importer replaced it first: read what it stored (the
		// row lock waits for its commit) and try again if c still wins.
		if err := tx.QueryRow(ctx, `SELECT der FROM certificates WHERE sha1 = $1 FOR UPDATE`, sha).Scan(&held); err != nil {
			return false, err
		}
		if !merge.CertificateReplaces(c.DER, held) {
			return false, nil
		}
	}
	if old, err := portolan.ParseCertificate(held); err == nil {
		for _, t := range portolan.CertificateSearchTerms(old) {
			if _, err := tx.Exec(ctx, `DELETE FROM certificate_terms WHERE field = $1 AND value = $2 AND sha1 = $3`, t.Field, t.Value, sha); err != nil {
				return false, err
			}
		}
	}
	_, err := tx.Exec(ctx, `DELETE FROM certificate_fields WHERE sha1 = $1`, sha)
	return err == nil, err
}

// rebuildChunk is how many logged observations a rebuild reads per query
// and folds per delta.
const rebuildChunk = 20000

// recordTables are the tables derived from the log, which a rebuild empties.
var recordTables = []string{"hosts", "host_aliases", "host_ports", "port_instants", "banners", "banner_instants",
	"port_components", "host_certificates", "certificates", "certificate_terms", "certificate_fields"}

// Rebuild implements portolan.ObservationService: in one transaction it
// empties the records and replays the log through the current rules. The
// log is locked in SHARE mode, which lets readers read (the previous
// records, until the commit) and makes imports wait; a failure mid-rebuild
// leaves the previous records.
func (db *DB) Rebuild(ctx context.Context, progress func(int)) error {
	return db.inTx(ctx, "rebuild", func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE observation_log IN SHARE MODE`); err != nil {
			return err
		}
		return db.rebuildInTx(ctx, tx, progress)
	})
}

// Prune implements portolan.Pruner: in one transaction, with imports held
// off, it deletes from the log the observations scanned before opts.Before
// (the log's key is the dedup, so ingesting them again brings them back),
// then rebuilds every record from what remains, as Rebuild does. With
// DryRun it only counts.
func (db *DB) Prune(ctx context.Context, opts portolan.PruneOptions) (portolan.PruneResult, error) {
	var res portolan.PruneResult
	before := opts.Before.UTC()
	err := db.inTx(ctx, "prune", func(ctx context.Context, tx pgx.Tx) error {
		res = portolan.PruneResult{}
		if _, err := tx.Exec(ctx, `LOCK TABLE observation_log IN SHARE MODE`); err != nil {
			return err
		}
		err := walkLog(ctx, tx, func(chunk []loggedObservation) error {
			var hosts []string
			var ids [][]byte
			for _, l := range chunk {
				if l.o.ScannedAt.Before(before) {
					hosts, ids = append(hosts, l.host), append(ids, l.identity)
				}
			}
			res.Removed += len(hosts)
			res.Kept += len(chunk) - len(hosts)
			if len(hosts) == 0 || opts.DryRun {
				return nil
			}
			_, err := tx.Exec(ctx, `DELETE FROM observation_log WHERE (host, identity) IN (SELECT * FROM unnest($1::text[], $2::bytea[]))`, hosts, ids)
			return err
		})
		if err != nil {
			return err
		}
		if opts.DryRun || res.Removed == 0 {
			return nil
		}
		return db.rebuildInTx(ctx, tx, opts.Progress)
	})
	return res, err
}

// rebuildInTx empties the records and replays the log in tx, which holds
// the log in SHARE mode.
func (db *DB) rebuildInTx(ctx context.Context, tx pgx.Tx, progress func(int)) error {
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '64MB'`); err != nil {
		return err
	}
	if err := recordRebuild(ctx, tx); err != nil {
		return err
	}
	// Every record is rewritten (and, after a prune, some are gone).
	if err := notifyChange(ctx, tx); err != nil {
		return err
	}
	for _, table := range recordTables {
		if _, err := tx.Exec(ctx, "DELETE FROM "+table); err != nil {
			return err
		}
	}
	batch := randomBatchID()
	replayed := 0
	err := walkLog(ctx, tx, func(chunk []loggedObservation) error {
		obs := make([]*portolan.Observation, len(chunk))
		for i, l := range chunk {
			obs[i] = l.o
		}
		if _, _, err := db.apply(ctx, tx, prepare(obs, db.recognize), batch, nil); err != nil {
			return err
		}
		// The staging tables are emptied at commit only; the next chunk
		// of this transaction needs them empty now.
		if _, err := tx.Exec(ctx, stagingTruncate); err != nil {
			return err
		}
		replayed += len(obs)
		if progress != nil {
			progress(replayed)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if progress != nil && replayed == 0 {
		progress(0)
	}
	return recordRebuild(ctx, tx)
}

// loggedObservation is one entry of the observation log.
type loggedObservation struct {
	host     string
	identity []byte
	o        *portolan.Observation
}

// walkLog reads the observation log of tx in key order, rebuildChunk
// entries at a time, and hands each chunk to fn before it reads the next
// (fn may delete the entries it was given). Rebuild and Prune walk it so.
func walkLog(ctx context.Context, tx pgx.Tx, fn func([]loggedObservation) error) error {
	var afterHost string
	var afterID []byte
	for first := true; ; first = false {
		var rows pgx.Rows
		if first {
			rows = mustQuery(ctx, tx, `SELECT host, identity, data FROM observation_log ORDER BY host, identity LIMIT $1`, rebuildChunk)
		} else {
			rows = mustQuery(ctx, tx, `SELECT host, identity, data FROM observation_log WHERE (host, identity) > ($1, $2)
				ORDER BY host, identity LIMIT $3`, afterHost, afterID, rebuildChunk)
		}
		chunk := make([]loggedObservation, 0, rebuildChunk)
		var data []byte
		_, err := pgx.ForEachRow(rows, []any{&afterHost, &afterID, &data}, func() error {
			o, err := obslog.Decode(data)
			if err != nil || len(o) != 1 {
				return obslog.ErrCorrupt
			}
			chunk = append(chunk, loggedObservation{afterHost, slices.Clone(afterID), o[0]})
			return nil
		})
		if err != nil {
			return err
		}
		if len(chunk) > 0 {
			if err := fn(chunk); err != nil {
				return err
			}
		}
		if len(chunk) < rebuildChunk {
			return nil
		}
	}
}

// stagingTruncate empties every staging table.
var stagingTruncate = func() string {
	s := "TRUNCATE "
	for i, t := range stagingTables {
		if i > 0 {
			s += ", "
		}
		s += "pg_temp." + t.name
	}
	return s
}()
