// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/httpapi"
	"portolan/internal/mock"
)

func TestNewRequiresConfig(t *testing.T) {
	st := newFixture().store()
	full := httpapi.Config{HostPorts: st, Hosts: st, Certificates: st, Verifier: fakeVerifier(), SkipTokenKey: testKey}
	if _, err := httpapi.New(full); err != nil {
		t.Fatalf("New(full config): %v", err)
	}
	for name, mutate := range map[string]func(*httpapi.Config){
		"no verifier":  func(c *httpapi.Config) { c.Verifier = nil },
		"no hostPorts": func(c *httpapi.Config) { c.HostPorts = nil },
		"no hosts":     func(c *httpapi.Config) { c.Hosts = nil },
		"no certs":     func(c *httpapi.Config) { c.Certificates = nil },
		"short key":    func(c *httpapi.Config) { c.SkipTokenKey = make([]byte, 16) },
	} {
		c := full
		mutate(&c)
		if _, err := httpapi.New(c); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestEveryEndpointOnBothRoots(t *testing.T) {
	fx := newFixture()
	s := newServer(t, fx)
	paths := []string{
		"hosts/85.13.139.18",
		"hosts/85.13.139.18/ports",
		"hosts/85.13.139.18/ports/$count",
		"hosts/85.13.139.18/ports/" + url.PathEscape(seedID),
		"hostPorts/" + url.PathEscape(seedID),
		"hostPorts/" + url.PathEscape(seedID) + "/host",
		"hostPorts/" + url.PathEscape(seedID) + "/mostRecentSslCertificate",
		"hosts/85.13.139.18/components",
		"hostComponents/" + url.PathEscape(fx.comps[0].ID),
		"hosts/85.13.139.18/sslCertificates",
		"hostSslCertificates/" + url.PathEscape(fx.hostCerts[0].ID),
		"sslCertificates/" + url.PathEscape(seedCertID),
		"sslCertificates/" + url.PathEscape(seedCertID) + "/relatedHosts",
		`sslCertificates?$search="sha1:` + seedCertSHA1 + `"`,
	}
	for _, root := range []string{"/beta", "/v1.0"} {
		for _, p := range paths {
			target := root + "/security/threatIntelligence/" + p
			w := s.get(t, target)
			if w.Code != http.StatusOK {
				t.Errorf("GET %s = %d: %s", target, w.Code, w.Body)
			}
			if w.Header().Get("ETag") == "" {
				t.Errorf("GET %s has no ETag", target)
			}
			w = s.do(t, http.MethodPost, target, "Authorization", "Bearer "+goodToken)
			wantError(t, w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The method 'POST' is not allowed on this resource; only GET is.")
			if w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("405 Allow = %q", w.Header().Get("Allow"))
			}
		}
		w := s.do(t, http.MethodGet, root+"/$metadata")
		wantStatus(t, w, http.StatusOK)
	}
	for _, m := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		wantError(t, s.do(t, m, "hostPorts/x", "Authorization", "Bearer "+goodToken), http.StatusMethodNotAllowed, "MethodNotAllowed", "")
	}
	wantError(t, s.do(t, http.MethodPost, "/healthz"), http.StatusMethodNotAllowed, "MethodNotAllowed", "")
	wantError(t, s.do(t, http.MethodDelete, "/beta/$metadata"), http.StatusMethodNotAllowed, "MethodNotAllowed", "")
}

func TestUnknownRoutes(t *testing.T) {
	s := newServer(t, newFixture())
	for _, target := range []string{
		"hosts",
		"hostPorts",
		"hosts/85.13.139.18/whois",
		"hosts/85.13.139.18/ports/x/y",
		"hosts/85.13.139.18/ports/$count/x",
		"hostPorts/x/banners",
		"hostComponents",
		"hostComponents/x/host",
		"sslCertificates/x/y/z",
		"passiveDnsRecords/x",
		"hosts/1.2.3.4/ports('x')/host",
		"ports('x')",
		"/beta/security/x",
		"/beta/security",
		"/beta/",
		"/v1.0/me",
		"/beta/security/threatIntelligence/hosts/a/b/c/d/e/f/g/h/i",
	} {
		w := s.get(t, target)
		wantError(t, w, http.StatusNotFound, "ResourceNotFound", "")
	}
	wantError(t, s.get(t, "hosts('1.2.3.4')('x')"), http.StatusBadRequest, "BadRequest", "The key literal '1.2.3.4')('x' is malformed: quotes inside it must be doubled.")
	// Outside the roots, no token is needed to learn that nothing is there.
	for _, target := range []string{"/", "/v2/security", "/favicon.ico"} {
		wantError(t, s.do(t, http.MethodGet, target), http.StatusNotFound, "ResourceNotFound", "")
	}
	wantError(t, s.do(t, http.MethodGet, "/nothing/here"), http.StatusNotFound, "ResourceNotFound", "Resource not found for the segment 'nothing'.")
	wantError(t, s.get(t, "hostPorts/x/banners"), http.StatusNotFound, "ResourceNotFound", "Resource not found for the segment 'banners'.")
}

func TestAuthentication(t *testing.T) {
	fx := newFixture()
	s := newServer(t, fx)
	target := "hosts/85.13.139.18?$select=id"
	tests := []struct {
		name          string
		header        []string
		target        string
		status        int
		code, message string
		wwwAuth       string
	}{
		{"missing", nil, target, 401, "InvalidAuthenticationToken", "Access token is empty.", "Bearer"},
		{"empty bearer", []string{"Authorization", "Bearer "}, target, 401, "InvalidAuthenticationToken", "Access token is empty.", "Bearer"},
		{"basic", []string{"Authorization", "Basic dTpw"}, target, 401, "InvalidAuthenticationToken", "Access token is empty.", "Bearer"},
		{"invalid", []string{"Authorization", "Bearer junk"}, target, 401, "InvalidAuthenticationToken", "Access token validation failure.",
			`Bearer error="invalid_token", error_description="Access token validation failure."`},
		{"forbidden", []string{"Authorization", "Bearer " + noPermToken}, target, 403, "Authorization_RequestDenied", "Missing role permissions on the request.", ""},
		{"lenient verifier", []string{"Authorization", "Bearer " + lenientToken}, target, 403, "Authorization_RequestDenied",
			"Missing permission on the request. API requires 'ThreatIntelligence.Read.All'.", ""},
		{"query token", []string{"Authorization", "Bearer " + goodToken}, target + "&access_token=" + goodToken, 401, "InvalidAuthenticationToken",
			"Access tokens in the query string are not accepted; send the token in the Authorization header.",
			`Bearer error="invalid_request", error_description="Send the access token in the Authorization header, not in the query string."`},
		{"query token only", nil, "hosts/85.13.139.18?ACCESS_TOKEN=" + goodToken, 401, "InvalidAuthenticationToken",
			"Access tokens in the query string are not accepted; send the token in the Authorization header.", ""},
		{"unknown route without token", nil, "nothing/here", 401, "InvalidAuthenticationToken", "Access token is empty.", "Bearer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := s.do(t, http.MethodGet, tt.target, tt.header...)
			wantError(t, w, tt.status, tt.code, tt.message)
			if tt.wwwAuth != "" {
				if got := w.Header().Get("WWW-Authenticate"); got != tt.wwwAuth {
					t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wwwAuth)
				}
			}
		})
	}
	// The scheme is case-insensitive, and the principal reaches the store.
	w := s.do(t, http.MethodGet, target, "Authorization", "bearer  "+goodToken)
	wantStatus(t, w, http.StatusOK)
	if fx.principal == nil || fx.principal.Subject != "alice" {
		t.Errorf("principal in the store's context = %+v", fx.principal)
	}
	// Open endpoints.
	wantStatus(t, s.do(t, http.MethodGet, "/healthz"), http.StatusOK)
	wantStatus(t, s.do(t, http.MethodGet, "/beta/$metadata"), http.StatusOK)
	wantStatus(t, s.do(t, http.MethodGet, "/v1.0/%24metadata", "Authorization", "Bearer "+goodToken), http.StatusOK)
}

