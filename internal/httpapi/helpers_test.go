// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"portolan"
	"portolan/internal/httpapi"
	"portolan/internal/mock"
)

// testKey is the $skiptoken key of test servers.
var testKey = bytes.Repeat([]byte{7}, 32)

// Tokens the fake verifier knows.
const (
	goodToken    = "good-token"
	noPermToken  = "no-permission"
	lenientToken = "lenient"     // verifies, but without the permission
	otherToken   = "other-token" // a second principal with the permission
)

// fakeVerifier accepts goodToken, refuses noPermToken with EFORBIDDEN and
// everything else (the empty token of a request without one included) with
// EUNAUTHORIZED, as portolan.TokenVerifier documents.
func fakeVerifier() *mock.TokenVerifier {
	return &mock.TokenVerifier{VerifyTokenFn: func(_ context.Context, token string) (*portolan.Principal, error) {
		switch token {
		case "":
			return nil, portolan.Errorf(portolan.EUNAUTHORIZED, "Access token is empty.")
		case goodToken:
			return &portolan.Principal{Subject: "alice", TenantID: "t1", Scopes: []string{portolan.PermissionThreatIntelligenceRead}}, nil
		case otherToken:
			return &portolan.Principal{Subject: "carol", TenantID: "t1", Scopes: []string{portolan.PermissionThreatIntelligenceRead}}, nil
		case lenientToken:
			return &portolan.Principal{Subject: "bob"}, nil
		case noPermToken:
			return nil, portolan.Errorf(portolan.EFORBIDDEN, "Missing role permissions on the request.")
		}
		return nil, portolan.Errorf(portolan.EUNAUTHORIZED, "Access token validation failure.")
	}}
}

// logBuffer collects the server's log as JSON lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// lines returns the logged records.
func (l *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// testServer is a Server over a fixture store.
type testServer struct {
	*httpapi.Server
	fx  *fixture
	log *logBuffer
}

// newServer returns a server over fx with the fake verifier.
func newServer(t testing.TB, fx *fixture, opts ...func(*httpapi.Config)) *testServer {
	t.Helper()
	lb := &logBuffer{}
	st := fx.store()
	cfg := httpapi.Config{
		HostPorts:    st,
		Hosts:        st,
		Certificates: st,
		Verifier:     fakeVerifier(),
		SkipTokenKey: testKey,
		Logger:       slog.New(slog.NewJSONHandler(lb, nil)),
		Now:          func() time.Time { return time.Date(2024, 4, 5, 6, 7, 8, 9, time.UTC) },
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{Server: s, fx: fx, log: lb}
}

// get sends an authenticated GET of target (relative to
// /beta/security/threatIntelligence/ unless it starts with '/').
func (s *testServer) get(t testing.TB, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	return s.do(t, http.MethodGet, target, append([]string{"Authorization", "Bearer " + goodToken}, header...)...)
}

// do sends a request with the given header pairs and no default header.
func (s *testServer) do(t testing.TB, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	if !strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "http") {
		target = "/beta/security/threatIntelligence/" + target
	}
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// decode unmarshals a JSON body into a generic value.
func decode(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, body)
	}
	return m
}

// wantStatus fails the test when the status is not want.
func wantStatus(t testing.TB, w *httptest.ResponseRecorder, want int) {
	t.Helper()
	if w.Code != want {
		t.Fatalf("status = %d, want %d; body:\n%s", w.Code, want, w.Body)
	}
}

