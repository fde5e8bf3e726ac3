// SPDX-License-Identifier: Apache-2.0

package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"portolan"
	"portolan/internal/fingerprint"
	"portolan/internal/gen"
	"portolan/internal/httpapi"
	"portolan/internal/notify"
	"portolan/internal/sqlite"
)

// The figures of issue 12, item 6 (README, "Change notifications"):
//
//	go test ./internal/notify -run '^$' -bench . -benchtime 20x
//
// BenchmarkNotificationLatency: one import of one new hostPort per
// iteration, with 10 or 1,000 subscriptions to one receiver on 127.0.0.1;
// the latency is from the import's commit to each subscription's
// notification at the receiver, p50 and p99 over every (import,
// subscription). The dispatcher polls the watermark every 200 ms (the
// default; imports usually come from another process, `portolan ingest`),
// so an import waits half a poll on average before it is seen; each import
// starts at a random phase of the poll.
//
// BenchmarkIngestWithSubscriptions: observations per second of imports
// (internal/gen's mix, batches of 2,000, imported by a child process as
// `portolan ingest` would) while the dispatcher runs with 0
// subscriptions, 1,000 that each receive every change (a million
// notifications per import of a thousand changes), or 1,000 whose $filter
// selects one of ten common ports. The receiver only counts what it gets,
// so that what is measured is Portolan's side (on 2 cores, the receiver's
// CPU still competes with the import).

// benchReceiver records when each subscription received each hostPort.
type benchReceiver struct {
	*httptest.Server
	// countOnly makes the receiver count notifications without decoding
	// them.
	countOnly bool
	mu        sync.Mutex
	arrived   map[string]map[string]time.Time // hostPort id -> subscription -> when
	count     int
	notify    chan struct{}
}

func newBenchReceiver(b *testing.B) *benchReceiver {
	rc := &benchReceiver{arrived: map[string]map[string]time.Time{}, notify: make(chan struct{}, 1)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		if rc.countOnly {
			data, _ := io.ReadAll(r.Body)
			rc.mu.Lock()
			rc.count += bytes.Count(data, []byte(`"subscriptionId"`))
			rc.mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
			return
		}
		var body struct{ Value []notification }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		for _, n := range body.Value {
			m := rc.arrived[n.ResourceData.ID]
			if m == nil {
				m = map[string]time.Time{}
				rc.arrived[n.ResourceData.ID] = m
			}
			m[n.SubscriptionID] = now
		}
		rc.count += len(body.Value)
		rc.mu.Unlock()
		select {
		case rc.notify <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	b.Cleanup(rc.Close)
	return rc
}

func (rc *benchReceiver) arrivals(id string) map[string]time.Time {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.arrived[id]
}

// benchStore opens a SQLite store with n subscriptions to url (the i-th
// with filters[i%len(filters)], when given) and a running dispatcher.
func benchStore(b *testing.B, n int, url string, filters ...string) (db *sqlite.DB, path string, stop func()) {
	b.Helper()
	path = filepath.Join(b.TempDir(), "bench.db")
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{Recognizer: fingerprint.Default()})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		filter := ""
		if len(filters) > 0 {
			filter = filters[i%len(filters)]
		}
		s := &portolan.Subscription{
			ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Filter: filter,
			Owner: portolan.SubscriptionOwner{CreatorID: fmt.Sprint("owner-", i/100)}, Change: portolan.SubscriptionCreated | portolan.SubscriptionUpdated,
			NotificationURL: url, Resource: portolan.SubscriptionResourceHostPorts, Expiration: time.Now().Add(time.Hour), Created: time.Now(),
		}
		if err := db.CreateSubscription(context.Background(), s); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		notify.New(notify.Config{Store: db, Guard: notify.NewGuard(nil, nil), ParseFilter: httpapi.ParseHostPortFilter}).Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			db.Close()
		})
	}
	b.Cleanup(stop)
	return db, path, stop
}

