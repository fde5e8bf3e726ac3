// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"portolan/internal/gen"
	"portolan/internal/sqlite"
)

// The soak runs on demand, never in CI's default run:
//
//	PORTOLAN_SOAK=10m go test ./cmd/portolan -run TestSoak -v -timeout 30m
//	PORTOLAN_KILL_TRIALS=10 go test ./cmd/portolan -run TestKill9Trials -v -timeout 30m
//
// Each ends with one summary line (t.Logf) and fails when its goal is missed.

// TestSoak serves a generated store to 64 connections for PORTOLAN_SOAK
// while ingest runs again and again into the same store, and reports the
// errors (goal 0: every answer is 200, or 429 from the rate limit, which is
// off here) and the drift of serve's private memory (goal: flat, the last
// quarter's mean within 20% of the second quarter's, after warm-up).
//
// Private memory (RssAnon: Go's heap, SQLite's page caches) is what a leak
// grows and what a container's limit kills for. The readers' map of the
// database (RssFile) is the kernel's file cache, clean and reclaimable under
// pressure: it grows as ingest moves records to pages not read before, up
// to the file's size, which the test checks and reports beside VmRSS.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("PORTOLAN_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set PORTOLAN_SOAK to a duration (10m) to run the soak test")
	}
	bin := binary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	input := filepath.Join(dir, "scan.ndjson")
	hosts := writeGenerated(t, input, 20000)
	e2eRunBinary(t, "ingest", "--no-progress", "--data", data, input)
	token := strings.TrimSpace(e2eRunBinary(t, "token", "--data", data, "--ttl", (d + time.Hour).String()))
	s := e2eStartServe(t, nil, "--data", data, "--addr", "127.0.0.1:0", "--rate-limit", "0", "--metrics-addr", "127.0.0.1:0")
	metrics := metricsURL(t, s.stderr.String)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	s.waitHealthy(t, client)

	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var requests, failures atomic.Int64
	var firstFailure atomic.Value
	var wg sync.WaitGroup
	for c := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			for ctx.Err() == nil {
				host := hosts[rng.IntN(len(hosts))]
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/beta/security/threatIntelligence/hosts/"+host+"/ports", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if ctx.Err() != nil {
					return
				}
				requests.Add(1)
				if err != nil {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, resp.Status)
				}
			}
		}()
	}
	// Ingest, again and again: new scans of the same hosts (the seed of
	// the first ingest, a day later each round), so that every round
	// changes records while they are read and the store stays the same
	// size but for its log (a growing store would grow the page caches
	// and hide a leak behind them).
	var ingests, ingestFailures atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for round := 1; ctx.Err() == nil; round++ {
			file := filepath.Join(dir, "round.ndjson")
			writeGeneratedRound(t, file, 20000, round)
			cmd := exec.CommandContext(ctx, bin, "ingest", "--no-progress", "--data", data, file)
			cmd.Env = e2eEnv()
			if out, err := cmd.CombinedOutput(); err != nil && ctx.Err() == nil {
				ingestFailures.Add(1)
				t.Logf("ingest round %d: %v\n%s", round, err, out)
			}
			ingests.Add(1)
		}
	}()
	var rss, anon, file, goHeld []int64
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
sample:
	for {
		select {
		case <-ctx.Done():
			break sample
		case <-tick.C:
			if m, err := readResident(s.cmd.Process.Pid); err == nil {
				rss, anon, file = append(rss, m.total), append(anon, m.anon), append(file, m.file)
				series := scrapeMetrics(t, metrics)
				goHeld = append(goHeld, int64(series["go_memstats_sys_bytes"]-series["go_memstats_heap_released_bytes"])>>10)
			}
		}
	}
	wg.Wait()
	s.stop(t)
	// What serve maps is the database file, its WAL index (-shm) and its
	// own binary: its mapped pages can never pass their sizes together.
	var mappable int64
	db := filepath.Join(data, sqlite.FileName)
	for _, path := range []string{db, db + "-shm", bin} {
		if fi, err := os.Stat(path); err == nil {
			mappable += fi.Size() >> 10
		}
	}
	drift := rssDrift(anon)
	t.Logf("soak %s: %d requests, %d errors, %d ingest rounds (%d failed); serve's private memory (RssAnon) %s, drift %.1f%% (goal 0 errors, drift within 20%%); "+
		"held by Go's runtime (sys - heap released) %s, drift %.1f%%; pages of mapped files (RssFile: the database, the binary) %s, drift %.1f%%, of %d MB mappable; VmRSS %s, drift %.1f%%",
		d, requests.Load(), failures.Load(), ingests.Load(), ingestFailures.Load(), rssSummary(anon), drift*100,
		rssSummary(goHeld), rssDrift(goHeld)*100, rssSummary(file), rssDrift(file)*100, mappable>>10, rssSummary(rss), rssDrift(rss)*100)
	if failures.Load() > 0 {
		t.Errorf("%d failed requests; the first: %v", failures.Load(), firstFailure.Load())
	}
	if ingestFailures.Load() > 0 {
		t.Errorf("%d ingest rounds failed", ingestFailures.Load())
	}
	if drift > 0.2 {
		t.Errorf("serve's private memory grew %.1f%% from the second quarter to the last", drift*100)
	}
	if len(file) == 0 {
		t.Errorf("serve's memory was never sampled (PORTOLAN_SOAK %s is shorter than one sample, 5s)", d)
	} else if peak := slices.Max(file); peak > mappable {
		t.Errorf("serve's mapped pages reached %d MB, more than the database and the binary hold (%d MB)", peak>>10, mappable>>10)
	}
}

