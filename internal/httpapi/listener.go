// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"portolan"
)

// net/http answers some requests itself, before any handler runs, with a
// plain-text body: a malformed request line, a target that is not correctly
// percent-encoded, header fields over http.Server.MaxHeaderBytes, an invalid
// Host or header. Listener wraps the listener so that those answers, too,
// are Graph's error envelope with a request-id: each connection recognises
// net/http's answer, which it writes in one piece as the connection's last
// bytes, and replaces it. A request line that alone passes the header limit
// is a URL too long, 414.

// Listener returns ln with net/http's own error answers rewritten and each
// response sent in one write (errorConn.Write). Serve the Server on it
// (TLS included: wrap the TLS listener, so that the rewriting sees plain
// text).
func (s *Server) Listener(ln net.Listener) net.Listener {
	return &errorListener{Listener: ln, s: s}
}

type errorListener struct {
	net.Listener
	s *Server
}

// Accept implements net.Listener.
func (l *errorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &errorConn{Conn: c, s: l.s}, nil
}

// headKeep is how much of each request's start a connection keeps, to tell
// why net/http refused it.
const headKeep = 1024

// errorConn keeps the start of the request being read (until a response is
// written) and rewrites net/http's error answer.
type errorConn struct {
	net.Conn
	s *Server

	mu      sync.Mutex
	head    []byte // the first bytes read since the last response
	lineEnd bool   // the request line has ended within them

	wmu   sync.Mutex  // the writes
	held  []byte      // a full buffer of net/http's, waiting for the rest of its response
	timer *time.Timer // sends held after holdFor
	werr  error       // the first write error: the connection is broken
	// vec and bufs are the writev of held and the rest, kept here so
	// that sending them allocates nothing.
	vec  [2][]byte
	bufs net.Buffers
}

// Read implements net.Conn.
func (c *errorConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if room := headKeep - len(c.head); room > 0 {
		c.head = append(c.head, p[:min(n, room)]...)
	}
	if !c.lineEnd && bytes.IndexByte(p[:n], '\n') >= 0 {
		c.lineEnd = true
	}
	c.mu.Unlock()
	return n, err
}

// The fixed parts of net/http's own answers (net/http server.go).
var (
	plainErrorHeaders = []byte("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")
	plainErrorStart   = []byte("HTTP/1.1 4")
)

// connBufferSize is the size of net/http's buffer of a connection's
// writes (bufio's default): a response longer than it reaches the
// connection as a write of exactly this size (the headers and the body's
// start), then the rest.
const connBufferSize = 4 << 10

// holdFor bounds how long a full buffer waits for the rest of its
// response. The rest always follows at once, except in the rare response
// whose end falls exactly on the buffer's; that one goes out after holdFor.
const holdFor = time.Millisecond

// Write implements net.Conn. Besides rewriting net/http's own answers, it
// sends a response in one system call where net/http would use two: a
// write of exactly net/http's buffer is held and goes out with the next
// one (a writev on TCP), which halves the system calls and segments of
// every response over 4 KiB — the serving profile's largest entry.
func (c *errorConn) Write(p []byte) (int, error) {
	if !bytes.HasPrefix(p, plainErrorStart) || !bytes.Contains(p, plainErrorHeaders) {
		c.mu.Lock()
		c.head, c.lineEnd = c.head[:0], false // the next request starts, in the same buffer
		c.mu.Unlock()
		return c.coalesce(p)
	}
	c.mu.Lock()
	head, lineEnd := c.head, c.lineEnd
	c.head, c.lineEnd = nil, false // head is read below: the next request's bytes go to a buffer of their own
	c.mu.Unlock()
	if err := c.flushHeld(); err != nil {
		return 0, err
	}
	status, _ := strconv.Atoi(string(p[len("HTTP/1.1 "):min(len(p), len("HTTP/1.1 400"))]))
	_, text, _ := bytes.Cut(p, plainErrorHeaders)
	err := preRouteError(status, string(text), head, lineEnd)
	if err == nil {
		return c.Conn.Write(p)
	}
	gs := statusByCode[portolan.ErrorCode(err)]
	id := newUUID()
	body := appendErrorBody(nil, gs.code, portolan.ErrorMessage(err), c.s.now().UTC(), id, id)
	var b []byte
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(gs.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(gs.status)...)
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, contentTypeJSON...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\nDate: "...)
	b = c.s.now().UTC().AppendFormat(b, "Mon, 02 Jan 2006 15:04:05 GMT")
	b = append(b, "\r\nRequest-Id: "...)
	b = append(b, id...)
	b = append(b, "\r\nClient-Request-Id: "...)
	b = append(b, id...)
	b = append(b, "\r\nConnection: close\r\n\r\n"...)
	b = append(b, body...)
	if _, werr := c.Conn.Write(b); werr != nil {
		return 0, werr
	}
	return len(p), nil
}

