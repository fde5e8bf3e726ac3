// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"portolan/internal/bus/bustest"
)

// metricsURL waits for the URL a command logs for --metrics-addr.
func metricsURL(t *testing.T, output func() string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := regexp.MustCompile(`msg=metrics url=(\S+)`).FindStringSubmatch(output()); m != nil {
			return m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("logged no metrics url:\n%s", output())
	return ""
}

// scrapeMetrics reads /metrics at u and returns the value of each series,
// keyed by name and labels as the text format writes them.
func scrapeMetrics(t *testing.T, u string) map[string]float64 {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	series := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if name, v, ok := strings.Cut(line, " "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			series[name] = f
		}
	}
	return series
}

// TestServeMetrics runs the real binary with --metrics-addr: requests,
// refused tokens, cache lookups, imports through the import endpoint and
// the store's size show on /metrics of the separate listener, which the API
// listener does not serve.
func TestServeMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	dir, token := e2eIngestedDataDir(t)
	s := e2eStartServe(t, nil, "--data", dir, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	client := &http.Client{Timeout: 10 * time.Second}
	s.waitHealthy(t, client)
	metrics := metricsURL(t, s.stderr.String)
	ports := s.URL + "/beta/security/threatIntelligence/hosts/127.0.0.1/ports"
	for range 3 {
		if resp := e2eGetJSON(t, client, ports, token, nil); resp.StatusCode != 200 {
			t.Fatalf("ports: %d", resp.StatusCode)
		}
	}
	if resp := e2eGetJSON(t, client, ports, "", nil); resp.StatusCode != 401 {
		t.Fatalf("without a token: %d", resp.StatusCode)
	}
	if resp := e2eGetJSON(t, client, s.URL+"/metrics", token, nil); resp.StatusCode != 404 {
		t.Errorf("the API listener answers /metrics: %d", resp.StatusCode)
	}
	// Imports: one of nmap with 5 observations (duplicates, as the data
	// directory holds them), one of native with a rejected line, one of no
	// known format.
	ingestToken := strings.TrimSpace(e2eRunBinary(t, "token", "--data", dir, "--roles", "Portolan.Ingest"))
	imports := s.URL + "/portolan/v1/imports"
	nmap, _ := os.ReadFile(samples + "nmap_sV_scripts_5ports.xml")
	if status, v := e2ePost(t, imports, ingestToken, bytes.NewReader(nmap)); status != 200 || v["observations"] != 5.0 {
		t.Fatalf("nmap import: %d %v", status, v)
	}
	native := `{"host":"192.0.2.1","port":22,"status":"open","scannedAt":"2026-12-01T00:00:00Z","source":"t"}` + "\n" +
		`{"host":"192.0.2.1","port":99999,"status":"open","scannedAt":"2026-12-01T00:00:00Z","source":"t"}` + "\n"
	if status, v := e2ePost(t, imports, ingestToken, strings.NewReader(native)); status != 200 || v["rejected"] != 1.0 {
		t.Fatalf("native import: %d %v", status, v)
	}
	if status, _ := e2ePost(t, imports, ingestToken, strings.NewReader("these are notes, not a scan\n")); status != 400 {
		t.Fatalf("unknown format: %d", status)
	}
	series := scrapeMetrics(t, metrics)
	value := func(name string) float64 {
		t.Helper()
		v, ok := series[name]
		if !ok {
			t.Errorf("no series %s in /metrics", name)
			return -1
		}
		return v
	}
	if n := value(`portolan_http_request_duration_seconds_count{code="200",route="hosts/{id}/ports"}`); n != 3 {
		t.Errorf("ports requests counted %v, want 3", n)
	}
	if n := value(`portolan_tokens_refused_total{reason="missing"}`); n != 1 {
		t.Errorf("missing tokens %v, want 1", n)
	}
	if hits, misses := value(`portolan_response_cache_lookups_total{result="hit"}`), value(`portolan_response_cache_lookups_total{result="miss"}`); hits != 2 || misses != 1 {
		t.Errorf("cache hits %v misses %v, want 2 and 1", hits, misses)
	}
	if n := value(`portolan_store_bytes`); n < 4096 {
		t.Errorf("store bytes %v", n)
	}
	for name, want := range map[string]float64{
		`portolan_import_observations_total{format="nmap"}`:                            5,
		`portolan_import_rejected_total{format="nmap"}`:                                0,
		`portolan_import_duration_seconds_count{format="nmap",result="ok"}`:            1,
		`portolan_import_observations_total{format="native"}`:                          1,
		`portolan_import_rejected_total{format="native"}`:                              1,
		`portolan_import_duration_seconds_count{format="native",result="ok"}`:          1,
		`portolan_import_duration_seconds_count{format="unknown",result="failed"}`:     1,
		`portolan_import_duration_seconds_bucket{format="nmap",result="ok",le="+Inf"}`: 1,
	} {
		if got := value(name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if _, ok := series["go_goroutines"]; !ok {
		t.Error("no runtime metrics")
	}
	if _, ok := series["process_resident_memory_bytes"]; !ok {
		t.Error("no process metrics")
	}
	s.stop(t)
}

// TestIngestMetricsFile: ingest --metrics-file writes the run's counts in
// the text format node_exporter's textfile collector reads.
func TestIngestMetricsFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "portolan.prom")
	if _, _, err := run(t, nil, "ingest", "--no-progress", "--data", filepath.Join(dir, "data"), "--metrics-file", file, samples+"nmap_sV_scripts_5ports.xml"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"portolan_ingest_files 1\n", "portolan_ingest_success 1\n", "portolan_ingest_rejected 0\n", "# TYPE portolan_ingest_observations gauge\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics file lacks %q:\n%s", want, b)
		}
	}
	if m := regexp.MustCompile(`portolan_ingest_observations (\d+)`).FindStringSubmatch(string(b)); m == nil || m[1] == "0" {
		t.Errorf("observations: %v", m)
	}
}

