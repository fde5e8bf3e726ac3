// SPDX-License-Identifier: Apache-2.0

package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/storetest"
)

// TestDeadlockIsRetried makes an import lose a real deadlock and checks
// that it is retried and succeeds. Sorted merges make deadlocks between
// importers rare, so a test transaction builds the cycle by hand: it locks
// the record the import is about to update, waits until the import blocks
// on it, then inserts the identity the import has just inserted. The
// import, whose deadlock check fires first, is the victim.
func TestDeadlockIsRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var b [4]byte
	rand.Read(b[:])
	app := "deadlock_" + hex.EncodeToString(b[:])
	u, err := url.Parse(newSchema(t, testURL(t)))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	db := mustOpen(t, u.String(), nil)

	mk := func(sec int) *portolan.Observation {
		o := &portolan.Observation{Host: "192.0.2.44", Port: 22, Status: portolan.StatusOpen,
			ScannedAt: storetest.Base.Add(time.Duration(sec) * time.Second), Source: "nmap"}
		if err := o.Normalize(); err != nil {
			t.Fatal(err)
		}
		return o
	}
	if _, err := db.ImportObservations(ctx, []*portolan.Observation{mk(0)}); err != nil {
		t.Fatal(err)
	}
	second := mk(60)
	id := second.Identity()

	blocker, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Close(ctx)
	tx, err := blocker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// The blocker must not be the one whose deadlock check fires.
	if _, err := tx.Exec(ctx, `SET LOCAL deadlock_timeout = '30s'`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM host_ports WHERE host = '192.0.2.44' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		res portolan.ImportResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := db.ImportObservations(ctx, []*portolan.Observation{second})
		done <- outcome{res, err}
	}()
	waitUntil(t, 10*time.Second, func() bool {
		return queryInt(t, u.String(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = '`+app+`' AND wait_event_type = 'Lock'`) > 0
	})
	// This waits for the import's uncommitted identity: a cycle, which the
	// import's deadlock check (1 s) breaks by aborting the import.
	if _, err := tx.Exec(ctx, `INSERT INTO observation_log (host, identity, data) VALUES ('192.0.2.44', $1, '')`, id[:]); err != nil {
		t.Fatalf("the blocker lost the deadlock instead of the import: %v", err)
	}
	tx.Rollback(ctx)
	out := <-done
	if out.err != nil {
		t.Fatalf("import that lost a deadlock: %v", out.err)
	}
	if out.res.Duplicates != 0 || out.res.Updated != 1 {
		t.Fatalf("retried import: %+v, want one record updated", out.res)
	}
	hp, err := db.FindHostPortByID(ctx, portolan.HostPortID("192.0.2.44", portolan.TCP, 22))
	if err != nil {
		t.Fatal(err)
	}
	if hp.TimesObserved != 2 || !hp.LastSeenDateTime.Equal(second.SeenAt) {
		t.Fatalf("record after the retried import: times %d, last seen %v", hp.TimesObserved, hp.LastSeenDateTime)
	}
}

// waitUntil polls cond until it holds or the timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
