// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"portolan"
	"portolan/internal/gen"
)

// The random-host workload: hosts/{id}/ports of a host drawn at random for
// every request, from a store of --random-hostports, with Cache-Control:
// no-cache so that every request reads the store, as a client walking an
// estate does. The baseline is nginx serving one file per host holding that
// host's response body, requested by the same wrk script.

// hostsPrefix is the path of a host under the API.
const hostsPrefix = "/beta/security/threatIntelligence/hosts/"

// randomScript is the wrk script of the random-host workload. init reads
// the host list (one address per line, args[1]) and requests
// args[2] .. host .. args[3]. Every thread draws from a seed of its own,
// the same in every run, so that Portolan and nginx get the same sequence
// of hosts.
const randomScript = `-- A random host per request; written by portolan-bench.
local hosts, prefix, suffix = {}, "", ""
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then
      hosts[#hosts + 1] = line
    end
  end
  prefix = args[2] or ""
  suffix = args[3] or ""
  math.randomseed(7919 * (seed or 1))
end

function request()
  return wrk.format(nil, prefix .. hosts[math.random(#hosts)] .. suffix)
end
`

// writeHostList writes the addresses of hosts, one a line, for
// randomScript.
func writeHostList(file string, hosts []string) error {
	var b strings.Builder
	for _, h := range hosts {
		b.WriteString(h)
		b.WriteByte('\n')
	}
	return os.WriteFile(file, []byte(b.String()), 0o644)
}

// sampleHosts returns n of hosts spread evenly over the list (all of them
// when n is 0 or not smaller): hosts are in the generator's order, which is
// no order of address, so an even spread is a fair sample.
func sampleHosts(hosts []string, n int) []string {
	if n <= 0 || n >= len(hosts) {
		return hosts
	}
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, hosts[i*len(hosts)/n])
	}
	return out
}

// generateHosts writes the one-scan world of cfg to file in native NDJSON
// and returns the addresses of the hosts with a port open, which have a
// host record in the store.
func (b *bench) generateHosts(ctx context.Context, file string, cfg gen.Config) ([]string, error) {
	start := time.Now()
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	out, err := gen.NewWriter(f, gen.FormatNative, cfg)
	if err != nil {
		f.Close()
		return nil, err
	}
	var hosts []string
	g := gen.New(cfg)
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			f.Close()
			return nil, ctx.Err()
		}
		hs := g.NextScan()
		if hs == nil {
			break
		}
		if slices.ContainsFunc(hs.Ports, func(p gen.PortScan) bool { return p.Observation.Status == portolan.StatusOpen }) {
			hosts = append(hosts, hs.Addr)
		}
		if err := out.WriteScan(hs); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := out.Close(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	st := out.Stats()
	b.logf("generated %s: %s observations, %s hosts with a port open, %s in %s", filepath.Base(file),
		formatCount(st.Observations), formatCount(len(hosts)), formatBytes(st.Bytes), time.Since(start).Round(time.Millisecond))
	return hosts, nil
}

// fetchBodies GETs hosts/{id}/ports of every host from srv with
// Cache-Control: no-cache, a few at a time, and writes each body to
// root/{address}. It returns the hosts that answered 200, in order, the
// bodies' total size and their Content-Type.
func fetchBodies(ctx context.Context, srv, token, root string, hosts []string) (ok []string, total int64, contentType string, err error) {
	const workers = 4
	got := make([]bool, len(hosts))
	sizes := make([]int64, len(hosts))
	types := make([]string, len(hosts))
	errs := make([]error, workers)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(hosts); i += workers {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv+hostsPrefix+hosts[i]+"/ports", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Cache-Control", "no-cache")
				resp, err := client.Do(req)
				if err != nil {
					errs[w] = err
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					errs[w] = err
					return
				}
				switch resp.StatusCode {
				case http.StatusOK:
				case http.StatusNotFound:
					continue // a host whose only port closed before the scan
				default:
					errs[w] = fmt.Errorf("bench: GET hosts/%s/ports: %s: %.200s", hosts[i], resp.Status, body)
					return
				}
				if err := os.WriteFile(filepath.Join(root, hosts[i]), body, 0o644); err != nil {
					errs[w] = err
					return
				}
				got[i], sizes[i], types[i] = true, int64(len(body)), resp.Header.Get("Content-Type")
			}
		})
	}
	wg.Wait()
	client.CloseIdleConnections()
	for _, err := range errs {
		if err != nil {
			return nil, 0, "", err
		}
	}
	for i, h := range hosts {
		if got[i] {
			ok = append(ok, h)
			total += sizes[i]
			contentType = types[i]
		}
	}
	if len(ok) == 0 {
		return nil, 0, "", fmt.Errorf("bench: no host of the store answered hosts/{id}/ports")
	}
	return ok, total, contentType, nil
}

