// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"net/http"
	"slices"
	"strings"
)

// CORS lets browser applications on the configured origins call the API
// (Config.CORSOrigins; off when empty). It is the Fetch standard's protocol
// and nothing more: an allowed origin gets Access-Control-Allow-Origin on
// every answer, errors included, and its preflights are answered here,
// before authentication, which a preflight never carries. Credentials are
// bearer tokens in a header, never cookies, so Allow-Credentials is not
// sent.

// corsExposed are the response headers a browser script may read.
const corsExposed = "request-id, client-request-id, ETag, Retry-After, WWW-Authenticate, Content-Encoding"

// corsMaxAge is how long a browser may cache a preflight, in seconds.
const corsMaxAge = "600"

// allowsOrigin reports whether origin may call the API.
func (s *Server) allowsOrigin(origin string) bool {
	return origin != "" && (slices.Contains(s.corsOrigins, "*") || slices.Contains(s.corsOrigins, origin))
}

// cors adds the CORS headers for an allowed origin and answers its
// preflight; it reports whether the request has been answered.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	if len(s.corsOrigins) == 0 {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if !s.allowsOrigin(origin) {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		h.Set("Access-Control-Expose-Headers", corsExposed)
		return false
	}
	// A preflight: the records are read-only but subscriptions are
	// created, renewed and deleted; the headers a Graph client sends
	// (Authorization, client-request-id, ConsistencyLevel, …) are all
	// harmless to allow, so the requested ones are allowed.
	methods := "GET, HEAD"
	if isSubscriptionPath(r.URL.EscapedPath()) {
		methods = "GET, HEAD, POST, PATCH, DELETE"
	}
	h.Set("Access-Control-Allow-Methods", methods)
	if req := r.Header.Values("Access-Control-Request-Headers"); len(req) > 0 {
		h.Set("Access-Control-Allow-Headers", clipHeader(strings.Join(req, ", ")))
	}
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}

// clipHeader keeps an echoed header list to header-safe characters and a
// sane length.
func clipHeader(v string) string {
	var b strings.Builder
	for i := 0; i < len(v) && b.Len() < 1024; i++ {
		c := v[i]
		if c == ',' || c == ' ' || c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			b.WriteByte(c)
		}
	}
	return b.String()
}
