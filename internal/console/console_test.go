// SPDX-License-Identifier: Apache-2.0

package console_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/console"
	"portolan/internal/httpapi"
	"portolan/internal/postgres"
	"portolan/internal/sqlite"
)

// Hostile values that scanned hosts could send: each must reach the page as
// text, never as markup, script, URL or style.
const (
	hostileScript = `<script>window.pwned=1</script>`
	hostileAttr   = `"><img src=x onerror=window.pwned=1>`
	hostileURL    = `javascript:window.pwned=1`
	hostileCSS    = `</style><style>body{display:none}</style>`
)

// selfSigned returns the DER of a certificate with the given subject common
// name and DNS names, valid from notBefore to notAfter.
func selfSigned(t testing.TB, cn string, names []string, notBefore, notAfter time.Time) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: cn, Organization: []string{"Lab " + hostileAttr}},
		NotBefore: notBefore, NotAfter: notAfter, DNSNames: names}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// fixture is a console over a SQLite store holding a few hosts, one of
// them with hostile banners, components, hostnames and certificate names.
type fixture struct {
	srv     *httptest.Server
	console *console.Console
	store   portolan.Store
	now     time.Time
	certID  string
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// opener opens an empty store for one test.
type opener func(t *testing.T) portolan.Store

func openSQLite(t *testing.T) portolan.Store {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "console.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// openPostgreSQL opens a store in a fresh schema of the server
// PORTOLAN_TEST_POSTGRES names, dropped at cleanup.
func openPostgreSQL(t *testing.T) portolan.Store {
	t.Helper()
	base := os.Getenv("PORTOLAN_TEST_POSTGRES")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_console_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	store, err := postgres.Open(ctx, u.String(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func newFixture(t *testing.T, open opener, mutate ...func(*console.Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	store := open(t)
	t.Cleanup(func() { store.Close() })
	f := &fixture{store: store, now: t0.Add(40 * 24 * time.Hour)}
	der := selfSigned(t, "lab.example.test"+hostileScript, []string{"www.lab.example.test", hostileURL}, t0.Add(-time.Hour), f.now.Add(10*24*time.Hour))
	f.certID = portolan.SSLCertificateID(portolan.CertificateDigest(der))
	obs := []*portolan.Observation{
		{Host: "192.0.2.10", Port: 22, Status: portolan.StatusOpen, ScannedAt: t0, Source: "test", ScanProtocol: "ssh",
			Banner: "SSH-2.0-OpenSSH_7.4 " + hostileScript, Components: []portolan.Component{{Name: "OpenSSH", Version: "7.4", Category: "Remote Access"}}},
		{Host: "192.0.2.10", Port: 443, Status: portolan.StatusOpen, ScannedAt: t0, Source: "test", ScanProtocol: "tls", Certificate: der,
			Banner:     "HTTP/1.1 200 OK\r\nServer: " + hostileAttr + "\r\nX-Style: " + hostileCSS,
			Components: []portolan.Component{{Name: "nginx" + hostileAttr, Version: "1.22.1", Category: "Web Server"}}},
		{Host: "192.0.2.10", Port: 22, Status: portolan.StatusOpen, ScannedAt: t0.Add(24 * time.Hour), Source: "test", ScanProtocol: "ssh",
			Banner: "SSH-2.0-OpenSSH_9.2p1", Components: []portolan.Component{{Name: "OpenSSH", Version: "9.2p1", Category: "Remote Access"}}},
		{Host: "192.0.2.10", Port: 443, Status: portolan.StatusClosed, ScannedAt: t0.Add(48 * time.Hour), Source: "test"},
		{Host: "192.0.2.11", Port: 443, Status: portolan.StatusOpen, ScannedAt: t0.Add(time.Hour), Source: "test", Certificate: der,
			Hostnames: []string{"evil.example"}},
		{Host: "198.51.100.7", Port: 3389, Status: portolan.StatusOpen, ScannedAt: t0.Add(2 * time.Hour), Source: "test",
			Components: []portolan.Component{{Name: "=cmd|' /C calc'!A0", Version: "", Category: "Remote Access"}}},
	}
	for _, o := range obs {
		if err := o.Normalize(); err != nil {
			t.Fatalf("normalize %+v: %v", o, err)
		}
	}
	if _, err := store.ImportObservations(ctx, obs); err != nil {
		t.Fatal(err)
	}
	cfg := console.Config{
		HostPorts: store, Hosts: store, Certificates: store,
		ParseSearch: httpapi.ParseHostPortSearch,
		SessionKey:  []byte(strings.Repeat("k", 32)),
		Links:       true,
		Now:         func() time.Time { return f.now },
	}
	cfg.Search = store.(portolan.SearchService)
	cfg.Changes = store.(portolan.ChangeService)
	for _, m := range mutate {
		m(&cfg)
	}
	var err error
	f.console, err = console.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.console)
	t.Cleanup(f.srv.Close)
	return f
}

// client returns a browser-like client that does not follow redirects.
func (f *fixture) client(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signedIn returns a client holding a session from a one-time link.
func (f *fixture) signedIn(t *testing.T) *http.Client {
	t.Helper()
	c := f.client(t)
	resp, body := get(t, c, f.console.NewSignInLink(f.srv.URL))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `http-equiv="refresh" content="0;url=/search"`) {
		t.Fatalf("sign-in link: %d\n%s", resp.StatusCode, body)
	}
	return c
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func testSignInLinkWorksOnceAndSetsAStrictCookie(t *testing.T, open opener) {
	f := newFixture(t, open)
	link := f.console.NewSignInLink(f.srv.URL)
	c := f.client(t)
	resp, _ := get(t, c, link)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first visit: %d", resp.StatusCode)
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "portolan_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" || session.Secure {
		t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Strict, Path=/, not Secure without TLS", session)
	}
	if resp, body := get(t, c, f.srv.URL+"/search"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "local operator") {
		t.Fatalf("search after sign-in: %d", resp.StatusCode)
	}
	if resp, body := get(t, f.client(t), link); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "used or expired") {
		t.Fatalf("second visit of the link: %d\n%s", resp.StatusCode, body)
	}
	// Secure over TLS.
	fs := newFixture(t, open, func(c *console.Config) { c.Secure = true })
	resp, _ = get(t, fs.client(t), fs.console.NewSignInLink(fs.srv.URL))
	if cks := resp.Cookies(); len(cks) != 1 || !cks[0].Secure {
		t.Fatalf("with Secure, cookies %+v", cks)
	}
}

func testSignInLinkExpires(t *testing.T, open opener) {
	f := newFixture(t, open)
	link := f.console.NewSignInLink(f.srv.URL)
	f.now = f.now.Add(console.SignInLinkTTL + time.Second)
	if resp, _ := get(t, f.client(t), link); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("expired link: %d", resp.StatusCode)
	}
}

func testPagesNeedAValidSession(t *testing.T, open opener) {
	f := newFixture(t, open)
	for _, path := range []string{"/search", "/search.csv", "/hosts/192.0.2.10", "/certificates/" + url.PathEscape(f.certID), "/changes"} {
		resp, _ := get(t, f.client(t), f.srv.URL+path)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=") {
			t.Errorf("%s without a session: %d %q", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// A forged cookie and an expired one are no session.
	c := f.signedIn(t)
	u, _ := url.Parse(f.srv.URL)
	value := c.Jar.Cookies(u)[0].Value
	forged := f.client(t)
	forged.Jar.SetCookies(u, []*http.Cookie{{Name: "portolan_session", Value: strings.Replace(value, ".", "x.", 1)}})
	if resp, _ := get(t, forged, f.srv.URL+"/search"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("forged session: %d", resp.StatusCode)
	}
	f.now = f.now.Add(console.DefaultSessionTTL)
	if resp, _ := get(t, c, f.srv.URL+"/search"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("expired session: %d", resp.StatusCode)
	}
	// Sign-in destinations stay on the site.
	resp, body := get(t, f.client(t), f.srv.URL+"/signin?next=//evil.example/")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "evil.example") {
		t.Errorf("sign-in page kept an off-site next: %d", resp.StatusCode)
	}
}

func testSignOutNeedsTheCSRFTokenAndEndsTheSession(t *testing.T, open opener) {
	f := newFixture(t, open)
	c := f.signedIn(t)
	_, body := get(t, c, f.srv.URL+"/search")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token in the sign-out form")
	}
	u, _ := url.Parse(f.srv.URL)
	stolen := c.Jar.Cookies(u)[0]
	resp, err := c.PostForm(f.srv.URL+"/signout", url.Values{"csrf": {"forged"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-out with a forged token: %d", resp.StatusCode)
	}
	// GET never changes state: the session survives a GET of /signout.
	if resp, _ := get(t, c, f.srv.URL+"/signout"); resp.StatusCode < 400 {
		t.Errorf("GET /signout: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, f.srv.URL+"/search"); resp.StatusCode != http.StatusOK {
		t.Errorf("the session after GET /signout: %d", resp.StatusCode)
	}
	resp, err = c.PostForm(f.srv.URL+"/signout", url.Values{"csrf": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	// A copy of the cookie taken before the sign-out is dead too.
	copyClient := f.client(t)
	copyClient.Jar.SetCookies(u, []*http.Cookie{stolen})
	if resp, _ := get(t, copyClient, f.srv.URL+"/search"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the session after sign-out: %d", resp.StatusCode)
	}
}

func testEveryResponseCarriesTheSecurityHeaders(t *testing.T, open opener) {
	f := newFixture(t, open)
	c := f.signedIn(t)
	for _, path := range []string{"/search", "/search?filter=port+eq", "/hosts/192.0.2.10", "/hosts/203.0.113.1", "/changes", "/static/console.css", "/signin", "/nowhere"} {
		resp, _ := get(t, c, f.srv.URL+path)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q allows inline code", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: nosniff %q, referrer %q", path, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
		}
	}
}

// TestHostileDataIsEscaped reads every page that shows the hostile values
// and wants each as escaped text, never as markup.
func testStaticAssetsWithoutListings(t *testing.T, open opener) {
	f := newFixture(t, open)
	resp, body := get(t, f.client(t), f.srv.URL+"/static/console.css")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(body, "prefers-color-scheme: dark") {
		t.Errorf("console.css: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := get(t, f.client(t), f.srv.URL+"/static/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/static/: %d, want no listing", resp.StatusCode)
	}
}

func testHostileDataIsEscaped(t *testing.T, open opener) {
	f := newFixture(t, open)
	c := f.signedIn(t)
	pages := []string{"/search", "/hosts/192.0.2.10", "/hosts/192.0.2.11", "/certificates/" + url.PathEscape(f.certID), "/changes"}
	for _, path := range pages {
		resp, body := get(t, c, f.srv.URL+path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		for _, raw := range []string{"<script>", "<img", `href="javascript:`, "<style>"} {
			if strings.Contains(body, raw) {
				t.Errorf("%s holds %q unescaped", path, raw)
			}
		}
		if strings.Contains(body, " style=") {
			t.Errorf("%s has an inline style attribute", path)
		}
	}
	_, body := get(t, c, f.srv.URL+"/hosts/192.0.2.10")
	if !strings.Contains(body, "&lt;script&gt;window.pwned=1&lt;/script&gt;") || !strings.Contains(body, "&lt;img src=x onerror=window.pwned=1&gt;") {
		t.Error("the host page does not show the hostile banner as text")
	}
	_, body = get(t, c, f.srv.URL+"/certificates/"+url.PathEscape(f.certID))
	if !strings.Contains(body, "javascript:window.pwned=1</a>") {
		t.Error("the certificate page does not show the javascript: SAN as text")
	}
}

func testSearchPageSortsPagesAndExplainsErrors(t *testing.T, open opener) {
	f := newFixture(t, open)
	c := f.signedIn(t)
	resp, body := get(t, c, f.srv.URL+"/search")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "4 ports match") {
		t.Fatalf("all ports: %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{`href="/hosts/192.0.2.10"`, `href="/certificates/` + url.PathEscape(f.certID) + `"`,
		`<span class="badge closed">closed</span>`, "OpenSSH 9.2p1", "Where does Apache below 2.4.60 still run?"} {
		if !strings.Contains(body, want) {
			t.Errorf("the search page lacks %q", want)
		}
	}
	// Sorting: port descending puts 3389 first.
	_, body = get(t, c, f.srv.URL+"/search?orderby=port+desc")
	if i, j := strings.Index(body, ">3389/tcp<"), strings.Index(body, ">22/tcp<"); i < 0 || j < 0 || i > j {
		t.Errorf("port desc: 3389 at %d, 22 at %d", i, j)
	}
	if !strings.Contains(body, `aria-sort="descending"`) {
		t.Error("the sorted column is not marked")
	}
	// A filter that does not parse: 400, the positioned message, no 500.
	resp, body = get(t, c, f.srv.URL+"/search?filter="+url.QueryEscape("port eq"))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Invalid filter clause: expected a property or a value but found the end of the filter at position 7.") {
		t.Errorf("bad filter: %d\n%s", resp.StatusCode, body)
	}
	resp, body = get(t, c, f.srv.URL+"/search?filter="+url.QueryEscape("colour eq 'red'"))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Could not find a property named &#39;colour&#39;") {
		t.Errorf("unknown property: %d", resp.StatusCode)
	}
	resp, _ = get(t, c, f.srv.URL+"/search?orderby=banners")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad orderby: %d", resp.StatusCode)
	}
	// A filter finds what it says.
	_, body = get(t, c, f.srv.URL+"/search?filter="+url.QueryEscape("services/any(s: s/component/name eq 'openssh' and s/component/version lt '9.3')"))
	if !strings.Contains(body, "1 port matches") {
		t.Errorf("component filter:\n%s", body)
	}
}

func testSearchPagesFollowTheStoresCursor(t *testing.T, open opener) {
	f := newFixture(t, open)
	ctx := context.Background()
	var obs []*portolan.Observation
	for p := 1; p <= 130; p++ {
		o := &portolan.Observation{Host: "203.0.113.5", Port: 10000 + p, Status: portolan.StatusOpen, ScannedAt: t0, Source: "test"}
		if err := o.Normalize(); err != nil {
			t.Fatal(err)
		}
		obs = append(obs, o)
	}
	if _, err := f.store.ImportObservations(ctx, obs); err != nil {
		t.Fatal(err)
	}
	c := f.signedIn(t)
	filter := url.QueryEscape("host/id eq '203.0.113.5'")
	_, body := get(t, c, f.srv.URL+"/search?filter="+filter)
	if got := strings.Count(body, `<span class="badge open">`); got != 100 || !strings.Contains(body, "130 ports match") {
		t.Fatalf("first page: %d rows", got)
	}
	m := regexp.MustCompile(`href="(/search\?[^"]*after=[^"]*)" rel="next"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no next link")
	}
	next := html.UnescapeString(m[1])
	_, body = get(t, c, f.srv.URL+next)
	if got := strings.Count(body, `<span class="badge open">`); got != 30 || !strings.Contains(body, ">10101/tcp<") || strings.Contains(body, ">10100/tcp<") {
		t.Errorf("second page: %d rows", got)
	}
	// The cursor belongs to its search: under another filter it is refused.
	u, _ := url.Parse(next)
	q := u.Query()
	q.Set("filter", "port gt 0")
	resp, _ := get(t, c, f.srv.URL+"/search?"+q.Encode())
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a cursor under another filter: %d", resp.StatusCode)
	}
}

func testSearchCSVExport(t *testing.T, open opener) {
	f := newFixture(t, open)
	c := f.signedIn(t)
	resp, body := get(t, c, f.srv.URL+"/search.csv?orderby=port")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv: %d %v", resp.StatusCode, resp.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0][0] != "host" || rows[1][1] != "22" {
		t.Fatalf("csv rows %q", rows)
	}
	last := rows[len(rows)-1]
	if last[1] != "3389" || !strings.HasPrefix(last[4], "'=cmd") {
		t.Errorf("a component named like a formula is exported as %q, want it prefixed with a quote", last[4])
	}
	if resp, _ := get(t, c, f.srv.URL+"/search.csv?filter=port+eq"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("csv of a bad filter: %d", resp.StatusCode)
	}
}

func testHostPageShowsPortsTimelineBannersAndCertificates(t *testing.T, open opener) {
	f := newFixture(t, open)
	c := f.signedIn(t)
	resp, body := get(t, c, f.srv.URL+"/hosts/192.0.2.10")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d", resp.StatusCode)
	}
	for _, want := range []string{
		`<span class="badge closed">closed</span>`, `<span class="badge open">open</span>`,
		`<svg viewBox=`, `class="lane open"`, `class="lane closed"`, `class="tail"`,
		`class="mark banner"`, `class="mark component"`, `class="mark certificate"`,
		"<details><summary>Banner (ssh)", `<span class="badge recent">recent</span>`,
		`href="/certificates/` + url.PathEscape(f.certID) + `"`, "expires in 10 days",
		// The certificates list links its ports to their rows, and its
		// issuer to the search for the ports whose certificate it issued.
		`on port <a href="#p443-tcp">443</a>`,
		`issued by <a href="` + strings.ReplaceAll(searchFor("mostRecentSslCertificate/issuer/commonName eq 'lab.example.test"+hostileScript+"'"), "+", "&#43;") + `"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the host page lacks %q", want)
		}
	}
	if got := strings.Count(body, `<g class="lane`); got != 2 {
		t.Errorf("%d timeline lanes, want 2", got)
	}
	if strings.Count(body, `tabindex="-1"><text class="label"`) != 2 {
		t.Error("the timeline's lane links are in the Tab order")
	}
	if resp, body := get(t, c, f.srv.URL+"/hosts/203.0.113.99"); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "role=\"alert\"") {
		t.Errorf("unknown host: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, f.srv.URL+"/hosts/"+url.PathEscape("<b>")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a host key that is no host: %d", resp.StatusCode)
	}
	// Keys are read as the API reads them: a hostname ignores case.
	if resp, body := get(t, c, f.srv.URL+"/hosts/EVIL.example"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Hostname") {
		t.Errorf("a hostname in capitals: %d", resp.StatusCode)
	}
}

// testTimelineMarksTheChangeRecord follows one port through seven imports
// (opened, closed, reopened, a new banner, a new component version, a new
// certificate, a scan that changed nothing) and finds each mark of its lane
// at its scan's place on the time axis.
func testTimelineMarksTheChangeRecord(t *testing.T, open opener) {
	f := newFixture(t, open, func(c *console.Config) { c.ChangeRetention = 30 * 24 * time.Hour })
	day := 24 * time.Hour
	start := t0.Add(3 * day)
	cert1 := selfSigned(t, "old.example.test", nil, t0, t0.Add(400*day))
	cert2 := selfSigned(t, "new.example.test", nil, t0, t0.Add(400*day))
	nginx := func(v string) []portolan.Component {
		return []portolan.Component{{Name: "nginx", Version: v, Category: "Web Server"}}
	}
	steps := []portolan.Observation{
		{Status: portolan.StatusOpen, Banner: "HTTP/1.1 200 OK", Components: nginx("1.22.1"), Certificate: cert1},
		{Status: portolan.StatusClosed},
		{Status: portolan.StatusOpen, Banner: "HTTP/1.1 200 OK", Components: nginx("1.22.1"), Certificate: cert1},
		{Status: portolan.StatusOpen, Banner: "HTTP/1.1 302 Found", Components: nginx("1.22.1"), Certificate: cert1},
		{Status: portolan.StatusOpen, Banner: "HTTP/1.1 302 Found", Components: nginx("1.24.0"), Certificate: cert1},
		{Status: portolan.StatusOpen, Banner: "HTTP/1.1 302 Found", Components: nginx("1.24.0"), Certificate: cert2},
		{Status: portolan.StatusOpen, Banner: "HTTP/1.1 302 Found", Components: nginx("1.24.0"), Certificate: cert2},
	}
	// Port 80 comes in one import of two scans: the import records only
	// that it created the port, which is marked at its first sighting.
	var port80 []*portolan.Observation
	for _, at := range []time.Time{start, start.Add(2 * day)} {
		o := &portolan.Observation{Host: "192.0.2.50", Port: 80, Status: portolan.StatusOpen, ScannedAt: at, Source: "test"}
		if err := o.Normalize(); err != nil {
			t.Fatal(err)
		}
		port80 = append(port80, o)
	}
	if _, err := f.store.ImportObservations(context.Background(), port80); err != nil {
		t.Fatal(err)
	}
	for i, o := range steps {
		o.Host, o.Port, o.ScannedAt, o.Source = "192.0.2.50", 443, start.Add(time.Duration(i)*day), "test"
		if o.Banner != "" {
			o.ScanProtocol = "tls"
		}
		if err := o.Normalize(); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.ImportObservations(context.Background(), []*portolan.Observation{&o}); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := get(t, f.signedIn(t), f.srv.URL+"/hosts/192.0.2.50")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d", resp.StatusCode)
	}
	// The axis runs from the first scan to the last: a scan of day i is at
	// x = 150 + 794·i/6 (the label column, then the plot's width).
	x := func(i int) float64 { return 150 + 794*float64(i)/6 }
	want := map[string][]float64{
		"status":      {x(0), x(0), x(1), x(2)}, // port 80's lane, then 443's
		"banner":      {x(0), x(3)},
		"component":   {x(0), x(4)},
		"certificate": {x(0), x(5)},
		"scan":        {x(6)},
	}
	got := map[string][]float64{}
	for _, m := range regexp.MustCompile(`<(?:circle|line) class="mark (\w+)" (?:cx|x1)="([0-9.]+)"`).FindAllStringSubmatch(body, -1) {
		var v float64
		fmt.Sscan(m[2], &v)
		got[m[1]] = append(got[m[1]], v)
	}
	for kind, xs := range want {
		if len(got[kind]) != len(xs) {
			t.Errorf("%s marks at %v, want %v", kind, got[kind], xs)
			continue
		}
		for i := range xs {
			if d := got[kind][i] - xs[i]; d < -0.5 || d > 0.5 {
				t.Errorf("%s marks at %v, want %v", kind, got[kind], xs)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("marks of kinds %v, want those of %v", got, want)
	}
	for _, text := range []string{
		"first seen open " + fmtTime(start) + "<", "status changed (scan of " + fmtTime(start.Add(day)) + ")",
		"certificate changed (scan of " + fmtTime(start.Add(5*day)) + ")", "scanned, nothing else changed",
		`<span class="key status-key"></span> status changed or first seen open`, `<span class="key scan-key"></span>`,
		"the record keeps 30 days of imports, so older status changes and scans are not marked",
		"banner (tls) first seen " + fmtTime(start), "certificate old.example.test first seen " + fmtTime(start),
	} {
		if !strings.Contains(body, html.EscapeString(text)) && !strings.Contains(body, text) {
			t.Errorf("the host page lacks %q", text)
		}
	}
	// A lane marks the latest 50 changes of its port, and says so: 55
	// imports of one port, the last 54 of them scans that changed nothing.
	for i := 0; i < 55; i++ {
		o := &portolan.Observation{Host: "192.0.2.51", Port: 22, Status: portolan.StatusOpen, ScannedAt: start.Add(time.Duration(i) * time.Hour), Source: "test"}
		if err := o.Normalize(); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.ImportObservations(context.Background(), []*portolan.Observation{o}); err != nil {
			t.Fatal(err)
		}
	}
	_, body = get(t, f.signedIn(t), f.srv.URL+"/hosts/192.0.2.51")
	if n := strings.Count(body, `<line class="mark scan"`); n != 50 || strings.Contains(body, `class="mark status"`) ||
		!strings.Contains(body, "Each lane marks its latest 50 recorded changes.") {
		t.Errorf("a port of 55 recorded changes: %d scan marks, or a status mark, or no word of the cut", n)
	}
	// Without a change record, the marks are the records' first sightings.
	g := newFixture(t, open, func(c *console.Config) { c.Changes = nil })
	_, body = get(t, g.signedIn(t), g.srv.URL+"/hosts/192.0.2.10")
	if !strings.Contains(body, "keeps no change record") || strings.Contains(body, `class="mark status"`) || !strings.Contains(body, `class="mark banner"`) {
		t.Errorf("a timeline without a change record:\n%s", body)
	}
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// searchFor is the search page's address for a filter.
func searchFor(filter string) string { return "/search?" + url.Values{"filter": {filter}}.Encode() }

// testExpiryBadgesSayWhatTheyMean shows certificates expired, not yet
// valid, expiring and valid on the search, host and certificate pages: each
// badge says so in words, and a certificate not yet valid is not
// "expiring", however near its expiry.
func testExpiryBadgesSayWhatTheyMean(t *testing.T, open opener) {
	f := newFixture(t, open)
	day := 24 * time.Hour
	certs := map[int][]byte{
		443:  selfSigned(t, "expired.example.test", nil, t0, f.now.Add(-3*day)),
		8443: selfSigned(t, "future.example.test", nil, f.now.Add(5*day), f.now.Add(20*day)),
		9443: selfSigned(t, "soon.example.test", nil, t0, f.now.Add(12*day+time.Hour)),
		9444: selfSigned(t, "fine.example.test", nil, t0, f.now.Add(200*day+time.Hour)),
	}
	var obs []*portolan.Observation
	for port, der := range certs {
		o := &portolan.Observation{Host: "192.0.2.60", Port: port, Status: portolan.StatusOpen, ScannedAt: t0, Source: "test", Certificate: der}
		if err := o.Normalize(); err != nil {
			t.Fatal(err)
		}
		obs = append(obs, o)
	}
	if _, err := f.store.ImportObservations(context.Background(), obs); err != nil {
		t.Fatal(err)
	}
	c := f.signedIn(t)
	_, body := get(t, c, f.srv.URL+searchFor("host/id eq '192.0.2.60'"))
	for _, want := range []string{`<span class="badge expired">expired</span>`, `<span class="badge notyet">not yet valid</span>`,
		`<span class="badge expiring">expires in 12 days</span>`, `<span class="badge valid">valid</span>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the search page lacks %q", want)
		}
	}
	_, body = get(t, c, f.srv.URL+"/hosts/192.0.2.60")
	for _, want := range []string{`<span class="badge expired">expired 3 days ago</span>`,
		`<span class="badge notyet">not yet valid, from ` + fmtTime(f.now.Add(5*day)) + `</span>`,
		`<span class="badge expiring">expires in 12 days</span>`, `<span class="badge valid">valid for 200 days</span>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the host page lacks %q", want)
		}
	}
	if strings.Contains(body, ">expiring<") || strings.Contains(body, ">notyet<") {
		t.Error("a badge shows its CSS class as its text")
	}
	id := portolan.SSLCertificateID(portolan.CertificateDigest(certs[8443]))
	if _, body := get(t, c, f.srv.URL+"/certificates/"+url.PathEscape(id)); !strings.Contains(body, `<span class="badge notyet">not yet valid, from `) {
		t.Error("the certificate page does not say that the certificate is not yet valid")
	}
}

func testHostPageOfAThousandPorts(t *testing.T, open opener) {
	f := newFixture(t, open)
	var obs []*portolan.Observation
	for p := 1; p <= 1000; p++ {
		o := &portolan.Observation{Host: "203.0.113.7", Port: p, Status: portolan.StatusOpen, ScannedAt: t0.Add(time.Duration(p) * time.Minute),
			Source: "test", Banner: fmt.Sprintf("service %d", p)}
		if p == 1000 {
			o.Certificate = selfSigned(t, "last.example.test", nil, t0, t0.Add(400*24*time.Hour))
		}
		if err := o.Normalize(); err != nil {
			t.Fatal(err)
		}
		obs = append(obs, o)
	}
	if _, err := f.store.ImportObservations(context.Background(), obs); err != nil {
		t.Fatal(err)
	}
	c := f.signedIn(t)
	start := time.Now()
	resp, body := get(t, c, f.srv.URL+"/hosts/203.0.113.7")
	t.Logf("host page of 1,000 ports: %d bytes in %v", len(body), time.Since(start))
	if resp.StatusCode != http.StatusOK || strings.Count(body, `<a class="lane"`) != 1000 || !strings.Contains(body, `class="timeline tall"`) {
		t.Errorf("1,000 ports: %d, %d lanes", resp.StatusCode, strings.Count(body, `<a class="lane"`))
	}
	// The table shows a page of 100 rows; the lanes link to their page.
	if !strings.Contains(body, `on port <a href="?ports=9#p1000-tcp">1000</a>`) {
		t.Error("the certificates list does not link port 1000 to its row on the last page of the table")
	}
	if !strings.Contains(body, `class="mark status"`) || !strings.Contains(body, `class="key status-key"`) {
		t.Error("the tall timeline marks no port's first sighting from the change record, or has no legend for it")
	}
	if rows := strings.Count(body, `<tr id="p`); rows != 100 || !strings.Contains(body, `href="?ports=9#p1000-tcp"`) ||
		!strings.Contains(body, `<a href="/hosts/203.0.113.7?ports=9#ports-h">901–1000</a>`) {
		t.Errorf("the first page of the table has %d rows, or the lanes and pages do not link", rows)
	}
	_, body = get(t, c, f.srv.URL+"/hosts/203.0.113.7?ports=9")
	if !strings.Contains(body, `<tr id="p1000-tcp">`) || strings.Contains(body, `<tr id="p1-tcp"`) {
		t.Error("the last page of the table does not hold the last ports")
	}
}

func testCertificatePage(t *testing.T, open opener) {
	f := newFixture(t, open)
	c := f.signedIn(t)
	resp, body := get(t, c, f.srv.URL+"/certificates/"+url.PathEscape(f.certID))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d", resp.StatusCode)
	}
	for _, want := range []string{"www.lab.example.test", `<span class="badge expiring">expires in 10 days</span>`,
		"2 hosts presented this certificate", `href="/hosts/192.0.2.10"`, `href="/hosts/192.0.2.11"`,
		`&#43;eq&#43;%27lab.example.test%3Cscript%3Ewindow.pwned%3D1%3C%2Fscript%3E%27">ports whose certificate it issued</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the certificate page lacks %q", want)
		}
	}
	f.now = f.now.Add(20 * 24 * time.Hour)
	c = f.signedIn(t) // the first session ended meanwhile
	if _, body := get(t, c, f.srv.URL+"/certificates/"+url.PathEscape(f.certID)); !strings.Contains(body, `<span class="badge expired">expired 10 days ago</span>`) {
		t.Error("an expired certificate is not flagged")
	}
	if resp, _ := get(t, c, f.srv.URL+"/certificates/bm9wZQ=="); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown certificate: %d", resp.StatusCode)
	}
}

func testChangesPage(t *testing.T, open opener) {
	f := newFixture(t, open)
	c := f.signedIn(t)
	resp, body := get(t, c, f.srv.URL+"/changes")
	if resp.StatusCode != http.StatusOK || strings.Count(body, "<tr>") != 5 || !strings.Contains(body, `<span class="badge kind">created</span>`) {
		t.Fatalf("changes: %d, %d rows\n%s", resp.StatusCode, strings.Count(body, "<tr>"), body)
	}
	_, body = get(t, c, f.srv.URL+"/changes?kind=created&filter="+url.QueryEscape("port eq 3389"))
	if strings.Count(body, "<tr>") != 2 || !strings.Contains(body, ">3389/tcp<") {
		t.Errorf("filtered changes:\n%s", body)
	}
	if resp, _ := get(t, c, f.srv.URL+"/changes?kind=exploded"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown kind: %d", resp.StatusCode)
	}
	if resp, body := get(t, c, f.srv.URL+"/changes?filter=port+eq"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "at position 7") {
		t.Errorf("bad filter: %d", resp.StatusCode)
	}
	// Without a change record: the ports first seen most recently.
	g := newFixture(t, open, func(c *console.Config) { c.Changes = nil })
	_, body = get(t, g.signedIn(t), g.srv.URL+"/changes")
	if !strings.Contains(body, "keeps no change record") || !strings.Contains(body, ">3389/tcp<") {
		t.Errorf("changes without a record:\n%s", body)
	}
}

// stubVerifier accepts the tokens it holds.
type stubVerifier struct {
	mu     sync.Mutex
	tokens map[string]*portolan.Principal
}

func (v *stubVerifier) VerifyToken(_ context.Context, token string) (*portolan.Principal, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if p, ok := v.tokens[token]; ok {
		if !p.HasPermission(portolan.PermissionThreatIntelligenceRead) {
			return nil, portolan.Errorf(portolan.EFORBIDDEN, "Insufficient privileges to complete the operation.")
		}
		return p, nil
	}
	return nil, portolan.Errorf(portolan.EUNAUTHORIZED, "Access token validation failure.")
}

func testSignInWithAToken(t *testing.T, open opener) {
	exp := t0.Add(40*24*time.Hour + time.Hour) // an hour after the fixture's now
	jwt := "eyJhbGciOiJFUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"exp":%d}`, exp.Unix()))) + ".c2ln"
	v := &stubVerifier{tokens: map[string]*portolan.Principal{
		jwt:        {Subject: "analyst", Scopes: []string{portolan.PermissionThreatIntelligenceRead}},
		"no-scope": {Subject: "intern", Scopes: []string{"User.Read"}},
	}}
	f := newFixture(t, open, func(c *console.Config) { c.Verifier = v })
	c := f.client(t)
	if _, body := get(t, c, f.srv.URL+"/signin?next=/changes"); !strings.Contains(body, `name="token" type="password"`) {
		t.Fatal("the sign-in page has no token form")
	}
	post := func(c *http.Client, token, origin string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/signin", strings.NewReader(url.Values{"token": {token}, "next": {"/changes"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := post(c, "forged", f.srv.URL); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "was not accepted") {
		t.Errorf("a bad token: %d", resp.StatusCode)
	}
	if resp, body := post(c, "no-scope", f.srv.URL); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "lacks the ThreatIntelligence.Read.All") {
		t.Errorf("a token without the permission: %d", resp.StatusCode)
	}
	if resp, _ := post(c, jwt, "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a token posted from another site: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/signin", strings.NewReader("token="+jwt))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "null")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a token posted cross-site with Origin null: %v %v", resp.StatusCode, err)
	}
	resp, body := post(c, jwt, f.srv.URL)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `content="0;url=/changes"`) {
		t.Fatalf("a good token: %d\n%s", resp.StatusCode, body)
	}
	if ck := resp.Cookies()[0]; !ck.Expires.Equal(exp) {
		t.Errorf("the session ends %v, want the token's expiry %v", ck.Expires, exp)
	}
	if resp, _ := get(t, c, f.srv.URL+"/changes"); resp.StatusCode != http.StatusOK {
		t.Errorf("after the token sign-in: %d", resp.StatusCode)
	}
	f.now = exp
	if resp, _ := get(t, c, f.srv.URL+"/changes"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the token's expiry: %d", resp.StatusCode)
	}
}

