// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"portolan/internal/httpapi"
)

// FuzzRoute drives arbitrary paths and query strings through the whole
// server (router, key parsing, option parsing, handlers over the fixture):
// bad input must never be a 500, and every error must be Graph's envelope.
func FuzzRoute(f *testing.F) {
	for _, seed := range [][2]string{
		{"hosts/85.13.139.18/ports", "$top=1&$select=id"},
		{"hosts('85.13.139.18')/ports/$count", ""},
		{"hosts/www.contoso.com/ports/ODUuMTMuMTM5LjE4JCQ0NDM%3D", "$expand=mostRecentSslCertificate($select=id)"},
		{"hostPorts/ODUuMTMuMTM5LjE4JCQ0NDM%3D/host", "$select=id"},
		{"hostPorts('a''b')/mostRecentSslCertificate", ""},
		{"sslCertificates", `$search="sha1:x"&$count=true`},
		{"sslCertificates/x/relatedHosts", "$skiptoken=AQ"},
		{"hosts/2001%3Adb8%3A%3A1/components", "$skip=1"},
		{"hostSslCertificates(id='x')", ""},
		{"hosts/%zz", ""},
		{"hosts(')/ports", "top=0"},
		{"../../x", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	// The log would grow with every input: discard it.
	s := newServer(f, newFixture(), func(c *httpapi.Config) { c.Logger = slog.New(slog.DiscardHandler) })
	f.Fuzz(func(t *testing.T, path, query string) {
		u, err := url.Parse("/beta/security/threatIntelligence/" + path)
		if err != nil || u.Host != "" || u.Scheme != "" {
			return
		}
		u.RawQuery = query
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL = u
		r.RequestURI = u.RequestURI()
		r.Header.Set("Authorization", "Bearer "+goodToken)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("GET %s?%s = %d: %s", u.EscapedPath(), query, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var env struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Error.Code == "" || env.Error.Message == "" {
				t.Fatalf("GET %s?%s = %d with a body that is no Graph error: %q", u.EscapedPath(), query, w.Code, w.Body)
			}
		}
		if w.Code == http.StatusOK && w.Header().Get("Content-Type") == jsonContentType && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("GET %s?%s: invalid JSON %q", u.EscapedPath(), query, w.Body)
		}
	})
}
