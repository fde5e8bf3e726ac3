// SPDX-License-Identifier: Apache-2.0

package postgres_test

import (
	"context"
	"testing"
	"time"

	"portolan"
	"portolan/internal/storetest"
)

// waitGeneration polls db's generation until it answers.
func waitGeneration(t *testing.T, db portolan.ChangeTracker) uint64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g, err := db.Generation(context.Background())
		if err == nil {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("no generation within 5s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestGenerationFollowsOtherProcesses: a store sees another store's import
// on the same schema within a second (LISTEN/NOTIFY), and nothing of an
// import into another schema of the database.
func TestGenerationFollowsOtherProcesses(t *testing.T) {
	t.Parallel()
	base := testURL(t)
	u := newSchema(t, base)
	reader, writer := mustOpen(t, u, nil), mustOpen(t, u, nil)
	other := mustOpen(t, newSchema(t, base), nil)
	g0 := waitGeneration(t, reader)
	o := &portolan.Observation{Host: "192.0.2.7", Port: 443, Status: portolan.StatusOpen, ScannedAt: storetest.Base, Source: "nmap"}
	if err := o.Normalize(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.ImportObservations(context.Background(), []*portolan.Observation{o}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if g := waitGeneration(t, reader); g != g0 {
		t.Errorf("an import into another schema moved the generation %d -> %d", g0, g)
	}
	start := time.Now()
	if _, err := writer.ImportObservations(context.Background(), []*portolan.Observation{o}); err != nil {
		t.Fatal(err)
	}
	for waitGeneration(t, reader) == g0 {
		if time.Since(start) > time.Second {
			t.Fatalf("the generation did not move within a second of another store's import")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("another process's import seen after %s", time.Since(start))
	// A duplicate import changes nothing, but may notify: only a move is
	// promised, never silence.
}

// TestEveryWriterNotifiesWithoutTriggers: the schema has no trigger (Citus
// fires none on the coordinator for shard writes, migration 0008), and each
// writer still moves another store's generation within a second of its
// commit: an import, a rebuild, a prune. Were a writer to rely on a
// trigger, its case fails.
func TestEveryWriterNotifiesWithoutTriggers(t *testing.T) {
	t.Parallel()
	u := newSchema(t, testURL(t))
	reader, writer := mustOpen(t, u, nil), mustOpen(t, u, nil)
	if n := queryInt(t, u, `SELECT count(*) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
		WHERE c.relnamespace = current_schema()::regnamespace AND NOT g.tgisinternal`); n != 0 {
		t.Fatalf("the schema has %d triggers; change notification must not depend on them", n)
	}
	old := &portolan.Observation{Host: "192.0.2.8", Port: 22, Status: portolan.StatusOpen, ScannedAt: storetest.Base, Source: "nmap"}
	young := &portolan.Observation{Host: "192.0.2.8", Port: 80, Status: portolan.StatusOpen, ScannedAt: storetest.Base.Add(48 * time.Hour), Source: "nmap"}
	for _, o := range []*portolan.Observation{old, young} {
		if err := o.Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		write func() error
	}{
		{"import", func() error {
			_, err := writer.ImportObservations(ctx, []*portolan.Observation{old, young})
			return err
		}},
		{"rebuild", func() error { return writer.Rebuild(ctx, nil) }},
		{"prune", func() error {
			res, err := writer.Prune(ctx, portolan.PruneOptions{Before: storetest.Base.Add(time.Hour)})
			if err == nil && res.Removed != 1 {
				t.Errorf("prune removed %d observations, want 1", res.Removed)
			}
			return err
		}},
	} {
		g0 := waitGeneration(t, reader)
		if err := c.write(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// The write has returned, so it has committed: the bound runs
		// from after the commit.
		done := time.Now()
		for waitGeneration(t, reader) == g0 {
			if time.Since(done) > time.Second {
				t.Fatalf("%s: another store's generation did not move within a second of the commit", c.name)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("%s seen by another store after %s", c.name, time.Since(done))
	}
}