// The page tests run on the embedded store, and on PostgreSQL when
// PORTOLAN_TEST_POSTGRES names a server (TestOnPostgreSQL).
var pageTests = map[string]func(*testing.T, opener){
	"SignInLinkWorksOnceAndSetsAStrictCookie":          testSignInLinkWorksOnceAndSetsAStrictCookie,
	"SignInLinkExpires":                                testSignInLinkExpires,
	"PagesNeedAValidSession":                           testPagesNeedAValidSession,
	"SignOutNeedsTheCSRFTokenAndEndsTheSession":        testSignOutNeedsTheCSRFTokenAndEndsTheSession,
	"EveryResponseCarriesTheSecurityHeaders":           testEveryResponseCarriesTheSecurityHeaders,
	"StaticAssetsWithoutListings":                      testStaticAssetsWithoutListings,
	"HostileDataIsEscaped":                             testHostileDataIsEscaped,
	"SearchPageSortsPagesAndExplainsErrors":            testSearchPageSortsPagesAndExplainsErrors,
	"SearchPagesFollowTheStoresCursor":                 testSearchPagesFollowTheStoresCursor,
	"SearchCSVExport":                                  testSearchCSVExport,
	"HostPageShowsPortsTimelineBannersAndCertificates": testHostPageShowsPortsTimelineBannersAndCertificates,
	"HostPageOfAThousandPorts":                         testHostPageOfAThousandPorts,
	"TimelineMarksTheChangeRecord":                     testTimelineMarksTheChangeRecord,
	"ExpiryBadgesSayWhatTheyMean":                      testExpiryBadgesSayWhatTheyMean,
	"CertificatePage":                                  testCertificatePage,
	"ChangesPage":                                      testChangesPage,
	"SignInWithAToken":                                 testSignInWithAToken,
}