// writeGeneratedRound writes what writeGenerated does (the same hosts and
// ports), scanned round days later.
func writeGeneratedRound(t *testing.T, path string, hosts, round int) {
	t.Helper()
	var buf bytes.Buffer
	if err := generate(&buf, hosts, 3, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 30+round)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// residentMemory is a process's resident memory in KiB: all of it (VmRSS),
// and its two parts that matter here: private memory (RssAnon: Go's heap,
// SQLite's page caches) and pages of mapped files (RssFile: the readers'
// map of the database, which is the kernel's shared, reclaimable file
// cache).
type residentMemory struct{ total, anon, file int64 }

// readResident reads a process's resident memory from /proc.
func readResident(pid int) (residentMemory, error) {
	var m residentMemory
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	defer f.Close()
	fields := map[string]*int64{"VmRSS:": &m.total, "RssAnon:": &m.anon, "RssFile:": &m.file}
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), "\t")
		if dst, ok := fields[name]; ok {
			if *dst, err = strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(value), "kB")), 10, 64); err != nil {
				return m, fmt.Errorf("/proc/%d/status: %s %v", pid, name, err)
			}
			found++
		}
	}
	if found != len(fields) {
		return m, fmt.Errorf("/proc/%d/status: VmRSS, RssAnon or RssFile missing", pid)
	}
	return m, sc.Err()
}

// rssDrift compares the mean of the last quarter of the samples with the
// second quarter's (the first is warm-up: caches filling).
func rssDrift(kb []int64) float64 {
	if len(kb) < 8 {
		return 0
	}
	mean := func(xs []int64) float64 {
		var s int64
		for _, x := range xs {
			s += x
		}
		return float64(s) / float64(len(xs))
	}
	q := len(kb) / 4
	second, last := mean(kb[q:2*q]), mean(kb[len(kb)-q:])
	return (last - second) / second
}

func rssSummary(kb []int64) string {
	if len(kb) == 0 {
		return "not sampled"
	}
	lo, hi := kb[0], kb[0]
	for _, x := range kb {
		lo, hi = min(lo, x), max(hi, x)
	}
	return fmt.Sprintf("%d samples, first %d MB, last %d MB, min %d MB, max %d MB", len(kb), kb[0]>>10, kb[len(kb)-1]>>10, lo>>10, hi>>10)
}

// TestKill9Trials kills ingest with SIGKILL at a random moment
// PORTOLAN_KILL_TRIALS times, each time ingests the file again, and
// requires the records of one clean run: the summary line counts the
// trials whose records were identical (goal: all).
func TestKill9Trials(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("PORTOLAN_KILL_TRIALS"))
	if err != nil || n <= 0 {
		t.Skip("set PORTOLAN_KILL_TRIALS to a number (10) to run the kill-9 trials")
	}
	bin := binary(t)
	dir := t.TempDir()
	input := filepath.Join(dir, "scan.ndjson")
	hosts := writeGenerated(t, input, 6000)
	clean := filepath.Join(dir, "clean")
	e2eRunBinary(t, "ingest", "--no-progress", "--data", clean, input)
	want := dumpDir(t, clean, hosts)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	identical, killed := 0, 0
	for trial := 1; trial <= n; trial++ {
		data := filepath.Join(dir, fmt.Sprintf("trial%d", trial))
		cmd := exec.Command(bin, "ingest", "--no-progress", "--data", data, input)
		cmd.Env = e2eEnv()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// After the first commit, a random moment more.
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) && committedBatches(filepath.Join(data, sqlite.FileName)) == 0 {
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		if cmd.Wait() != nil {
			killed++
		}
		e2eRunBinary(t, "ingest", "--no-progress", "--data", data, input)
		if bytes.Equal(want, dumpDir(t, data, hosts)) {
			identical++
		} else {
			t.Errorf("trial %d: records differ from one clean run", trial)
		}
		os.RemoveAll(data)
	}
	t.Logf("kill-9 trials: %d of %d identical to a clean run (%d killed mid-ingest, the others had finished)", identical, n, killed)
}

// generate writes the generator's observations of hosts hosts with seed,
// scanned once from start, as native NDJSON.
func generate(w io.Writer, hosts int, seed uint64, start time.Time) error {
	enc := json.NewEncoder(w)
	g := gen.New(gen.Config{Seed: seed, Hosts: hosts, Rescans: 1, Start: start})
	for o := g.Next(); o != nil; o = g.Next() {
		if err := enc.Encode(o); err != nil {
			return err
		}
	}
	return nil
}
