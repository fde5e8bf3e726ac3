// SPDX-License-Identifier: Apache-2.0

package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"portolan"
	"portolan/internal/storetest"
)

// cluster is a private PostgreSQL server started for one test, so that it
// can really be stopped and restarted without disturbing the shared server
// other tests use.
type cluster struct {
	bin  string // directory of initdb, pg_ctl
	dir  string // data directory, socket and log
	port int
	su   bool // run the binaries as the postgres OS user (we are root)
}

// startCluster initialises and starts a cluster in a temporary directory
// on a free port, or skips the test saying why it cannot.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	testURL(t) // the same switch as every test against PostgreSQL
	initdbs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Strings(initdbs)
	if len(initdbs) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			initdbs = []string{p}
		} else {
			t.Skip("no initdb in /usr/lib/postgresql/*/bin or PATH: cannot start a private PostgreSQL to restart")
		}
	}
	c := &cluster{bin: filepath.Dir(initdbs[len(initdbs)-1]), su: os.Geteuid() == 0}
	dir, err := os.MkdirTemp("", "portolan-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if c.su {
		// initdb refuses to run as root: the cluster belongs to postgres.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root without a postgres OS user to own a private cluster: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Skipf("cannot give the cluster directory to postgres: %v", err)
		}
	}
	if out, err := c.run("initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Skipf("cannot initialise a private PostgreSQL cluster: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	if err := c.start(); err != nil {
		t.Skipf("cannot start a private PostgreSQL cluster: %v", err)
	}
	t.Cleanup(func() { c.stop("immediate") })
	return c
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

// url is the address of the cluster's postgres database.
func (c *cluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", c.port)
}

func (c *cluster) run(name string, args ...string) ([]byte, error) {
	bin := filepath.Join(c.bin, name)
	if !c.su {
		return exec.Command(bin, args...).CombinedOutput()
	}
	quoted := []string{bin}
	for _, a := range args {
		quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	return exec.Command("su", "postgres", "-s", "/bin/sh", "-c", strings.Join(quoted, " ")).CombinedOutput()
}

// start starts the server and waits until it accepts connections. fsync is
// off: the test kills the server, not the machine, and the machine is
// shared.
func (c *cluster) start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB", c.port, c.dir)
	out, err := c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "log"), "-o", opts, "-w", "-t", "60", "start")
	if err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	return nil
}

// stop stops the server: "fast" terminates sessions (they get 57P01
// admin_shutdown), "immediate" kills it as a crash would (sessions see the
// connection drop).
func (c *cluster) stop(mode string) error {
	out, err := c.run("pg_ctl", "-D", c.data(), "-m", mode, "-w", "-t", "60", "stop")
	if err != nil {
		return fmt.Errorf("pg_ctl stop -m %s: %v\n%s", mode, err, out)
	}
	return nil
}

// outage stops the server, keeps it down for a while and starts it again.
func (c *cluster) outage(t *testing.T, mode string, down time.Duration) {
	t.Helper()
	if err := c.stop(mode); err != nil {
		t.Fatal(err)
	}
	time.Sleep(down)
	if err := c.start(); err != nil {
		t.Fatal(err)
	}
}

// checkUnavailable fails unless err is the EUNAVAILABLE error serve turns
// into 503 serviceNotAvailable.
func checkUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	if portolan.ErrorCode(err) != portolan.EUNAVAILABLE || portolan.ErrorMessage(err) != "The database is unavailable; try again." {
		t.Errorf("%s while the server restarts: want EUNAVAILABLE %q, got %v", what, "The database is unavailable; try again.", err)
	}
}

