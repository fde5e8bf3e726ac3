// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"portolan/internal/bus/bustest"
)

// cutProxy forwards connections on 127.0.0.1 to target. Cut makes the
// target unreachable as a network failure would: every connection it
// carries is closed, and new ones are closed as soon as accepted, until
// Mend.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.Cut() })
	return p
}

func (p *cutProxy) Addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			c.Close()
			continue
		}
		go p.pipe(c)
	}
}

func (p *cutProxy) pipe(c net.Conn) {
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		u.Close()
		return
	}
	p.conns[c], p.conns[u] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(u, c); done <- struct{}{} }()
	go func() { io.Copy(c, u); done <- struct{}{} }()
	<-done
	c.Close()
	u.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

// Cut closes every connection and refuses new ones.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Mend lets connections through again.
func (p *cutProxy) Mend() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

// readyz returns the status of GET /readyz and, for a failure, the code of
// its Graph error envelope.
func readyz(t *testing.T, client *http.Client, s *e2eServer) (int, string) {
	t.Helper()
	resp, err := client.Get(s.URL + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, ""
	}
	var env struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("/readyz answered %s, not Graph's error envelope: %q", resp.Status, b)
	}
	return resp.StatusCode, env.Error.Code
}

// waitReadyz polls /readyz until it answers want, and fails after timeout.
func waitReadyz(t *testing.T, client *http.Client, s *e2eServer, want int, timeout time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		status, code := readyz(t, client, s)
		if status == want {
			if want != http.StatusOK && code != "serviceNotAvailable" {
				t.Errorf("%s: /readyz answered %d with code %q, want serviceNotAvailable", what, status, code)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: /readyz still answers %d (%s) after %s, want %d", what, status, code, timeout, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// healthz asserts that the process answers alive whatever its dependencies.
func healthz(t *testing.T, client *http.Client, s *e2eServer, what string) {
	t.Helper()
	resp, err := client.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatalf("%s: GET /healthz: %v", what, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s: /healthz answered %s, want 200: the process is alive", what, resp.Status)
	}
}

// TestReadyzFollowsTheDatabase runs serve on PostgreSQL through a proxy that
// the test cuts: /readyz answers 200, then 503 serviceNotAvailable while
// the database is unreachable, then 200 again once it is back, without a
// restart; /healthz answers 200 throughout.
func TestReadyzFollowsTheDatabase(t *testing.T) {
	base := os.Getenv("PORTOLAN_TEST_POSTGRES")
	if base == "" {
		t.Skip("set PORTOLAN_TEST_POSTGRES (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the readiness test on PostgreSQL")
	}
	u, err := url.Parse(pgSchema(t, base, "ready"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := startCutProxy(t, u.Host)
	u.Host = proxy.Addr()
	s := e2eStartServe(t, nil, "--store", u.String(), "--data", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0")
	client := &http.Client{Timeout: 10 * time.Second}
	s.waitHealthy(t, client)
	waitReadyz(t, client, s, http.StatusOK, 5*time.Second, "before the cut")

	proxy.Cut()
	// A probe's check is bounded by 2 s (httpapi.readyTimeout).
	waitReadyz(t, client, s, http.StatusServiceUnavailable, 5*time.Second, "database cut off")
	healthz(t, client, s, "database cut off")

	proxy.Mend()
	waitReadyz(t, client, s, http.StatusOK, 10*time.Second, "database back")
	healthz(t, client, s, "database back")
}

// TestReadyzFollowsTheBus runs serve --bus against an embedded NATS server
// that the test stops: /readyz answers 200, 503 serviceNotAvailable while
// NATS is down, and 200 again once it runs again (the client reconnects by
// itself); /healthz answers 200 throughout.
func TestReadyzFollowsTheBus(t *testing.T) {
	nats := bustest.Start(t)
	stream, prefix := bustest.UniqueNames()
	s := e2eStartServe(t, nil, "--data", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0",
		"--bus", nats.URL, "--bus-stream", stream, "--bus-subject", prefix, "--bus-partitions", "2")
	client := &http.Client{Timeout: 10 * time.Second}
	s.waitHealthy(t, client)
	waitReadyz(t, client, s, http.StatusOK, 5*time.Second, "before the outage")

	nats.Stop()
	waitReadyz(t, client, s, http.StatusServiceUnavailable, 5*time.Second, "NATS down")
	healthz(t, client, s, "NATS down")

	nats.Resume()
	waitReadyz(t, client, s, http.StatusOK, 10*time.Second, "NATS back")
	healthz(t, client, s, "NATS back")
}
