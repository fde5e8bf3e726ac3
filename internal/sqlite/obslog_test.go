// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"portolan"
	"portolan/internal/obslog"
	"portolan/internal/sqlite"
	"portolan/internal/storetest"
)

// TestLogEntriesOfBothEncodings: the store writes its log compressed, and
// a store written before that holds uncompressed entries. Rebuild and Prune
// replay both: here the first import's entry is put back in the older
// encoding, and the rebuilt records are the same.
func TestLogEntriesOfBothEncodings(t *testing.T) {
	ctx := context.Background()
	path, db := openStoreFile(t)
	obs := storetest.RandomObservations(rand.New(rand.NewPCG(9, 9)), 600)
	var hosts []string
	for _, o := range obs {
		hosts = append(hosts, o.Host)
	}
	slices.Sort(hosts)
	hosts = slices.Compact(hosts)
	for _, batch := range [][]*portolan.Observation{obs[:300], obs[300:]} {
		if _, err := db.ImportObservations(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	want, err := storetest.Dump(ctx, db, hosts)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var seq int64
	var data []byte
	if err := raw.QueryRow(`SELECT seq, data FROM observation_log ORDER BY seq LIMIT 1`).Scan(&seq, &data); err != nil {
		t.Fatal(err)
	}
	if data[0] != obslog.Compressed {
		t.Fatalf("a new entry begins with %d, want %d (compressed)", data[0], obslog.Compressed)
	}
	entry, err := obslog.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	plain := obslog.Encode(entry)
	if len(data) >= len(plain) {
		t.Errorf("compressed entry of %d bytes, uncompressed %d", len(data), len(plain))
	}
	raw.Close()
	execRaw(t, path, fmt.Sprintf(`UPDATE observation_log SET data = x'%x' WHERE seq = %d`, plain, seq))

	db, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Rebuild(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got, err := storetest.Dump(ctx, db, hosts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("records rebuilt from entries of both encodings differ from those imported")
	}
	// Pruning half of the observations rewrites both entries, compressed,
	// and leaves the records of what is kept.
	times := make([]int64, len(obs))
	for i, o := range obs {
		times[i] = o.ScannedAt.Unix()
	}
	slices.Sort(times)
	before := time.Unix(times[len(times)/2], 0)
	var kept []*portolan.Observation
	for _, o := range obs {
		if !o.ScannedAt.Before(before) {
			kept = append(kept, o)
		}
	}
	pruned, err := db.Prune(ctx, portolan.PruneOptions{Before: before})
	if err != nil {
		t.Fatal(err)
	}
	if pruned.Removed != len(obs)-len(kept) || pruned.Kept != len(kept) {
		t.Errorf("prune: %+v, want %d removed and %d kept", pruned, len(obs)-len(kept), len(kept))
	}
	_, fresh := openStoreFile(t)
	defer fresh.Close()
	if _, err := fresh.ImportObservations(ctx, kept); err != nil {
		t.Fatal(err)
	}
	want, _ = storetest.Dump(ctx, fresh, hosts)
	got, _ = storetest.Dump(ctx, db, hosts)
	if !bytes.Equal(got, want) {
		t.Error("records after the prune differ from a store of what it kept")
	}
	raw, err = sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var plainEntries int
	if err := raw.QueryRow(`SELECT count(*) FROM observation_log WHERE substr(data, 1, 1) != x'02'`).Scan(&plainEntries); err != nil {
		t.Fatal(err)
	}
	if plainEntries != 0 {
		t.Errorf("%d uncompressed entries after the prune rewrote them", plainEntries)
	}
}
