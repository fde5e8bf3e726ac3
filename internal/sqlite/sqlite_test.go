// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"portolan"
	"portolan/internal/sqlite"
	"portolan/internal/storetest"
)

func openTest(t testing.TB, r portolan.Recognizer) portolan.Store {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlite.Options{Recognizer: r})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return db
}

func TestConformance(t *testing.T) { storetest.Run(t, openTest) }

// TestRuleConformance proves that the SQL restating internal/merge's rules
// agrees with them.
func TestRuleConformance(t *testing.T) { storetest.RunRules(t, openTest) }

func TestChanges(t *testing.T) { storetest.RunChanges(t, openTest) }

// openWithRawConnection opens a store and a connection of its own to the
// same file, through which a test adds what the schema does not hold.
func openWithRawConnection(t *testing.T) (*sqlite.DB, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return s, raw
}

// TestRefusalIsConflict: a record the database will not hold is ECONFLICT,
// the code ingest isolates, and the refused batch leaves nothing behind.
// The schema refuses nothing a normalised observation can hold, so the
// refusal is a trigger the test adds (RAISE(ABORT) fails as a constraint
// does).
func TestRefusalIsConflict(t *testing.T) {
	ctx := context.Background()
	s, raw := openWithRawConnection(t)
	if _, err := raw.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON port_components WHEN NEW.name = 'Refused'
		BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	o := &portolan.Observation{Host: "192.0.2.7", Port: 80, Protocol: portolan.TCP, Status: portolan.StatusOpen, Source: "native",
		ScannedAt: at, SeenAt: at, Components: []portolan.Component{{Name: "Refused", Version: "1"}}}
	_, err := s.ImportObservations(ctx, []*portolan.Observation{o})
	if code := portolan.ErrorCode(err); code != portolan.ECONFLICT {
		t.Fatalf("refused component: %v (code %q), want ECONFLICT", err, code)
	}
	if _, err := s.FindHostPortByID(ctx, portolan.HostPortID("192.0.2.7", portolan.TCP, 80)); portolan.ErrorCode(err) != portolan.ENOTFOUND {
		t.Errorf("the refused batch left a record: %v", err)
	}
}

// TestFailureMidStatementLeavesNothingOfTheBatch: the writer's multi-row
// inserts keep the rows before a failed one (INSERT OR FAIL, which spares
// SQLite a statement journal), so the import must roll back its whole
// transaction. The trigger fails one of 300 hostPorts inside the first
// statement of 256 rows, after the identities, the log and the rows
// before it (111 of them) are written.
func TestFailureMidStatementLeavesNothingOfTheBatch(t *testing.T) {
	ctx := context.Background()
	s, raw := openWithRawConnection(t)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var batch []*portolan.Observation
	for i := range 300 {
		batch = append(batch, &portolan.Observation{Host: fmt.Sprintf("10.0.%d.%d", i/256, i%256), Port: 443, Protocol: portolan.TCP,
			Status: portolan.StatusOpen, Source: "native", ScannedAt: at, SeenAt: at})
	}
	refused := batch[199].Host
	if _, err := raw.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON host_ports WHEN NEW.host = '` + refused + `'
		BEGIN SELECT RAISE(FAIL, 'refused by the test'); END`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportObservations(ctx, batch); portolan.ErrorCode(err) != portolan.ECONFLICT {
		t.Fatalf("refused hostPort: %v (code %q), want ECONFLICT", err, portolan.ErrorCode(err))
	}
	for _, table := range []string{"host_ports", "hosts", "observation_keys", "observation_log", "record_changes"} {
		var n int
		if err := raw.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("the failed batch left %d rows in %s", n, table)
		}
	}
	if _, err := raw.Exec(`DROP TRIGGER refuse`); err != nil {
		t.Fatal(err)
	}
	res, err := s.ImportObservations(ctx, batch)
	if err != nil || res.Created != 300 || res.Duplicates != 0 {
		t.Fatalf("the batch again: %+v, %v; want 300 created, no duplicates", res, err)
	}
}

var _ portolan.Pruner = (*sqlite.DB)(nil)

func TestSubscriptions(t *testing.T) { storetest.RunSubscriptions(t, openTest) }