func TestSignInLinkWorksOnceAndSetsAStrictCookie(t *testing.T) {
	testSignInLinkWorksOnceAndSetsAStrictCookie(t, openSQLite)
}
func TestSignInLinkExpires(t *testing.T)      { testSignInLinkExpires(t, openSQLite) }
func TestPagesNeedAValidSession(t *testing.T) { testPagesNeedAValidSession(t, openSQLite) }
func TestSignOutNeedsTheCSRFTokenAndEndsTheSession(t *testing.T) {
	testSignOutNeedsTheCSRFTokenAndEndsTheSession(t, openSQLite)
}
func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	testEveryResponseCarriesTheSecurityHeaders(t, openSQLite)
}
func TestStaticAssetsWithoutListings(t *testing.T) { testStaticAssetsWithoutListings(t, openSQLite) }
func TestHostileDataIsEscaped(t *testing.T)        { testHostileDataIsEscaped(t, openSQLite) }
func TestSearchPageSortsPagesAndExplainsErrors(t *testing.T) {
	testSearchPageSortsPagesAndExplainsErrors(t, openSQLite)
}
func TestSearchPagesFollowTheStoresCursor(t *testing.T) {
	testSearchPagesFollowTheStoresCursor(t, openSQLite)
}
func TestSearchCSVExport(t *testing.T) { testSearchCSVExport(t, openSQLite) }
func TestHostPageShowsPortsTimelineBannersAndCertificates(t *testing.T) {
	testHostPageShowsPortsTimelineBannersAndCertificates(t, openSQLite)
}
func TestHostPageOfAThousandPorts(t *testing.T) { testHostPageOfAThousandPorts(t, openSQLite) }
func TestTimelineMarksTheChangeRecord(t *testing.T) {
	testTimelineMarksTheChangeRecord(t, openSQLite)
}
func TestExpiryBadgesSayWhatTheyMean(t *testing.T) { testExpiryBadgesSayWhatTheyMean(t, openSQLite) }
func TestCertificatePage(t *testing.T)             { testCertificatePage(t, openSQLite) }
func TestChangesPage(t *testing.T)                 { testChangesPage(t, openSQLite) }
func TestSignInWithAToken(t *testing.T)            { testSignInWithAToken(t, openSQLite) }

