// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/httpapi"
)

// TestRateLimitPerPrincipal: past its burst a principal gets Graph's 429
// with Retry-After, while another principal is served; the budget comes
// back with time.
func TestRateLimitPerPrincipal(t *testing.T) {
	now := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	s := newServer(t, newFixture(), func(c *httpapi.Config) {
		c.Limits = httpapi.Limits{RequestsPerSecond: 0.5, Burst: 3}
		c.Now = func() time.Time { return now }
	})
	const path = "hosts/10.0.0.1/ports"
	for range 3 {
		wantStatus(t, s.get(t, path), http.StatusOK)
	}
	w := s.get(t, path)
	wantStatus(t, w, http.StatusTooManyRequests)
	if e, _ := decode(t, w.Body.Bytes())["error"].(map[string]any); e["code"] != "TooManyRequests" || !strings.Contains(e["message"].(string), "Retry-After") {
		t.Errorf("error %v", e)
	}
	if got := w.Header().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2 (one request every 2 s)", got)
	}
	// Another principal has its own budget.
	wantStatus(t, s.do(t, http.MethodGet, path, "Authorization", "Bearer "+otherToken), http.StatusOK)
	// A refused request took nothing: 2 s later exactly one more passes.
	now = now.Add(2 * time.Second)
	wantStatus(t, s.get(t, path), http.StatusOK)
	wantStatus(t, s.get(t, path), http.StatusTooManyRequests)
}

// blockingSearch holds every hostPorts search until release is closed.
type blockingSearch struct {
	portolan.SearchService
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSearch) SearchHostPorts(ctx context.Context, q portolan.SearchQuery) (portolan.Page[*portolan.HostPort], error) {
	b.entered <- struct{}{}
	<-b.release
	return portolan.Page[*portolan.HostPort]{}, nil
}

// TestExpensiveQueriesAreCapped: with one slot, a second search waits its
// turn and then gets 429 with Retry-After, a host's ports (not expensive)
// are served meanwhile, and the slot is free again once the first ends.
func TestExpensiveQueriesAreCapped(t *testing.T) {
	bs := &blockingSearch{entered: make(chan struct{}, 4), release: make(chan struct{})}
	s := newServer(t, newFixture(), func(c *httpapi.Config) {
		c.Search = bs
		c.Limits = httpapi.Limits{Expensive: 1, ExpensiveWait: 50 * time.Millisecond}
	})
	first := make(chan int, 1)
	go func() { first <- s.get(t, "hostPorts?$top=1").Code }()
	<-bs.entered
	start := time.Now()
	w := s.get(t, "hostPorts?%24filter=port%20eq%2022")
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("refused after %v, before the wait", waited)
	}
	wantError(t, w, http.StatusTooManyRequests, "TooManyRequests", "Too many searches and delta queries are running; retry after the number of seconds in the Retry-After header.")
	if w.Header().Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q", w.Header().Get("Retry-After"))
	}
	wantStatus(t, s.get(t, "hosts/10.0.0.1/ports"), http.StatusOK)
	close(bs.release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("first search: %d", code)
	}
	wantStatus(t, s.get(t, "hostPorts?$top=1"), http.StatusOK)
}

// TestLongPathIsCutInTheLog: a path of 8 KiB is logged as its first 512
// bytes and its length.
func TestLongPathIsCutInTheLog(t *testing.T) {
	s := newServer(t, newFixture())
	long := "/beta/" + strings.Repeat("a", 8<<10)
	s.get(t, long)
	var logged string
	for _, l := range s.log.lines(t) {
		if l["msg"] == "request" {
			logged, _ = l["path"].(string)
		}
	}
	if len(logged) > 600 || !strings.HasSuffix(logged, "…(8198 bytes)") || !strings.HasPrefix(logged, "/beta/aaa") {
		t.Errorf("logged path %d bytes: %.80q…", len(logged), logged)
	}
}
