// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveListener serves a test server through its Listener on a loopback
// port, with header fields limited to 4 KiB, and returns the address.
func serveListener(t *testing.T) string {
	t.Helper()
	s := newServer(t, newFixture())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s, MaxHeaderBytes: 4 << 10, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(s.Listener(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestListenerErrors sends what net/http refuses before any handler runs
// and checks that the answer is Graph's envelope with a request-id.
func TestListenerErrors(t *testing.T) {
	addr := serveListener(t)

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
			conn, err := net.Dial("tcp", addr)
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
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
}

// TestListenerErrorAfterResponse refuses the second request of a kept-alive
// connection: the answer must be told from that request's own bytes, which
// the connection reads into the buffer the first one used.
func TestListenerErrorAfterResponse(t *testing.T) {
	conn, err := net.Dial("tcp", serveListener(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	// A first request longer than the second, so that stale bytes would
	// show in the second's target.
	first := "GET /healthz?" + strings.Repeat("x", 300) + " HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, err := io.WriteString(conn, first); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first request: %d", resp.StatusCode)
	}
	if _, err := io.WriteString(conn, "GET /beta/%zz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Error struct{ Code, Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("body: %v", err)
	}
	if want := "The request target '/beta/%zz' is not correctly percent-encoded"; resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(env.Error.Message, want) {
		t.Errorf("%d %+v, want 400 %q", resp.StatusCode, env.Error, want)
	}
}

// countingListener counts the writes its connections receive.
type countingListener struct {
	net.Listener
	mu     sync.Mutex
	writes int
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return &countingConn{Conn: c, l: l}, err
}

func (l *countingListener) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writes
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	c.l.writes++
	c.l.mu.Unlock()
	return c.Conn.Write(p)
}

// TestListenerOneWritePerResponse checks that a response longer than
// net/http's 4 KiB connection buffer reaches the connection in one write
// (net/http alone makes two), and that every response, whatever its size
// and however the handler writes it, arrives whole and at once on a
// kept-alive connection, those whose end falls on the buffer's included.
func TestListenerOneWritePerResponse(t *testing.T) {
	s := newServer(t, newFixture())
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingListener{Listener: inner}
	body := strings.Repeat("0123456789abcdef", 16<<10)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		piece, _ := strconv.Atoi(r.URL.Query().Get("piece"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		for b := body[:n]; len(b) > 0; {
			k := len(b)
			if piece > 0 {
				k = min(k, piece)
			}
			w.Write([]byte(b[:k]))
			b = b[k:]
		}
	})}
	go srv.Serve(s.Listener(counted))
	t.Cleanup(func() { srv.Close() })

	conn, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	get := func(n, piece int) (time.Duration, int) {
		t.Helper()
		before := counted.count()
		start := time.Now()
		fmt.Fprintf(conn, "GET /?n=%d&piece=%d HTTP/1.1\r\nHost: x\r\n\r\n", n, piece)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(got) != body[:n] {
			t.Fatalf("n=%d piece=%d: %d bytes, %v", n, piece, len(got), err)
		}
		return time.Since(start), counted.count() - before
	}
	for _, n := range []int{25 << 10, 100 << 10} {
		if _, writes := get(n, 0); writes != 1 {
			t.Errorf("a %d-byte body written at once took %d writes, want 1", n, writes)
		}
	}
	// Every size around one and two buffers' worth (the headers take
	// about 100 bytes), written at once and in pieces: whole, and never
	// held back past holdFor (1 ms; 500 ms leaves room for a slow machine).
	for n := 3900; n <= 8300; n += 7 {
		for _, piece := range []int{0, 1000} {
			if took, _ := get(n, piece); took > 500*time.Millisecond {
				t.Errorf("n=%d piece=%d took %v", n, piece, took)
			}
		}
	}
}
