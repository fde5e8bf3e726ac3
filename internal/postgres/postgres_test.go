// SPDX-License-Identifier: Apache-2.0

package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"portolan"
	"portolan/internal/gen"
	"portolan/internal/postgres"
	"portolan/internal/storetest"
	"portolan/internal/storetest/naive"
)

// openTest returns an OpenFunc giving each store a fresh schema.
func openTest(base string) storetest.OpenFunc {
	return func(t testing.TB, r portolan.Recognizer) portolan.Store {
		db, err := postgres.Open(context.Background(), newSchema(t, base), postgres.Options{Recognizer: r})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return db
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, openTest(testURL(t))) }

// TestRuleConformance proves that the SQL restating internal/merge's rules
// agrees with them.
func TestRuleConformance(t *testing.T) { storetest.RunRules(t, openTest(testURL(t))) }

// TestOpenMigrations starts four processes' worth of stores on one empty
// schema at once: the advisory lock lets one migrate and the others find
// the schema ready. A schema newer than the binary is refused.
func TestOpenMigrations(t *testing.T) {
	t.Parallel()
	u := newSchema(t, testURL(t))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := postgres.Open(context.Background(), u, postgres.Options{})
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent open %d: %v", i, err)
		}
	}
	files, _ := filepath.Glob("migrations/*.sql")
	if n := queryInt(t, u, `SELECT count(*) FROM schema_migrations`); n != len(files) || n == 0 {
		t.Fatalf("schema_migrations holds %d rows, want %d (one per migration file)", n, len(files))
	}
	mustOpen(t, u, nil).Close() // reopening an up-to-date schema changes nothing

	mustExec(t, u, `INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')`)
	_, err := postgres.Open(context.Background(), u, postgres.Options{})
	if portolan.ErrorCode(err) != portolan.EINVALID || !strings.Contains(portolan.ErrorMessage(err), "newer than this binary") {
		t.Fatalf("open of a newer schema: want EINVALID saying it is newer, got %v", err)
	}
}

func TestOpenMissingSchema(t *testing.T) {
	t.Parallel()
	u := withSearchPath(t, testURL(t), "t_does_not_exist")
	_, err := postgres.Open(context.Background(), u, postgres.Options{})
	if portolan.ErrorCode(err) != portolan.EINVALID {
		t.Fatalf("open with a search_path of no existing schema: want EINVALID, got %v", err)
	}
}

// TestOpenUnreachable needs no server: nothing listens on the port.
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = postgres.Open(context.Background(), "postgres://postgres@"+addr+"/x?sslmode=disable&connect_timeout=5", postgres.Options{})
	if portolan.ErrorCode(err) != portolan.EUNAVAILABLE || portolan.ErrorMessage(err) != "The database is unavailable; try again." {
		t.Fatalf("open with no server: want EUNAVAILABLE with the retry message, got %v", err)
	}
}

func TestOpenBadURL(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(context.Background(), "postgres://[::1", postgres.Options{})
	if portolan.ErrorCode(err) != portolan.EINVALID {
		t.Fatalf("open of a malformed URL: want EINVALID, got %v", err)
	}
}

// genObservations returns the normalised observations of a small world of
// internal/gen and the host ids (addresses and names) they mention.
func genObservations(t testing.TB, cfg gen.Config) ([]*portolan.Observation, []string) {
	t.Helper()
	g := gen.New(cfg)
	var obs []*portolan.Observation
	seen := map[string]bool{}
	var hosts []string
	for o := g.Next(); o != nil; o = g.Next() {
		if err := o.Normalize(); err != nil {
			t.Fatalf("generated observation: %v", err)
		}
		obs = append(obs, o)
		for _, h := range append([]string{o.Host}, o.Hostnames...) {
			if !seen[h] {
				seen[h] = true
				hosts = append(hosts, h)
			}
		}
	}
	return obs, hosts
}

