// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portolan"
)

func TestGetCertificate(t *testing.T) {
	s := newServer(t, newFixture())
	for _, target := range []string{"sslCertificates/" + url.PathEscape(seedCertID), "sslCertificates/ZmI5NjU1MTUwNWYxZWRiMjRkZDNiMzZmY2ZmZGI3NjU4MzNiODExOA%3D%3D", "sslCertificates('" + seedCertID + "')"} {
		w := s.get(t, target)
		wantStatus(t, w, http.StatusOK)
		if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`sslCertificates/$entity",`+seedCertJSON+`}`; got != want {
			t.Errorf("%s: body\n got %s\nwant %s", target, got, want)
		}
	}
	w := s.get(t, "sslCertificates/"+url.PathEscape(seedCertID)+"?$select=subject,id")
	wantStatus(t, w, http.StatusOK)
	if !strings.HasPrefix(w.Body.String(), `{"@odata.context":"`+ctxBase+`sslCertificates(subject,id)/$entity","id":"`+seedCertID+`","subject":{"commonName":"microsoft.com",`) {
		t.Errorf("body %s", w.Body)
	}
	wantError(t, s.get(t, "sslCertificates/bm9wZQ%3D%3D"), http.StatusNotFound, "ResourceNotFound", "SslCertificate 'bm9wZQ==' was not found.")
	wantError(t, s.get(t, "sslCertificates/x?$select=sslVersion"), http.StatusBadRequest, "BadRequest",
		"Parsing OData Select and Expand failed: Could not find a property named 'sslVersion' on type 'microsoft.graph.security.sslCertificate'.")
	wantError(t, s.get(t, "sslCertificates/x?$search=%22sha1:x%22"), http.StatusBadRequest, "BadRequest", "Query option '$search' is not supported by this request.")
}

func TestSearchCertificates(t *testing.T) {
	fx := newFixture()
	other := seedCertificate()
	other.ID, other.SHA1 = portolan.SSLCertificateID("00aa"), "00aa"
	fx.certs[other.ID] = other
	s := newServer(t, fx)

	w := s.get(t, `sslCertificates?$search="subject/commonName:microsoft.com"&$count=true&$top=1&$select=sha1`)
	wantStatus(t, w, http.StatusOK)
	if fx.search != (portolan.CertificateSearch{Field: "subject/commonName", Value: "microsoft.com"}) {
		t.Errorf("search = %+v", fx.search)
	}
	body := decode(t, w.Body.Bytes())
	if body["@odata.context"] != ctxBase+"sslCertificates(sha1)" || body["@odata.count"].(interface{ String() string }).String() != "2" {
		t.Errorf("body %s", w.Body)
	}
	next := body["@odata.nextLink"].(string)
	if !strings.HasPrefix(next, `http://example.com/beta/security/threatIntelligence/sslCertificates?$search="subject/commonName:microsoft.com"&$count=true&$top=1&$select=sha1&$skiptoken=`) {
		t.Errorf("nextLink = %s", next)
	}
	var shas []string
	shas = append(shas, body["value"].([]any)[0].(map[string]any)["sha1"].(string))
	w = s.get(t, next)
	wantStatus(t, w, http.StatusOK)
	body = decode(t, w.Body.Bytes())
	shas = append(shas, body["value"].([]any)[0].(map[string]any)["sha1"].(string))
	if _, ok := body["@odata.nextLink"]; ok {
		t.Error("nextLink on the last page")
	}
	// Ordered by id (base64 of the hex: "MDBh..." before "ZmI5...").
	if got, want := strings.Join(shas, ","), "00aa,"+seedCertSHA1; got != want {
		t.Errorf("pages hold %s, want %s", got, want)
	}

	// The token is bound to the search.
	token := next[strings.Index(next, "$skiptoken=")+len("$skiptoken="):]
	wantError(t, s.get(t, `sslCertificates?$search="sha1:00aa"&$skiptoken=`+token), http.StatusBadRequest, "BadRequest", "")

	for _, tt := range []struct{ query, message string }{
		{"", `Query option '$search' is required to list sslCertificates, for example $search="subject/commonName:contoso.com".`},
		{"$top=1", `Query option '$search' is required to list sslCertificates, for example $search="subject/commonName:contoso.com".`},
		{`$search="color:blue"`, `Invalid value '"color:blue"' for query option '$search': 'color' is not a searchable field; use one of ` + strings.Join(portolan.SearchableCertificateFields, ", ") + "."},
		{`$search="sha1"`, `Invalid value '"sha1"' for query option '$search': it must be "field:value".`},
		{`$search="sha1:abc`, `Invalid value '"sha1:abc' for query option '$search': the closing quote is missing.`},
		{`$search="sha1:x"&$orderby=sha1`, "Query option '$search' cannot be combined with '$filter' or '$orderby' on sslCertificates; express the search as a $filter, for example $filter=subject/commonName eq 'contoso.com'."},
		{`$search="sha1:x"&$expand=relatedHosts`, "Query option '$expand' is not supported by this request."},
		{`$search="sha1:x"&search="sha1:y"`, "Query option '$search' was specified more than once, but it must be specified at most once."},
	} {
		wantError(t, s.get(t, "sslCertificates?"+tt.query), http.StatusBadRequest, "BadRequest", tt.message)
	}
	// Dollar-less and unquoted forms.
	w = s.get(t, "sslCertificates?search=SHA1:"+seedCertSHA1)
	wantStatus(t, w, http.StatusOK)
	if fx.search != (portolan.CertificateSearch{Field: "sha1", Value: seedCertSHA1}) {
		t.Errorf("search = %+v", fx.search)
	}
}

