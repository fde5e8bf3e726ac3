// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"portolan/internal/cli"
	"portolan/internal/gen"
)

// The wrk script reads the host list of its first argument and builds
// every request from the prefix, a host and the suffix; each thread gets a
// seed of its own from setup, the same in every run.
func TestRandomScript(t *testing.T) {
	for _, want := range []string{
		`function setup(thread)`, `thread:set("seed", threads)`,
		`for line in io.lines(args[1]) do`, `prefix = args[2] or ""`, `suffix = args[3] or ""`,
		`math.randomseed(7919 * (seed or 1))`,
		`return wrk.format(nil, prefix .. hosts[math.random(#hosts)] .. suffix)`,
	} {
		if !strings.Contains(randomScript, want) {
			t.Errorf("the script lacks %q", want)
		}
	}
	// The list is one address a line, IPv6 included.
	file := filepath.Join(t.TempDir(), "hosts.txt")
	hosts := []string{"192.0.2.1", "2001:db8::7", "198.51.100.9"}
	if err := writeHostList(file, hosts); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(file); string(data) != "192.0.2.1\n2001:db8::7\n198.51.100.9\n" {
		t.Errorf("host list %q", data)
	}
}

func TestRandomSampleHosts(t *testing.T) {
	hosts := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	if got := sampleHosts(hosts, 0); !slices.Equal(got, hosts) {
		t.Errorf("sample of 0 = %v, want all", got)
	}
	if got := sampleHosts(hosts, 20); !slices.Equal(got, hosts) {
		t.Errorf("sample of 20 = %v, want all", got)
	}
	if got := sampleHosts(hosts, 5); !slices.Equal(got, []string{"a", "c", "e", "g", "i"}) {
		t.Errorf("sample of 5 = %v", got)
	}
}

// The host list comes from the generator: the hosts with a port open,
// which are the hosts of the store.
func TestRandomGenerateHosts(t *testing.T) {
	b := &bench{env: &cli.Env{Stdout: io.Discard, Stderr: io.Discard}}
	file := filepath.Join(t.TempDir(), "w.ndjson")
	cfg := gen.Config{Seed: 3, Hosts: 200, Rescans: 1}
	hosts, err := b.generateHosts(context.Background(), file, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := readRows(context.Background(), file, "native")
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]bool{}
	for _, r := range rows {
		if r[3] == "open" {
			open[r[0].(string)] = true
		}
	}
	if len(hosts) != len(open) || len(hosts) < 150 {
		t.Fatalf("%d hosts listed, %d with a port open in the file", len(hosts), len(open))
	}
	for _, h := range hosts {
		if !open[h] {
			t.Errorf("%s is listed without an open port", h)
		}
	}
}

// fetchBodies writes one file per host that answers, drops the hosts that
// do not exist, and fails on any other answer.
func TestRandomFetchBodies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Cache-Control") != "no-cache" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "bad headers", http.StatusBadRequest)
			return
		}
		host := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, hostsPrefix), "/ports")
		switch host {
		case "192.0.2.99":
			http.NotFound(w, r)
		case "192.0.2.66":
			http.Error(w, "boom", http.StatusInternalServerError)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"value":["` + host + `"]}`))
		}
	}))
	defer srv.Close()
	root := t.TempDir()
	hosts := []string{"192.0.2.1", "192.0.2.99", "2001:db8::7", "192.0.2.2", "192.0.2.3"}
	ok, total, ct, err := fetchBodies(context.Background(), srv.URL, "tok", root, hosts)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"192.0.2.1", "2001:db8::7", "192.0.2.2", "192.0.2.3"}; !slices.Equal(ok, want) || ct != "application/json" {
		t.Errorf("fetchBodies = %v, %q", ok, ct)
	}
	var sum int64
	for _, h := range ok {
		data, err := os.ReadFile(filepath.Join(root, h))
		if err != nil || string(data) != `{"value":["`+h+`"]}` {
			t.Errorf("%s: %q, %v", h, data, err)
		}
		sum += int64(len(data))
	}
	if total != sum {
		t.Errorf("total %d, files hold %d", total, sum)
	}
	if _, _, _, err := fetchBodies(context.Background(), srv.URL, "tok", root, []string{"192.0.2.1", "192.0.2.66"}); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("a 500 gives %v", err)
	}
	if _, _, _, err := fetchBodies(context.Background(), srv.URL, "tok", root, []string{"192.0.2.99"}); err == nil {
		t.Error("no host answering gives no error")
	}
}

func TestRandomRow(t *testing.T) {
	p := wrkResult{rps: 9000, p50: 5 * time.Millisecond, p99: 30 * time.Millisecond}
	n := wrkResult{rps: 30000, p50: time.Millisecond, p99: 10 * time.Millisecond}
	got := randomRow(350000, 350000*1536, 64, p, n)
	want := []string{"hosts/{id}/ports, random of 350,000 hosts (1.5 KiB on average)", "64", "9,000", "30,000", "0.30×",
		"5.00 ms", "1.00 ms", "5.00×", "30.0 ms", "10.0 ms", "3.00×"}
	if !slices.Equal(got, want) {
		t.Errorf("randomRow = %q\nwant %q", got, want)
	}
}

func TestBenchNewFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--random-hostports", "x"},
		{"serve", "--random-hostports", "1m,2m"},
		{"serve", "--random-sample", "-1"},
		{"ingest", "--nmap-hosts", "-1"},
		{"ingest", "--nmap-ports", "0"},
		{"ingest", "--nmap-ports", "1001"},
	} {
		if _, _, err := run(t, nil, args...); cli.ExitCode(err) != 2 {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}