func TestOnPostgreSQL(t *testing.T) {
	if os.Getenv("PORTOLAN_TEST_POSTGRES") == "" {
		t.Skip("set PORTOLAN_TEST_POSTGRES to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the console's tests on PostgreSQL")
	}
	for name, test := range pageTests {
		t.Run(name, func(t *testing.T) { test(t, openPostgreSQL) })
	}
}

// enrichedHosts adds what an address database would tell to every host.
type enrichedHosts struct{ portolan.HostService }

func (e enrichedHosts) FindHostByID(ctx context.Context, id string) (*portolan.Host, error) {
	h, err := e.HostService.FindHostByID(ctx, id)
	if err == nil {
		h.CountryOrRegion, h.Netblock = "NL", "192.0.2.0/24"
		h.AutonomousSystem = &portolan.AutonomousSystem{Name: "EXAMPLE-AS" + hostileScript, Number: 64500, Organization: "Example B.V.", Value: "AS64500"}
	}
	return h, err
}

// TestHostPageShowsEnrichment: the facts of the address databases (serve
// --geoip-db, --asn-db) show on the host page, escaped; without them the
// page says where they would come from.
func TestHostPageShowsEnrichment(t *testing.T) {
	f := newFixture(t, openSQLite, func(c *console.Config) { c.Hosts = enrichedHosts{c.Hosts} })
	c := f.signedIn(t)
	_, body := get(t, c, f.srv.URL+"/hosts/192.0.2.10")
	for _, want := range []string{"<dt>Country or region</dt><dd>NL</dd>", "<dd>AS64500 EXAMPLE-AS&lt;script&gt;", "(Example B.V.)", "<dd>192.0.2.0/24</dd>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the host page lacks %q", want)
		}
	}
	plain := newFixture(t, openSQLite)
	if _, body := get(t, plain.signedIn(t), plain.srv.URL+"/hosts/192.0.2.10"); !strings.Contains(body, "No address database tells about this host") {
		t.Error("without a database the page does not say so")
	}
}

// TestSecureBehindATrustedProxy: behind a TLS-terminating proxy trusted to
// set X-Forwarded-Proto, the session cookie is Secure; the same header from
// anyone else changes nothing.
func TestSecureBehindATrustedProxy(t *testing.T) {
	for _, trust := range []bool{true, false} {
		f := newFixture(t, openSQLite, func(c *console.Config) { c.TrustForwardedProto = trust })
		req, err := http.NewRequest(http.MethodGet, f.console.NewSignInLink(f.srv.URL), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err := f.client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if cks := resp.Cookies(); len(cks) != 1 || cks[0].Secure != trust {
			t.Errorf("trusting the proxy %v: cookies %+v", trust, cks)
		}
	}
}
