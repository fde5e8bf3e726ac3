// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"time"

	"portolan"
	"portolan/internal/merge"
)

// ImportObservations implements portolan.ObservationService: in one
// transaction it appends the observations to the log (skipping identities
// already there) and merges the new ones into the records.
func (db *DB) ImportObservations(ctx context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	res := portolan.ImportResult{Observations: len(batch)}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return res, db.storeError("begin import", err)
	}
	defer tx.Rollback()
	insert, err := tx.PrepareContext(ctx, `INSERT INTO observation_ids (identity) VALUES (?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return res, db.storeError("prepare log insert", err)
	}
	defer insert.Close()
	delta := merge.NewDelta()
	blob := []byte{logCodecVersion}
	var logged []*portolan.Observation
	for _, o := range batch {
		id := o.Identity()
		r, err := insert.ExecContext(ctx, id[:])
		if err != nil {
			return res, db.storeError("append observation", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			res.Duplicates++
			continue
		}
		logged = append(logged, o)
		delta.Add(o, db.recognize)
	}
	if len(logged) > 0 {
		blob = binary.AppendUvarint(blob, uint64(len(logged)))
		for _, o := range logged {
			blob = appendObservation(blob, o)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO observation_log (count, data, imported_at) VALUES (?, ?, ?)`, len(logged), blob, time.Now().Unix()); err != nil {
			return res, db.storeError("append log", err)
		}
	}
	created, updated, err := db.apply(ctx, tx, delta)
	if err != nil {
		return res, err
	}
	if err := tx.Commit(); err != nil {
		return res, db.storeError("commit import", err)
	}
	res.Created, res.Updated = created, updated
	return res, nil
}

// stmts are the upserts that apply a delta, prepared once per transaction.
type stmts struct {
	portInstant, hostPort, bannerInstant, banner, portComponent, hostComponent,
	host, alias, certificate, certTerm, hostCertificate *sql.Stmt
}