// TestWorkerMetrics runs the real worker on an embedded NATS server (as
// internal/bus's tests do) with --metrics-addr: after an ingest --bus, its
// /metrics counts the observations merged, the batches, the refused records
// and each transaction's duration, as its log line does.
func TestWorkerMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	nats := bustest.Start(t)
	stream, prefix := bustest.UniqueNames()
	busArgs := []string{"--bus", nats.URL, "--bus-stream", stream, "--bus-subject", prefix, "--bus-partitions", "4"}
	w := e2eStartProc(t, append([]string{"worker", "--data", filepath.Join(t.TempDir(), "data"), "--metrics-addr", "127.0.0.1:0"}, busArgs...)...)
	waitOutput(t, w, "worker started", 30*time.Second)
	metrics := metricsURL(t, w.out.String)
	if got := scrapeMetrics(t, metrics)["portolan_worker_observations_merged_total"]; got != 0 {
		t.Errorf("before any ingest: %v observations merged", got)
	}
	e2eRunBinary(t, append(append([]string{"ingest", "--no-progress"}, busArgs...), samples+"nmap_sV_scripts_5ports.xml", samples+"nmap_sV_sslcert_18080_18443.xml")...)
	var series map[string]float64
	for deadline := time.Now().Add(30 * time.Second); ; {
		series = scrapeMetrics(t, metrics)
		if series["portolan_worker_observations_merged_total"] >= 7 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for name, want := range map[string]float64{
		"portolan_worker_observations_merged_total": 7,
		"portolan_worker_records_created_total":     5,
		"portolan_worker_refused_total":             0,
	} {
		if got, ok := series[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	// Each file is one publish at least; transactions merge one or more.
	batches, transactions := series["portolan_worker_batches_total"], series["portolan_worker_transaction_duration_seconds_count"]
	if batches < 2 || transactions < 1 || transactions > batches || series[`portolan_worker_transaction_duration_seconds_bucket{le="+Inf"}`] != transactions {
		t.Errorf("%v batches, %v transactions", batches, transactions)
	}
	if _, ok := series["process_resident_memory_bytes"]; !ok {
		t.Error("no process metrics")
	}
}
