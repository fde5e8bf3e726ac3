// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"portolan/internal/cli"
)

// The bundled nmap captures hold 127.0.0.1 with OpenSSH on 18022, a closed
// Python server on 18080, nginx 1.22.1 on 18081 and 18444, and
// certificates on 18443 and 18444 (nmap_records.golden.json).

func TestSearchCommandOnTheDataDirectory(t *testing.T) {
	data, _ := e2eIngestedDataDir(t)
	env := map[string]string{"PORTOLAN_DATA": data}

	out, _, err := run(t, env, "search", "services/any(s: s/component/name eq 'NGINX' and s/component/version ge '1.22')", "--orderby", "port desc", "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var ports []int
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var hp struct {
			Port     int `json:"port"`
			Services []struct {
				Component struct{ Name string } `json:"component"`
			} `json:"services"`
		}
		if err := json.Unmarshal([]byte(line), &hp); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		ports = append(ports, hp.Port)
	}
	if got := jsonOf(ports); got != "[18444,18081]" {
		t.Errorf("nginx ports, port desc: %v", ports)
	}

	out, _, err = run(t, env, "search", "--output", "csv", "--select", "port,status", "mostRecentSslCertificate ne null")
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(records) < 2 || strings.Join(records[0], ",") != "port,status" {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	for _, r := range records[1:] {
		if !strings.HasSuffix(r[0], "/tcp") || r[1] == "" {
			t.Errorf("csv row %v", r)
		}
	}

	out, _, err = run(t, env, "search", "--count", "mostRecentSslCertificate ne null")
	if err != nil || strings.TrimSpace(out) != jsonOf(len(records)-1) {
		t.Errorf("--count printed %q (%v), want %d", out, err, len(records)-1)
	}

	out, _, err = run(t, env, "search", "--output", "table", "port eq 18444")
	if err != nil || !strings.HasPrefix(out, "HOST ") || !strings.Contains(out, "18444/tcp") || !strings.Contains(out, "nginx 1.22.1") || !strings.Contains(out, "2027-11-27T11:53:22Z") {
		t.Errorf("table:\n%s (%v)", out, err)
	}

	out, _, err = run(t, env, "search", "--collection", "sslCertificates", "--output", "csv", "expirationDateTime lt 2028-01-01T00:00:00Z", "--orderby", "expirationDateTime")
	if err != nil || !strings.HasPrefix(out, "sha1,subject,issuer,expirationDateTime,lastSeenDateTime\n") || !strings.Contains(out, ",2027-11-27T11:53:22Z,") {
		t.Errorf("certificates expiring before 2028:\n%s (%v)", out, err)
	}
	out, _, err = run(t, env, "search", "--collection", "sslCertificates", "--count", "expirationDateTime lt 2027-01-01T00:00:00Z")
	if err != nil || strings.TrimSpace(out) != "0" {
		t.Errorf("certificates expiring before 2027: %q (%v)", out, err)
	}
	out, _, err = run(t, env, "search", "--count", "mostRecentSslCertificate/expirationDateTime lt 2028-01-01T00:00:00Z")
	if err != nil || strings.TrimSpace(out) != "2" {
		t.Errorf("ports whose certificate expires before 2028: %q (%v), want 2 (18443 and 18444)", out, err)
	}

	// A bad filter is the API's message and exit status 1; a misuse is 2.
	_, _, err = run(t, env, "search", "port eq")
	if err == nil || !strings.Contains(err.Error(), "Invalid filter clause: expected a property or a value but found the end of the filter at position 7.") || cli.ExitCode(err) != 1 {
		t.Errorf("bad filter: %v", err)
	}
	_, _, err = run(t, env, "search", "port", "eq", "80")
	if !errors.Is(err, cli.ErrUsage) {
		t.Errorf("unquoted filter: %v", err)
	}
}

func TestSearchCommandAgainstAServer(t *testing.T) {
	data, token := e2eIngestedDataDir(t)
	s := e2eStartServe(t, nil, "--data", data, "--addr", "127.0.0.1:0")
	s.waitHealthy(t, &http.Client{Timeout: 10 * time.Second})

	out, _, err := run(t, map[string]string{"PORTOLAN_TOKEN": token}, "search", "--server", s.URL, "--page-size", "1", "--output", "json", "port lt 18100")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "\n"); n != 3 { // 18022, 18080, 18081: one page each
		t.Errorf("%d items over pages of one, want 3:\n%s", n, out)
	}
	_, _, err = run(t, nil, "search", "--server", s.URL, "port lt 18100")
	if err == nil || !strings.Contains(err.Error(), "PORTOLAN_TOKEN") {
		t.Errorf("without a token: %v", err)
	}
}

func jsonOf(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}