func TestVerifierFailures(t *testing.T) {
	for _, tt := range []struct {
		err           error
		status        int
		code, message string
	}{
		{portolan.Errorf(portolan.EUNAVAILABLE, "The key server is unreachable."), 503, "serviceNotAvailable", "The key server is unreachable."},
		{errors.New("jwks: dial tcp: connection refused"), 500, "generalException", "Internal error."},
	} {
		s := newServer(t, newFixture(), func(c *httpapi.Config) {
			c.Verifier = &mock.TokenVerifier{VerifyTokenFn: func(context.Context, string) (*portolan.Principal, error) { return nil, tt.err }}
		})
		wantError(t, s.get(t, "hosts/85.13.139.18"), tt.status, tt.code, tt.message)
	}
	s := newServer(t, newFixture(), func(c *httpapi.Config) {
		c.Verifier = &mock.TokenVerifier{VerifyTokenFn: func(context.Context, string) (*portolan.Principal, error) { return nil, nil }}
	})
	wantError(t, s.get(t, "hosts/85.13.139.18"), 500, "generalException", "Internal error.")
}

func TestErrorStatuses(t *testing.T) {
	tests := []struct {
		err           error
		status        int
		code, message string
		retryAfter    string
	}{
		{portolan.Errorf(portolan.EINVALID, "Bad thing."), 400, "BadRequest", "Bad thing.", ""},
		{portolan.Errorf(portolan.ENOTFOUND, "Gone."), 404, "ResourceNotFound", "Gone.", ""},
		{portolan.Errorf(portolan.EFORBIDDEN, "No."), 403, "Authorization_RequestDenied", "No.", ""},
		{portolan.Errorf(portolan.ECONFLICT, "Clash."), 409, "Conflict", "Clash.", ""},
		{portolan.Errorf(portolan.ETOOMANY, "Slow down."), 429, "TooManyRequests", "Slow down.", "1"},
		{portolan.Errorf(portolan.EUNAVAILABLE, "The database is unreachable."), 503, "serviceNotAvailable", "The database is unreachable.", "1"},
		{portolan.Errorf(portolan.EINTERNAL, "Internal error."), 500, "generalException", "Internal error.", ""},
		{portolan.WrapError(portolan.EINTERNAL, errors.New("disk I/O error at /var/secret"), "Internal error."), 500, "generalException", "Internal error.", ""},
		{errors.New("sql: connection reset by peer 10.1.2.3"), 500, "generalException", "Internal error.", ""},
		{&portolan.Error{Code: "mystery", Message: "Odd."}, 500, "generalException", "Internal error.", ""},
	}
	for _, tt := range tests {
		fx := newFixture()
		fx.fail = tt.err
		s := newServer(t, fx)
		w := s.get(t, "hosts/85.13.139.18/ports", "client-request-id", "abc-123")
		wantError(t, w, tt.status, tt.code, tt.message)
		if got := w.Header().Get("Retry-After"); got != tt.retryAfter {
			t.Errorf("%v: Retry-After = %q, want %q", tt.err, got, tt.retryAfter)
		}
		if strings.Contains(w.Body.String(), "secret") || strings.Contains(w.Body.String(), "10.1.2.3") {
			t.Errorf("the body leaks the cause: %s", w.Body)
		}
		var errorLines int
		for _, l := range s.log.lines(t) {
			if l["level"] == "ERROR" {
				errorLines++
				if l["request-id"] != w.Header().Get("request-id") || l["method"] != "GET" || l["path"] != "/beta/security/threatIntelligence/hosts/85.13.139.18/ports" {
					t.Errorf("error log line %v lacks request id, method or path", l)
				}
			}
		}
		if want := map[bool]int{true: 1, false: 0}[tt.status == 500]; errorLines != want {
			t.Errorf("%v: %d error log lines, want %d", tt.err, errorLines, want)
		}
	}
}

