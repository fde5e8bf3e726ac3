// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"portolan"
	"portolan/internal/httpapi"
)

// TestResponsesAreCachedWhileTheGenerationHolds checks the response cache:
// a repeated request is answered without the store while the generation is
// the same, with its token still checked and its ETag still honoured; a new
// generation, another host name or another query goes to the store again.
func TestResponsesAreCachedWhileTheGenerationHolds(t *testing.T) {
	fx := newFixture()
	var generation atomic.Uint64
	s := newServer(t, fx, func(c *httpapi.Config) {
		c.Generation = func(context.Context) (uint64, error) { return generation.Load(), nil }
	})
	target := "hosts/85.13.139.18/ports?$select=id,port"
	first := s.get(t, target)
	wantStatus(t, first, http.StatusOK)

	// From now on the store fails: only the cache can answer.
	fx.mu.Lock()
	fx.fail = portolan.Errorf(portolan.EUNAVAILABLE, "The database is unavailable; try again.")
	fx.mu.Unlock()
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
