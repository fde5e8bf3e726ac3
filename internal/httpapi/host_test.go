// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"portolan"
)

func TestGetHost(t *testing.T) {
	s := newServer(t, newFixture())
	ipBody := `{"@odata.context":"` + ctxBase + `hosts/$entity","@odata.type":"#microsoft.graph.security.ipAddress","id":"85.13.139.18",` +
		`"firstSeenDateTime":"2016-12-06T20:23:38Z","lastSeenDateTime":"2023-07-18T23:24:01Z",` +
		`"countryOrRegion":null,"netblock":null,"autonomousSystem":null,"hostingProvider":null}`
	for _, target := range []string{"hosts/85.13.139.18", "hosts('85.13.139.18')", "hosts(85.13.139.18)", "hosts/%38%35.13.139.18", "hosts/::ffff:85.13.139.18"} {
		w := s.get(t, target)
		wantStatus(t, w, http.StatusOK)
		if got := w.Body.String(); got != ipBody {
			t.Errorf("%s: body\n got %s\nwant %s", target, got, ipBody)
		}
	}
	nameBody := `{"@odata.context":"` + ctxBase + `hosts/$entity","@odata.type":"#microsoft.graph.security.hostname","id":"www.contoso.com",` +
		`"firstSeenDateTime":null,"lastSeenDateTime":null,"registrar":null,"registrant":null}`
	for _, target := range []string{"hosts/www.contoso.com", "hosts/WWW.CONTOSO.COM.", "hosts('www.contoso.com')"} {
		w := s.get(t, target)
		wantStatus(t, w, http.StatusOK)
		if got := w.Body.String(); got != nameBody {
			t.Errorf("%s: body\n got %s\nwant %s", target, got, nameBody)
		}
	}
	// IPv6: raw, percent-encoded, bracketed, non-canonical: one host.
	for _, target := range []string{"hosts/2001:db8::1", "hosts/2001%3Adb8%3A%3A1", "hosts/[2001:db8::1]", "hosts/2001:0DB8:0:0::1", "hosts('2001:db8::1')"} {
		w := s.get(t, target+"?$select=id")
		wantStatus(t, w, http.StatusOK)
		if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hosts(id)/$entity","@odata.type":"#microsoft.graph.security.ipAddress","id":"2001:db8::1"}`; got != want {
			t.Errorf("%s: body\n got %s\nwant %s", target, got, want)
		}
	}
	w := s.get(t, "hosts/www.contoso.com?$select=registrar,id")
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hosts(registrar,id)/$entity","@odata.type":"#microsoft.graph.security.hostname","id":"www.contoso.com","registrar":null}`; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	// A property of the other host subtype is refused, as Graph refuses it.
	wantError(t, s.get(t, "hosts/www.contoso.com?$select=registrar,netblock,id"), http.StatusBadRequest, "BadRequest",
		"Parsing OData Select and Expand failed: Could not find a property named 'netblock' on type 'microsoft.graph.security.hostname'.")
	wantError(t, s.get(t, "hosts/85.13.139.18?$select=registrant"), http.StatusBadRequest, "BadRequest",
		"Parsing OData Select and Expand failed: Could not find a property named 'registrant' on type 'microsoft.graph.security.ipAddress'.")
	// Navigation properties that $metadata declares are selectable; served as
	// paths of their own, they add no member.
	w = s.get(t, "hosts/85.13.139.18?$select=id,ports,components,sslCertificates")
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hosts(id,ports,components,sslCertificates)/$entity","@odata.type":"#microsoft.graph.security.ipAddress","id":"85.13.139.18"}`; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	wantError(t, s.get(t, "hosts/9.9.9.9"), http.StatusNotFound, "ResourceNotFound", "Host '9.9.9.9' was not found.")
	wantError(t, s.get(t, "hosts/unknown.example"), http.StatusNotFound, "ResourceNotFound", "Host 'unknown.example' was not found.")
	wantError(t, s.get(t, "hosts/85.13.139.18?$top=1"), http.StatusBadRequest, "BadRequest", "Query option '$top' is not supported by this request.")
	wantError(t, s.get(t, "hosts/85.13.139.18?$select=ports/id"), http.StatusBadRequest, "BadRequest",
		"Parsing OData Select and Expand failed: Could not find a property named 'ports/id' on type 'microsoft.graph.security.host'.")
}