func TestPanicBecomes500(t *testing.T) {
	fx := newFixture()
	fx.panic = true
	s := newServer(t, fx)
	w := s.get(t, "hosts/85.13.139.18/ports")
	wantError(t, w, http.StatusInternalServerError, "generalException", "Internal error.")
	if strings.Contains(w.Body.String(), "exploded") {
		t.Errorf("the body leaks the panic: %s", w.Body)
	}
	var found bool
	for _, l := range s.log.lines(t) {
		if l["msg"] == "panic" {
			found = true
			if !strings.Contains(l["panic"].(string), "store exploded: secret detail") || l["request-id"] != w.Header().Get("request-id") || l["stack"] == "" {
				t.Errorf("panic log line %v", l)
			}
		}
	}
	if !found {
		t.Error("the panic was not logged")
	}
}

func TestCanceledRequest(t *testing.T) {
	fx := newFixture()
	fx.fail = context.Canceled
	s := newServer(t, fx)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest(http.MethodGet, "/beta/security/threatIntelligence/hosts/85.13.139.18/ports", nil).WithContext(ctx)
	r.Header.Set("Authorization", "Bearer "+goodToken)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != 499 || w.Body.Len() != 0 {
		t.Errorf("status %d body %q, want 499 and nothing", w.Code, w.Body)
	}
	for _, l := range s.log.lines(t) {
		if l["level"] == "ERROR" {
			t.Errorf("a client that went away was logged as an error: %v", l)
		}
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRequestIDs(t *testing.T) {
	s := newServer(t, newFixture())
	hs := httptest.NewServer(s)
	defer hs.Close()
	get := func(path string, header ...string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, hs.URL+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	seen := map[string]bool{}
	for _, path := range []string{"/beta/security/threatIntelligence/hosts/85.13.139.18", "/beta/security/threatIntelligence/hosts/9.9.9.9", "/healthz", "/beta/$metadata", "/nope"} {
		for _, auth := range []string{"", "Bearer " + goodToken} {
			resp := get(path, "Authorization", auth)
			id := resp.Header.Get("request-id")
			if !uuidV4.MatchString(id) || seen[id] {
				t.Errorf("%s: request-id %q is not a fresh UUID v4", path, id)
			}
			seen[id] = true
			if resp.Header.Get("client-request-id") != id {
				t.Errorf("%s: client-request-id = %q, want the request-id %q", path, resp.Header.Get("client-request-id"), id)
			}
			if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
				t.Errorf("%s: Date %q: %v", path, resp.Header.Get("Date"), err)
			}
		}
	}
	resp := get("/beta/security/threatIntelligence/hosts/85.13.139.18", "Authorization", "Bearer "+goodToken, "client-request-id", "0d4b7f4e-1f0e-4c57-9a2b-6c3c1f0c9a11")
	if got := resp.Header.Get("client-request-id"); got != "0d4b7f4e-1f0e-4c57-9a2b-6c3c1f0c9a11" {
		t.Errorf("client-request-id = %q, want the caller's", got)
	}
	// Values that are no sane id are not echoed.
	resp = get("/healthz", "client-request-id", strings.Repeat("x", 500))
	if got := resp.Header.Get("client-request-id"); got != resp.Header.Get("request-id") {
		t.Errorf("client-request-id = %q, want the request-id", got)
	}
}

func TestRequestLog(t *testing.T) {
	s := newServer(t, newFixture())
	w := s.get(t, "hosts/85.13.139.18?$select=id")
	s.do(t, http.MethodGet, "hosts/85.13.139.18?access_token=secret")
	lines := s.log.lines(t)
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want one per request: %v", len(lines), lines)
	}
	l := lines[0]
	if l["msg"] != "request" || l["request-id"] != w.Header().Get("request-id") || l["method"] != "GET" ||
		l["path"] != "/beta/security/threatIntelligence/hosts/85.13.139.18" || l["status"] != float64(200) || l["subject"] != "alice" {
		t.Errorf("log line %v", l)
	}
	if _, ok := l["duration"].(float64); !ok {
		t.Errorf("log line without duration: %v", l)
	}
	if lines[1]["status"] != float64(401) || lines[1]["subject"] != "" {
		t.Errorf("log line %v", lines[1])
	}
	if strings.Contains(s.log.buf.String(), "secret") {
		t.Error("the query string (and its token) went into the log")
	}
}

func TestGzip(t *testing.T) {
	s := newServer(t, newFixture())
	plain := s.get(t, "hosts/85.13.139.18/ports")
	wantStatus(t, plain, http.StatusOK)
	if plain.Header().Get("Content-Encoding") != "" {
		t.Fatal("gzip without Accept-Encoding")
	}
	for _, ae := range []string{"gzip", "deflate, gzip;q=0.5", "br, *", "GZIP"} {
		w := s.get(t, "hosts/85.13.139.18/ports", "Accept-Encoding", ae)
		wantStatus(t, w, http.StatusOK)
		if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Vary") != "Accept, Accept-Encoding" {
			t.Fatalf("%s: headers %v", ae, w.Header())
		}
		zr, err := gzip.NewReader(w.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, plain.Body.Bytes()) {
			t.Errorf("%s: gunzipped body differs", ae)
		}
		if w.Header().Get("ETag") == plain.Header().Get("ETag") {
			t.Error("the gzip representation has the identity ETag")
		}
		if w.Header().Get("Content-Length") == plain.Header().Get("Content-Length") {
			t.Error("Content-Length not that of the compressed body")
		}
	}
	for _, ae := range []string{"gzip;q=0", "deflate", "identity", "gzip; q=0.0"} {
		w := s.get(t, "hosts/85.13.139.18/ports", "Accept-Encoding", ae)
		if w.Header().Get("Content-Encoding") != "" {
			t.Errorf("%s: gzipped", ae)
		}
	}
	// Small bodies are not worth it.
	w := s.get(t, "hosts/85.13.139.18?$select=id", "Accept-Encoding", "gzip")
	if w.Header().Get("Content-Encoding") != "" {
		t.Error("tiny body gzipped")
	}
}

