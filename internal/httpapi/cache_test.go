// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"portolan"
	"portolan/internal/httpapi"
)

// cachedThenStoreFails serves target once from a server with a response
// cache at generation's generations, then makes its store fail, so that
// only the cache can answer; it returns the server and the first answer.
func cachedThenStoreFails(t *testing.T, target string, generation func(context.Context) (uint64, error)) (*testServer, *httptest.ResponseRecorder) {
	t.Helper()
	fx := newFixture()
	s := newServer(t, fx, func(c *httpapi.Config) { c.Generation = generation })
	first := s.get(t, target)
	wantStatus(t, first, http.StatusOK)
	fx.mu.Lock()
	fx.fail = portolan.Errorf(portolan.EUNAVAILABLE, "The database is unavailable; try again.")
	fx.mu.Unlock()
	return s, first
}

// TestResponsesAreCachedWhileTheGenerationHolds checks the response cache:
// a repeated request is answered without the store while the generation is
// the same, with its token still checked and its ETag still honoured; a new
// generation, another host name or another query goes to the store again.
func TestResponsesAreCachedWhileTheGenerationHolds(t *testing.T) {
	var generation atomic.Uint64
	target := "hosts/85.13.139.18/ports?$select=id,port"
	s, first := cachedThenStoreFails(t, target, func(context.Context) (uint64, error) { return generation.Load(), nil })
	again := s.get(t, target)
	wantStatus(t, again, http.StatusOK)
	if again.Body.String() != first.Body.String() || again.Header().Get("Etag") != first.Header().Get("Etag") {
		t.Errorf("the cached response differs:\n%s\n%s", first.Body, again.Body)
	}
	if again.Header().Get("Request-Id") == first.Header().Get("Request-Id") {
		t.Error("a cached response reused the request id")
	}
	wantStatus(t, s.get(t, target, "If-None-Match", first.Header().Get("Etag")), http.StatusNotModified)
	wantError(t, s.get(t, target, "Cache-Control", "no-cache"), http.StatusServiceUnavailable, "serviceNotAvailable", "")
	wantError(t, s.do(t, http.MethodGet, target), http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")

	// Another query, another host name in the URL, a new generation: the
	// store is asked (and fails).
	wantError(t, s.get(t, "hosts/85.13.139.18/ports?$select=id"), http.StatusServiceUnavailable, "serviceNotAvailable", "")
	wantError(t, s.get(t, "http://other.example/beta/security/threatIntelligence/"+target), http.StatusServiceUnavailable, "serviceNotAvailable", "")
	generation.Add(1)
	wantError(t, s.get(t, target), http.StatusServiceUnavailable, "serviceNotAvailable", "")
}

// TestCachedResponseInEveryRepresentation serves one cached page as it is,
// with odata.metadata=none and gzipped: each representation carries its
// own ETag and the Content-Length of its own bytes, though the cache keeps
// the header values of the first.
func TestCachedResponseInEveryRepresentation(t *testing.T) {
	target := "hosts/85.13.139.18/ports"
	s, first := cachedThenStoreFails(t, target, func(context.Context) (uint64, error) { return 1, nil })
	tags := map[string]string{}
	for _, c := range []struct{ name, header, value string }{
		{"as cached", "", ""},
		{"odata.metadata=none", "Accept", "application/json;odata.metadata=none"},
		{"gzip", "Accept-Encoding", "gzip"},
	} {
		var w *httptest.ResponseRecorder
		if c.header == "" {
			w = s.get(t, target)
		} else {
			w = s.get(t, target, c.header, c.value)
		}
		wantStatus(t, w, http.StatusOK)
		if got, want := w.Header().Get("Content-Length"), strconv.Itoa(w.Body.Len()); got != want {
			t.Errorf("%s: Content-Length %s for %s bytes", c.name, got, want)
		}
		tag := w.Header().Get("Etag")
		for other, t2 := range tags {
			if t2 == tag {
				t.Errorf("%s and %s share the ETag %s", c.name, other, tag)
			}
		}
		tags[c.name] = tag
	}
	if tags["as cached"] != first.Header().Get("Etag") {
		t.Errorf("the cached page's ETag %s, first served as %s", tags["as cached"], first.Header().Get("Etag"))
	}
}

// freshRecorder records whether each read of a host's ports asked the
// store for a fresh answer.
type freshRecorder struct {
	portolan.HostPortService
	fresh []bool
}

func (r *freshRecorder) FindHostPorts(ctx context.Context, f portolan.HostPortFilter) ([]*portolan.HostPort, int, error) {
	r.fresh = append(r.fresh, portolan.FreshReadFromContext(ctx))
	return r.HostPortService.FindHostPorts(ctx, f)
}

// TestNoCacheAsksTheStoreForAFreshRead checks that "Cache-Control:
// no-cache" (and HTTP/1.0's "Pragma: no-cache") reaches the store as a
// fresh read, past the store's own caches, with and without a response
// cache, and that other requests do not.
func TestNoCacheAsksTheStoreForAFreshRead(t *testing.T) {
	for _, withCache := range []bool{false, true} {
		rec := &freshRecorder{}
		s := newServer(t, newFixture(), func(c *httpapi.Config) {
			rec.HostPortService = c.HostPorts
			c.HostPorts = rec
			if withCache {
				c.Generation = func(context.Context) (uint64, error) { return 1, nil }
			}
		})
		target := "hosts/85.13.139.18/ports"
		wantStatus(t, s.get(t, target+"?$top=1", "Cache-Control", "max-age=0, No-Cache"), http.StatusOK)
		wantStatus(t, s.get(t, target+"?$top=2", "Pragma", "no-cache"), http.StatusOK)
		wantStatus(t, s.get(t, target+"?$top=3"), http.StatusOK)
		if want := []bool{true, true, false}; !slices.Equal(rec.fresh, want) {
			t.Errorf("response cache %v: fresh reads %v, want %v", withCache, rec.fresh, want)
		}
	}
}
