// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"portolan"
)

// MaxURLBytes is the longest request target (path and query) served; a
// longer one is 414. No Graph path or query option needs more: the longest
// legitimate targets are $filter expressions of a few hundred bytes.
const MaxURLBytes = 8 << 10

// edge checks what every request must satisfy before any route sees it, so
// that the answer is Graph's error envelope rather than net/http's HTML
// redirect or a route's 404: the target's length, a Host, and a path
// without empty, "." or ".." segments (http.ServeMux would answer those with
// a 301 to the cleaned path). It then applies CORS and hands over to the
// routes.
func (s *Server) edge(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		r.TLS = connTLS(r) // https links for a TLS connection behind Listener
	}
	if err := checkRequest(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.cors(w, r) {
		return // a preflight, answered
	}
	s.mux.ServeHTTP(w, r)
}

// checkRequest is edge's checks.
func checkRequest(r *http.Request) error {
	if n := len(r.RequestURI); n > MaxURLBytes {
		return portolan.Errorf(portolan.ETOOLONG, "The request URL is %d bytes long; at most %d are served.", n, MaxURLBytes)
	}
	if r.Host == "" {
		return portolan.Errorf(portolan.EINVALID, "The request has no Host header, or an empty one.")
	}
	path := r.URL.EscapedPath()
	if path == "*" {
		return nil // OPTIONS *: answered by the routes
	}
	for rest, more := strings.TrimPrefix(path, "/"), true; more; {
		var seg string
		seg, rest, more = strings.Cut(rest, "/")
		if seg == "" && more {
			return portolan.Errorf(portolan.EINVALID, "The path '%s' has an empty segment ('//').", clipText(path))
		}
		if dec, err := url.PathUnescape(seg); err == nil && (dec == "." || dec == "..") {
			return portolan.Errorf(portolan.EINVALID, "The path '%s' has a '%s' segment; Graph paths are never relative.", clipText(path), dec)
		}
	}
	return nil
}

// negotiate checks the request's Accept header against contentType, the
// representation a route produces, and returns the Content-Type to send:
// for JSON, odata.metadata=none when the client prefers it. A client that
// accepts nothing Portolan can produce gets ENOTACCEPTABLE (406). A missing
// Accept accepts everything.
func negotiate(r *http.Request, contentType []string) ([]string, bool, error) {
	accept := r.Header.Values("Accept")
	if len(accept) == 0 {
		return contentType, false, nil
	}
	want := acceptText // the media ranges that fit, most specific first
	switch contentType[0] {
	case contentTypeJSON:
		want = acceptJSON
	case headerXML[0]:
		want = acceptXML
	}
	bestQ, none := -1.0, false
	for _, header := range accept {
		for items, more := header, true; more; {
			var item string
			item, items, more = strings.Cut(items, ",")
			media, params, _ := strings.Cut(item, ";")
			media = strings.ToLower(strings.TrimSpace(media))
			if media == "" {
				continue
			}
			q, metaNone := 1.0, false
			for params, more := params, true; more; {
				var p string
				p, params, more = strings.Cut(params, ";")
				k, v, _ := strings.Cut(p, "=")
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "q":
					f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
					if err == nil {
						q = f
					}
				case "odata.metadata":
					metaNone = strings.EqualFold(strings.TrimSpace(v), "none")
				}
			}
			for _, m := range want {
				if media == m && q > 0 && q > bestQ {
					bestQ, none = q, metaNone && media == "application/json"
				}
			}
		}
	}
	if bestQ < 0 {
		return nil, false, portolan.Errorf(portolan.ENOTACCEPTABLE,
			"The Accept header '%s' allows no representation of this resource; it is served as %s.", clipText(strings.Join(accept, ", ")), mediaType(contentType[0]))
	}
	if none && contentType[0] == contentTypeJSON {
		return headerJSONNone, true, nil
	}
	return contentType, false, nil
}

// The media ranges an Accept header may name for each representation, most
// specific first.
var (
	acceptJSON = []string{"application/json", "application/*", "*/*"}
	acceptXML  = []string{"application/xml", "text/xml", "application/*", "text/*", "*/*"}
	// text/plain ($count); SDKs that send application/json everywhere are
	// served too.
	acceptText = []string{"text/plain", "text/*", "application/json", "*/*"}
)

// mediaType is a Content-Type without its parameters.
func mediaType(ct string) string {
	m, _, _ := strings.Cut(ct, ";")
	return m
}

// contentTypeJSONNone is contentTypeJSON for odata.metadata=none.
const contentTypeJSONNone = "application/json;odata.metadata=none;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

var headerJSONNone = []string{contentTypeJSONNone}

// stripControl removes the control information that odata.metadata=none
// omits (OData JSON Format 4.01 §3.1.3): every "@odata.*" member except
// @odata.count and @odata.nextLink, and the property annotations
// ("x@odata.type"), from body, compact JSON that Portolan's encoders wrote.
func stripControl(body []byte) []byte {
	out := make([]byte, 0, len(body))
	// inObject[depth] tells whether the container at that depth is an
	// object, whose strings alternate between names and values.
	var inObject []bool
	expectName := false
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == '{':
			inObject = append(inObject, true)
			expectName = true
			out = append(out, c)
			i++
		case c == '[':
			inObject = append(inObject, false)
			expectName = false
			out = append(out, c)
			i++
		case c == '}' || c == ']':
			inObject = inObject[:len(inObject)-1]
			out = append(out, c)
			i++
			expectName = false
		case c == ',':
			out = append(out, c)
			i++
			expectName = len(inObject) > 0 && inObject[len(inObject)-1]
		case c == '"' && expectName:
			end := stringEnd(body, i)
			name := string(body[i+1 : end-1])
			if control(name) {
				// Skip the name, its colon, its value and one comma.
				j := valueEnd(body, end+1)
				if j < len(body) && body[j] == ',' {
					j++ // the member after it keeps its own place
				} else if n := len(out); n > 0 && out[n-1] == ',' {
					out = out[:n-1] // it was the last member
				}
				i = j
				continue
			}
			out = append(out, body[i:end]...)
			i = end
			expectName = false
		case c == '"':
			end := stringEnd(body, i)
			out = append(out, body[i:end]...)
			i = end
		default:
			out = append(out, c)
			i++
		}
	}
	return out
}

// control reports whether a member name is control information that
// odata.metadata=none omits.
func control(name string) bool {
	at := strings.Index(name, "@odata.")
	if at < 0 {
		return false
	}
	return !(at == 0 && (name == "@odata.count" || name == "@odata.nextLink"))
}

// stringEnd returns the index after the JSON string starting at i.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// valueEnd returns the index after the value that starts at i.
func valueEnd(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); {
		switch b[j] {
		case '"':
			j = stringEnd(b, j)
			if depth == 0 {
				return j
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return j
			}
			depth--
			if depth == 0 {
				return j + 1
			}
		case ',':
			if depth == 0 {
				return j
			}
		}
		j++
	}
	return len(b)
}
