// SPDX-License-Identifier: Apache-2.0

package merge

import (
	"crypto/sha256"
	"strings"

	"portolan"
)

// VolatilePlaceholder replaces the value of a volatile HTTP header, so that
// one service gives one banner across scans.
const VolatilePlaceholder = "<volatile>"

// volatileHeaders are the HTTP response headers whose values change from one
// request to the next without the service changing: clocks, caches, sizes of
// dynamic pages, cookies and per-request ids. Keys are lower-case.
var volatileHeaders = map[string]bool{
	"date":             true, // the server's clock
	"expires":          true, // usually derived from Date
	"last-modified":    true, // changes with content, not with the service
	"age":              true, // cache age
	"set-cookie":       true, // session ids
	"etag":             true, // content hash or inode/mtime
	"content-length":   true, // dynamic pages differ in size
	"keep-alive":       true, // timeout and remaining request count
	"x-request-id":     true,
	"x-correlation-id": true,
	"x-trace-id":       true,
	"traceparent":      true,
	"tracestate":       true,
	"request-id":       true,
	"x-amzn-trace-id":  true,
	"x-amzn-requestid": true,
	"x-amz-request-id": true,
	"x-amz-id-2":       true,
	"x-amz-cf-id":      true,
	"x-ms-request-id":  true,
	"x-runtime":        true,
	"x-response-time":  true,
	"cf-ray":           true,
	"x-varnish":        true,
	"x-timer":          true,
	"server-timing":    true,
	"nel":              true, // carries per-report ids on some CDNs
	"report-to":        true,
	"x-served-by":      true, // names the cache node that answered
	"x-cache-hits":     true,
}

// NormalizeBanner brings a banner to the form under which it is grouped and
// served (intelligence.md §4). The normalisations, each tested on its own:
//
//  1. Bytes that are not valid UTF-8, and NUL, become \xNN, and the banner is
//     cut at 16 KiB on a UTF-8 boundary (portolan.CleanText; Observation.
//     Normalize already did this, repeating it keeps the function total).
//  2. In an HTTP response head (a banner starting with "HTTP/", or with a
//     "Name: value" header line, as nmap's http-headers script gives it), the values of
//     volatile headers (volatileHeaders: Date, Expires, Last-Modified, Age,
//     Set-Cookie, ETag, Content-Length, Keep-Alive, request and trace ids, …)
//     become VolatilePlaceholder; header names are matched case-insensitively
//     and kept as sent.
//  3. Trailing whitespace (spaces, tabs, CR, LF) is trimmed.
func NormalizeBanner(s string) string {
	s = portolan.CleanText(s, portolan.MaxBannerBytes)
	if strings.HasPrefix(s, "HTTP/") {
		s = normalizeHTTPHead(s, true)
	} else if startsWithHeader(s) {
		s = normalizeHTTPHead(s, false)
	}
	return strings.TrimRight(s, " \t\r\n")
}

// startsWithHeader reports whether the first line of s is an HTTP header
// line: an RFC 9110 token, a colon, a value (nmap indents its lines).
func startsWithHeader(s string) bool {
	s = strings.TrimLeft(s, " \t")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			return i > 0
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return false
}

// normalizeHTTPHead rewrites volatile header values line by line, after the
// status line when there is one. It stops at the first empty line: what
// follows is a body, not headers.
func normalizeHTTPHead(s string, statusLine bool) string {
	var b *strings.Builder // allocated only when something changes
	start := 0
	for start < len(s) {
		end := strings.IndexByte(s[start:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += start
		}
		line := s[start:end]
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			break
		}
		if colon := strings.IndexByte(line, ':'); colon > 0 && (start > 0 || !statusLine) {
			name := line[:colon]
			if volatileHeaders[strings.ToLower(strings.TrimSpace(name))] {
				value := strings.TrimSpace(line[colon+1:])
				if value != VolatilePlaceholder {
					if b == nil {
						b = &strings.Builder{}
						b.Grow(len(s))
						b.WriteString(s[:start])
					}
					b.WriteString(name)
					b.WriteString(": ")
					b.WriteString(VolatilePlaceholder)
					b.WriteString(s[start+len(line) : min(end+1, len(s))])
					start = end + 1
					continue
				}
			}
		}
		if b != nil {
			b.WriteString(s[start:min(end+1, len(s))])
		}
		start = end + 1
	}
	if b == nil {
		return s
	}
	if start < len(s) {
		b.WriteString(s[start:])
	}
	return b.String()
}

// Digest keys a banner group in the stores: the first 16 bytes of the
// SHA-256 of the scan protocol, a NUL and the normalised text. Both stores
// store it (the digest column of banners and, in PostgreSQL,
// banner_instants) and compute it only here, so that one banner has one key
// whichever store holds it. It is stored: changing it needs a rebuild.
func (k BannerKey) Digest() []byte {
	h := sha256.New()
	h.Write([]byte(k.ScanProtocol))
	h.Write([]byte{0})
	h.Write([]byte(k.Text))
	return h.Sum(nil)[:16]
}