// TestConnectionLoss restarts a private PostgreSQL server under a store
// that is reading, then under one that is ingesting. Reads in flight and
// during the outage fail with EUNAVAILABLE and succeed again, on the same
// pool, once the server is back. An ingest that retries a batch on
// EUNAVAILABLE (as internal/ingest does) loses nothing and logs nothing
// twice.
func TestConnectionLoss(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	obs := storetest.RandomObservations(rand.New(rand.NewPCG(31, 31)), 3000)
	ref := storetest.NewMemoryStore(nil)
	if _, err := ref.ImportObservations(ctx, obs); err != nil {
		t.Fatal(err)
	}
	want, _ := storetest.Dump(ctx, ref, storetest.AllHosts())

	t.Run("reads", func(t *testing.T) {
		db := mustOpen(t, newSchema(t, c.url()), nil)
		if _, err := db.ImportObservations(ctx, obs); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var mu sync.Mutex
		failures, successes := 0, 0
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
					_, _, err := db.FindHostPorts(rctx, portolan.HostPortFilter{Host: storetest.AllHosts()[i%6], Count: true})
					cancel()
					mu.Lock()
					if err != nil {
						failures++
						checkUnavailable(t, "FindHostPorts", err)
					} else {
						successes++
					}
					mu.Unlock()
					time.Sleep(5 * time.Millisecond)
				}
			})
		}
		time.Sleep(300 * time.Millisecond)
		c.outage(t, "fast", 2*time.Second)
		// The pool reconnects by itself: reads succeed again.
		mu.Lock()
		successes = 0
		mu.Unlock()
		waitUntil(t, 30*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return successes >= 20
		})
		close(stop)
		wg.Wait()
		if failures == 0 {
			t.Fatal("no read failed while the server was down: the test proves nothing")
		}
		got, err := storetest.Dump(ctx, db, storetest.AllHosts())
		if err != nil {
			t.Fatalf("reads after the restart: %v", err)
		}
		if !bytes.Equal(want, got) {
			t.Fatalf("records after the restart differ:\n%s", firstDifference(want, got))
		}
	})

	t.Run("ingest", func(t *testing.T) {
		u := newSchema(t, c.url())
		db := mustOpen(t, u, nil)
		batches := storetest.Shuffled(rand.New(rand.NewPCG(32, 32)), obs, 0.2, 60)
		offered := 0
		for _, b := range batches {
			offered += len(b)
		}
		var total portolan.ImportResult
		retries := 0
		committed := make(chan int, len(batches))
		errc := make(chan error, 1)
		go func() {
			for i, b := range batches {
				for {
					res, err := db.ImportObservations(ctx, b)
					if err == nil {
						total.Add(res)
						break
					}
					if portolan.ErrorCode(err) != portolan.EUNAVAILABLE {
						errc <- fmt.Errorf("batch %d: %w", i, err)
						return
					}
					checkUnavailable(t, "ImportObservations", err)
					retries++
					time.Sleep(200 * time.Millisecond)
				}
				committed <- i
				// Pace the batches so that both outages fall inside the ingest.
				time.Sleep(20 * time.Millisecond)
			}
			errc <- nil
		}()
		waitBatches := func(n int) {
			for range n {
				select {
				case <-committed:
				case err := <-errc:
					t.Fatalf("ingest ended early: %v", err)
				}
			}
		}
		waitBatches(5)
		c.outage(t, "immediate", 2*time.Second) // a crash
		waitBatches(5)
		c.outage(t, "fast", time.Second) // an administrator's restart
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if retries == 0 {
			t.Fatal("no batch was retried: the outages missed the ingest")
		}
		got, err := storetest.Dump(ctx, db, storetest.AllHosts())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got) {
			t.Fatalf("records after an ingest across restarts differ from the reference:\n%s", firstDifference(want, got))
		}
		if total.Observations != offered {
			t.Errorf("counted %d observations, offered %d", total.Observations, offered)
		}
		if n := queryInt(t, u, `SELECT count(*) FROM observation_log`); n != len(obs) {
			t.Errorf("the log holds %d observations, want %d: a batch was lost or logged twice", n, len(obs))
		}
		t.Logf("%d batches, %d retries", len(batches), retries)
	})
}
