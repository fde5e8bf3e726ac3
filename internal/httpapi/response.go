// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// contentTypeJSON is what Graph sends (graph-api.md Part A).
const contentTypeJSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// Header values shared by every response; net/http never modifies them.
var (
	headerJSON  = []string{contentTypeJSON}
	headerXML   = []string{"application/xml;charset=utf-8"}
	headerText  = []string{"text/plain;charset=utf-8"}
	headerVary  = []string{"Accept, Accept-Encoding"}
	headerGzip  = []string{"gzip"}
	crc32cTable = crc32.MakeTable(crc32.Castagnoli)
)

// gzipMinSize is the smallest body worth compressing: below it the gzip
// framing outweighs the savings.
const gzipMinSize = 1024

// writeBody writes a successful response whose body is complete in memory:
// it sets the ETag, answers If-None-Match with 304, and gzips when the
// client accepts it. The body is built in full before writing because the
// ETag and Content-Length need it, and the API's pages are bounded ($top ≤
// 1000).
func (s *Server) writeBody(w http.ResponseWriter, r *http.Request, contentType []string, body []byte) {
	tag := etag(body)
	s.keepResponse(r, contentType, body, tag)
	s.writeTagged(w, r, contentType, body, tag, nil)
}

// tagHeaders returns the ETag and Content-Length header values of a body
// with tag and length n, in one slice: writeTagged sets each header to a
// part of it.
func tagHeaders(tag string, n int) []string {
	return []string{tag, strconv.Itoa(n)}
}

// writeTagged is writeBody for a body whose ETag is known (a cached one).
// tagAndLength, when not nil, is tagHeaders(tag, len(body)), made once for
// a cached body.
func (s *Server) writeTagged(w http.ResponseWriter, r *http.Request, contentType []string, body []byte, tag string, tagAndLength []string) {
	contentType, none, err := negotiate(r, contentType)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if none {
		// Another representation, with its own tag; the cache keeps the
		// minimal one.
		body = stripControl(body)
		tag, tagAndLength = etag(body), nil
	}
	h := w.Header()
	h["Content-Type"] = contentType
	if len(h["Vary"]) == 0 {
		h["Vary"] = headerVary
	} else {
		h["Vary"] = append(h["Vary"][:len(h["Vary"]):len(h["Vary"])], headerVary...) // Origin, with CORS
	}
	// A strong ETag names one representation: the gzip one differs. A 304
	// carries the tag of the 200 it stands for (RFC 9110 §15.4.5).
	gz := len(body) >= gzipMinSize && acceptsGzip(r.Header.Get("Accept-Encoding"))
	sent := tag
	if gz {
		sent = tag[:len(tag)-1] + "-gzip\""
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, tag) {
		h["Etag"] = []string{sent}
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if gz {
		h["Etag"] = []string{sent}
		zb := gzipPool.Get().(*gzipBuffer)
		defer gzipPool.Put(zb)
		zb.buf.Reset()
		zb.zw.Reset(&zb.buf)
		_, _ = zb.zw.Write(body)
		_ = zb.zw.Close()
		h["Content-Encoding"] = headerGzip
		body = zb.buf.Bytes()
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	} else {
		if tagAndLength == nil {
			tagAndLength = tagHeaders(tag, len(body))
		}
		// Full slice expressions: whoever appends to a header's values
		// gets a copy rather than writing over the next header's.
		h["Etag"] = tagAndLength[0:1:1]
		h["Content-Length"] = tagAndLength[1:2:2]
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// gzipBuffer is a reusable gzip writer with its output buffer.
type gzipBuffer struct {
	zw  *gzip.Writer
	buf bytes.Buffer
}

// gzipPool keeps writers: a gzip.Writer allocates about 800 KiB of tables.
// BestSpeed because the pages are small and latency matters more than the
// last bytes.
var gzipPool = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return &gzipBuffer{zw: zw}
}}

// etag returns a strong entity tag derived from the body: two CRC-32s
// (Castagnoli and IEEE, both hardware-assisted) and the length. It is not
// meant to resist forgery, only to change whenever the body does, and it is
// stable across restarts and replicas, unlike a seeded hash.
func etag(body []byte) string {
	var sum [12]byte
	binary.BigEndian.PutUint32(sum[0:], crc32.Checksum(body, crc32cTable))
	binary.BigEndian.PutUint32(sum[4:], crc32.ChecksumIEEE(body))
	binary.BigEndian.PutUint32(sum[8:], uint32(len(body)))
	var out [2 + 16]byte
	out[0] = '"'
	base64.RawURLEncoding.Encode(out[1:17], sum[:])
	out[17] = '"'
	return string(out[:])
}

// etagMatches applies If-None-Match with the weak comparison RFC 9110
// §13.1.2 prescribes for GET: W/ prefixes are ignored, and both encodings of
// the current body match.
func etagMatches(header, tag string) bool {
	gz := tag[:len(tag)-1] + "-gzip\""
	for header != "" {
		var item string
		item, header, _ = strings.Cut(header, ",")
		item = strings.TrimSpace(item)
		if item == "*" {
			return true
		}
		item = strings.TrimPrefix(item, "W/")
		if item == tag || item == gz {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (or *)
// with a non-zero quality.
func acceptsGzip(header string) bool {
	for header != "" {
		var item string
		item, header, _ = strings.Cut(header, ",")
		coding, params, _ := strings.Cut(item, ";")
		coding = strings.TrimSpace(coding)
		if !strings.EqualFold(coding, "gzip") && coding != "*" && !strings.EqualFold(coding, "x-gzip") {
			continue
		}
		q := strings.TrimSpace(params)
		if v, ok := strings.CutPrefix(strings.ToLower(q), "q="); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}