// randomTable builds a store of --random-hostports, serves it, and
// measures hosts/{id}/ports of a random host per request on Portolan (from
// the store) and on nginx (one file per host), at the most connections of
// --conns.
func (b *bench) randomTable(ctx context.Context) (*table, error) {
	target := b.o.randomHostPorts
	file := filepath.Join(b.dir, "random.ndjson")
	data := filepath.Join(b.dir, "random-data")
	start := time.Now()
	hosts, err := b.generateHosts(ctx, file, gen.Config{Seed: b.o.seed, Hosts: gen.HostsFor(target), Rescans: 1})
	if err != nil {
		return nil, err
	}
	b.logf("ingesting a store of about %s hostPorts", formatCount(target))
	loaded, err := b.ingestFile(ctx, file, "--store=", "--data", data, "--cache-mb", b.fixtureCacheMB())
	if err != nil {
		return nil, err
	}
	os.Remove(file)
	built := time.Since(start)
	defer os.RemoveAll(data)
	b.settle()
	srv, token, err := b.serveData(ctx, data)
	if err != nil {
		return nil, err
	}
	sample := sampleHosts(hosts, b.o.randomSample)
	root := filepath.Join(b.dir, "nginx-hosts")
	hostDir := filepath.Join(root, "h")
	if err := os.MkdirAll(hostDir, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	b.logf("fetching hosts/{id}/ports of %s hosts for nginx's files", formatCount(len(sample)))
	sample, total, contentType, err := fetchBodies(ctx, srv, token, hostDir, sample)
	if err != nil {
		return nil, err
	}
	list := filepath.Join(b.dir, "random-hosts.txt")
	script := filepath.Join(b.dir, "random.lua")
	if err := writeHostList(list, sample); err != nil {
		return nil, err
	}
	if err := os.WriteFile(script, []byte(randomScript), 0o644); err != nil {
		return nil, err
	}
	nginx, err := b.startNginx(ctx, root, contentType)
	if err != nil {
		return nil, err
	}
	// nginx must serve the bytes Portolan answered.
	if got, _, err := fetch(ctx, nginx+"/h/"+sample[0], token); err != nil {
		return nil, fmt.Errorf("bench: nginx does not serve the host files: %v", err)
	} else if want, _ := os.ReadFile(filepath.Join(hostDir, sample[0])); string(got) != string(want) {
		return nil, fmt.Errorf("bench: nginx serves other bytes than Portolan's for %s", sample[0])
	}

	conns := slices.Max(b.o.conns)
	noCache := []string{"Cache-Control: no-cache"}
	b.logf("random hosts, %d connections", conns)
	// Warm both (heap, page cache, nginx's workers) with the same script.
	if _, err := b.wrkWith(ctx, noCache, srv+"/", conns, time.Second, token, script, list, hostsPrefix, "/ports"); err != nil {
		return nil, err
	}
	if _, err := b.wrkWith(ctx, noCache, nginx+"/", conns, time.Second, token, script, list, "/h/", ""); err != nil {
		return nil, err
	}
	p, err := b.wrkWith(ctx, noCache, srv+"/", conns, b.o.duration, token, script, list, hostsPrefix, "/ports")
	if err != nil {
		return nil, err
	}
	n, err := b.wrkWith(ctx, noCache, nginx+"/", conns, b.o.duration, token, script, list, "/h/", "")
	if err != nil {
		return nil, err
	}
	b.stopAll()
	t := &table{
		title: fmt.Sprintf("Random hosts: hosts/{id}/ports of a host drawn at random per request, read from the store (Cache-Control: no-cache); %s hostPorts of %s hosts; nginx serves one file per host",
			formatCount(loaded.created), formatCount(len(hosts))),
		head: []string{"Request", "Conns", "Portolan req/s", "nginx req/s", "Ratio", "Portolan p50", "nginx p50", "Ratio", "Portolan p99", "nginx p99", "Ratio"},
	}
	t.add(randomRow(len(sample), total, conns, p, n)...)
	hostsNote := fmt.Sprintf("Every one of the store's %s hosts with a port open is drawn from", formatCount(len(hosts)))
	if len(sample) < len(hosts) {
		hostsNote = fmt.Sprintf("A sample of %s of the store's %s hosts (--random-sample, spread evenly over the generator's order) is drawn from", formatCount(len(sample)), formatCount(len(hosts)))
	}
	t.notes = append(t.notes,
		hostsNote+", by both servers: the same wrk Lua script picks a host per request from the same list with the same seeds; nginx has one file per host holding the body Portolan answered for it (fetched once before the runs), under /h/{address}.",
		fmt.Sprintf("The store was generated (one scan per host) and ingested in %s; %s per run after a second of warm-up; Cache-Control: no-cache goes to both, so Portolan reads every response from the store's tables, past its response cache and its cache of pages of ports.", built.Round(100*time.Millisecond), b.o.duration),
		"Ratios are Portolan ÷ nginx; --random-hostports sizes the store (0 skips the table).")
	return t, nil
}

// randomRow is the row of the random-host table for hosts bodies of total
// bytes.
func randomRow(hosts int, total int64, conns int, p, n wrkResult) []string {
	avg := int64(0)
	if hosts > 0 {
		avg = total / int64(hosts)
	}
	return []string{fmt.Sprintf("hosts/{id}/ports, random of %s hosts (%s on average)", formatCount(hosts), formatBytes(avg)), fmt.Sprint(conns),
		formatCount(int(p.rps)), formatCount(int(n.rps)), formatRatio(p.rps, n.rps),
		formatLatency(p.p50), formatLatency(n.p50), formatRatio(float64(p.p50), float64(n.p50)),
		formatLatency(p.p99), formatLatency(n.p99), formatRatio(float64(p.p99), float64(n.p99))}
}