func TestETag(t *testing.T) {
	fx := newFixture()
	s := newServer(t, fx)
	target := "hosts/85.13.139.18/ports"
	w := s.get(t, target)
	tag := w.Header().Get("ETag")
	if !regexp.MustCompile(`^"[A-Za-z0-9_-]+"$`).MatchString(tag) {
		t.Fatalf("ETag %q is not a strong tag", tag)
	}
	if again := s.get(t, target).Header().Get("ETag"); again != tag {
		t.Errorf("ETag changed for the same body: %s, %s", tag, again)
	}
	gz := s.get(t, target, "Accept-Encoding", "gzip").Header().Get("ETag")
	for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*", gz} {
		w := s.get(t, target, "If-None-Match", inm)
		wantStatus(t, w, http.StatusNotModified)
		if w.Body.Len() != 0 || w.Header().Get("ETag") != tag || w.Header().Get("request-id") == "" {
			t.Errorf("304 for %q: body %q, headers %v", inm, w.Body, w.Header())
		}
	}
	// A 304 carries the ETag of the 200 it stands for: the gzip one when the
	// client accepts gzip.
	for _, inm := range []string{tag, gz} {
		w := s.get(t, target, "If-None-Match", inm, "Accept-Encoding", "gzip")
		wantStatus(t, w, http.StatusNotModified)
		if got := w.Header().Get("ETag"); got != gz || gz == tag {
			t.Errorf("304 with gzip for %q: ETag %q, want the 200's %q", inm, got, gz)
		}
	}
	wantStatus(t, s.get(t, target, "If-None-Match", `"other"`), http.StatusOK)
	// Entities, the count and the metadata have tags too; a change changes it.
	for _, p := range []string{"hostPorts/" + url.PathEscape(seedID), "hosts/85.13.139.18/ports/$count", "/beta/$metadata"} {
		w := s.get(t, p)
		if w.Header().Get("ETag") == "" {
			t.Errorf("%s: no ETag", p)
		}
		wantStatus(t, s.get(t, p, "If-None-Match", w.Header().Get("ETag")), http.StatusNotModified)
	}
	fx.ports[0].TimesObserved++
	if s.get(t, target).Header().Get("ETag") == tag {
		t.Error("ETag unchanged after the data changed")
	}
	// Errors have none.
	if w := s.get(t, "hosts/9.9.9.9/ports"); w.Header().Get("ETag") != "" {
		t.Error("ETag on an error")
	}
}

