// SPDX-License-Identifier: Apache-2.0

package ingest_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/fingerprint"
	"portolan/internal/ingest"
	"portolan/internal/sqlite"
)

// TestRebuildAppliesCanonicalNames is the upgrade path of the README: a
// store written before the alias table (here: with the scanner's names
// only) holds nmap's "SimpleHTTPServer" and "OpenSSL s_server -www
// httpd"; reopened with the current rules, `portolan rebuild` replays the
// observation log through them and the store holds the canonical names.
func TestRebuildAppliesCanonicalNames(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	names := func(db *sqlite.DB) []string {
		t.Helper()
		cs, _, err := db.FindHostComponents(ctx, "127.0.0.1", portolan.ListFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.Name+" "+c.Version)
		}
		slices.Sort(out)
		return out
	}

	old, err := sqlite.Open(ctx, path, sqlite.Options{Recognizer: portolan.ScannerComponents{}})
	if err != nil {
		t.Fatal(err)
	}
	ingestFile(t, &ingest.Ingester{Store: old}, filepath.Join("testdata", "nmap_sV_scripts_5ports.xml"))
	before := names(old)
	if !slices.Contains(before, "SimpleHTTPServer 0.6") || !slices.Contains(before, "OpenSSL s_server -www httpd ") {
		t.Fatalf("the old store should hold nmap's names: %v", before)
	}
	old.Close()

	db, err := sqlite.Open(ctx, path, sqlite.Options{Recognizer: fingerprint.Default()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Rebuild(ctx, nil); err != nil {
		t.Fatal(err)
	}
	after := names(db)
	if slices.Contains(after, "SimpleHTTPServer 0.6") || slices.Contains(after, "OpenSSL s_server -www httpd ") ||
		slices.Contains(after, "Linux ") || !slices.Contains(after, "SimpleHTTP 0.6") || !slices.Contains(after, "OpenSSL ") {
		t.Errorf("after rebuild: %v", after)
	}
	// A fresh store ingesting the same file agrees with the rebuilt one.
	fresh := openStore(t)
	ingestFile(t, &ingest.Ingester{Store: fresh}, filepath.Join("testdata", "nmap_sV_scripts_5ports.xml"))
	if diff := cmp.Diff(names(fresh), after); diff != "" {
		t.Errorf("rebuilt store differs from a fresh one (-fresh +rebuilt):\n%s", diff)
	}
}