func BenchmarkNotificationLatency(b *testing.B) {
	for _, subs := range []int{10, 1000} {
		b.Run(fmt.Sprintf("subscriptions=%d", subs), func(b *testing.B) {
			rc := newBenchReceiver(b)
			db, _, _ := benchStore(b, subs, rc.URL)
			var latencies []time.Duration
			port := 0
			for b.Loop() {
				// Imports come at any phase of the dispatcher's poll, not
				// just after the round that delivered the last one.
				b.StopTimer()
				time.Sleep(rand.N(notify.DefaultPoll))
				b.StartTimer()
				port++
				o := &portolan.Observation{Host: "192.0.2.1", Port: port, Status: portolan.StatusOpen, ScannedAt: time.Now(), Source: "native"}
				if err := o.Normalize(); err != nil {
					b.Fatal(err)
				}
				id := portolan.HostPortID("192.0.2.1", portolan.TCP, port)
				if _, err := db.ImportObservations(context.Background(), []*portolan.Observation{o}); err != nil {
					b.Fatal(err)
				}
				committed := time.Now()
				deadline := time.After(30 * time.Second)
				for len(rc.arrivals(id)) < subs {
					select {
					case <-rc.notify:
					case <-time.After(5 * time.Millisecond):
					case <-deadline:
						b.Fatalf("%d of %d subscriptions notified of port %d after 30 s", len(rc.arrivals(id)), subs, port)
					}
				}
				for _, at := range rc.arrivals(id) {
					latencies = append(latencies, at.Sub(committed))
				}
			}
			slices.Sort(latencies)
			pct := func(p float64) float64 {
				return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// ingestBatches is the workload of BenchmarkIngestWithSubscriptions:
// internal/gen's mix in batches of 2,000.
func ingestBatches() (batches [][]*portolan.Observation, total int) {
	g := gen.New(gen.Config{Seed: 1, Hosts: 3000, Rescans: 3})
	var batch []*portolan.Observation
	for o := g.Next(); o != nil; o = g.Next() {
		if err := o.Normalize(); err != nil {
			panic(err)
		}
		batch = append(batch, o)
		if len(batch) == 2000 {
			batches, batch = append(batches, batch), nil
		}
		total++
	}
	return append(batches, batch), total
}

// importEnv names the store a child process of the test binary imports
// ingestBatches into (TestMain), as `portolan ingest` does while `serve`
// delivers: the import then competes with the dispatcher for the CPU as
// one process with another, not as one goroutine among a thousand.
const importEnv = "PORTOLAN_NOTIFY_BENCH_IMPORT"

func TestMain(m *testing.M) {
	if path := os.Getenv(importEnv); path != "" {
		os.Exit(importChild(path))
	}
	os.Exit(m.Run())
}

// importChild imports ingestBatches into the store at path and prints the
// seconds the imports took.
func importChild(path string) int {
	batches, _ := ingestBatches()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{Recognizer: fingerprint.Default()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	start := time.Now()
	for _, batch := range batches {
		if _, err := db.ImportObservations(context.Background(), batch); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	fmt.Println(time.Since(start).Seconds())
	return 0
}

func BenchmarkIngestWithSubscriptions(b *testing.B) {
	_, total := ingestBatches()
	var tenPorts []string
	for _, p := range []int{22, 80, 443, 8080, 3389, 21, 25, 3306, 5432, 6379} {
		tenPorts = append(tenPorts, fmt.Sprintf("port eq %d", p))
	}
	for _, c := range []struct {
		name    string
		subs    int
		filters []string
	}{{"subscriptions=0", 0, nil}, {"subscriptions=1000", 1000, nil}, {"subscriptions=1000,filtered", 1000, tenPorts}} {
		b.Run(c.name, func(b *testing.B) {
			var elapsed, cpu float64
			notified := 0
			for b.Loop() {
				b.StopTimer()
				rc := newBenchReceiver(b)
				rc.countOnly = true
				_, path, stop := benchStore(b, c.subs, rc.URL, c.filters...)
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), importEnv+"="+path)
				cmd.Stderr = os.Stderr
				out, err := cmd.Output()
				if err != nil {
					b.Fatalf("import in a child process: %v", err)
				}
				secs, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
				if err != nil {
					b.Fatalf("the child printed %q", out)
				}
				elapsed += secs
				// The import's own CPU, which the dispatcher and the
				// receiver, running in this process, do not add to: the
				// cost change tracking puts on the import itself, apart
				// from what they take of a shared machine.
				cpu += (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
				rc.mu.Lock()
				notified += rc.count
				rc.mu.Unlock()
				// The backlog of this store's notifications must not
				// compete with the next iteration's import.
				stop()
				b.StartTimer()
			}
			b.ReportMetric(float64(total)*float64(b.N)/elapsed, "obs/s")
			b.ReportMetric(float64(total)*float64(b.N)/cpu, "obs/cpu-s")
			b.ReportMetric(float64(notified)/float64(b.N), "notified/op")
			b.ReportMetric(0, "ns/op")
		})
	}
}
