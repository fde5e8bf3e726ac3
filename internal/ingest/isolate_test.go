// SPDX-License-Identifier: Apache-2.0

package ingest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/ingest"
	"portolan/internal/mock"
)

// nativeLines renders n open observations of 192.0.2.1, ports 1..n, as
// native NDJSON, with line bad (1-based) given a component from edit.
func nativeLines(t *testing.T, n, bad int, edit portolan.Component) string {
	t.Helper()
	var b strings.Builder
	for i := 1; i <= n; i++ {
		o := &portolan.Observation{Host: "192.0.2.1", Port: i, Status: portolan.StatusOpen, Source: "native",
			ScannedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
		if i == bad {
			o.Components = []portolan.Component{edit}
		}
		b.WriteString(nativeLine(t, o))
		b.WriteByte('\n')
	}
	return b.String()
}

// TestAmbiguousComponentIsOneRejection: a component whose name would make
// its id ambiguous ("$$") is rejected with its line, and every other
// observation of the batch is stored in the real store.
func TestAmbiguousComponentIsOneRejection(t *testing.T) {
	for _, c := range []portolan.Component{
		{Name: "nginx$$1.2", Version: "3"},
		{Name: "nginx", Version: "$1"},
		{Name: "nginx$", Version: "1"},
		{Name: "nginx", Version: "1", Category: "web$$server"},
	} {
		db := openStore(t)
		var rejected []string
		in := &ingest.Ingester{Store: db, OnReject: func(e *portolan.InputError) { rejected = append(rejected, e.Error()) }}
		sum, err := in.Ingest(context.Background(), "in.ndjson", strings.NewReader(nativeLines(t, 5, 3, c)), ingest.Options{})
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if sum.Observations != 4 || sum.Rejected != 1 || len(rejected) != 1 || !strings.HasPrefix(rejected[0], "in.ndjson:3:") || !strings.Contains(rejected[0], "ambiguous") {
			t.Errorf("%+v: %+v, rejected %q", c, sum, rejected)
		}
		for _, port := range []int{1, 2, 4, 5} {
			if _, err := db.FindHostPortByID(context.Background(), portolan.HostPortID("192.0.2.1", portolan.TCP, port)); err != nil {
				t.Errorf("%+v: port %d lost: %v", c, port, err)
			}
		}
	}
}

// TestComponentCheckIDTellsApartWhatJoinsAlike: the two components whose
// joined ids collide are refused; ordinary ones, a "$" inside included,
// pass.
func TestComponentCheckIDTellsApartWhatJoinsAlike(t *testing.T) {
	a, b := portolan.Component{Name: "a$", Version: "b"}, portolan.Component{Name: "a", Version: "$b"}
	if portolan.HostComponentID("h", a) != portolan.HostComponentID("h", b) {
		t.Fatal("the example no longer collides; the check guards nothing")
	}
	if a.CheckID() == nil || b.CheckID() == nil {
		t.Errorf("colliding components accepted: %v, %v", a.CheckID(), b.CheckID())
	}
	for _, ok := range []portolan.Component{{Name: "nginx", Version: "1.24.0", Category: "Web servers"}, {Name: "Pay$Day", Version: "1$2"}, {Name: "x"}} {
		if err := ok.CheckID(); err != nil {
			t.Errorf("%+v refused: %v", ok, err)
		}
	}
}

// TestStoreRefusalCostsOnlyItsRecord: when the store refuses a record of a
// batch (ECONFLICT), ingest isolates it by halving and stores every other
// record; the refusal names the record's line. Any other store error still
// stops the ingestion. The store is a mock because the real stores no
// longer refuse any record the readers accept.
func TestStoreRefusalCostsOnlyItsRecord(t *testing.T) {
	const n, badPort = 37, 23
	var stored []int
	store := &mock.ObservationService{ImportObservationsFn: func(_ context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
		for _, o := range batch {
			if o.Port == badPort {
				return portolan.ImportResult{}, portolan.Errorf(portolan.ECONFLICT, "The database refused a value (SQLITE_CONSTRAINT_UNIQUE).")
			}
		}
		for _, o := range batch {
			stored = append(stored, o.Port)
		}
		return portolan.ImportResult{Observations: len(batch), Created: len(batch)}, nil
	}}
	// In host order the observations go through sorted runs on disk
	// (three of 16), which keep where each was read.
	var in *ingest.Ingester
	for _, opts := range []ingest.Options{{BatchSize: 16}, {BatchSize: 16, Sort: true, SortDir: t.TempDir()}} {
		stored = nil
		var rejected []string
		in = &ingest.Ingester{Store: store, OnReject: func(e *portolan.InputError) { rejected = append(rejected, e.Error()) }}
		sum, err := in.Ingest(context.Background(), "in.ndjson", strings.NewReader(nativeLines(t, n, 0, portolan.Component{})), opts)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(stored)
		if len(stored) != n-1 || slices.Contains(stored, badPort) || sum.Rejected != 1 || sum.Created != n-1 {
			t.Errorf("sort %v: stored %v, summary %+v", opts.Sort, stored, sum)
		}
		if len(rejected) != 1 || !strings.HasPrefix(rejected[0], fmt.Sprintf("in.ndjson:%d:", badPort)) || !strings.Contains(rejected[0], "refused by the store") {
			t.Errorf("sort %v: rejections %q", opts.Sort, rejected)
		}
	}

	store.ImportObservationsFn = func(context.Context, []*portolan.Observation) (portolan.ImportResult, error) {
		return portolan.ImportResult{}, portolan.Errorf(portolan.EINTERNAL, "The disk is full.")
	}
	if _, err := in.Ingest(context.Background(), "in.ndjson", strings.NewReader(nativeLines(t, 3, 0, portolan.Component{})), ingest.Options{}); err == nil {
		t.Error("a failing store did not stop the ingestion")
	}
}
