// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"portolan/internal/cli"
	"portolan/internal/gen"
)

// runBus is `portolan-bench bus`: the scale-out figures of issue 16, with
// the real binary, the NATS server and PostgreSQL of the machine. Each
// figure has a fresh schema and stream, dropped at the end.
func runBus(ctx context.Context, env *cli.Env, args []string) error {
	fs := flag.NewFlagSet("bus", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	portolanFlag := fs.String("portolan", "", "the portolan binary (default: next to portolan-bench, else on PATH)")
	store := fs.String("store", os.Getenv("PORTOLAN_TEST_POSTGRES"), "PostgreSQL URL; each figure gets a schema of its own (env PORTOLAN_TEST_POSTGRES)")
	busURL := fs.String("bus", "nats://127.0.0.1:4222", "NATS server with JetStream")
	hosts := fs.Int("hosts", 20000, "hosts of the generated scan (rescanned 3 times)")
	maxWorkers := fs.Int("workers", 3, "measure 1..N workers")
	latencyRuns := fs.Int("latency-runs", 20, "publish-to-visible measurements")
	txObs := fs.Int("max-transaction-observations", 0, "the workers' --max-transaction-observations (0: their default)")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if *store == "" {
		return fmt.Errorf("bus: --store (or PORTOLAN_TEST_POSTGRES) names the PostgreSQL server: %w", cli.ErrUsage)
	}
	self, _ := os.Executable()
	bin, err := findPortolan(*portolanFlag, self)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "portolan-bench-bus-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	r := &busRun{bin: bin, base: *store, bus: *busURL, dir: dir, log: env.Stderr}
	defer r.cleanup()

	file := filepath.Join(dir, "scan.ndjson")
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	stats, err := gen.WriteAll(f, gen.New(gen.Config{Seed: 16, Hosts: *hosts, Rescans: 3}), gen.FormatNative)
	f.Close()
	if err != nil {
		return err
	}
	n := stats.Observations
	fi, _ := os.Stat(file)
	r.logf("generated %d observations (%d MB native NDJSON)", n, fi.Size()>>20)

	t := &table{title: fmt.Sprintf("Scale-out: %d observations into PostgreSQL", n), head: []string{"what", "time", "observations/s"}, left: 1}
	// 1. One direct ingest.
	s0, err := r.schema(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	if _, err := r.run(ctx, "ingest", "--no-progress", "--store", s0, file); err != nil {
		return err
	}
	d := time.Since(start)
	t.add("`ingest --store` (one process, direct)", d.Round(time.Millisecond).String(), rate(n, d))

	// 2. Publishing, with no worker: the stream takes all of it.
	for k := 1; k <= *maxWorkers; k++ {
		stream := r.stream()
		busArgs := []string{"--bus", r.bus, "--bus-stream", stream, "--bus-subject", strings.ToLower(stream), "--bus-max-bytes", strconv.Itoa(4 << 30)}
		start := time.Now()
		if _, err := r.run(ctx, append(append([]string{"ingest", "--no-progress"}, busArgs...), file)...); err != nil {
			return err
		}
		if k == 1 {
			d := time.Since(start)
			t.add("`ingest --bus` publish (acknowledged by JetStream)", d.Round(time.Millisecond).String(), rate(n, d))
		}
		// 3. k workers merge the loaded stream.
		sk, err := r.schema(ctx)
		if err != nil {
			return err
		}
		start = time.Now()
		var procs []*exec.Cmd
		for range k {
			args := append([]string{"worker", "--store", sk}, busArgs...)
			if *txObs > 0 {
				args = append(args, "--max-transaction-observations", strconv.Itoa(*txObs))
			}
			p, err := r.start(args...)
			if err != nil {
				return err
			}
			procs = append(procs, p)
		}
		if err := r.waitRows(ctx, sk, n, 10*time.Minute); err != nil {
			return err
		}
		d := time.Since(start)
		t.add(fmt.Sprintf("%d worker%s merging the stream", k, map[bool]string{true: "s"}[k > 1]), d.Round(time.Millisecond).String(), rate(n, d))
		if k < *maxWorkers {
			for _, p := range procs {
				stopProcess(p)
			}
			continue
		}
		// 4. With the workers running: publish one observation through
		// serve --bus, poll the API of the same database until it shows.
		lat, err := r.latency(ctx, sk, busArgs, *latencyRuns)
		for _, p := range procs {
			stopProcess(p)
		}
		if err != nil {
			return err
		}
		slices.Sort(lat)
		t2 := &table{title: fmt.Sprintf("Publish to visible (%d runs, %d workers)", len(lat), k), head: []string{"p50", "p90", "max"}, left: 1}
		t2.add(lat[len(lat)/2].Round(time.Millisecond).String(), lat[len(lat)*9/10].Round(time.Millisecond).String(), lat[len(lat)-1].Round(time.Millisecond).String())
		defer t2.markdown(env.Stdout)
	}
	t.markdown(env.Stdout)
	return nil
}

func rate(n int, d time.Duration) string { return strconv.Itoa(int(float64(n) / d.Seconds())) }

// busRun holds what one bus benchmark created, for the cleanup.
type busRun struct {
	bin, base, bus, dir string
	log                 io.Writer
	schemas, streams    []string
}

func (r *busRun) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "bench: "+format+"\n", args...)
}

