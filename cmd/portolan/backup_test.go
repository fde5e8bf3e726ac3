// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portolan/internal/cli"
	"portolan/internal/sqlite"
)

// TestBackupWhileIngesting copies the store with the real binary while a
// real ingest writes to it, restores the copy as the README says, and
// ingests the file again into the restored store: the copy was a consistent
// snapshot (it opens, and completing it gives exactly the source's records).
func TestBackupWhileIngesting(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	bin := binary(t)
	dir := t.TempDir()
	input := filepath.Join(dir, "scan.ndjson")
	hosts := writeGenerated(t, input, 6000)
	data := filepath.Join(dir, "data")
	ingest := exec.Command(bin, "ingest", "--no-progress", "--data", data, input)
	var ingestOut bytes.Buffer
	ingest.Stdout, ingest.Stderr = &ingestOut, &ingestOut
	if err := ingest.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && committedBatches(filepath.Join(data, sqlite.FileName)) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	backup := filepath.Join(dir, "copy.db")
	out, err := exec.Command(bin, "backup", "--data", data, "--to", backup).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "backup: "+backup+" written") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if err := ingest.Wait(); err != nil {
		t.Fatalf("ingest: %v\n%s", err, ingestOut.String())
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("copy: %v %v", err, fi.Mode())
	}
	restored := filepath.Join(dir, "restored")
	if err := os.MkdirAll(restored, 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, sqlite.FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "ingest", "--no-progress", "--data", restored, input).CombinedOutput(); err != nil {
		t.Fatalf("ingest into the restored copy: %v\n%s", err, out)
	}
	if !bytes.Equal(dumpDir(t, data, hosts), dumpDir(t, restored, hosts)) {
		t.Fatal("the restored copy, completed by ingesting the file again, differs from the source")
	}

	// The copy is never overwritten; a missing store and PostgreSQL are
	// clear errors; --to is required.
	if _, _, err := run(t, nil, "backup", "--data", data, "--to", backup); err == nil || !strings.Contains(err.Error(), "never overwrites") {
		t.Errorf("second backup to the same file: %v", err)
	}
	if _, _, err := run(t, nil, "backup", "--data", filepath.Join(dir, "none"), "--to", filepath.Join(dir, "x.db")); err == nil || !strings.Contains(err.Error(), "no store to copy") {
		t.Errorf("missing store: %v", err)
	}
	if _, _, err := run(t, nil, "backup", "--store", "postgres://x@127.0.0.1/db", "--to", filepath.Join(dir, "y.db")); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("postgres: %v", err)
	}
	if _, _, err := run(t, nil, "backup", "--data", data); cli.ExitCode(err) != 2 {
		t.Errorf("without --to: %v", err)
	}
}
