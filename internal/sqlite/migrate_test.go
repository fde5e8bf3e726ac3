// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"database/sql"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/sqlite"
)

// execRaw runs statements on the database file at path, outside the store:
// how a test puts a store back in the shape an earlier binary left it.
func execRaw(t *testing.T, path string, statements ...string) {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range statements {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// openStoreFile opens a new store in a file of its own, for a test to close,
// put back in an earlier binary's shape, and open again.
func openStoreFile(t *testing.T) (string, *sqlite.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return path, db
}

// TestHostComponentsMigration opens a store as the binaries before
// migration 0008 left it (a table of host components beside the ports'),
// and lists the same components after it, from the ports, with the table
// gone.
func TestHostComponentsMigration(t *testing.T) {
	ctx := context.Background()
	path, db := openStoreFile(t)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var batch []*portolan.Observation
	for _, c := range []struct {
		port    int
		name    string
		version string
	}{{80, "nginx", "1.22.1"}, {443, "nginx", "1.22.1"}, {22, "OpenSSH", "9.2p1"}} {
		batch = append(batch, &portolan.Observation{Host: "192.0.2.8", Port: c.port, Protocol: portolan.TCP, Status: portolan.StatusOpen,
			Source: "native", ScannedAt: at, SeenAt: at, Components: []portolan.Component{{Name: c.name, Version: c.version}}})
	}
	if _, err := db.ImportObservations(ctx, batch); err != nil {
		t.Fatal(err)
	}
	want, n, err := db.FindHostComponents(ctx, "192.0.2.8", portolan.ListFilter{Limit: 100, Count: true})
	if err != nil || n != 2 || len(want) != 2 {
		t.Fatalf("before: %d components (count %d), %v; want 2", len(want), n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	execRaw(t, path,
		`CREATE TABLE host_components (host TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, category TEXT NOT NULL,
			id TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
			PRIMARY KEY (host, name, version, category)) WITHOUT ROWID`,
		`CREATE UNIQUE INDEX host_components_id ON host_components (id)`,
		`INSERT INTO host_components SELECT host, name, version, category, 'stale-' || name, min(first_seen), max(last_seen)
			FROM port_components GROUP BY host, name, version, category`,
		// The migrations after 0008 are undone too, so that they apply
		// again after it.
		`ALTER TABLE host_ports DROP COLUMN parts`,
		undoObservationKeys[0], undoObservationKeys[1],
		`DELETE FROM schema_migrations WHERE version >= 8`,
	)

	db, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, n, err := db.FindHostComponents(ctx, "192.0.2.8", portolan.ListFilter{Limit: 100, Count: true})
	if err != nil || n != 2 {
		t.Fatalf("after: count %d, %v; want 2", n, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("components after the migration (-before +after):\n%s", diff)
	}
	one, err := db.FindHostComponentByID(ctx, want[0].ID)
	if err != nil || one.ID != want[0].ID {
		t.Errorf("component %s by id after the migration: %+v, %v", want[0].ID, one, err)
	}

	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var tables int
	if err := raw.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name IN ('host_components', 'host_components_id')`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("host_components left behind: %d objects, %v", tables, err)
	}
}

// TestPortPartsMigration opens a store as the binaries before migration
// 0009 left it (host_ports without parts), and reads the same records
// after it: the migration marks the ports with banners and services.
func TestPortPartsMigration(t *testing.T) {
	ctx := context.Background()
	path, db := openStoreFile(t)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	batch := []*portolan.Observation{
		{Host: "192.0.2.9", Port: 22, Banner: "SSH-2.0-OpenSSH_9.2p1 Debian-2", ScanProtocol: "ssh"},
		{Host: "192.0.2.9", Port: 80, Components: []portolan.Component{{Name: "nginx", Version: "1.22.1"}}},
		{Host: "192.0.2.9", Port: 443, Banner: "HTTP/1.1 200 OK", Components: []portolan.Component{{Name: "nginx"}}},
		{Host: "192.0.2.9", Port: 8080},
	}
	for _, o := range batch {
		o.Protocol, o.Status, o.Source, o.ScannedAt, o.SeenAt = portolan.TCP, portolan.StatusOpen, "native", at, at
	}
	if _, err := db.ImportObservations(ctx, batch); err != nil {
		t.Fatal(err)
	}
	want, _, err := db.FindHostPorts(ctx, portolan.HostPortFilter{Host: "192.0.2.9"})
	if err != nil || len(want) != 4 {
		t.Fatalf("before: %d ports, %v; want 4", len(want), err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	execRaw(t, path, `ALTER TABLE host_ports DROP COLUMN parts`, undoObservationKeys[0], undoObservationKeys[1], `DELETE FROM schema_migrations WHERE version >= 9`)
	db, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, _, err := db.FindHostPorts(ctx, portolan.HostPortFilter{Host: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ports after the migration (-before +after):\n%s", diff)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	parts := map[int]int{}
	rows, err := raw.Query(`SELECT port, parts FROM host_ports WHERE host = '192.0.2.9'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var port, p int
		if err := rows.Scan(&port, &p); err != nil {
			t.Fatal(err)
		}
		parts[port] = p
	}
	if want := map[int]int{22: 1, 80: 2, 443: 3, 8080: 0}; !maps.Equal(parts, want) {
		t.Errorf("parts after the migration: %v, want %v", parts, want)
	}
}

// undoObservationKeys puts a store's identities back where the binaries
// before migration 0010 kept them.
var undoObservationKeys = [2]string{
	`INSERT INTO observation_ids SELECT identity FROM observation_keys`,
	`DROP TABLE observation_keys`,
}

// TestObservationKeysMigration opens a store as the binaries before
// migration 0010 left it (identities in observation_ids alone): what it
// holds is still recognised when ingested again, new identities go to
// observation_keys, and prune forgets both.
func TestObservationKeysMigration(t *testing.T) {
	ctx := context.Background()
	path, db := openStoreFile(t)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	scan := func(host string, ports ...int) []*portolan.Observation {
		var batch []*portolan.Observation
		for _, p := range ports {
			batch = append(batch, &portolan.Observation{Host: host, Port: p, Protocol: portolan.TCP, Status: portolan.StatusOpen, Source: "native", ScannedAt: at, SeenAt: at})
		}
		return batch
	}
	before, after := scan("192.0.2.10", 22, 80, 443), scan("192.0.2.11", 25, 587)
	if _, err := db.ImportObservations(ctx, before); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	execRaw(t, path, undoObservationKeys[0], undoObservationKeys[1], `DELETE FROM schema_migrations WHERE version >= 10`)

	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counts := func() (ids, keys int) {
		t.Helper()
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if err := raw.QueryRow(`SELECT (SELECT count(*) FROM observation_ids), (SELECT count(*) FROM observation_keys)`).Scan(&ids, &keys); err != nil {
			t.Fatal(err)
		}
		return ids, keys
	}
	if ids, keys := counts(); ids != 3 || keys != 0 {
		t.Fatalf("after the migration: %d identities in observation_ids, %d in observation_keys; want 3, 0", ids, keys)
	}
	res, err := db.ImportObservations(ctx, append(append([]*portolan.Observation{}, before...), after...))
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicates != 3 || res.Created != 2 {
		t.Errorf("the earlier scan again with a new one: %+v, want 3 duplicates and 2 records created", res)
	}
	if ids, keys := counts(); ids != 3 || keys != 2 {
		t.Errorf("after an import: %d identities in observation_ids, %d in observation_keys; want 3, 2", ids, keys)
	}
	if res, err := db.ImportObservations(ctx, after); err != nil || res.Duplicates != 2 {
		t.Errorf("the new scan again: %+v, %v; want 2 duplicates", res, err)
	}
	pruned, err := db.Prune(ctx, portolan.PruneOptions{Before: at.Add(time.Hour)})
	if err != nil || pruned.Removed != 5 {
		t.Fatalf("prune: %+v, %v; want 5 removed", pruned, err)
	}
	if ids, keys := counts(); ids != 0 || keys != 0 {
		t.Errorf("after prune: %d identities in observation_ids, %d in observation_keys; want none", ids, keys)
	}
}