// preRouteError says, as a domain error, why net/http refused a request
// with status and plain-text body text; head is the start of what was read,
// lineEnd whether the request line ended in it. nil leaves the answer as it
// is (statuses net/http answers without a client mistake).
func preRouteError(status int, text string, head []byte, lineEnd bool) error {
	switch status {
	case 431:
		if !lineEnd {
			return portolan.Errorf(portolan.ETOOLONG, "The request line is too long; URLs of at most %d bytes are served.", MaxURLBytes)
		}
		return portolan.Errorf(portolan.ETOOLARGE, "The request's header fields are too large.")
	case 400:
	default:
		return nil
	}
	if _, reason, ok := bytes.Cut([]byte(text), []byte("400 Bad Request: ")); ok {
		// net/http's own words: missing or malformed Host, invalid header.
		return portolan.Errorf(portolan.EINVALID, "The request is malformed: %s.", clipText(string(reason)))
	}
	line := head
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = bytes.TrimRight(line[:i], "\r")
	}
	parts := bytes.Split(line, []byte(" "))
	if len(parts) == 3 {
		target := string(parts[1])
		if _, err := url.ParseRequestURI(target); err != nil {
			return portolan.Errorf(portolan.EINVALID, "The request target '%s' is not correctly percent-encoded or is not a path.", clipText(target))
		}
	}
	return portolan.Errorf(portolan.EINVALID, "The request line is malformed: it must be 'GET /path HTTP/1.1'.")
}

// coalesce writes p after what is held, in one call, or holds p when it
// is a full buffer of net/http's and nothing is held.
func (c *errorConn) coalesce(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	if len(c.held) == 0 {
		if len(p) != connBufferSize {
			return c.Conn.Write(p)
		}
		// net/http reuses its buffer once Write returns: keep a copy.
		c.held = append(c.held[:0], p...)
		if c.timer == nil {
			c.timer = time.AfterFunc(holdFor, func() { _ = c.flushHeld() })
		} else {
			c.timer.Reset(holdFor)
		}
		return len(p), nil
	}
	c.timer.Stop()
	held := c.held
	c.held = c.held[:0]
	var err error
	if tcp, ok := c.Conn.(*net.TCPConn); ok {
		c.vec = [2][]byte{held, p}
		c.bufs = c.vec[:]
		_, err = c.bufs.WriteTo(tcp) // one writev
		c.vec = [2][]byte{}          // p is net/http's buffer: keep no reference
	} else {
		// TLS: one record rather than two. The buffer append grows is
		// not kept: a large page would stay in every idle connection.
		_, err = c.Conn.Write(append(held, p...))
	}
	if err != nil {
		c.werr = err
		return 0, err
	}
	return len(p), nil
}

// flushHeld writes what is held, if anything: when holdFor has passed,
// before net/http's own answers and before the connection closes.
func (c *errorConn) flushHeld() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if len(c.held) == 0 || c.werr != nil {
		return c.werr
	}
	_, err := c.Conn.Write(c.held)
	c.held = c.held[:0]
	if err != nil {
		c.werr = err
	}
	return err
}

// Close implements net.Conn: what is held goes first.
func (c *errorConn) Close() error {
	_ = c.flushHeld()
	c.wmu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.wmu.Unlock()
	return c.Conn.Close()
}

type connKey struct{}

// ConnContext is the http.Server.ConnContext to use with Listener: net/http
// fills Request.TLS only for a connection that is a *tls.Conn itself, which
// a wrapped one is not, so requests find their connection here instead.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// connTLS returns the TLS state of the Listener connection r arrived on, or
// nil.
func connTLS(r *http.Request) *tls.ConnectionState {
	c, ok := r.Context().Value(connKey{}).(*errorConn)
	if !ok {
		return nil
	}
	tc, ok := c.Conn.(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	return &st
}
