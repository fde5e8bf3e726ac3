// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"portolan"
	"portolan/internal/sqlite"
	"portolan/internal/storetest"
)

// TestBackupWhileImporting: a backup taken while another goroutine imports
// is a consistent store (it opens, and every record it holds is the one
// the source had after the same imports), private to its owner, and a
// second backup to the same file is refused.
func TestBackupWhileImporting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "src.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	batch := func(i int) []*portolan.Observation {
		var out []*portolan.Observation
		for p := 1; p <= 200; p++ {
			out = append(out, &portolan.Observation{Host: "192.0.2.1", Port: p, Protocol: portolan.TCP, Status: portolan.StatusOpen,
				Source: "native", ScannedAt: at.Add(time.Duration(i) * time.Minute), SeenAt: at.Add(time.Duration(i) * time.Minute)})
		}
		return out
	}
	if _, err := db.ImportObservations(ctx, batch(0)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= 20; i++ {
			if _, err := db.ImportObservations(ctx, batch(i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	backup := filepath.Join(dir, "backup.db")
	if err := db.BackupTo(ctx, backup); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, mode %v", err, fi.Mode())
	}
	if err := db.BackupTo(ctx, backup); err == nil {
		t.Error("a second backup overwrote the first")
	}
	copyDB, err := sqlite.Open(ctx, backup, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	hp, err := copyDB.FindHostPortByID(ctx, portolan.HostPortID("192.0.2.1", portolan.TCP, 200))
	if err != nil {
		t.Fatal(err)
	}
	// The snapshot holds some prefix of the imports, all 200 ports of each.
	n := hp.TimesObserved
	for p := 1; p <= 200; p++ {
		hp, err := copyDB.FindHostPortByID(ctx, portolan.HostPortID("192.0.2.1", portolan.TCP, p))
		if err != nil || hp.TimesObserved != n {
			t.Fatalf("port %d in the backup: %v, %d times observed, want %d like port 200 (a torn snapshot)", p, err, hp.TimesObserved, n)
		}
	}
	// Ingesting the remaining imports into the copy gives the source's records.
	for i := n; i <= 20; i++ {
		if _, err := copyDB.ImportObservations(ctx, batch(i)); err != nil {
			t.Fatal(err)
		}
	}
	want, err := storetest.Dump(ctx, db, []string{"192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := storetest.Dump(ctx, copyDB, []string{"192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(got) {
		t.Error("the backup, brought up to date, differs from the source")
	}
}
