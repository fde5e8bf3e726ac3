// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"portolan/internal/httpapi"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu      sync.Mutex
	events  []string
	refused []string
}

func (r *recorder) Request(route string, status int, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("%s %d", route, status))
}
func (r *recorder) CacheLookup(bool) {}
func (r *recorder) TokenRefused(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused = append(r.refused, reason)
}

// TestObserverSeesRoutesAndRefusals: requests are labelled by route (never
// by key), unknown paths as other, and refused tokens by reason.
func TestObserverSeesRoutesAndRefusals(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, newFixture(), func(c *httpapi.Config) { c.Observer = rec })
	s.get(t, "hosts/10.0.0.1/ports")
	s.get(t, "hosts('85.13.139.18')")
	s.get(t, "/nowhere")
	s.do(t, "GET", "hosts/10.0.0.1/ports")
	s.do(t, "GET", "hosts/10.0.0.1/ports", "Authorization", "Bearer forged")
	s.do(t, "GET", "hosts/10.0.0.1/ports", "Authorization", "Bearer "+noPermToken)
	want := []string{"hosts/{id}/ports 200", "hosts/{id} 200", "other 404", "hosts/{id}/ports 401", "hosts/{id}/ports 401", "hosts/{id}/ports 403"}
	if !slices.Equal(rec.events, want) {
		t.Errorf("requests %q, want %q", rec.events, want)
	}
	if want := []string{"missing", "invalid", "permission"}; !slices.Equal(rec.refused, want) {
		t.Errorf("refusals %q, want %q", rec.refused, want)
	}
	for _, name := range httpapi.RouteNames() {
		if name == "" {
			t.Error("an unnamed route")
		}
	}
}
