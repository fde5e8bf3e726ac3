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
