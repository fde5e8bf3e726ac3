// SPDX-License-Identifier: Apache-2.0

package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServeMetrics runs the real binary with --metrics-addr: requests,
// refused tokens, cache lookups and the store's size show on /metrics of
// the separate listener, which the API listener does not serve.
func TestServeMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	dir, token := e2eIngestedDataDir(t)
	s := e2eStartServe(t, nil, "--data", dir, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	client := &http.Client{Timeout: 10 * time.Second}
	s.waitHealthy(t, client)
	metricsURL := ""
	deadline := time.Now().Add(5 * time.Second)
	for metricsURL == "" && time.Now().Before(deadline) {
		if m := regexp.MustCompile(`msg=metrics url=(\S+)`).FindStringSubmatch(s.stderr.String()); m != nil {
			metricsURL = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if metricsURL == "" {
		t.Fatalf("serve logged no metrics url:\n%s", s.stderr.String())
	}
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
	resp, err := client.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	value := func(series string) float64 {
		t.Helper()
		for _, line := range strings.Split(text, "\n") {
			if name, v, ok := strings.Cut(line, " "); ok && name == series {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				return f
			}
		}
		t.Errorf("no series %s in /metrics", series)
		return -1
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
	if !strings.Contains(text, "go_goroutines") || !strings.Contains(text, "process_resident_memory_bytes") {
		t.Error("no runtime or process metrics")
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
