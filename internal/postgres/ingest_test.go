// SPDX-License-Identifier: Apache-2.0

package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"portolan/internal/fingerprint"
	"portolan/internal/ingest"
	"portolan/internal/storetest"
)

// TestIngestSideBySide stores a file's batches four at a time, each in a
// transaction of its own, as `portolan ingest --store postgres://…` does
// two at a time. In input order, the batches share their hosts, ports,
// certificates and services, so the transactions wait on each other's
// rows. The records must be those of the same file stored one batch at a
// time, and nothing may be counted twice.
func TestIngestSideBySide(t *testing.T) {
	t.Parallel()
	base := testURL(t)
	ctx := context.Background()
	var file bytes.Buffer
	for _, o := range storetest.RandomObservations(rand.New(rand.NewPCG(14, 2)), 2000) {
		line, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		file.Write(append(line, '\n'))
	}
	ingestWith := func(concurrency int) (ingest.Summary, []byte) {
		db := mustOpen(t, newSchema(t, base), fingerprint.Default())
		in := &ingest.Ingester{Store: db, Concurrency: concurrency}
		sum, err := in.Ingest(ctx, "random.ndjson", bytes.NewReader(file.Bytes()), ingest.Options{BatchSize: 50})
		if err != nil {
			t.Fatalf("concurrency %d: %v", concurrency, err)
		}
		dump, err := storetest.Dump(ctx, db, storetest.AllHosts())
		if err != nil {
			t.Fatal(err)
		}
		return sum, dump
	}
	want, wantDump := ingestWith(1)
	got, gotDump := ingestWith(4)
	if got.Observations != 2000 || got.Created != want.Created || got.Duplicates != 0 || got.Rejected != 0 {
		t.Errorf("four at a time: %s; one at a time: %s", got, want)
	}
	if !bytes.Equal(wantDump, gotDump) {
		t.Errorf("records stored four batches at a time differ from those stored one at a time:\n%s", firstDifference(wantDump, gotDump))
	}
}
