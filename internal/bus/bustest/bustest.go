// SPDX-License-Identifier: Apache-2.0

// Package bustest runs an embedded NATS server with JetStream for tests, so
// that the bus is tested against the real engine with nothing installed.
// Only tests import it: the portolan binary does not embed a NATS server.
package bustest

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is an embedded NATS server that can be stopped and started again
// on the same port and storage directory, as a restart in production.
type Server struct {
	t    testing.TB
	opts server.Options
	srv  *server.Server
	// URL is the client URL, stable across restarts.
	URL string
}

// Start starts a NATS server with JetStream, its storage in a temporary
// directory of t, on a free loopback port. It is shut down when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, opts: server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoLog:     true,
		NoSigs:    true,
		// Small enough for CI machines, large enough for the tests.
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  1 << 30,
	}}
	s.start()
	s.URL = s.srv.ClientURL()
	// Later starts keep the port, so clients reconnect to the same URL.
	s.opts.Port = s.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	srv, err := server.NewServer(&s.opts)
	if err != nil {
		s.t.Fatalf("nats server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		s.t.Fatalf("nats server not ready within 10s")
	}
	s.srv = srv
}

// Stop shuts the server down (idempotent).
func (s *Server) Stop() {
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

// Resume starts a stopped server again on its port, with its storage: an
// outage of any length is Stop, then Resume.
func (s *Server) Resume() {
	s.t.Helper()
	if s.srv == nil {
		s.start()
	}
}

// Restart stops the server and starts it again with its storage: what was
// acknowledged survives.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// UniqueNames returns a stream name and subject prefix no other test uses.
func UniqueNames() (stream, prefix string) {
	var b [6]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	return "PORTOLAN_TEST_" + strings.ToUpper(id), "portolan.test." + id
}
