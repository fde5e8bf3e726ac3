// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"portolan/internal/cli"
	"portolan/internal/importapi"
)

var e2eSummaryLine = regexp.MustCompile(`(?m)^ingested: .*$`)

// e2ePost POSTs body to u with the bearer token and returns the status and
// the decoded JSON answer.
func e2ePost(t *testing.T, u, token string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	var v map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("POST %s: %s, not JSON: %q", u, resp.Status, b)
	}
	return resp.StatusCode, v
}

// TestRemoteIngestOverHTTP runs the real binary: `ingest --server` sends the
// nmap captures to serve's import endpoint and prints the summary a local
// ingest of the same files prints; a read token gets 403, a body of no
// known format 400 with the list of formats, a body over
// --max-import-bytes 413, each in Graph's error envelope.
func TestRemoteIngestOverHTTP(t *testing.T) {
	files, err := filepath.Glob(samples + "nmap_*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no nmap captures: %v", err)
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	const limit = 64 << 10
	s := e2eStartServe(t, nil, "--data", dir, "--addr", "127.0.0.1:0", "--max-import-bytes", fmt.Sprint(limit))
	s.waitHealthy(t, &http.Client{Timeout: 10 * time.Second})
	ingestToken := strings.TrimSpace(e2eRunBinary(t, "token", "--data", dir, "--roles", "Portolan.Ingest"))
	readToken := strings.TrimSpace(e2eRunBinary(t, "token", "--data", dir))
	tokenFile := filepath.Join(tmp, "ingest.token")
	if err := os.WriteFile(tokenFile, []byte(ingestToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	remote := e2eRunBinary(t, append([]string{"ingest", "--server", s.URL, "--token-file", tokenFile, "--no-progress"}, files...)...)
	local := e2eRunBinary(t, append([]string{"ingest", "--data", filepath.Join(tmp, "local"), "--no-progress"}, files...)...)
	if got, want := e2eSummaryLine.FindString(remote), e2eSummaryLine.FindString(local); got == "" || got != want {
		t.Errorf("remote ingest summary %q, local %q\nremote output:\n%s", got, want, remote)
	}
	for _, f := range files {
		if !strings.Contains(remote, f+": read as nmap, ") {
			t.Errorf("remote ingest printed no line for %s:\n%s", f, remote)
		}
	}
	// The records are the server's now.
	var ports struct {
		Value []json.RawMessage `json:"value"`
	}
	e2eGetJSON(t, http.DefaultClient, s.URL+"/beta/security/threatIntelligence/hosts/127.0.0.1/ports", readToken, &ports)
	if len(ports.Value) == 0 {
		t.Errorf("no ports of 127.0.0.1 after the remote ingest")
	}
	// Again: every observation a duplicate.
	again := e2eRunBinary(t, append([]string{"ingest", "--server", s.URL, "--token-file", tokenFile, "--no-progress"}, files...)...)
	if !strings.Contains(again, " 0 records created, 0 updated,") {
		t.Errorf("re-import changed records: %s", again)
	}

	imports := s.URL + "/portolan/v1/imports"
	body, _ := os.ReadFile(files[0])
	if status, v := e2ePost(t, imports, readToken, bytes.NewReader(body)); status != http.StatusForbidden || errorCode(v) != "Authorization_RequestDenied" {
		t.Errorf("read token: %d %v, want 403 Authorization_RequestDenied", status, v)
	}
	if status, v := e2ePost(t, imports, "", bytes.NewReader(body)); status != http.StatusUnauthorized {
		t.Errorf("no token: %d %v, want 401", status, v)
	}
	status, v := e2ePost(t, imports, ingestToken, strings.NewReader("these are notes, not a scan\n"))
	if msg := errorMessage(v); status != http.StatusBadRequest || !strings.Contains(msg, "nmap") || !strings.Contains(msg, "masscan") || !strings.Contains(msg, "zgrab2") {
		t.Errorf("unknown format: %d %v, want 400 listing the formats", status, v)
	}
	if status, v := e2ePost(t, imports+"?format=pcap", ingestToken, bytes.NewReader(body)); status != http.StatusBadRequest || !strings.Contains(errorMessage(v), "native") {
		t.Errorf("?format=pcap: %d %v, want 400 listing the formats", status, v)
	}
	big := bytes.Repeat([]byte("x"), limit+1)
	if status, v := e2ePost(t, imports, ingestToken, bytes.NewReader(big)); status != http.StatusRequestEntityTooLarge || errorCode(v) != "RequestEntityTooLarge" {
		t.Errorf("body over the limit: %d %v, want 413", status, v)
	}
	// Chunked, so the size is not announced: the limit still holds in the
	// middle of a valid file.
	var lines bytes.Buffer
	for i := 0; lines.Len() <= limit; i++ {
		fmt.Fprintf(&lines, "{\"host\":\"198.51.100.%d\",\"port\":%d,\"status\":\"open\",\"scannedAt\":\"2026-12-01T00:00:00Z\",\"source\":\"t\"}\n", i%250+1, i%60000+1)
	}
	if status, v := e2ePost(t, imports, ingestToken, io.MultiReader(&lines)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over the limit: %d %v, want 413", status, v)
	}
	// The rejections come back with their positions.
	bad := "{\"host\":\"192.0.2.1\",\"port\":22,\"status\":\"open\",\"scannedAt\":\"2026-12-01T00:00:00Z\",\"source\":\"t\"}\n{\"host\":\"192.0.2.1\",\"port\":99999,\"status\":\"open\",\"scannedAt\":\"2026-12-01T00:00:00Z\",\"source\":\"t\"}\n"
	status, v = e2ePost(t, imports+"?format=native", ingestToken, strings.NewReader(bad))
	if rj, _ := v["rejections"].([]any); status != http.StatusOK || v["observations"] != 1.0 || v["rejected"] != 1.0 || len(rj) != 1 || rj[0].(map[string]any)["line"] != 2.0 {
		t.Errorf("a rejected line: %d %v", status, v)
	}
	// The ready check sees the store.
	resp, err := http.Get(s.URL + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %v %v", resp, err)
	}
	// ingest --server with a read token stops at the first file, exit 1.
	cmd := exec.Command(binary(t), "ingest", "--server", s.URL, "--token", readToken, "--no-progress", files[0])
	cmd.Env = e2eEnv()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "403") {
		t.Errorf("ingest --server with a read token: %v\n%s", err, out)
	}
}

func errorCode(v map[string]any) string {
	e, _ := v["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func errorMessage(v map[string]any) string {
	e, _ := v["error"].(map[string]any)
	c, _ := e["message"].(string)
	return c
}

// TestRemoteIngestDrawsBytesAndRate runs `ingest --server` as on a terminal
// against an import endpoint that reads slowly: the bar names the file and
// shows the bytes sent, of how many, and their rate; the per-file line and
// the summary carry the observations the server answered. With
// --no-progress nothing is drawn.
func TestRemoteIngestDrawsBytesAndRate(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "scan.ndjson")
	writeGenerated(t, input, 1000)
	fi, err := os.Stat(input)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != importapi.Path || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		// Slow enough that the bar draws while the file streams.
		buf := make([]byte, 64<<10)
		for {
			time.Sleep(5 * time.Millisecond)
			if _, err := r.Body.Read(buf); err != nil {
				break
			}
		}
		json.NewEncoder(w).Encode(importapi.Summary{Name: r.URL.Query().Get("name"), Format: "native", Observations: 4321, Created: 4000, Updated: 321, Rejections: []importapi.Rejection{}})
	}))
	defer srv.Close()
	for _, c := range []struct {
		args []string
		bar  bool
	}{{nil, true}, {[]string{"--no-progress"}, false}} {
		var out, errOut bytes.Buffer
		env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }, Interactive: true}
		args := append(append([]string{"ingest", "--server", srv.URL, "--token", "tok"}, c.args...), input)
		if err := program.Run(context.Background(), env, args); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut.String())
		}
		// The bar draws on the first read, so once at least.
		whole := humanBytes(float64(fi.Size()))
		drawing := regexp.MustCompile(regexp.QuoteMeta(input+": sent ") + `[0-9.]+ (B|kB|MB) of ` + regexp.QuoteMeta(whole) + ` \([0-9.]+ (B|kB|MB|GB)/s\)`)
		if drawn := drawing.MatchString(errOut.String()); drawn != c.bar {
			t.Errorf("%v: bar of the bytes sent, of %s, and their rate drawn %v, want %v; stderr:\n%q", c.args, whole, drawn, c.bar, errOut.String())
		}
		if !strings.Contains(out.String(), "4321 observations") {
			t.Errorf("%v: the server's observations are not in the output:\n%s", c.args, out.String())
		}
	}
}
