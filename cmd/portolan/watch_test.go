// SPDX-License-Identifier: Apache-2.0

package main

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"portolan/internal/storetest"
)

// writeNDJSON writes native observations to a file and returns its path.
func writeNDJSON(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWatchCommand(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PORTOLAN_DATA": filepath.Join(dir, "data")}
	state := filepath.Join(dir, "watch.json")
	certs := storetest.TestCertificates()
	cert := func(i int) string { return base64.StdEncoding.EncodeToString(certs[i]) }
	obs := func(port int, status, at, extra string) string {
		return fmt.Sprintf(`{"host":"10.0.0.1","port":%d,"status":%q,"scannedAt":%q,"source":"nmap"%s}`, port, status, at, extra)
	}
	day1, day2 := "2026-11-01T12:00:00Z", "2026-11-02T12:00:00Z"
	nginx := func(v string) string {
		return `,"components":[{"name":"nginx","version":"` + v + `","category":"Server"}]`
	}
	first := writeNDJSON(t, dir, "day1.ndjson",
		obs(22, "open", day1, `,"scanProtocol":"ssh","banner":"SSH-2.0-OpenSSH_9.2p1"`),
		obs(80, "open", day1, nginx("1.22.1")),
		obs(443, "open", day1, `,"certificate":"`+cert(0)+`"`))
	if _, stderr, err := run(t, env, "ingest", first); err != nil {
		t.Fatalf("ingest: %v\n%s", err, stderr)
	}
	out, stderr, err := run(t, env, "watch", "--state", state)
	if err != nil || out != "" || !strings.Contains(stderr, "recorded 3 ports") {
		t.Fatalf("first watch: %v\nstdout %q\nstderr %q", err, out, stderr)
	}

	second := writeNDJSON(t, dir, "day2.ndjson",
		obs(22, "closed", day2, ""),
		obs(80, "open", day2, nginx("1.24.0")),
		obs(443, "open", day2, `,"certificate":"`+cert(1)+`"`),
		obs(8080, "open", day2, `,"scanProtocol":"http","banner":"HTTP/1.1 200 OK\r\nServer: test"`))
	if _, stderr, err := run(t, env, "ingest", second); err != nil {
		t.Fatalf("ingest: %v\n%s", err, stderr)
	}
	out, stderr, err = run(t, env, "watch", "--state", state)
	if err != nil {
		t.Fatalf("watch: %v\n%s", err, stderr)
	}
	sha := func(i int) string {
		id := certID(t, certs[i])
		return id[:4] + "…"
	}
	want := []string{
		"2026-11-02T12:00:00Z  10.0.0.1:22/tcp  closed",
		"2026-11-02T12:00:00Z  10.0.0.1:80/tcp  nginx 1.22.1 -> 1.24.0",
		"2026-11-02T12:00:00Z  10.0.0.1:443/tcp  certificate " + sha(0) + " -> " + sha(1),
		"2026-11-02T12:00:00Z  10.0.0.1:8080/tcp  opened",
		"2026-11-02T12:00:00Z  10.0.0.1:8080/tcp  new banner http HTTP/1.1 200 OK",
	}
	for _, w := range want {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("watch did not print %q; it printed:\n%s", w, out)
		}
	}
	if n := strings.Count(out, "\n"); n != len(want) {
		t.Errorf("watch printed %d lines, want %d:\n%s", n, len(want), out)
	}

	// Every change once: the next run has nothing to say.
	if out, _, err := run(t, env, "watch", "--state", state); err != nil || out != "" {
		t.Fatalf("a second watch: %v\n%s", err, out)
	}

	// JSON lines, and a filter kept with its own state.
	third := writeNDJSON(t, dir, "day3.ndjson", obs(22, "open", "2026-11-03T12:00:00Z", ""))
	if _, stderr, err := run(t, env, "ingest", third); err != nil {
		t.Fatalf("ingest: %v\n%s", err, stderr)
	}
	out, _, err = run(t, env, "watch", "--state", state, "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var c change
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &c); err != nil || c.Change != "opened" || c.Endpoint != "10.0.0.1:22/tcp" || c.From != "closed" {
		t.Fatalf("json: %v %+v\n%s", err, c, out)
	}
	if _, _, err := run(t, env, "watch", "--state", state, "--filter", "port eq 22"); err == nil {
		t.Fatal("a state file followed another filter")
	}
}

// certID is the hex SHA-1 of a certificate, as its id encodes it.
func certID(t *testing.T, der []byte) string {
	t.Helper()
	return fmt.Sprintf("%x", sha1Sum(der))
}

func sha1Sum(b []byte) [20]byte { return sha1.Sum(b) }
