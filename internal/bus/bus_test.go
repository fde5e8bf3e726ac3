// SPDX-License-Identifier: Apache-2.0

package bus_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"portolan"
	"portolan/internal/bus"
	"portolan/internal/bus/bustest"
	"portolan/internal/storetest"
)

const testPartitions = 8

func openBus(t *testing.T, url, stream, prefix string, mod func(*bus.Config)) *bus.Bus {
	t.Helper()
	cfg := bus.Config{URL: url, Stream: stream, SubjectPrefix: prefix, Partitions: testPartitions, AckWait: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	b, err := bus.Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// exclusiveStore is a store that fails the test when two transactions hold
// observations of one partition at once: the bus promises that one
// partition is merged by one worker at a time.
type exclusiveStore struct {
	t *testing.T
	*storetest.MemoryStore
	mu     sync.Mutex
	active map[int]bool
	slow   time.Duration
}

func (s *exclusiveStore) ImportObservations(ctx context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	parts := map[int]bool{}
	for _, o := range batch {
		parts[bus.Partition(o.Host, testPartitions)] = true
	}
	s.mu.Lock()
	for p := range parts {
		if s.active[p] {
			s.t.Errorf("partition %d merged by two transactions at once", p)
		}
		s.active[p] = true
	}
	s.mu.Unlock()
	time.Sleep(s.slow) // widen the window in which a second worker could interfere
	res, err := s.MemoryStore.ImportObservations(ctx, batch)
	s.mu.Lock()
	for p := range parts {
		delete(s.active, p)
	}
	s.mu.Unlock()
	return res, err
}

func dump(t *testing.T, s portolan.Store) []byte {
	t.Helper()
	b, err := storetest.Dump(context.Background(), s, storetest.AllHosts())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitEqual waits until got dumps as want does. A dump of got while the
// workers still merge is no snapshot: it may find an item gone between
// listing and reading it (a versionless component replaced by a versioned
// one), or a host's ports committed between the read of the host and the
// read of its ports. Either is not settled yet; only the last dump's
// error, at the deadline, is a failure.
func waitEqual(t *testing.T, got, want portolan.Store, timeout time.Duration) {
	t.Helper()
	w := dump(t, want)
	deadline := time.Now().Add(timeout)
	for {
		g, err := storetest.Dump(context.Background(), got, storetest.AllHosts())
		if err == nil && bytes.Equal(g, w) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the workers' records differ from one import's after %s (last dump: %v)", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestThreeWorkersMergeLikeOneImport publishes shuffled batches with
// repeats, lets three workers (each with its own connection) merge them,
// and compares the records with one direct import; the NATS server is
// restarted in the middle of publishing.
func TestThreeWorkersMergeLikeOneImport(t *testing.T) {
	srv := bustest.Start(t)
	stream, prefix := bustest.UniqueNames()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rng := rand.New(rand.NewPCG(16, 1))
	obs := storetest.RandomObservations(rng, 4000)

	want := storetest.NewMemoryStore(nil)
	if _, err := want.ImportObservations(ctx, obs); err != nil {
		t.Fatal(err)
	}
	got := &exclusiveStore{t: t, MemoryStore: storetest.NewMemoryStore(nil), active: map[int]bool{}, slow: 2 * time.Millisecond}

	pub := openBus(t, srv.URL, stream, prefix, nil).Publisher()
	var wg sync.WaitGroup
	workers := make([]*bus.Worker, 3)
	for i := range workers {
		w, err := openBus(t, srv.URL, stream, prefix, nil).Worker(ctx, got)
		if err != nil {
			t.Fatal(err)
		}
		w.MaxObservations = 500
		workers[i] = w
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(ctx) }()
	}
	batches := storetest.Shuffled(rng, obs, 0.2, 700)
	for i, b := range batches {
		if i == len(batches)/2 {
			srv.Restart()
		}
		res, err := pub.ImportObservations(ctx, b)
		if err != nil {
			t.Fatalf("publish batch %d: %v", i, err)
		}
		if res.Observations != len(b) {
			t.Fatalf("published %d of %d", res.Observations, len(b))
		}
	}
	waitEqual(t, got, want, 60*time.Second)
	cancel()
	wg.Wait()
	busy := 0
	for _, w := range workers {
		if w.Stats.Transactions.Load() > 0 {
			busy++
		}
	}
	if busy < 2 {
		t.Errorf("only %d of 3 workers merged anything", busy)
	}
}

// TestFullStreamHoldsPublishersBack: a stream at its byte limit refuses
// publishes, the publisher waits rather than buffering, and goes on once a
// worker drains the stream.
func TestFullStreamHoldsPublishersBack(t *testing.T) {
	srv := bustest.Start(t)
	stream, prefix := bustest.UniqueNames()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := openBus(t, srv.URL, stream, prefix, func(c *bus.Config) { c.MaxBytes = 256 << 10 })
	obs := storetest.RandomObservations(rand.New(rand.NewPCG(1, 2)), 4000)
	pub := b.Publisher()
	pub.RetryFor = time.Second
	_, err := pub.ImportObservations(ctx, obs)
	if portolan.ErrorCode(err) != portolan.EUNAVAILABLE {
		t.Fatalf("publishing past the limit with no worker: %v, want EUNAVAILABLE", err)
	}
	store := storetest.NewMemoryStore(nil)
	w, err := b.Worker(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	go w.Run(ctx)
	retried := 0
	pub.RetryFor = time.Minute
	pub.OnRetry = func(error, time.Duration) { retried++ }
	if _, err := pub.ImportObservations(ctx, obs); err != nil {
		t.Fatalf("publishing while a worker drains: %v", err)
	}
	if retried == 0 {
		t.Errorf("the publisher never waited for the full stream")
	}
	want := storetest.NewMemoryStore(nil)
	want.ImportObservations(ctx, obs)
	waitEqual(t, store, want, 30*time.Second)
}

// TestStreamShapeIsChecked: a second process with another partition count
// takes the stream's, so hosts keep their partitions.
func TestStreamShapeIsChecked(t *testing.T) {
	srv := bustest.Start(t)
	stream, prefix := bustest.UniqueNames()
	openBus(t, srv.URL, stream, prefix, nil)
	b := openBus(t, srv.URL, stream, prefix, func(c *bus.Config) { c.Partitions = 3 })
	if b.Config().Partitions != testPartitions {
		t.Errorf("partitions %d, want the stream's %d", b.Config().Partitions, testPartitions)
	}
	if _, err := bus.Open(context.Background(), bus.Config{URL: srv.URL, Stream: stream, SubjectPrefix: prefix + ".other"}, nil); err == nil {
		t.Errorf("a stream with other subjects was accepted")
	}
}

// TestAgainstTheMachinesNATS runs the three-worker case against the NATS
// server of the machine (PORTOLAN_TEST_NATS=nats://127.0.0.1:4222), whose
// version may differ from the embedded one's (2.9 keeps no stream
// metadata, for one).
func TestAgainstTheMachinesNATS(t *testing.T) {
	url := os.Getenv("PORTOLAN_TEST_NATS")
	if url == "" {
		t.Skip("set PORTOLAN_TEST_NATS=nats://127.0.0.1:4222 to run the bus against that server")
	}
	stream, prefix := bustest.UniqueNames()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := openBus(t, url, stream, prefix, nil)
	t.Cleanup(func() { b.DeleteStream(context.Background()) })
	obs := storetest.RandomObservations(rand.New(rand.NewPCG(4, 2)), 2000)
	if _, err := b.Publisher().ImportObservations(ctx, obs); err != nil {
		t.Fatal(err)
	}
	if again := openBus(t, url, stream, prefix, func(c *bus.Config) { c.Partitions = 5 }); again.Config().Partitions != testPartitions {
		t.Errorf("partitions read back from the stream: %d, want %d", again.Config().Partitions, testPartitions)
	}
	got := storetest.NewMemoryStore(nil)
	for range 3 {
		w, err := openBus(t, url, stream, prefix, nil).Worker(ctx, got)
		if err != nil {
			t.Fatal(err)
		}
		go w.Run(ctx)
	}
	want := storetest.NewMemoryStore(nil)
	want.ImportObservations(ctx, obs)
	waitEqual(t, got, want, 60*time.Second)
}

// refusingStore refuses, as a database would a value it cannot hold, every
// batch that holds port 666.
type refusingStore struct{ *storetest.MemoryStore }

func (s refusingStore) ImportObservations(ctx context.Context, batch []*portolan.Observation) (portolan.ImportResult, error) {
	for _, o := range batch {
		if o.Port == 666 {
			return portolan.ImportResult{}, portolan.Errorf(portolan.ECONFLICT, "refused")
		}
	}
	return s.MemoryStore.ImportObservations(ctx, batch)
}

// TestRefusedRecordCostsOnlyItself: the worker isolates the record the
// store refuses and merges the rest of its message and transaction.
func TestRefusedRecordCostsOnlyItself(t *testing.T) {
	srv := bustest.Start(t)
	stream, prefix := bustest.UniqueNames()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := openBus(t, srv.URL, stream, prefix, nil)
	obs := storetest.RandomObservations(rand.New(rand.NewPCG(6, 6)), 500)
	bad := *obs[0]
	bad.Port = 666
	if _, err := b.Publisher().ImportObservations(ctx, append([]*portolan.Observation{&bad}, obs...)); err != nil {
		t.Fatal(err)
	}
	got := refusingStore{storetest.NewMemoryStore(nil)}
	w, err := b.Worker(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	go w.Run(ctx)
	want := storetest.NewMemoryStore(nil)
	want.ImportObservations(ctx, obs)
	waitEqual(t, got, want, 30*time.Second)
	if n := w.Stats.Refused.Load(); n != 1 {
		t.Errorf("%d refused, want 1", n)
	}
}

// TestCredentialsFileMustBePrivate: a credentials file others can read is
// refused before connecting.
func TestCredentialsFileMustBePrivate(t *testing.T) {
	f := t.TempDir() + "/bus.creds"
	if err := os.WriteFile(f, []byte("-----BEGIN NATS USER JWT-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := bus.Open(context.Background(), bus.Config{URL: "nats://127.0.0.1:1", CredsFile: f}, nil)
	if err == nil || !strings.Contains(err.Error(), "mode 0644") {
		t.Fatalf("open with a world-readable credentials file: %v", err)
	}
}