func TestInvalidHostIDs(t *testing.T) {
	s := newServer(t, newFixture())
	for _, target := range []string{
		"hosts/bad_host!/ports",
		"hosts/1.2.3.999",
		"hosts/fe80::1%25eth0",
		"hosts/-x.example/components",
		"hosts/a..b/sslCertificates",
		"hosts/" + strings.Repeat("a", 300) + "/ports",
		"hosts/%20/ports/$count",
		"hosts/x%00y/ports",
	} {
		w := s.get(t, target)
		wantError(t, w, http.StatusBadRequest, "BadRequest", "")
	}
	wantError(t, s.get(t, "hosts('')"), http.StatusBadRequest, "BadRequest", "The key of 'hosts' is empty.")
	wantError(t, s.get(t, "hosts('a'b')"), http.StatusBadRequest, "BadRequest", "The key literal 'a'b' is malformed: quotes inside it must be doubled.")
	wantError(t, s.get(t, "hosts(a'b)/ports"), http.StatusBadRequest, "BadRequest", "The key literal a'b is malformed.")
	// White space around a key is invalid, not trimmed.
	for _, target := range []string{"hosts/%208.8.8.8", "hosts('8.8.8.8%20')", "hosts/8.8.8.8%0A/ports"} {
		wantErrorPart(t, s.get(t, target), "it has white space around it")
	}
	// A parenthesised key gone wrong is malformed, not an unknown segment.
	for _, target := range []string{"hosts('8.8.8.8'", "hosts('8.8.8.8')x/ports", "hosts)", "('8.8.8.8')"} {
		wantErrorPart(t, s.get(t, target), "a key in parentheses is written name('key')")
	}
	// The message names the character sent, decoded as UTF-8.
	wantErrorPart(t, s.get(t, "hosts/caf%C3%A9.example"), `character 'é' is not allowed`)
}

func TestHostComponents(t *testing.T) {
	fx := newFixture()
	s := newServer(t, fx)
	c1, c2 := fx.comps[0], fx.comps[1]
	compJSON := func(c *portolan.HostComponent) string {
		return `{"@odata.type":"#microsoft.graph.security.hostComponent","id":"` + c.ID + `","firstSeenDateTime":"` +
			c.FirstSeenDateTime.Format("2006-01-02T15:04:05Z") + `","lastSeenDateTime":"` + c.LastSeenDateTime.Format("2006-01-02T15:04:05Z") +
			`","name":"` + c.Name + `","version":"` + c.Version + `","category":"` + c.Category + `","host":{"id":"85.13.139.18"}}`
	}
	first, second := c1, c2
	if second.ID < first.ID {
		first, second = second, first
	}
	w := s.get(t, "hosts/85.13.139.18/components?$count=true")
	wantStatus(t, w, http.StatusOK)
	want := `{"@odata.context":"` + ctxBase + `hosts('85.13.139.18')/components","@odata.count":2,"value":[` + compJSON(first) + `,` + compJSON(second) + `]}`
	if got := w.Body.String(); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if f := fx.listFilter; f.Limit != 101 || !f.Count || f.AfterID != "" {
		t.Errorf("filter = %+v", f)
	}

	// Paging by id with $top, $skip and the token.
	w = s.get(t, "hosts/85.13.139.18/components?$top=1&$select=name")
	wantStatus(t, w, http.StatusOK)
	body := decode(t, w.Body.Bytes())
	next := body["@odata.nextLink"].(string)
	if !strings.HasPrefix(next, "http://example.com/beta/security/threatIntelligence/hosts/85.13.139.18/components?$top=1&$select=name&$skiptoken=") {
		t.Errorf("nextLink = %s", next)
	}
	w = s.get(t, next)
	wantStatus(t, w, http.StatusOK)
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hosts('85.13.139.18')/components(name)","value":[{"@odata.type":"#microsoft.graph.security.hostComponent","name":"`+second.Name+`"}]}`; got != want {
		t.Errorf("page 2\n got %s\nwant %s", got, want)
	}
	if fx.listFilter.AfterID != first.ID {
		t.Errorf("AfterID = %q, want %q", fx.listFilter.AfterID, first.ID)
	}
	w = s.get(t, "hosts/85.13.139.18/components?$skip=1&$select=id")
	wantStatus(t, w, http.StatusOK)
	if fx.listFilter.Offset != 1 {
		t.Errorf("Offset = %d", fx.listFilter.Offset)
	}

	// One component.
	w = s.get(t, "hostComponents/"+url.PathEscape(c1.ID))
	wantStatus(t, w, http.StatusOK)
	want = `{"@odata.context":"` + ctxBase + `hostComponents/$entity",` + strings.TrimPrefix(compJSON(c1), "{")
	if got := w.Body.String(); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	w = s.get(t, "hostComponents('"+c1.ID+"')?$select=version,host")
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hostComponents(version,host)/$entity","@odata.type":"#microsoft.graph.security.hostComponent","version":"1.18.0","host":{"id":"85.13.139.18"}}`; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}

	wantError(t, s.get(t, "hosts/9.9.9.9/components"), http.StatusNotFound, "ResourceNotFound", "Host '9.9.9.9' was not found.")
	wantError(t, s.get(t, "hostComponents/nope"), http.StatusNotFound, "ResourceNotFound", "HostComponent 'nope' was not found.")
	wantError(t, s.get(t, "hosts/85.13.139.18/components?$expand=host"), http.StatusBadRequest, "BadRequest", "Query option '$expand' is not supported by this request.")
	wantError(t, s.get(t, "hosts/85.13.139.18/components?$orderby=name"), http.StatusBadRequest, "BadRequest", "Query option '$orderby' is not supported by this request.")
	wantError(t, s.get(t, "hostComponents/x?$top=2"), http.StatusBadRequest, "BadRequest", "Query option '$top' is not supported by this request.")
	wantError(t, s.get(t, "hosts/85.13.139.18/components?$select=host/id"), http.StatusBadRequest, "BadRequest",
		"Parsing OData Select and Expand failed: Could not find a property named 'host/id' on type 'microsoft.graph.security.hostComponent'.")
}