func (r *busRun) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, r.bin, args...)
	cmd.Env = childEnv()
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("bench: portolan %s: %w\n%s", args[0], err, errOut.String())
	}
	return out, nil
}

func (r *busRun) start(args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(r.bin, args...)
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	return cmd, cmd.Start()
}

func (r *busRun) schema(ctx context.Context) (string, error) {
	var b [4]byte
	rand.Read(b[:])
	name := "portolan_bench_bus_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, r.base)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", err
	}
	r.schemas = append(r.schemas, name)
	return withSearchPath(r.base, name)
}

func (r *busRun) stream() string {
	var b [4]byte
	rand.Read(b[:])
	s := "PORTOLAN_BENCH_" + strings.ToUpper(hex.EncodeToString(b[:]))
	r.streams = append(r.streams, s)
	return s
}

func (r *busRun) cleanup() {
	ctx := context.Background()
	if conn, err := pgx.Connect(ctx, r.base); err == nil {
		for _, s := range r.schemas {
			conn.Exec(ctx, "DROP SCHEMA "+s+" CASCADE")
		}
		conn.Close(ctx)
	}
	if nc, err := nats.Connect(r.bus); err == nil {
		if js, err := jetstream.New(nc); err == nil {
			for _, s := range r.streams {
				js.DeleteStream(ctx, s)
			}
		}
		nc.Close()
	}
}

// waitRows waits until the observation log of store holds n rows.
func (r *busRun) waitRows(ctx context.Context, store string, n int, timeout time.Duration) error {
	conn, err := pgx.Connect(ctx, store)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(timeout)
	for {
		var got int
		// The table appears with the first worker's migration.
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM observation_log").Scan(&got); err == nil && got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %d of %d observations merged after %s", got, n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var servingURL = regexp.MustCompile(`serves the Graph threat-intelligence API at (https?://\S+)/beta `)

// latency starts serve --bus on store, imports one new port at a time
// through it and measures until the API shows it.
func (r *busRun) latency(ctx context.Context, store string, busArgs []string, runs int) ([]time.Duration, error) {
	data := filepath.Join(r.dir, "data")
	out := &lockedWriter{w: &bytes.Buffer{}}
	cmd := exec.Command(r.bin, append([]string{"serve", "--store", store, "--data", data, "--addr", "127.0.0.1:0", "--rate-limit", "0"}, busArgs...)...)
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = out, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer stopProcess(cmd)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; time.Sleep(20 * time.Millisecond) {
		if m := servingURL.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			return nil, fmt.Errorf("bench: serve --bus did not start")
		}
	}
	tok := func(args ...string) (string, error) {
		b, err := r.run(ctx, append([]string{"token", "--data", data}, args...)...)
		return strings.TrimSpace(string(b)), err
	}
	read, err := tok()
	if err != nil {
		return nil, err
	}
	ingest, err := tok("--roles", "Portolan.Ingest")
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var lat []time.Duration
	for i := range runs {
		host := fmt.Sprintf("198.18.%d.%d", i/250, i%250+1)
		line := fmt.Sprintf(`{"host":%q,"port":443,"status":"open","scannedAt":"2026-12-03T00:00:00Z","source":"bench"}`+"\n", host)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/portolan/v1/imports?format=native", strings.NewReader(line))
		req.Header.Set("Authorization", "Bearer "+ingest)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("bench: import: %s", resp.Status)
		}
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/beta/security/threatIntelligence/hosts/"+host+"/ports", nil)
			req.Header.Set("Authorization", "Bearer "+read)
			resp, err := client.Do(req)
			if err != nil {
				return nil, err
			}
			var v struct{ Value []json.RawMessage }
			json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if len(v.Value) > 0 {
				lat = append(lat, time.Since(start))
				break
			}
			if time.Since(start) > 30*time.Second {
				return nil, fmt.Errorf("bench: %s not visible after 30s", host)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	return lat, nil
}

// lockedWriter lets the test read what a child writes meanwhile.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