// TestConcurrentIngesters runs four stores, as four processes would, over
// shuffled halves of the same observations (every observation offered twice,
// concurrently) and compares the records with those of ingesting the halves
// one after the other and with the reference. Across the four, every record
// is created once and every observation is new once.
func TestConcurrentIngesters(t *testing.T) {
	base := testURL(t)
	worlds := map[string]func(t *testing.T) ([]*portolan.Observation, []string, int){
		// A small world: the importers collide on every record.
		"contended": func(t *testing.T) ([]*portolan.Observation, []string, int) {
			return storetest.RandomObservations(rand.New(rand.NewPCG(21, 21)), 1500), storetest.AllHosts(), 40
		},
		// The benchmark's mix, scaled down.
		"generated": func(t *testing.T) ([]*portolan.Observation, []string, int) {
			obs, hosts := genObservations(t, gen.Config{Seed: 5, Hosts: 250, Rescans: 4})
			return obs, hosts, 300
		},
	}
	for name, world := range worlds {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			obs, hosts, maxBatch := world(t)
			halves := [][]*portolan.Observation{obs[:len(obs)/2], obs[len(obs)/2:]}

			sequential := mustOpen(t, newSchema(t, base), nil)
			var seqRes portolan.ImportResult
			for _, half := range halves {
				for _, b := range storetest.Shuffled(rand.New(rand.NewPCG(1, 2)), half, 0, maxBatch) {
					res, err := sequential.ImportObservations(ctx, b)
					if err != nil {
						t.Fatalf("sequential import: %v", err)
					}
					seqRes.Add(res)
				}
			}

			u := newSchema(t, base)
			var wg sync.WaitGroup
			results := make([]portolan.ImportResult, 4)
			errs := make([]error, 4)
			for i := range 4 {
				db := mustOpen(t, u, nil)
				batches := storetest.Shuffled(rand.New(rand.NewPCG(uint64(i), 7)), halves[i%2], 0, maxBatch)
				wg.Go(func() {
					for _, b := range batches {
						res, err := db.ImportObservations(ctx, b)
						if err != nil {
							errs[i] = err
							return
						}
						results[i].Add(res)
					}
				})
			}
			wg.Wait()
			var total portolan.ImportResult
			for i := range 4 {
				if errs[i] != nil {
					t.Fatalf("ingester %d: %v", i, errs[i])
				}
				total.Add(results[i])
			}
			concurrent := mustOpen(t, u, nil)

			want, err := storetest.Dump(ctx, sequential, hosts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := storetest.Dump(ctx, concurrent, hosts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(want, got) {
				t.Fatalf("concurrent ingest differs from sequential ingest:\n%s", firstDifference(want, got))
			}
			ref := storetest.NewMemoryStore(nil)
			if _, err := ref.ImportObservations(ctx, obs); err != nil {
				t.Fatal(err)
			}
			if refDump, _ := storetest.Dump(ctx, ref, hosts); !bytes.Equal(refDump, got) {
				t.Fatalf("concurrent ingest differs from the reference:\n%s", firstDifference(refDump, got))
			}
			if total.Observations != 2*len(obs) || total.Duplicates != len(obs) {
				t.Errorf("four ingesters counted %d observations, %d duplicates; want %d and %d", total.Observations, total.Duplicates, 2*len(obs), len(obs))
			}
			if total.Created != seqRes.Created {
				t.Errorf("four ingesters created %d records, sequential ingest %d", total.Created, seqRes.Created)
			}
			if n := queryInt(t, u, `SELECT count(*) FROM observation_log`); n != len(obs) {
				t.Errorf("the log holds %d observations, want %d", n, len(obs))
			}
		})
	}
}

// firstDifference shows the first line where two dumps differ.
func firstDifference(want, got []byte) string {
	wl, gl := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
	for i := 0; i < len(wl) && i < len(gl); i++ {
		if !bytes.Equal(wl[i], gl[i]) {
			return fmt.Sprintf("line %d:\nwant: %s\n got: %s", i+1, wl[i], gl[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(wl), len(gl))
}

// TestRebuildWithRules checks that the log, split by host, replays into
// the records the naive reference computes with another recognizer, and
// back.
func TestRebuildWithRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := newSchema(t, testURL(t))
	obs, hosts := genObservations(t, gen.Config{Seed: 9, Hosts: 60, Rescans: 3})
	db := mustOpen(t, u, nil)
	if _, err := db.ImportObservations(ctx, obs); err != nil {
		t.Fatal(err)
	}
	before, err := storetest.Dump(ctx, db, hosts)
	if err != nil {
		t.Fatal(err)
	}
	// A rule that names a component for every banner changes the records.
	tagged := mustOpen(t, u, bannerTagger{})
	if err := tagged.Rebuild(ctx, nil); err != nil {
		t.Fatal(err)
	}
	ref := naive.New(bannerTagger{})
	ref.ImportObservations(ctx, obs)
	want, _ := storetest.Dump(ctx, ref, hosts)
	got, err := storetest.Dump(ctx, tagged, hosts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Fatalf("rebuild with new rules differs from the reference:\n%s", firstDifference(want, got))
	}
	if bytes.Equal(before, got) {
		t.Fatal("the new rules changed nothing: the test proves nothing")
	}
	if err := db.Rebuild(ctx, nil); err != nil {
		t.Fatal(err)
	}
	again, _ := storetest.Dump(ctx, db, hosts)
	if !bytes.Equal(before, again) {
		t.Fatalf("rebuild with the first rules differs from the first import:\n%s", firstDifference(before, again))
	}
}

// bannerTagger recognises a component named after the scan protocol of
// every observation with a banner.
type bannerTagger struct{}

func (bannerTagger) Recognize(o *portolan.Observation) []portolan.Component {
	if o.Banner == "" {
		return o.Components
	}
	return append(append([]portolan.Component(nil), o.Components...), portolan.Component{Name: "probe-" + o.ScanProtocol, Category: "Server"})
}

// TestLargeBatch imports a whole small world in one batch, so that one
// delta holds every kind of collision at once (the conformance suite's
// batches are small). It caught two staged rows for one host_certificates
// key: the same certificate on tcp and udp of one port number. The records
// are checked against the naive reference.
func TestLargeBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	obs := storetest.RandomObservations(rand.New(rand.NewPCG(31, 31)), 3000)
	db := mustOpen(t, newSchema(t, testURL(t)), nil)
	res, err := db.ImportObservations(ctx, obs)
	if err != nil {
		t.Fatal(err)
	}
	ref := naive.New(nil)
	refRes, _ := ref.ImportObservations(ctx, obs)
	if res != refRes {
		t.Errorf("import counted %+v, the reference %+v", res, refRes)
	}
	want, _ := storetest.Dump(ctx, ref, storetest.AllHosts())
	got, err := storetest.Dump(ctx, db, storetest.AllHosts())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Fatalf("records differ from the reference:\n%s", firstDifference(want, got))
	}
}

func TestChanges(t *testing.T) { storetest.RunChanges(t, openTest(testURL(t))) }

var _ portolan.Pruner = (*postgres.DB)(nil)

func TestSubscriptions(t *testing.T) { storetest.RunSubscriptions(t, openTest(testURL(t))) }
