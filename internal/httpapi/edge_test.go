// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"portolan/internal/httpapi"
)

// TestEdgeChecks covers what is refused before any route: each answer is
// Graph's envelope with a request-id, never net/http's redirect.
func TestEdgeChecks(t *testing.T) {
	s := newServer(t, newFixture())
	long := "hosts/85.13.139.18/ports?$filter=port%20eq%201" + strings.Repeat("%20", httpapi.MaxURLBytes/3)
	wantError(t, s.get(t, long), http.StatusRequestURITooLong, "RequestUriTooLong", "")
	for _, target := range []string{
		"/beta//security/threatIntelligence/hosts/85.13.139.18",
		"/beta/security/./threatIntelligence/hosts/85.13.139.18",
		"/beta/security/threatIntelligence/hosts/x/../85.13.139.18",
		"/beta/security/threatIntelligence/hosts/%2E%2E/85.13.139.18",
	} {
		w := s.get(t, target)
		wantError(t, w, http.StatusBadRequest, "BadRequest", "")
		if w.Header().Get("Location") != "" {
			t.Errorf("%s: redirected to %s", target, w.Header().Get("Location"))
		}
	}
	// A trailing slash still names the same resource.
	wantStatus(t, s.get(t, "hosts/85.13.139.18/"), http.StatusOK)

	r := httptest.NewRequest(http.MethodGet, "/beta/security/threatIntelligence/hosts/85.13.139.18", nil)
	r.Host = ""
	r.Header.Set("Authorization", "Bearer "+goodToken)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	wantError(t, w, http.StatusBadRequest, "BadRequest", "The request has no Host header, or an empty one.")
}

// TestAccept checks content negotiation: JSON with or without control
// information, 406 for what Portolan cannot produce.
func TestAccept(t *testing.T) {
	s := newServer(t, newFixture())
	target := "hosts/85.13.139.18/ports?$top=1&$count=true"
	minimal := s.get(t, target)
	for _, accept := range []string{"application/json", "*/*", "application/*;q=0.5", "text/html, application/json;q=0.1", "application/json;odata.metadata=minimal"} {
		w := s.get(t, target, "Accept", accept)
		wantStatus(t, w, http.StatusOK)
		if w.Body.String() != minimal.Body.String() || w.Header().Get("Content-Type") != jsonContentType {
			t.Errorf("Accept %q: %s %s", accept, w.Header().Get("Content-Type"), w.Body)
		}
	}
	w := s.get(t, target, "Accept", "application/json;odata.metadata=none")
	wantStatus(t, w, http.StatusOK)
	body := w.Body.String()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json;odata.metadata=none;") {
		t.Errorf("Content-Type %q", ct)
	}
	if strings.Contains(body, "@odata.context") || strings.Contains(body, "@odata.type") || !strings.Contains(body, `"@odata.count":`) || !strings.Contains(body, `"@odata.nextLink":`) {
		t.Errorf("odata.metadata=none body keeps control information or loses count and nextLink: %s", body)
	}
	if m := decode(t, w.Body.Bytes()); m["value"] == nil {
		t.Errorf("odata.metadata=none body %s", body)
	}
	if w.Header().Get("ETag") == minimal.Header().Get("ETag") {
		t.Error("the two representations share an ETag")
	}
	for _, c := range []struct{ target, accept string }{
		{target, "application/xml"},
		{target, "text/html, application/json;q=0"},
		{"/beta/$metadata", "application/json"},
		{"hosts/85.13.139.18/ports/$count", "image/png"},
	} {
		wantError(t, s.get(t, c.target, "Accept", c.accept), http.StatusNotAcceptable, "NotAcceptable", "")
	}
	wantStatus(t, s.get(t, "/beta/$metadata", "Accept", "application/xml"), http.StatusOK)
	wantStatus(t, s.get(t, "hosts/85.13.139.18/ports/$count", "Accept", "text/plain"), http.StatusOK)
}

// TestCORS checks that CORS is off by default, and on for the configured
// origins: headers on answers and errors, preflights answered without a
// token.
func TestCORS(t *testing.T) {
	target := "hosts/85.13.139.18/ports"
	off := newServer(t, newFixture())
	if w := off.get(t, target, "Origin", "https://app.example"); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS without --cors-origin: %v", w.Header())
	}
	if w := off.do(t, http.MethodOptions, target, "Origin", "https://app.example", "Access-Control-Request-Method", "GET"); w.Code == http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight answered without --cors-origin: %d %v", w.Code, w.Header())
	}

	s := newServer(t, newFixture(), func(c *httpapi.Config) { c.CORSOrigins = []string{"https://app.example"} })
	w := s.get(t, target, "Origin", "https://app.example")
	wantStatus(t, w, http.StatusOK)
	if w.Header().Get("Access-Control-Allow-Origin") != "https://app.example" || !strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "request-id") ||
		!strings.Contains(w.Header().Get("Vary"), "Origin") {
		t.Errorf("simple request: %v", w.Header())
	}
	w = s.do(t, http.MethodGet, target, "Origin", "https://app.example")
	wantStatus(t, w, http.StatusUnauthorized)
	if w.Header().Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("401 without the CORS header, which hides it from the script: %v", w.Header())
	}
	w = s.do(t, http.MethodOptions, target, "Origin", "https://app.example", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization, client-request-id")
	wantStatus(t, w, http.StatusNoContent)
	if w.Header().Get("Access-Control-Allow-Methods") != "GET, HEAD" || w.Header().Get("Access-Control-Allow-Headers") != "authorization, client-request-id" {
		t.Errorf("preflight: %v", w.Header())
	}
	w = s.get(t, target, "Origin", "https://evil.example")
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("another origin allowed: %v", w.Header())
	}
}
