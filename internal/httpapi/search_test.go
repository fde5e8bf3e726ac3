// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/httpapi"
	"portolan/internal/sqlite"
	"portolan/internal/storetest"
)

// searchServer is a Server over a real SQLite store holding a small,
// hand-made estate: the answers below are worked out from it by hand.
func searchServer(t *testing.T) *testServer {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "search.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	day := func(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC) }
	nginx := func(v string) []portolan.Component {
		return []portolan.Component{{Name: "nginx", Version: v, Category: "Server"}}
	}
	obs := []*portolan.Observation{
		{Host: "10.20.1.5", Port: 443, Status: portolan.StatusOpen, ScannedAt: day(1), Source: "nmap", Components: nginx("1.18.0"), Hostnames: []string{"www.example.test"}},
		{Host: "10.20.1.5", Port: 22, Status: portolan.StatusOpen, ScannedAt: day(1), Source: "nmap", Banner: "SSH-2.0-OpenSSH_7.4", ScanProtocol: "ssh"},
		{Host: "10.20.1.5", Port: 22, Status: portolan.StatusClosed, ScannedAt: day(3), Source: "nmap"},
		{Host: "10.30.0.9", Port: 443, Status: portolan.StatusOpen, ScannedAt: day(2), Source: "nmap", Components: nginx("1.24.0"), Certificate: storetest.TestCertificates()[0]},
		{Host: "10.30.0.9", Port: 3389, Status: portolan.StatusOpen, ScannedAt: day(2), Source: "masscan"},
		{Host: "192.0.2.7", Port: 80, Status: portolan.StatusOpen, ScannedAt: day(2), Source: "nmap", Components: nginx("1.9.15")},
		{Host: "192.0.2.7", Port: 53, Protocol: portolan.UDP, Status: portolan.StatusOpen, ScannedAt: day(2), Source: "nmap"},
		{Host: "2001:db8::5", Port: 22, Status: portolan.StatusOpen, ScannedAt: day(3), Source: "nmap", Banner: "SSH-2.0-OpenSSH_9.6", ScanProtocol: "ssh"},
	}
	for _, o := range obs {
		if err := o.Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ImportObservations(ctx, obs); err != nil {
		t.Fatal(err)
	}
	return newServer(t, newFixture(), func(c *httpapi.Config) {
		c.HostPorts, c.Hosts, c.Certificates, c.Search = db, db, db, db
	})
}

// portIDs lists "host:port/protocol" of the items of a page.
func portIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var page struct {
		Value []struct {
			Port     int    `json:"port"`
			Protocol string `json:"protocol"`
			Host     struct {
				ID string `json:"id"`
			} `json:"host"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	out := []string{}
	for _, v := range page.Value {
		out = append(out, v.Host.ID+":"+strconv.Itoa(v.Port)+"/"+v.Protocol)
	}
	return out
}

func TestSearchHostPorts(t *testing.T) {
	s := searchServer(t)
	for _, c := range []struct{ query, want string }{
		{"", "10.20.1.5:22/tcp 10.20.1.5:443/tcp 10.30.0.9:443/tcp 10.30.0.9:3389/tcp 192.0.2.7:53/udp 192.0.2.7:80/tcp 2001:db8::5:22/tcp"},
		{"$filter=services/any(s: s/component/name eq 'NGINX' and s/component/version lt '1.20')", "10.20.1.5:443/tcp 192.0.2.7:80/tcp"},
		{"$filter=port eq 3389 and portolan.inSubnet(host/id, '10.20.0.0/15')", ""},
		{"$filter=port eq 3389 and portolan.inSubnet(host/id, '10.0.0.0/8')", "10.30.0.9:3389/tcp"},
		{"$filter=portolan.inSubnet(host/id, '2001:db8::/32')", "2001:db8::5:22/tcp"},
		{"$filter=firstSeenDateTime ge 2026-11-02T00:00:00Z&$orderby=port desc", "10.30.0.9:3389/tcp 10.30.0.9:443/tcp 192.0.2.7:80/tcp 192.0.2.7:53/udp 2001:db8::5:22/tcp"},
		{"$filter=banners/any(b: contains(b/banner, 'openssh_7'))", "10.20.1.5:22/tcp"},
		{"$filter=status eq 'closed'", "10.20.1.5:22/tcp"},
		{"$filter=host/id eq 'www.example.test'", "10.20.1.5:22/tcp 10.20.1.5:443/tcp"},
		{"$filter=protocol eq 'udp' or mostRecentSslCertificate ne null", "10.30.0.9:443/tcp 192.0.2.7:53/udp"},
		{"$filter=mostRecentSslCertificate/expirationDateTime lt 2028-01-01T00:00:00Z and mostRecentSslCertificate/subject/alternateNames/any(n: n eq 'WWW.example.test')", "10.30.0.9:443/tcp"},
		{"$filter=not (port in (22, 443))&$orderby=host/id desc", "192.0.2.7:53/udp 192.0.2.7:80/tcp 10.30.0.9:3389/tcp"},
	} {
		w := s.get(t, "hostPorts?"+escapeQuery(c.query))
		wantStatus(t, w, http.StatusOK)
		if got := strings.Join(portIDs(t, w.Body.Bytes()), " "); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.query, got, c.want)
		}
	}
	// The same on the other root, and on a host's ports (hostname aliases
	// included, the list's own order).
	w := s.get(t, "/v1.0/security/threatIntelligence/hosts/www.example.test/ports?"+escapeQuery("$filter=port ge 22&$orderby=port desc"))
	wantStatus(t, w, http.StatusOK)
	if got := strings.Join(portIDs(t, w.Body.Bytes()), " "); got != "10.20.1.5:443/tcp 10.20.1.5:22/tcp" {
		t.Errorf("hosts/{name}/ports: %s", got)
	}
	if !strings.Contains(w.Body.String(), `"@odata.context":"http://example.com/v1.0/$metadata#security/threatIntelligence/hosts('www.example.test')/ports"`) {
		t.Errorf("context: %s", w.Body)
	}
	w = s.get(t, "hosts/unknown.example.test/ports?"+escapeQuery("$filter=port eq 22"))
	wantStatus(t, w, http.StatusNotFound)
}

func TestSearchCountAndPaging(t *testing.T) {
	s := searchServer(t)
	w := s.get(t, "hostPorts/$count?"+escapeQuery("$filter=port eq 22 or port eq 443"))
	wantStatus(t, w, http.StatusOK)
	if got := w.Body.String(); got != "4" {
		t.Errorf("$count = %q, want 4", got)
	}
	w = s.get(t, "hosts/10.20.1.5/ports/$count?"+escapeQuery("$filter=status eq 'open'"))
	wantStatus(t, w, http.StatusOK)
	if got := w.Body.String(); got != "1" {
		t.Errorf("hosts/{id}/ports/$count = %q, want 1", got)
	}

	// A $top=2 walk ordered by lastSeen desc meets every item once, in
	// order, with the exact count on every page.
	var walked []string
	next := "hostPorts?" + escapeQuery("$filter=port ne 53&$orderby=lastSeenDateTime desc&$top=2&$count=true")
	for pages := 0; next != ""; pages++ {
		w := s.get(t, next)
		wantStatus(t, w, http.StatusOK)
		body := decode(t, w.Body.Bytes())
		if body["@odata.count"].(json.Number).String() != "6" {
			t.Fatalf("page %d: count %v", pages, body["@odata.count"])
		}
		walked = append(walked, portIDs(t, w.Body.Bytes())...)
		next, _ = body["@odata.nextLink"].(string)
		if pages > 5 {
			t.Fatal("too many pages")
		}
	}
	// Ties on lastSeen fall back on host, port, protocol.
	want := []string{"2001:db8::5:22/tcp", "10.30.0.9:443/tcp", "10.30.0.9:3389/tcp", "192.0.2.7:80/tcp", "10.20.1.5:22/tcp", "10.20.1.5:443/tcp"}
	if !slices.Equal(walked, want) {
		t.Errorf("walk:\n got %v\nwant %v", walked, want)
	}

	// A token is bound to its filter and ordering.
	w = s.get(t, "hostPorts?"+escapeQuery("$orderby=port&$top=1"))
	link := decode(t, w.Body.Bytes())["@odata.nextLink"].(string)
	u, _ := url.Parse(link)
	token := u.Query().Get("$skiptoken")
	w = s.get(t, "hostPorts?"+escapeQuery("$orderby=port desc&$top=1")+"&$skiptoken="+token)
	wantError(t, w, http.StatusBadRequest, "BadRequest", "The $skiptoken is not valid for this request; follow @odata.nextLink as returned.")
}

func TestSearchHosts(t *testing.T) {
	s := searchServer(t)
	w := s.get(t, "hosts?"+escapeQuery("$filter=portolan.inSubnet(id, '10.0.0.0/8') or endswith(id, '.TEST')&$orderby=firstSeenDateTime desc&$count=true"))
	wantStatus(t, w, http.StatusOK)
	var page struct {
		Count int `json:"@odata.count"`
		Value []struct {
			Type string `json:"@odata.type"`
			ID   string `json:"id"`
		} `json:"value"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range page.Value {
		got = append(got, v.ID+" "+v.Type)
	}
	want := []string{"10.30.0.9 #microsoft.graph.security.ipAddress", "10.20.1.5 #microsoft.graph.security.ipAddress", "www.example.test #microsoft.graph.security.hostname"}
	if page.Count != 3 || !slices.Equal(got, want) {
		t.Errorf("hosts: count %d\n got %v\nwant %v", page.Count, got, want)
	}
	w = s.get(t, "hosts/$count")
	wantStatus(t, w, http.StatusOK)
	if w.Body.String() != "5" {
		t.Errorf("hosts/$count = %s, want 5 (four addresses and one name)", w.Body)
	}
}

func TestSearchCertificatesComponentsAndHostCertificates(t *testing.T) {
	s := searchServer(t)
	ids := func(w *httptest.ResponseRecorder, member string) string {
		t.Helper()
		wantStatus(t, w, http.StatusOK)
		var page struct{ Value []map[string]any }
		if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range page.Value {
			switch x := v[member].(type) {
			case string:
				out = append(out, x)
			case map[string]any:
				out = append(out, fmt.Sprint(x["id"]))
			}
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct{ path, query, member, want string }{
		{"sslCertificates", "$filter=subject/commonName eq 'SVC0.example.test'", "sha1", "%s"},
		{"sslCertificates", "$filter=expirationDateTime lt 2027-01-01T00:00:00Z", "sha1", ""},
		{"sslCertificates", "$orderby=id desc&$filter=sha1 eq '%s'", "sha1", "%s"},
		{"hostComponents", "$filter=name eq 'nginx' and version lt '1.20'&$orderby=version desc", "version", "1.18.0 1.9.15"},
		{"hosts/www.example.test/components", "$filter=startswith(name, 'NG')", "version", "1.18.0"},
		{"hostSslCertificates", "$filter=ports/any(p: p/port eq 443) and sslCertificate/subject/commonName eq 'svc0.example.test'", "host", "10.30.0.9"},
		{"hosts/10.30.0.9/sslCertificates", "$filter=ports/any(p: p/port eq 8443)", "host", ""},
	} {
		want, query := c.want, c.query
		sha := certSHA1(storetest.TestCertificates()[0])
		if strings.Contains(want, "%s") {
			want = fmt.Sprintf(want, sha)
		}
		if strings.Contains(query, "%s") {
			query = fmt.Sprintf(query, strings.ToUpper(sha))
		}
		if got := ids(s.get(t, c.path+"?"+escapeQuery(query)), c.member); got != want {
			t.Errorf("%s?%s: %s = %q, want %q", c.path, c.query, c.member, got, want)
		}
	}
	for path, want := range map[string]string{"sslCertificates/$count": "1", "hostComponents/$count": "3", "hostSslCertificates/$count": "1"} {
		w := s.get(t, path)
		wantStatus(t, w, http.StatusOK)
		if w.Body.String() != want {
			t.Errorf("%s = %s, want %s", path, w.Body, want)
		}
	}
}

func certSHA1(der []byte) string {
	sum := sha1.Sum(der)
	return hex.EncodeToString(sum[:])
}

func TestSearchErrors(t *testing.T) {
	s := searchServer(t)
	for _, c := range []struct{ query, message string }{
		{"$filter=port eq", "Invalid filter clause: expected a property or a value but found the end of the filter at position 7."},
		{"$filter=colour eq 'red'", "Could not find a property named 'colour' on type 'microsoft.graph.security.hostPort'."},
		{"$filter=host/countryOrRegion eq 'FR'", "Unsupported query: filtering on 'countryOrRegion' of type 'microsoft.graph.security.host' is not supported."},
		{"$filter=startswith(id, 'MTAu')", "Unsupported query: 'id' with startswith, endswith or contains."},
		{"$orderby=banners", "Unsupported query: ordering by 'banners'."},
		{"$orderby=id", "Unsupported query: ordering by 'id'."},
		{"$filter=port eq 1&$filter=port eq 2", "Query option '$filter' was specified more than once, but it must be specified at most once."},
		{"$search=x", "Query option '$search' is not supported by this request."},
	} {
		w := s.get(t, "hostPorts?"+escapeQuery(c.query))
		wantError(t, w, http.StatusBadRequest, "BadRequest", c.message)
	}
}

// escapeQuery percent-encodes the values of a query string written
// readably (spaces, quotes, slashes).
func escapeQuery(q string) string {
	if q == "" {
		return ""
	}
	var parts []string
	for _, pair := range strings.Split(q, "&") {
		name, value, _ := strings.Cut(pair, "=")
		parts = append(parts, name+"="+url.QueryEscape(value))
	}
	return strings.Join(parts, "&")
}

// ParseHostPortSearch is the request's parsing: the same tree for the same
// text, and the same errors.
func TestParseHostPortSearch(t *testing.T) {
	q, err := httpapi.ParseHostPortSearch("port eq 3389 and portolan.inSubnet(host/id, '10.20.0.0/16')", "lastSeenDateTime desc")
	if err != nil {
		t.Fatal(err)
	}
	and, ok := q.Filter.(*portolan.Logical)
	if !ok || and.Or {
		t.Fatalf("filter = %#v, want an and", q.Filter)
	}
	if c, ok := and.Left.(*portolan.Compare); !ok || c.Path.Name != "port" || c.Value.Int != 3389 {
		t.Errorf("left = %#v, want port eq 3389", and.Left)
	}
	if s, ok := and.Right.(*portolan.InSubnet); !ok || s.Prefix.String() != "10.20.0.0/16" {
		t.Errorf("right = %#v, want inSubnet 10.20.0.0/16", and.Right)
	}
	if len(q.OrderBy) != 1 || q.OrderBy[0].Path.Name != "lastSeenDateTime" || !q.OrderBy[0].Desc {
		t.Errorf("orderby = %+v", q.OrderBy)
	}
	if q, err := httpapi.ParseHostPortSearch("", ""); err != nil || q.Filter != nil || q.OrderBy != nil {
		t.Errorf("empty: %+v, %v", q, err)
	}
	_, err = httpapi.ParseHostPortSearch("colour eq 'red'", "")
	if portolan.ErrorCode(err) != portolan.EINVALID || portolan.ErrorMessage(err) != "Could not find a property named 'colour' on type 'microsoft.graph.security.hostPort'." {
		t.Errorf("unknown property: %v", err)
	}
	if _, err := httpapi.ParseHostPortSearch("", "banners"); portolan.ErrorCode(err) != portolan.EINVALID {
		t.Errorf("orderby banners: %v", err)
	}
}
