// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestListenerErrors sends what net/http refuses before any handler runs
// and checks that the answer is Graph's envelope with a request-id.
func TestListenerErrors(t *testing.T) {
	s := newServer(t, newFixture())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s, MaxHeaderBytes: 4 << 10, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(s.Listener(ln))
	t.Cleanup(func() { srv.Close() })

	cases := []struct {
		name, request string
		status        int
		code, message string
	}{
		{"bad percent-encoding", "GET /beta/security/threatIntelligence/hosts/%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "BadRequest", "not correctly percent-encoded"},
		{"malformed request line", "GARBAGE\r\nHost: x\r\n\r\n", 400, "BadRequest", "The request line is malformed"},
		{"missing Host", "GET /healthz HTTP/1.1\r\n\r\n", 400, "BadRequest", "missing required Host header"},
		{"request line over the limit", "GET /beta/" + strings.Repeat("a", 2<<20) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "RequestUriTooLong", "The request line is too long"},
		{"header fields over the limit", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 2<<20) + "\r\n\r\n", 431, "RequestHeaderFieldsTooLarge", "header fields are too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			go io.WriteString(conn, c.request) // net/http may answer before it has read it all
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var env struct {
				Error struct {
					Code, Message string
					InnerError    map[string]string
				}
			}
			if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
				t.Fatalf("body: %v", err)
			}
			if resp.StatusCode != c.status || env.Error.Code != c.code || !strings.Contains(env.Error.Message, c.message) {
				t.Errorf("%d %+v, want %d %s %q", resp.StatusCode, env.Error, c.status, c.code, c.message)
			}
			if id := resp.Header.Get("request-id"); id == "" || env.Error.InnerError["request-id"] != id || resp.Header.Get("Content-Type") != jsonContentType {
				t.Errorf("headers %v, innerError %v", resp.Header, env.Error.InnerError)
			}
		})
	}
	// Ordinary answers pass through untouched.
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
}
