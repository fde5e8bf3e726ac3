// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"portolan"
	"portolan/internal/sqlite"
)

func obs(t *testing.T, port int) *portolan.Observation {
	t.Helper()
	o := &portolan.Observation{Host: "192.0.2.50", Port: port, Status: portolan.StatusOpen, ScannedAt: time.Date(2026, 1, 1, 0, 0, port, 0, time.UTC), Source: "test"}
	if err := o.Normalize(); err != nil {
		t.Fatal(err)
	}
	return o
}

// importPort imports an open observation of port of obs's host into db.
func importPort(t *testing.T, db *sqlite.DB, port int) {
	t.Helper()
	if _, err := db.ImportObservations(context.Background(), []*portolan.Observation{obs(t, port)}); err != nil {
		t.Fatal(err)
	}
}

func portCount(t *testing.T, db *sqlite.DB) int {
	t.Helper()
	ports, _, err := db.FindHostPorts(context.Background(), portolan.HostPortFilter{Host: "192.0.2.50"})
	if err != nil {
		t.Fatal(err)
	}
	return len(ports)
}

// TestCachedPagesFollowImports checks that a cached page of ports is not
// served once the data changed: at once for an import through the same DB,
// within the version check interval for an import by another process (here
// another DB on the same file, which is what another process is to SQLite).
func TestCachedPagesFollowImports(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cache.db")
	server, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	importPort(t, server, 22)
	if n := portCount(t, server); n != 1 {
		t.Fatalf("%d ports", n)
	}
	importPort(t, server, 80)
	if n := portCount(t, server); n != 2 {
		t.Fatalf("after an import through the same DB: %d ports, want 2", n)
	}
	other, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	importPort(t, other, 443)
	deadline := time.Now().Add(2 * time.Second)
	for portCount(t, server) != 3 {
		if time.Now().After(deadline) {
			t.Fatal("an import by another process never showed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFreshReadPassesTheCache checks that a read asking for a fresh answer
// (a request's "Cache-Control: no-cache") sees another process's import
// the cache has not yet learnt of, and that its answer replaces the cached
// page.
func TestFreshReadPassesTheCache(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fresh.db")
	server, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	// The cache asks SQLite for other processes' commits only this often:
	// within the test, never again after the first read.
	server.SetVersionCheckInterval(time.Hour)
	importPort(t, server, 22)
	if n := portCount(t, server); n != 1 {
		t.Fatalf("%d ports, want 1", n)
	}
	other, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	importPort(t, other, 443)
	if n := portCount(t, server); n != 1 {
		t.Fatalf("a cached read right after another process's import: %d ports, want the cached 1", n)
	}
	ports, _, err := server.FindHostPorts(portolan.NewContextFreshRead(ctx), portolan.HostPortFilter{Host: "192.0.2.50"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 2 {
		t.Fatalf("a fresh read: %d ports, want 2", len(ports))
	}
	if n := portCount(t, server); n != 2 {
		t.Fatalf("a cached read after the fresh one: %d ports, want its 2", n)
	}
}
