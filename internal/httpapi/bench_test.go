// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"portolan"
	"portolan/internal/httpapi"
)

// benchPorts is a realistic 20-port host: every port open with an HTTP
// banner of a few hundred bytes, one or two services and a certificate.
func benchPorts(host string) []*portolan.HostPort {
	ports := make([]*portolan.HostPort, 20)
	for i := range ports {
		p := seedPort()
		p.Port = 8000 + i
		p.Host = host
		p.ID = portolan.HostPortID(host, portolan.TCP, p.Port)
		p.Banners[0].Banner = fmt.Sprintf("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: <redacted>\r\nContent-Type: text/html\r\n"+
			"Content-Length: <redacted>\r\nConnection: keep-alive\r\nX-Frame-Options: SAMEORIGIN\r\nX-Content-Type-Options: nosniff\r\n"+
			"Strict-Transport-Security: max-age=31536000; includeSubDomains\r\nCache-Control: no-cache, private\r\nX-Request-Id: <redacted>\r\n"+
			"Set-Cookie: <redacted>\r\nVary: Accept-Encoding\r\nX-Port: %d", p.Port)
		ports[i] = p
	}
	return ports
}

// BenchmarkEncodeHostPortPage measures the JSON encoding of the "value" of
// a 20-port page alone, into a reused buffer.
func BenchmarkEncodeHostPortPage(b *testing.B) {
	ports := benchPorts("85.13.139.18")
	buf := httpapi.AppendHostPortValue(nil, ports)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = httpapi.AppendHostPortValue(buf[:0], ports)
	}
}

// BenchmarkEncodeHostPortPageEncodingJSON is the reflection-based baseline
// the hand-written encoder replaces (different member shapes, similar size).
func BenchmarkEncodeHostPortPageEncodingJSON(b *testing.B) {
	ports := benchPorts("85.13.139.18")
	out, _ := json.Marshal(ports)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(ports); err != nil {
			b.Fatal(err)
		}
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the server rather than a recorder.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// BenchmarkServeHostPortPage measures a whole request in process: routing,
// authentication (fake verifier), option parsing, the store call (a mock
// over memory), encoding, ETag and headers; the log is discarded.
func BenchmarkServeHostPortPage(b *testing.B) {
	for _, bc := range []struct{ name, query, encoding string }{
		{"full", "", ""},
		{"full-gzip", "", "gzip"},
		{"select-count-top", "?$select=id,port,status&$count=true&$top=10", ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fx := newFixture()
			fx.ports = benchPorts("85.13.139.18")
			s := newServer(b, fx, func(c *httpapi.Config) {
				c.Logger = slog.New(slog.DiscardHandler)
				c.Now = time.Now
			})
			r := httptest.NewRequest(http.MethodGet, "/beta/security/threatIntelligence/hosts/85.13.139.18/ports"+bc.query, nil)
			r.Header.Set("Authorization", "Bearer "+goodToken)
			if bc.encoding != "" {
				r.Header.Set("Accept-Encoding", bc.encoding)
			}
			w := &discardWriter{h: http.Header{}}
			s.ServeHTTP(w, r)
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
			b.SetBytes(int64(w.n))
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				w.n = 0
				s.ServeHTTP(w, r)
			}
		})
	}
}