var upserts = map[string]string{
	"portInstant": `INSERT INTO port_instants (host, port, protocol, seen_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
	// In an upsert's SET, bare column names are the stored values and
	// excluded.* the new ones; min/max of SQLite return NULL when an argument
	// is NULL, hence the coalesce.
	"hostPort": `INSERT INTO host_ports (host, port, protocol, first_seen, last_seen, last_scan, times_observed, status_at, status_rank, cert_seen, cert_sha1, created_batch)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (host, port, protocol) DO UPDATE SET
			first_seen = coalesce(min(first_seen, excluded.first_seen), first_seen, excluded.first_seen),
			last_seen = coalesce(max(last_seen, excluded.last_seen), last_seen, excluded.last_seen),
			last_scan = max(last_scan, excluded.last_scan),
			times_observed = times_observed + excluded.times_observed,
			status_at = max(status_at, excluded.status_at),
			status_rank = CASE WHEN excluded.status_at > status_at OR (excluded.status_at = status_at AND excluded.status_rank > status_rank)
				THEN excluded.status_rank ELSE status_rank END,
			cert_seen = CASE WHEN excluded.cert_sha1 IS NOT NULL AND (cert_sha1 IS NULL OR excluded.cert_seen > cert_seen OR (excluded.cert_seen = cert_seen AND excluded.cert_sha1 > cert_sha1))
				THEN excluded.cert_seen ELSE cert_seen END,
			cert_sha1 = CASE WHEN excluded.cert_sha1 IS NOT NULL AND (cert_sha1 IS NULL OR excluded.cert_seen > cert_seen OR (excluded.cert_seen = cert_seen AND excluded.cert_sha1 > cert_sha1))
				THEN excluded.cert_sha1 ELSE cert_sha1 END,
			created_batch = CASE WHEN first_seen IS NULL AND excluded.first_seen IS NOT NULL THEN excluded.created_batch ELSE created_batch END
		RETURNING first_seen IS NOT NULL, coalesce(created_batch, 0)`,
	"bannerInstant": `INSERT INTO banner_instants (host, port, protocol, digest, seen_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
	"banner": `INSERT INTO banners (host, port, protocol, digest, banner, scan_protocol, first_seen, last_seen, times_observed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (host, port, protocol, digest) DO UPDATE SET
			first_seen = min(first_seen, excluded.first_seen),
			last_seen = max(last_seen, excluded.last_seen),
			times_observed = times_observed + excluded.times_observed`,
	"portComponent": `INSERT INTO port_components (host, port, protocol, name, version, category, first_seen, last_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`,
	"hostComponent": `INSERT INTO host_components (host, name, version, category, id, first_seen, last_seen)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (host, name, version, category) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`,
	"host": `INSERT INTO hosts (id, first_seen, last_seen) VALUES (?, ?, ?)
		ON CONFLICT DO UPDATE SET
			first_seen = coalesce(min(first_seen, excluded.first_seen), first_seen, excluded.first_seen),
			last_seen = coalesce(max(last_seen, excluded.last_seen), last_seen, excluded.last_seen)`,
	"alias": `INSERT INTO host_aliases (name, address, first_seen, last_seen) VALUES (?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET
			first_seen = coalesce(min(first_seen, excluded.first_seen), first_seen, excluded.first_seen),
			last_seen = coalesce(max(last_seen, excluded.last_seen), last_seen, excluded.last_seen)`,
	"certificate": `INSERT INTO certificates (sha1, id, der, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (sha1) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`,
	"certTerm": `INSERT INTO certificate_terms (field, value, sha1) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
	"hostCertificate": `INSERT INTO host_certificates (host, sha1, port, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`,
}

func (db *DB) prepare(ctx context.Context, tx *sql.Tx) (*stmts, func(), error) {
	s := &stmts{}
	targets := map[string]**sql.Stmt{
		"portInstant": &s.portInstant, "hostPort": &s.hostPort, "bannerInstant": &s.bannerInstant,
		"banner": &s.banner, "portComponent": &s.portComponent, "hostComponent": &s.hostComponent,
		"host": &s.host, "alias": &s.alias, "certificate": &s.certificate, "certTerm": &s.certTerm,
		"hostCertificate": &s.hostCertificate,
	}
	var prepared []*sql.Stmt
	closeAll := func() {
		for _, st := range prepared {
			st.Close()
		}
	}
	for name, target := range targets {
		st, err := tx.PrepareContext(ctx, upserts[name])
		if err != nil {
			closeAll()
			return nil, nil, db.storeError("prepare "+name, err)
		}
		prepared = append(prepared, st)
		*target = st
	}
	return s, closeAll, nil
}

// nullTime is a Unix time, or NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

// bannerDigest keys a banner group: (normalised text, scan protocol).
func bannerDigest(k merge.BannerKey) []byte {
	h := sha256.New()
	h.Write([]byte(k.ScanProtocol))
	h.Write([]byte{0})
	h.Write([]byte(k.Text))
	return h.Sum(nil)[:16]
}

// apply merges a delta into the records with upserts that each compute a
// min, a max, a distinct count or a union, so the result does not depend on
// the order of deltas. It returns how many records were created and updated.
func (db *DB) apply(ctx context.Context, tx *sql.Tx, d *merge.Delta) (created, updated int, err error) {
	if len(d.Ports) == 0 && len(d.Hosts) == 0 {
		return 0, 0, nil
	}
	s, closeAll, err := db.prepare(ctx, tx)
	if err != nil {
		return 0, 0, err
	}
	defer closeAll()
	var b [8]byte
	rand.Read(b[:])
	batch := int64(binary.BigEndian.Uint64(b[:]) >> 1)
	if batch == 0 {
		batch = 1
	}
	// Index each certificate for $search once, when it is new.
	for sha, cert := range d.Certificates {
		var known bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM certificates WHERE sha1 = ?)`, sha).Scan(&known); err != nil {
			return 0, 0, db.storeError("look up certificate", err)
		}
		if known {
			continue
		}
		for _, term := range portolan.CertificateSearchTerms(cert.Parsed) {
			if _, err := s.certTerm.ExecContext(ctx, term.Field, term.Value, sha); err != nil {
				return 0, 0, db.storeError("index certificate", err)
			}
		}
	}
	hostComps := map[string]map[portolan.Component]*portolan.Span{}
	for k, p := range d.Ports {
		proto := string(k.Protocol)
		newInstants := 0
		for t := range p.OpenInstants {
			r, err := s.portInstant.ExecContext(ctx, k.Host, k.Port, proto, t)
			if err != nil {
				return 0, 0, db.storeError("insert instant", err)
			}
			n, _ := r.RowsAffected()
			newInstants += int(n)
		}
		var certSHA any
		if p.CertSHA1 != "" {
			certSHA = p.CertSHA1
		}
		var isRecord bool
		var createdBatch int64
		var createdArg any
		if p.IsRecord() {
			createdArg = batch
		}
		err := s.hostPort.QueryRowContext(ctx, k.Host, k.Port, proto, nullTime(p.Open.First), nullTime(p.Open.Last),
			p.LastScan.Unix(), newInstants, p.StatusAt.Unix(), p.StatusRank, nullTime(p.CertSeen), certSHA, createdArg).Scan(&isRecord, &createdBatch)
		if err != nil {
			return 0, 0, db.storeError("upsert hostPort", err)
		}
		switch {
		case createdBatch == batch:
			created++
		case isRecord:
			updated++
		}
		for bk, bd := range p.Banners {
			digest := bannerDigest(bk)
			newBannerInstants := 0
			for t := range bd.Instants {
				r, err := s.bannerInstant.ExecContext(ctx, k.Host, k.Port, proto, digest, t)
				if err != nil {
					return 0, 0, db.storeError("insert banner instant", err)
				}
				n, _ := r.RowsAffected()
				newBannerInstants += int(n)
			}
			if _, err := s.banner.ExecContext(ctx, k.Host, k.Port, proto, digest, bk.Text, bk.ScanProtocol,
				bd.Span.First.Unix(), bd.Span.Last.Unix(), newBannerInstants); err != nil {
				return 0, 0, db.storeError("upsert banner", err)
			}
		}
		for c, sp := range p.Components {
			if _, err := s.portComponent.ExecContext(ctx, k.Host, k.Port, proto, c.Name, c.Version, c.Category, sp.First.Unix(), sp.Last.Unix()); err != nil {
				return 0, 0, db.storeError("upsert port component", err)
			}
			hc := hostComps[k.Host]
			if hc == nil {
				hc = map[portolan.Component]*portolan.Span{}
				hostComps[k.Host] = hc
			}
			if hc[c] == nil {
				hc[c] = &portolan.Span{}
			}
			hc[c].Union(*sp)
		}
		for sha, sp := range p.Certificates {
			if _, err := s.hostCertificate.ExecContext(ctx, k.Host, sha, k.Port, sp.First.Unix(), sp.Last.Unix()); err != nil {
				return 0, 0, db.storeError("upsert host certificate", err)
			}
			cert := d.Certificates[sha]
			if _, err := s.certificate.ExecContext(ctx, sha, cert.Parsed.ID, cert.DER, sp.First.Unix(), sp.Last.Unix()); err != nil {
				return 0, 0, db.storeError("upsert certificate", err)
			}
		}
	}
	for host, comps := range hostComps {
		for c, sp := range comps {
			if _, err := s.hostComponent.ExecContext(ctx, host, c.Name, c.Version, c.Category, portolan.HostComponentID(host, c), sp.First.Unix(), sp.Last.Unix()); err != nil {
				return 0, 0, db.storeError("upsert host component", err)
			}
		}
	}
	for id, sp := range d.Hosts {
		if _, err := s.host.ExecContext(ctx, id, nullTime(sp.First), nullTime(sp.Last)); err != nil {
			return 0, 0, db.storeError("upsert host", err)
		}
	}
	for a, sp := range d.Aliases {
		if _, err := s.alias.ExecContext(ctx, a.Name, a.Address, nullTime(sp.First), nullTime(sp.Last)); err != nil {
			return 0, 0, db.storeError("upsert alias", err)
		}
	}
	return created, updated, nil
}