func TestHead(t *testing.T) {
	s := newServer(t, newFixture())
	get := s.get(t, "hosts/85.13.139.18/ports")
	w := s.do(t, http.MethodHead, "hosts/85.13.139.18/ports", "Authorization", "Bearer "+goodToken)
	wantStatus(t, w, http.StatusOK)
	if w.Body.Len() != 0 {
		t.Errorf("HEAD wrote a body")
	}
	for _, h := range []string{"Content-Type", "Content-Length", "ETag"} {
		if w.Header().Get(h) != get.Header().Get(h) {
			t.Errorf("HEAD %s = %q, GET %q", h, w.Header().Get(h), get.Header().Get(h))
		}
	}
}

func TestHealthz(t *testing.T) {
	s := newServer(t, newFixture())
	w := s.do(t, http.MethodGet, "/healthz")
	wantStatus(t, w, http.StatusOK)
	if w.Body.String() != "ok\n" || w.Header().Get("request-id") == "" {
		t.Errorf("healthz: %q %v", w.Body, w.Header())
	}
}

func TestMetadata(t *testing.T) {
	s := newServer(t, newFixture())
	w := s.do(t, http.MethodGet, "/beta/$metadata")
	wantStatus(t, w, http.StatusOK)
	if ct := w.Header().Get("Content-Type"); ct != "application/xml;charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	var doc struct {
		Schemas []struct {
			Namespace string `xml:"Namespace,attr"`
			Entities  []struct {
				Name  string `xml:"Name,attr"`
				Props []struct {
					Name string `xml:"Name,attr"`
				} `xml:"Property"`
				Navs []struct {
					Name string `xml:"Name,attr"`
				} `xml:"NavigationProperty"`
			} `xml:"EntityType"`
			Complex []struct {
				Name string `xml:"Name,attr"`
			} `xml:"ComplexType"`
			Enums []struct {
				Name string `xml:"Name,attr"`
			} `xml:"EnumType"`
		} `xml:"DataServices>Schema"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatalf("CSDL is not XML: %v", err)
	}
	types := map[string][]string{}
	for _, sc := range doc.Schemas {
		for _, e := range sc.Entities {
			var members []string
			for _, p := range e.Props {
				members = append(members, p.Name)
			}
			for _, n := range e.Navs {
				members = append(members, n.Name)
			}
			types[sc.Namespace+"."+e.Name] = members
		}
		for _, c := range sc.Complex {
			types[sc.Namespace+"."+c.Name] = nil
		}
		for _, e := range sc.Enums {
			types[sc.Namespace+"."+e.Name] = nil
		}
	}
	for _, name := range []string{
		"microsoft.graph.entity", "microsoft.graph.physicalAddress", "microsoft.graph.physicalAddressType",
		"microsoft.graph.security.security", "microsoft.graph.security.threatIntelligence",
		"microsoft.graph.security.host", "microsoft.graph.security.hostname", "microsoft.graph.security.ipAddress",
		"microsoft.graph.security.hostPort", "microsoft.graph.security.hostPortBanner", "microsoft.graph.security.hostPortComponent",
		"microsoft.graph.security.hostComponent", "microsoft.graph.security.sslCertificate", "microsoft.graph.security.sslCertificateEntity",
		"microsoft.graph.security.hostSslCertificate", "microsoft.graph.security.hostSslCertificatePort",
		"microsoft.graph.security.autonomousSystem", "microsoft.graph.security.hostPortStatus", "microsoft.graph.security.hostPortProtocol",
	} {
		if _, ok := types[name]; !ok {
			t.Errorf("CSDL lacks %s", name)
		}
	}
	// The hostPort members are exactly those the API writes.
	got := types["microsoft.graph.security.hostPort"]
	want := []string{"banners", "firstSeenDateTime", "lastScanDateTime", "lastSeenDateTime", "port", "protocol", "services", "status", "timesObserved", "host", "mostRecentSslCertificate"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hostPort members (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"hostComponents", "hostPorts", "hosts", "hostSslCertificates", "sslCertificates"}, types["microsoft.graph.security.threatIntelligence"]); diff != "" {
		t.Errorf("threatIntelligence collections (-want +got):\n%s", diff)
	}
	wantError(t, s.do(t, http.MethodGet, "/beta/$metadata?$format=json"), http.StatusBadRequest, "BadRequest", "Query option '$format' is not supported by this request.")
	w2 := s.do(t, http.MethodGet, "/v1.0/$metadata")
	if !bytes.Equal(w.Body.Bytes(), w2.Body.Bytes()) {
		t.Error("the roots serve different metadata")
	}
}

func TestErrorDateIsServerClock(t *testing.T) {
	s := newServer(t, newFixture(), func(c *httpapi.Config) {
		c.Now = func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)) }
	})
	w := s.get(t, "hosts/9.9.9.9")
	if !strings.Contains(w.Body.String(), `"date":"2030-01-02T02:04:05"`) {
		t.Errorf("date not in UTC without zone: %s", w.Body)
	}
}

// TestMissingTokenGoesToTheVerifier: the verifier decides about requests
// without a token (portolan.TokenVerifier), so --insecure-no-auth works.
func TestMissingTokenGoesToTheVerifier(t *testing.T) {
	var got []string
	s := newServer(t, newFixture(), func(c *httpapi.Config) {
		c.Verifier = &mock.TokenVerifier{VerifyTokenFn: func(_ context.Context, token string) (*portolan.Principal, error) {
			got = append(got, token)
			return &portolan.Principal{Subject: "insecure-no-auth", Scopes: []string{portolan.PermissionThreatIntelligenceRead}}, nil
		}}
	})
	wantStatus(t, s.do(t, http.MethodGet, "hosts/85.13.139.18"), http.StatusOK)
	wantStatus(t, s.do(t, http.MethodGet, "hosts/85.13.139.18", "Authorization", "Basic dTpw"), http.StatusOK)
	wantStatus(t, s.do(t, http.MethodGet, "hosts/85.13.139.18", "Authorization", "Bearer  abc "), http.StatusOK)
	if diff := cmp.Diff([]string{"", "", "abc"}, got); diff != "" {
		t.Errorf("tokens the verifier saw (-want +got):\n%s", diff)
	}
}

// TestConcurrentRequests shares the pooled buffers and gzip writers between
// many requests at once; every response must still be its own (run with
// -race).
func TestConcurrentRequests(t *testing.T) {
	s := newServer(t, newFixture())
	hs := httptest.NewServer(s)
	defer hs.Close()
	targets := []string{"hosts/85.13.139.18/ports", "hosts/85.13.139.18/ports?$select=id", "hostPorts/" + url.PathEscape(seedID), "hosts/10.0.0.1/ports"}
	want := map[string]string{}
	for _, target := range targets {
		want[target] = s.get(t, target).Body.String()
	}
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		go func(i int) {
			target := targets[i%len(targets)]
			req, _ := http.NewRequest(http.MethodGet, hs.URL+"/beta/security/threatIntelligence/"+target, nil)
			req.Header.Set("Authorization", "Bearer "+goodToken)
			if i%2 == 0 {
				req.Header.Set("Accept-Encoding", "gzip") // set by hand: the transport leaves the body compressed
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				errs <- err
				return
			}
			if resp.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				if body, err = io.ReadAll(zr); err != nil {
					errs <- err
					return
				}
			}
			got := strings.ReplaceAll(string(body), hs.URL[len("http://"):], "example.com")
			if got != want[target] {
				errs <- errors.New(target + ": body differs: " + got)
				return
			}
			errs <- nil
		}(i)
	}
	for i := 0; i < 64; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestRefusedTokensAreExplainedOnlyInTheLog checks that the reason a token
// was refused (the verifier's wrapped cause) reaches the log and not the
// client, which gets Graph's sentence.
func TestRefusedTokensAreExplainedOnlyInTheLog(t *testing.T) {
	s := newServer(t, newFixture(), func(c *httpapi.Config) {
		c.Verifier = &mock.TokenVerifier{VerifyTokenFn: func(context.Context, string) (*portolan.Principal, error) {
			return nil, portolan.WrapError(portolan.EUNAUTHORIZED, errors.New("token expired 3m ago"), "Access token validation failure.")
		}}
	})
	w := s.get(t, "hosts/85.13.139.18")
	wantError(t, w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure.")
	if strings.Contains(w.Body.String(), "expired") {
		t.Errorf("the body tells the reason: %s", w.Body)
	}
	found := false
	for _, l := range s.log.lines(t) {
		if l["msg"] == "token refused" && strings.Contains(fmt.Sprint(l["reason"]), "token expired 3m ago") && l["request-id"] != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("no log line with the reason: %v", s.log.lines(t))
	}
}

// TestRefusedTokenLogLineHasTheHint: the operator reads what to check first
// (for the local issuer, which data directory signs) next to the reason.
func TestRefusedTokenLogLineHasTheHint(t *testing.T) {
	s := newServer(t, newFixture(), func(c *httpapi.Config) {
		c.TokenHint = "tokens of data directory /srv/portolan"
		c.Verifier = &mock.TokenVerifier{VerifyTokenFn: func(context.Context, string) (*portolan.Principal, error) {
			return nil, portolan.WrapError(portolan.EUNAUTHORIZED, errors.New("signature invalid"), "Access token validation failure.")
		}}
	})
	w := s.get(t, "hosts/85.13.139.18")
	if w.Code != http.StatusUnauthorized || strings.Contains(w.Body.String(), "/srv/portolan") {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	found := false
	for _, l := range s.log.lines(t) {
		found = found || (l["msg"] == "token refused" && l["hint"] == "tokens of data directory /srv/portolan")
	}
	if !found {
		t.Errorf("no hint in the log: %v", s.log.lines(t))
	}
}

// TestNotFoundNamesTheSegmentThatFailed: the 404 names the first segment
// not understood, with the name probably meant, and a certificate asked
// for by its hex SHA-1 learns what its id is.
func TestNotFoundNamesTheSegmentThatFailed(t *testing.T) {
	s := newServer(t, newFixture())
	hexSHA1 := "0123456789abcdef0123456789ABCDEF01234567"
	for path, want := range map[string]string{
		"host/8.8.8.8":                                 "Resource not found for the segment 'host'. Did you mean 'hosts'?",
		"hostPort/x":                                   "Resource not found for the segment 'hostPort'. Did you mean 'hostPorts'?",
		"nothing/8.8.8.8":                              "Resource not found for the segment 'nothing'.",
		"hosts/8.8.8.8/port":                           "Resource not found for the segment 'port'. Did you mean 'ports'?",
		"hosts/8.8.8.8/ports/x/banners":                "Resource not found for the segment 'banners'.",
		"hostPorts/x/hosts":                            "Resource not found for the segment 'hosts'. Did you mean 'host'?",
		"sslCertificates/" + hexSHA1:                   "Resource not found for the segment '" + hexSHA1 + "'. Certificate ids are the base64 of the hex SHA-1, here '" + portolan.SSLCertificateID(strings.ToLower(hexSHA1)) + "'.",
		"sslCertificates/" + hexSHA1 + "/relatedHosts": "Resource not found for the segment '" + hexSHA1 + "'. Certificate ids are the base64 of the hex SHA-1, here '" + portolan.SSLCertificateID(strings.ToLower(hexSHA1)) + "'.",
	} {
		wantError(t, s.get(t, path), http.StatusNotFound, "ResourceNotFound", want)
	}
	wantError(t, s.get(t, "/beta/securty/threatIntelligence/hosts"), http.StatusNotFound, "ResourceNotFound", "Resource not found for the segment 'securty'. Did you mean 'security'?")
}
