// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"portolan"
	"portolan/internal/cli"
	"portolan/internal/sqlite"
)

// TestPruneCommand ingests the nmap captures of 27 Nov 2026 (11:53, 11:54
// and the rescan of 12:10 in which 18080 was closed) and prunes what was
// scanned before 12:00: 18080, seen open only before, is gone, and the
// ports the rescan saw open are first seen at 12:10. A dry run changes
// nothing; --before is required.
func TestPruneCommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	files := []string{samples + "nmap_sV_sslcert_18080_18443.xml", samples + "nmap_sV_scripts_5ports.xml", samples + "nmap_sV_scripts_5ports_rescan_18080_closed.xml"}
	if _, _, err := run(t, nil, append([]string{"ingest", "--no-progress", "--data", data}, files...)...); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, nil, "prune", "--data", data, "--before", "2026-11-27T12:00:00Z", "--dry-run")
	if err != nil || !strings.Contains(out, "prune (dry run): ") || !strings.Contains(out, "would be removed") {
		t.Fatalf("dry run: %v %q", err, out)
	}
	if port18080(t, data) != nil {
		t.Fatal("the dry run changed the store")
	}
	out, _, err = run(t, nil, "prune", "--data", data, "--before", "2026-11-27T12:00:00Z")
	if err != nil || !strings.HasPrefix(out, "pruned: ") || !strings.Contains(out, "scanned before 2026-11-27T12:00:00Z removed") {
		t.Fatalf("prune: %v %q", err, out)
	}
	if err := port18080(t, data); portolan.ErrorCode(err) != portolan.ENOTFOUND {
		t.Errorf("18080, seen open only before the cut: %v, want not found", err)
	}
	db, err := sqlite.OpenDir(context.Background(), data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	page, _, err := db.FindHostPorts(context.Background(), portolan.HostPortFilter{Host: "127.0.0.1"})
	if err != nil || len(page) == 0 {
		t.Fatalf("ports after the prune: %v, %d", err, len(page))
	}
	for _, hp := range page {
		if got := hp.FirstSeenDateTime.UTC().Format("15:04:05"); got < "12:00:00" {
			t.Errorf("port %d first seen %s, before the cut", hp.Port, got)
		}
	}
	if _, _, err := run(t, nil, "prune", "--data", data); cli.ExitCode(err) != 2 {
		t.Errorf("without --before: %v", err)
	}
}

// port18080 looks up 127.0.0.1:18080 in the store of data.
func port18080(t *testing.T, data string) error {
	t.Helper()
	db, err := sqlite.OpenDir(context.Background(), data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.FindHostPortByID(context.Background(), portolan.HostPortID("127.0.0.1", portolan.TCP, 18080))
	return err
}