// rebuildChunk is how many logged observations a rebuild folds per delta.
const rebuildChunk = 20000

// Rebuild implements portolan.ObservationService: in one transaction it
// empties the records and replays the log, in log order, through the current
// rules. A crash mid-rebuild leaves the previous records.
func (db *DB) Rebuild(ctx context.Context, progress func(int)) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.storeError("begin rebuild", err)
	}
	defer tx.Rollback()
	for _, table := range []string{"host_ports", "port_instants", "banners", "banner_instants", "port_components",
		"host_components", "hosts", "host_aliases", "certificates", "certificate_terms", "host_certificates"} {
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
		if _, _, err := db.apply(ctx, tx, d); err != nil {
			return err
		}
		replayed += len(obs)
		last = next
		if progress != nil {
			progress(replayed)
		}
	}
	if progress != nil && replayed == 0 {
		progress(0)
	}
	if err := tx.Commit(); err != nil {
		return db.storeError("commit rebuild", err)
	}
	return nil
}

// readLog reads the log entries after sequence number after, up to about n
// observations.
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
		obs, err := decodeLog(data)
		if err != nil || len(obs) != count {
			return nil, 0, fmt.Errorf("observation log entry %d: %w", last, errCorruptLog)
		}
		out = append(out, obs...)
	}
	return out, last, rows.Err()
}
