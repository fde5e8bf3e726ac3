// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"portolan"
)

// Successful API responses are cached, keyed by their absolute URL, while
// the store's generation (Config.Generation) stays the same: the records
// change only when observations are imported, and clients ask the same
// questions again and again (dashboards, SIEM polls). A hit skips the store
// and the encoding; the token is still verified on every request, and the
// response still gets its ETag, 304 and gzip handling. A request with
// "Cache-Control: no-cache" is answered by the store. Every caller with a
// valid token sees the same data, so the principal is not part of the key.
const (
	maxCachedResponses  = 2048
	maxCachedBodyBytes  = 256 << 10 // a $top=1000 page is not worth keeping
	maxCachedTotalBytes = 64 << 20
)

type cachedResponse struct {
	generation  uint64
	contentType []string
	body        []byte
	etag        string
	// tagAndLength are the ETag and Content-Length header values
	// (tagHeaders), made once for every response served from the entry.
	tagAndLength []string
}

type responseCache struct {
	mu      sync.Mutex
	entries map[string]cachedResponse
	bytes   int
}

// get takes the key as bytes: the map is indexed with them without making
// a string of each request's URL.
func (c *responseCache) get(key []byte, generation uint64) (cachedResponse, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[string(key)]
	return e, ok && e.generation == generation
}

func (c *responseCache) put(key string, e cachedResponse) {
	if len(e.body) > maxCachedBodyBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCachedResponses || c.bytes+len(e.body) > maxCachedTotalBytes {
		// Starting over is cheaper than tracking use; the pages that are
		// asked for come back at once.
		c.entries = make(map[string]cachedResponse)
		c.bytes = 0
	}
	if old, ok := c.entries[key]; ok {
		c.bytes -= len(old.body)
	}
	c.entries[key] = e
	c.bytes += len(e.body)
}

// cacheSlot tells writeBody under which key and generation to keep the
// response it writes.
type cacheSlot struct {
	key        string
	generation uint64
}

type cacheSlotKey struct{}

// cacheResponses serves cached responses of GET and HEAD requests and marks
// the others so that writeBody keeps them. Without Config.Generation it
// caches nothing and only passes a request's "no-cache" on to the store.
func (s *Server) cacheResponses(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// "Cache-Control: no-cache" asks for a fresh answer (RFC 9111
		// 5.2.1.4): the store is asked, past its own caches too
		// (portolan.NewContextFreshRead), and the answer replaces the
		// cached one.
		fresh := strings.Contains(strings.ToLower(r.Header.Get("Cache-Control")), "no-cache") ||
			strings.Contains(strings.ToLower(r.Header.Get("Pragma")), "no-cache")
		if fresh {
			r = r.WithContext(portolan.NewContextFreshRead(r.Context()))
		}
		// Subscriptions differ by caller, and the key has no caller.
		if s.generation == nil || r.Method != http.MethodGet && r.Method != http.MethodHead || isSubscriptionPath(r.URL.EscapedPath()) {
			next.ServeHTTP(w, r)
			return
		}
		generation, err := s.generation(r.Context())
		if err != nil {
			// The store's own error will surface from the handler.
			next.ServeHTTP(w, r)
			return
		}
		var buf [256]byte
		key := appendRequestURI(s.appendBaseURL(buf[:0], r), r.URL)
		e, ok := s.responses.get(key, generation)
		s.observer.CacheLookup(ok && !fresh)
		if ok && !fresh {
			s.writeTagged(w, r, e.contentType, e.body, e.etag, e.tagAndLength)
			return
		}
		slot := &cacheSlot{key: string(key), generation: generation}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), cacheSlotKey{}, slot)))
	})
}

// keepResponse stores a successful response body for the request's cache
// slot, if it has one.
func (s *Server) keepResponse(r *http.Request, contentType []string, body []byte, etag string) {
	slot, _ := r.Context().Value(cacheSlotKey{}).(*cacheSlot)
	if slot == nil {
		return
	}
	s.responses.put(slot.key, cachedResponse{generation: slot.generation, contentType: contentType, body: append([]byte(nil), body...), etag: etag,
		tagAndLength: tagHeaders(etag, len(body))})
}

// appendRequestURI appends u's RequestURI (the escaped path and the query)
// to b without the string RequestURI builds.
func appendRequestURI(b []byte, u *url.URL) []byte {
	if u.Opaque != "" {
		return append(b, u.RequestURI()...)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	b = append(b, path...)
	if u.ForceQuery || u.RawQuery != "" {
		b = append(b, '?')
		b = append(b, u.RawQuery...)
	}
	return b
}