func TestRelatedHosts(t *testing.T) {
	fx := newFixture()
	s := newServer(t, fx)
	w := s.get(t, "sslCertificates/"+url.PathEscape(seedCertID)+"/relatedHosts?$count=true")
	wantStatus(t, w, http.StatusOK)
	want := `{"@odata.context":"` + ctxBase + `sslCertificates('` + seedCertID + `')/relatedHosts","@odata.count":2,"value":[` +
		`{"@odata.type":"#microsoft.graph.security.ipAddress","id":"85.13.139.18","firstSeenDateTime":"2016-12-06T20:23:38Z","lastSeenDateTime":"2023-07-18T23:24:01Z","countryOrRegion":null,"netblock":null,"autonomousSystem":null,"hostingProvider":null},` +
		`{"@odata.type":"#microsoft.graph.security.hostname","id":"www.contoso.com","firstSeenDateTime":null,"lastSeenDateTime":null,"registrar":null,"registrant":null}]}`
	if got := w.Body.String(); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	w = s.get(t, "sslCertificates('"+seedCertID+"')/relatedHosts?$top=1&$select=id")
	wantStatus(t, w, http.StatusOK)
	body := decode(t, w.Body.Bytes())
	w = s.get(t, body["@odata.nextLink"].(string))
	wantStatus(t, w, http.StatusOK)
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`sslCertificates('`+seedCertID+`')/relatedHosts(id)","value":[{"@odata.type":"#microsoft.graph.security.hostname","id":"www.contoso.com"}]}`; got != want {
		t.Errorf("page 2\n got %s\nwant %s", got, want)
	}
	wantError(t, s.get(t, "sslCertificates/nope/relatedHosts"), http.StatusNotFound, "ResourceNotFound", "SslCertificate 'nope' was not found.")
	wantError(t, s.get(t, "sslCertificates/x/relatedHosts?$expand=ports"), http.StatusBadRequest, "BadRequest", "Query option '$expand' is not supported by this request.")
}

func TestHostSSLCertificates(t *testing.T) {
	fx := newFixture()
	s := newServer(t, fx)
	hc := fx.hostCerts[0]
	item := `"id":"` + hc.ID + `","firstSeenDateTime":"2023-03-10T01:20:47Z","lastSeenDateTime":"2023-04-02T00:00:00Z",` +
		`"ports":[{"port":443,"firstSeenDateTime":"2023-03-10T01:20:47Z","lastSeenDateTime":"2023-04-02T00:00:00Z"}],` +
		`"host":{"@odata.type":"#microsoft.graph.security.ipAddress","id":"85.13.139.18"},"sslCertificate":{` + seedCertJSON + `}`
	w := s.get(t, "hosts/85.13.139.18/sslCertificates?$count=true&$top=1&$skip=0")
	wantStatus(t, w, http.StatusOK)
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hosts('85.13.139.18')/sslCertificates","@odata.count":1,"value":[{`+item+`}]}`; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if f := fx.listFilter; f.Limit != 2 || !f.Count {
		t.Errorf("filter = %+v", f)
	}
	w = s.get(t, "hostSslCertificates/"+url.PathEscape(hc.ID))
	wantStatus(t, w, http.StatusOK)
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hostSslCertificates/$entity",`+item+`}`; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	w = s.get(t, "hostSslCertificates('"+hc.ID+"')?$select=ports,host")
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hostSslCertificates(ports,host)/$entity","ports":[{"port":443,"firstSeenDateTime":"2023-03-10T01:20:47Z","lastSeenDateTime":"2023-04-02T00:00:00Z"}],"host":{"@odata.type":"#microsoft.graph.security.ipAddress","id":"85.13.139.18"}}`; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	// A hostname host stub and a missing certificate.
	fx.hostCerts = append(fx.hostCerts, &portolan.HostSSLCertificate{ID: "n", Host: "www.contoso.com"})
	w = s.get(t, "hostSslCertificates/n")
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hostSslCertificates/$entity","id":"n","firstSeenDateTime":null,"lastSeenDateTime":null,"ports":[],"host":{"@odata.type":"#microsoft.graph.security.hostname","id":"www.contoso.com"},"sslCertificate":null}`; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	wantStatus(t, s.get(t, "hosts/www.contoso.com/sslCertificates"), http.StatusOK)
	wantError(t, s.get(t, "hosts/9.9.9.9/sslCertificates"), http.StatusNotFound, "ResourceNotFound", "Host '9.9.9.9' was not found.")
	wantError(t, s.get(t, "hostSslCertificates/nope"), http.StatusNotFound, "ResourceNotFound", "HostSslCertificate 'nope' was not found.")
	wantError(t, s.get(t, "hosts/85.13.139.18/sslCertificates?$orderby=id"), http.StatusBadRequest, "BadRequest", "Query option '$orderby' is not supported by this request.")
	wantError(t, s.get(t, "hosts/85.13.139.18/sslCertificates?$expand=sslCertificate"), http.StatusBadRequest, "BadRequest", "Query option '$expand' is not supported by this request.")
	wantError(t, s.get(t, "hosts/85.13.139.18/sslCertificates?$select=sslCertificate/sha1"), http.StatusBadRequest, "BadRequest",
		"Parsing OData Select and Expand failed: Could not find a property named 'sslCertificate/sha1' on type 'microsoft.graph.security.hostSslCertificate'.")
}