// wantError checks an error response: status, Graph code, message and the
// envelope's shape.
func wantError(t testing.TB, w *httptest.ResponseRecorder, status int, code, message string) {
	t.Helper()
	wantStatus(t, w, status)
	if ct := w.Header().Get("Content-Type"); ct != jsonContentType {
		t.Errorf("Content-Type = %q", ct)
	}
	var env struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				Date            string `json:"date"`
				RequestID       string `json:"request-id"`
				ClientRequestID string `json:"client-request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	d := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	d.DisallowUnknownFields()
	if err := d.Decode(&env); err != nil {
		t.Fatalf("error body %s: %v", w.Body, err)
	}
	if env.Error.Code != code {
		t.Errorf("code = %q, want %q", env.Error.Code, code)
	}
	if message != "" && env.Error.Message != message {
		t.Errorf("message\n got %q\nwant %q", env.Error.Message, message)
	}
	if env.Error.InnerError.Date != "2024-04-05T06:07:08" {
		t.Errorf("innerError.date = %q, want 2024-04-05T06:07:08", env.Error.InnerError.Date)
	}
	if id := w.Header().Get("request-id"); env.Error.InnerError.RequestID != id || id == "" {
		t.Errorf("innerError.request-id = %q, header %q", env.Error.InnerError.RequestID, id)
	}
	if id := w.Header().Get("client-request-id"); env.Error.InnerError.ClientRequestID != id || id == "" {
		t.Errorf("innerError.client-request-id = %q, header %q", env.Error.InnerError.ClientRequestID, id)
	}
}

const jsonContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// fixture is an in-memory data set behind mock services that follow the
// portolan interface contracts (ordering, keyset, offset, limit, count,
// aliases, ENOTFOUND), so handlers are tested against the real semantics.
type fixture struct {
	ports     []*portolan.HostPort
	hosts     map[string]*portolan.Host
	aliases   map[string][]string // hostname → addresses
	certs     map[string]*portolan.SSLCertificate
	comps     []*portolan.HostComponent
	hostCerts []*portolan.HostSSLCertificate
	related   map[string][]*portolan.Host // certificate id → hosts

	// The last arguments the services received.
	mu         sync.Mutex
	portFilter portolan.HostPortFilter
	listFilter portolan.ListFilter
	search     portolan.CertificateSearch
	principal  *portolan.Principal
	// fail, when set, is returned by every service call.
	fail error
	// panic, when set, makes every service call panic.
	panic bool
}

func (f *fixture) enter(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.principal = portolan.PrincipalFromContext(ctx)
	if f.panic {
		panic("store exploded: secret detail")
	}
	return f.fail
}

func notFound(what, id string) error {
	return portolan.Errorf(portolan.ENOTFOUND, "%s '%s' was not found.", what, id)
}

func (f *fixture) store() *mock.Store {
	return &mock.Store{
		HostPortService: mock.HostPortService{
			FindHostPortsFn: func(ctx context.Context, filter portolan.HostPortFilter) ([]*portolan.HostPort, int, error) {
				if err := f.enter(ctx); err != nil {
					return nil, 0, err
				}
				f.mu.Lock()
				f.portFilter = filter
				f.mu.Unlock()
				if _, ok := f.hosts[filter.Host]; !ok {
					return nil, 0, notFound("Host", filter.Host)
				}
				members := append([]string{filter.Host}, f.aliases[filter.Host]...)
				var all []*portolan.HostPort
				for _, p := range f.ports {
					for _, m := range members {
						if p.Host == m {
							all = append(all, p)
						}
					}
				}
				sort.Slice(all, func(i, j int) bool { return all[i].Key().Less(all[j].Key()) })
				total := -1
				if filter.Count {
					total = len(all)
				}
				if filter.After != nil {
					i := sort.Search(len(all), func(i int) bool { return filter.After.Less(all[i].Key()) })
					all = all[i:]
				}
				return window(all, filter.Offset, filter.Limit), total, nil
			},
			FindHostPortByIDFn: func(ctx context.Context, id string) (*portolan.HostPort, error) {
				if err := f.enter(ctx); err != nil {
					return nil, err
				}
				for _, p := range f.ports {
					if p.ID == id {
						return p, nil
					}
				}
				return nil, notFound("HostPort", id)
			},
		},
		HostService: mock.HostService{
			FindHostByIDFn: func(ctx context.Context, id string) (*portolan.Host, error) {
				if err := f.enter(ctx); err != nil {
					return nil, err
				}
				if h, ok := f.hosts[id]; ok {
					return h, nil
				}
				return nil, notFound("Host", id)
			},
			FindHostComponentsFn: func(ctx context.Context, host string, filter portolan.ListFilter) ([]*portolan.HostComponent, int, error) {
				if err := f.enter(ctx); err != nil {
					return nil, 0, err
				}
				if _, ok := f.hosts[host]; !ok {
					return nil, 0, notFound("Host", host)
				}
				var all []*portolan.HostComponent
				for _, c := range f.comps {
					if c.Host == host {
						all = append(all, c)
					}
				}
				return byID(f, all, filter, func(c *portolan.HostComponent) string { return c.ID })
			},
			FindHostComponentByIDFn: func(ctx context.Context, id string) (*portolan.HostComponent, error) {
				if err := f.enter(ctx); err != nil {
					return nil, err
				}
				for _, c := range f.comps {
					if c.ID == id {
						return c, nil
					}
				}
				return nil, notFound("HostComponent", id)
			},
		},
		SSLCertificateService: mock.SSLCertificateService{
			FindSSLCertificateByIDFn: func(ctx context.Context, id string) (*portolan.SSLCertificate, error) {
				if err := f.enter(ctx); err != nil {
					return nil, err
				}
				if c, ok := f.certs[id]; ok {
					return c, nil
				}
				return nil, notFound("SslCertificate", id)
			},
			SearchSSLCertificatesFn: func(ctx context.Context, search portolan.CertificateSearch, filter portolan.ListFilter) ([]*portolan.SSLCertificate, int, error) {
				if err := f.enter(ctx); err != nil {
					return nil, 0, err
				}
				f.mu.Lock()
				f.search = search
				f.mu.Unlock()
				var all []*portolan.SSLCertificate
				for _, c := range f.certs {
					for _, term := range portolan.CertificateSearchTerms(c) {
						if term.Field == search.Field && term.Value == strings.ToLower(search.Value) {
							all = append(all, c)
							break
						}
					}
				}
				return byID(f, all, filter, func(c *portolan.SSLCertificate) string { return c.ID })
			},
			FindRelatedHostsFn: func(ctx context.Context, id string, filter portolan.ListFilter) ([]*portolan.Host, int, error) {
				if err := f.enter(ctx); err != nil {
					return nil, 0, err
				}
				if _, ok := f.certs[id]; !ok {
					return nil, 0, notFound("SslCertificate", id)
				}
				return byID(f, append([]*portolan.Host(nil), f.related[id]...), filter, func(h *portolan.Host) string { return h.ID })
			},
			FindHostSSLCertificatesFn: func(ctx context.Context, host string, filter portolan.ListFilter) ([]*portolan.HostSSLCertificate, int, error) {
				if err := f.enter(ctx); err != nil {
					return nil, 0, err
				}
				if _, ok := f.hosts[host]; !ok {
					return nil, 0, notFound("Host", host)
				}
				var all []*portolan.HostSSLCertificate
				for _, c := range f.hostCerts {
					if c.Host == host {
						all = append(all, c)
					}
				}
				return byID(f, all, filter, func(c *portolan.HostSSLCertificate) string { return c.ID })
			},
			FindHostSSLCertificateByIDFn: func(ctx context.Context, id string) (*portolan.HostSSLCertificate, error) {
				if err := f.enter(ctx); err != nil {
					return nil, err
				}
				for _, c := range f.hostCerts {
					if c.ID == id {
						return c, nil
					}
				}
				return nil, notFound("HostSslCertificate", id)
			},
		},
	}
}

// byID pages a list ordered by id as portolan.ListFilter says.
func byID[T any](f *fixture, all []T, filter portolan.ListFilter, id func(T) string) ([]T, int, error) {
	f.mu.Lock()
	f.listFilter = filter
	f.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return id(all[i]) < id(all[j]) })
	total := -1
	if filter.Count {
		total = len(all)
	}
	if filter.AfterID != "" {
		i := sort.Search(len(all), func(i int) bool { return id(all[i]) > filter.AfterID })
		all = all[i:]
	}
	return window(all, filter.Offset, filter.Limit), total, nil
}

func window[T any](all []T, offset, limit int) []T {
	if offset >= len(all) {
		return nil
	}
	all = all[offset:]
	if limit > 0 && limit < len(all) {
		all = all[:limit]
	}
	return all
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// The seed certificate of the documented example.
const (
	seedCertID   = "ZmI5NjU1MTUwNWYxZWRiMjRkZDNiMzZmY2ZmZGI3NjU4MzNiODExOA=="
	seedCertSHA1 = "fb96551505f1edb24dd3b36fcffdb765833b8118"
)

// seedPort is port 443 of 85.13.139.18 as the documented example shows it.
func seedPort() *portolan.HostPort {
	return &portolan.HostPort{
		ID:                portolan.HostPortID("85.13.139.18", portolan.TCP, 443),
		Port:              443,
		FirstSeenDateTime: ts("2016-12-06T20:23:38Z"),
		LastSeenDateTime:  ts("2023-07-18T23:24:01Z"),
		LastScanDateTime:  ts("2023-07-18T23:24:29Z"),
		TimesObserved:     15590,
		Status:            portolan.StatusOpen,
		Protocol:          portolan.TCP,
		Banners: []portolan.HostPortBanner{
			{Banner: "HTTP/1.1 302 Found\r\nX-Content-Type-Options:...", FirstSeenDateTime: ts("2023-06-21T00:49:23Z"),
				LastSeenDateTime: ts("2023-07-18T15:31:57Z"), ScanProtocol: "http_raw", TimesObserved: 2},
			{Banner: "HTTP/1.1 302 Found\r\nX-Content-Type-Options:...", FirstSeenDateTime: ts("2021-03-12T15:38:42Z"),
				LastSeenDateTime: ts("2023-07-18T15:22:16Z"), ScanProtocol: "http_raw", TimesObserved: 2975},
		},
		Services: []portolan.HostPortComponent{
			{FirstSeenDateTime: ts("2020-10-28T22:39:51Z"), LastSeenDateTime: ts("2023-07-18T22:13:54Z"), IsRecent: true,
				ComponentID: "EVfwHhqkUQESmqrKSFHobDUHDAKBsWLf",
				Component:   portolan.Component{Name: "scaffolding on HTTPServer2", Version: "", Category: "Server"}},
			{FirstSeenDateTime: ts("2022-06-26T04:29:25Z"), LastSeenDateTime: ts("2023-07-18T00:54:13Z"), IsRecent: false,
				ComponentID: "ZobhjJgOwebxpsXdCUjfTpshygqgcfJj",
				Component:   portolan.Component{Name: "nginx", Version: "1.18.0", Category: "Server"}},
		},
		MostRecentSSLCertificateID: seedCertID,
		Host:                       "85.13.139.18",
	}
}

// simplePort is an open port without banners, services or certificate.
func simplePort(host string, proto portolan.Protocol, port int) *portolan.HostPort {
	return &portolan.HostPort{
		ID: portolan.HostPortID(host, proto, port), Port: port, Protocol: proto, Status: portolan.StatusOpen,
		FirstSeenDateTime: ts("2024-01-01T00:00:00Z"), LastSeenDateTime: ts("2024-01-02T00:00:00Z"),
		LastScanDateTime: ts("2024-01-02T00:00:10Z"), TimesObserved: 2, Host: host,
	}
}

func seedCertificate() *portolan.SSLCertificate {
	return &portolan.SSLCertificate{
		ID: seedCertID, SHA1: seedCertSHA1,
		Fingerprint:        "fb:96:55:15:05:f1:ed:b2:4d:d3:b3:6f:cf:fd:b7:65:83:3b:81:18",
		SerialNumber:       "1137389559885717770175191329273386705719099773",
		IssueDateTime:      ts("2023-03-09T18:56:17Z"),
		ExpirationDateTime: ts("2024-03-03T18:56:17Z"),
		FirstSeenDateTime:  ts("2023-03-10T01:20:47Z"),
		LastSeenDateTime:   ts("2023-04-02T00:00:00Z"),
		Subject: portolan.SSLCertificateEntity{
			CommonName: "microsoft.com", OrganizationName: "Microsoft Corporation",
			Address:        portolan.PhysicalAddress{City: "Redmond", CountryOrRegion: "US", State: "WA"},
			AlternateNames: []string{"pymes.microsoft.com", "mac2.microsoft.com"},
		},
		Issuer: portolan.SSLCertificateEntity{
			CommonName: "Microsoft Azure TLS Issuing CA 05", OrganizationName: "Microsoft Corporation",
			Address: portolan.PhysicalAddress{CountryOrRegion: "US"},
		},
	}
}

// newFixture is the data set of most tests: 85.13.139.18 with four ports
// (21/tcp, 80/tcp, 443/tcp = the seed, 53/udp), 10.0.0.1 with 22/tcp,
// www.contoso.com aliasing both, and 2001:db8::1 with 80/tcp.
func newFixture() *fixture {
	ip := "85.13.139.18"
	comp := &portolan.HostComponent{
		ID:                portolan.HostComponentID(ip, portolan.Component{Name: "nginx", Version: "1.18.0", Category: "Server"}),
		Component:         portolan.Component{Name: "nginx", Version: "1.18.0", Category: "Server"},
		FirstSeenDateTime: ts("2022-06-26T04:29:25Z"), LastSeenDateTime: ts("2023-07-18T00:54:13Z"), Host: ip,
	}
	comp2 := &portolan.HostComponent{
		ID:                portolan.HostComponentID(ip, portolan.Component{Name: "OpenSSH", Version: "8.2p1", Category: "Remote Access"}),
		Component:         portolan.Component{Name: "OpenSSH", Version: "8.2p1", Category: "Remote Access"},
		FirstSeenDateTime: ts("2022-01-01T00:00:00Z"), LastSeenDateTime: ts("2023-01-01T00:00:00Z"), Host: ip,
	}
	cert := seedCertificate()
	hc := &portolan.HostSSLCertificate{
		ID: portolan.HostSSLCertificateID(ip, seedCertSHA1), Host: ip,
		FirstSeenDateTime: ts("2023-03-10T01:20:47Z"), LastSeenDateTime: ts("2023-04-02T00:00:00Z"),
		Ports:          []portolan.HostSSLCertificatePort{{Port: 443, FirstSeenDateTime: ts("2023-03-10T01:20:47Z"), LastSeenDateTime: ts("2023-04-02T00:00:00Z")}},
		SSLCertificate: cert,
	}
	hostOf := func(id string) *portolan.Host {
		return &portolan.Host{ID: id, Kind: portolan.HostKindOf(id), FirstSeenDateTime: ts("2016-12-06T20:23:38Z"), LastSeenDateTime: ts("2023-07-18T23:24:01Z")}
	}
	return &fixture{
		ports: []*portolan.HostPort{
			seedPort(), simplePort(ip, portolan.TCP, 80), simplePort(ip, portolan.UDP, 53), simplePort(ip, portolan.TCP, 21),
			simplePort("10.0.0.1", portolan.TCP, 22), simplePort("2001:db8::1", portolan.TCP, 80),
		},
		hosts: map[string]*portolan.Host{
			ip: hostOf(ip), "10.0.0.1": hostOf("10.0.0.1"), "2001:db8::1": hostOf("2001:db8::1"),
			"www.contoso.com": {ID: "www.contoso.com", Kind: portolan.KindHostname},
		},
		aliases:   map[string][]string{"www.contoso.com": {ip, "10.0.0.1"}},
		certs:     map[string]*portolan.SSLCertificate{seedCertID: cert},
		comps:     []*portolan.HostComponent{comp, comp2},
		hostCerts: []*portolan.HostSSLCertificate{hc},
		related:   map[string][]*portolan.Host{seedCertID: {hostOf(ip), {ID: "www.contoso.com", Kind: portolan.KindHostname}}},
	}
}