func TestComponentEmptyVersionAndCategory(t *testing.T) {
	fx := newFixture()
	fx.comps = []*portolan.HostComponent{{ID: "c", Component: portolan.Component{Name: "thing"}, Host: "85.13.139.18"}}
	s := newServer(t, fx)
	w := s.get(t, "hostComponents/c?$select=name,version,category")
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hostComponents(name,version,category)/$entity","@odata.type":"#microsoft.graph.security.hostComponent","name":"thing","version":"","category":null}`; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	// A service without a stored component id gets the documented one.
	fx.ports = []*portolan.HostPort{{ID: "p", Port: 1, Host: "85.13.139.18", Protocol: portolan.TCP,
		Services: []portolan.HostPortComponent{{Component: portolan.Component{Name: "OpenSSH", Version: "8.2p1", Category: "Remote Access"}}}}}
	w = s.get(t, "hostPorts/p?$select=services")
	var got struct {
		Services []struct {
			Component struct{ ID string } `json:"component"`
		} `json:"services"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Services[0].Component.ID != "T3BlblNTSCQkOC4ycDEkJFJlbW90ZSBBY2Nlc3MkJDg1LjEzLjEzOS4xOA==" {
		t.Errorf("component id = %q", got.Services[0].Component.ID)
	}
}

// wantErrorPart checks a 400 whose message contains part.
func wantErrorPart(t *testing.T, w *httptest.ResponseRecorder, part string) {
	t.Helper()
	wantError(t, w, http.StatusBadRequest, "BadRequest", "")
	if !strings.Contains(w.Body.String(), part) {
		t.Errorf("body %s, want a message containing %q", w.Body, part)
	}
}

// TestGetHostWithAddressFacts: a host that address databases enriched
// (internal/mmdb) writes its facts in place of the nulls, the
// autonomousSystem in the member order of its complex type.
func TestGetHostWithAddressFacts(t *testing.T) {
	fx := newFixture()
	h := *fx.hosts["85.13.139.18"]
	h.CountryOrRegion, h.Netblock, h.HostingProvider = "DE", "85.13.128.0/18", "Example Cloud"
	h.AutonomousSystem = &portolan.AutonomousSystem{Name: "IONOS-AS", Number: 8560, Organization: "IONOS SE", Value: "AS8560"}
	fx.hosts["85.13.139.18"] = &h
	s := newServer(t, fx)
	w := s.get(t, "hosts/85.13.139.18?$select=countryOrRegion,netblock,autonomousSystem,hostingProvider")
	wantStatus(t, w, http.StatusOK)
	want := `{"@odata.context":"` + ctxBase + `hosts(countryOrRegion,netblock,autonomousSystem,hostingProvider)/$entity","@odata.type":"#microsoft.graph.security.ipAddress",` +
		`"countryOrRegion":"DE","netblock":"85.13.128.0/18","autonomousSystem":{"name":"IONOS-AS","number":8560,"organization":"IONOS SE","value":"AS8560"},"hostingProvider":"Example Cloud"}`
	if got := w.Body.String(); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}
