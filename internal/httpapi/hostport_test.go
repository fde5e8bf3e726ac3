// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/httpapi"
)

var seedID = portolan.HostPortID("85.13.139.18", portolan.TCP, 443)

// seedJSON is the seed port's members exactly as they must be written: the
// documented order, stubs, "" version, Z times.
var seedJSON = `"id":"` + seedID + `","port":443,"firstSeenDateTime":"2016-12-06T20:23:38Z",` +
	`"lastSeenDateTime":"2023-07-18T23:24:01Z","lastScanDateTime":"2023-07-18T23:24:29Z","timesObserved":15590,` +
	`"status":"open","protocol":"tcp","banners":[` +
	`{"banner":"HTTP/1.1 302 Found\r\nX-Content-Type-Options:...","firstSeenDateTime":"2023-06-21T00:49:23Z","lastSeenDateTime":"2023-07-18T15:31:57Z","scanProtocol":"http_raw","timesObserved":2},` +
	`{"banner":"HTTP/1.1 302 Found\r\nX-Content-Type-Options:...","firstSeenDateTime":"2021-03-12T15:38:42Z","lastSeenDateTime":"2023-07-18T15:22:16Z","scanProtocol":"http_raw","timesObserved":2975}],` +
	`"services":[` +
	`{"firstSeenDateTime":"2020-10-28T22:39:51Z","lastSeenDateTime":"2023-07-18T22:13:54Z","isRecent":true,"component":{"id":"EVfwHhqkUQESmqrKSFHobDUHDAKBsWLf","name":"scaffolding on HTTPServer2","version":"","category":"Server"}},` +
	`{"firstSeenDateTime":"2022-06-26T04:29:25Z","lastSeenDateTime":"2023-07-18T00:54:13Z","isRecent":false,"component":{"id":"ZobhjJgOwebxpsXdCUjfTpshygqgcfJj","name":"nginx","version":"1.18.0","category":"Server"}}],` +
	`"mostRecentSslCertificate":{"id":"` + seedCertID + `"},"host":{"id":"85.13.139.18"}`

const ctxBase = "http://example.com/beta/$metadata#security/threatIntelligence/"

func TestListHostPortsExactBody(t *testing.T) {
	s := newServer(t, newFixture())
	w := s.get(t, "hosts/85.13.139.18/ports?$skip=3&$top=1")
	wantStatus(t, w, http.StatusOK)
	want := `{"@odata.context":"` + ctxBase + `hosts('85.13.139.18')/ports","value":[{` + seedJSON + `}]}`
	if got := w.Body.String(); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if ct := w.Header().Get("Content-Type"); ct != jsonContentType {
		t.Errorf("Content-Type = %q", ct)
	}
	if f := s.fx.portFilter; f.Host != "85.13.139.18" || f.Offset != 3 || f.Limit != 2 || f.Count || f.After != nil {
		t.Errorf("filter = %+v", f)
	}
}

func TestListHostPortsOrderAndNulls(t *testing.T) {
	fx := newFixture()
	// A port with nothing known: zero times, empty status and protocol
	// strings, no banners or services.
	fx.ports = append(fx.ports, &portolan.HostPort{ID: "bare", Port: 9, Host: "85.13.139.18", Protocol: portolan.TCP})
	s := newServer(t, fx)
	w := s.get(t, "hosts/85.13.139.18/ports?$select=id,port,protocol")
	wantStatus(t, w, http.StatusOK)
	want := `{"@odata.context":"` + ctxBase + `hosts('85.13.139.18')/ports(id,port,protocol)","value":[` +
		`{"id":"bare","port":9,"protocol":"tcp"},` +
		`{"id":"` + portolan.HostPortID("85.13.139.18", portolan.TCP, 21) + `","port":21,"protocol":"tcp"},` +
		`{"id":"` + portolan.HostPortID("85.13.139.18", portolan.UDP, 53) + `","port":53,"protocol":"udp"},` +
		`{"id":"` + portolan.HostPortID("85.13.139.18", portolan.TCP, 80) + `","port":80,"protocol":"tcp"},` +
		`{"id":"` + seedID + `","port":443,"protocol":"tcp"}]}`
	if got := w.Body.String(); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	w = s.get(t, "hostPorts/bare")
	want = `{"@odata.context":"` + ctxBase + `hostPorts/$entity","id":"bare","port":9,"firstSeenDateTime":null,` +
		`"lastSeenDateTime":null,"lastScanDateTime":null,"timesObserved":0,"status":null,"protocol":"tcp",` +
		`"banners":[],"services":[],"mostRecentSslCertificate":null,"host":{"id":"85.13.139.18"}}`
	if got := w.Body.String(); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestJSONStringEscaping(t *testing.T) {
	fx := newFixture()
	weird := "ctl\x00\x01\x1f \"q\" \\ \t\n\r\b\f tab é 日本 \u2028\u2029 bad\xff\xfe end <&>"
	fx.ports = []*portolan.HostPort{{ID: "w", Port: 1, Host: "85.13.139.18", Protocol: portolan.TCP,
		Banners: []portolan.HostPortBanner{{Banner: weird}}}}
	s := newServer(t, fx)
	w := s.get(t, "hostPorts/w?$select=banners")
	wantStatus(t, w, http.StatusOK)
	if !json.Valid(w.Body.Bytes()) {
		t.Fatalf("invalid JSON: %q", w.Body)
	}
	var got struct {
		Banners []struct{ Banner string } `json:"banners"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	// encoding/json decodes to the same text, with invalid bytes as U+FFFD.
	want := strings.ToValidUTF8(weird, "\uFFFD")
	want = strings.ReplaceAll(want, "\uFFFD\uFFFD", "\uFFFD") // ToValidUTF8 merges runs
	if len(got.Banners) != 1 || strings.ReplaceAll(got.Banners[0].Banner, "\uFFFD\uFFFD", "\uFFFD") != want {
		t.Errorf("banner round trip\n got %q\nwant %q", got.Banners, want)
	}
	for _, raw := range []string{`\u0000`, `\u0001`, `\u001f`, `\"q\"`, `\\`, `\t`, `\n`, `\r`, `\b`, `\f`, `\u2028`, `\u2029`, `\ufffd`} {
		if !strings.Contains(w.Body.String(), raw) {
			t.Errorf("body lacks the escape %s: %s", raw, w.Body)
		}
	}
}

func TestListHostPortsSelect(t *testing.T) {
	s := newServer(t, newFixture())
	tests := []struct {
		query, context, item string
	}{
		{"$select=id,port", "(id,port)", `{"id":"` + seedID + `","port":443}`},
		{"select=port,ID", "(port,id)", `{"id":"` + seedID + `","port":443}`},
		{"$select=host,mostRecentSslCertificate", "(host,mostRecentSslCertificate)",
			`{"mostRecentSslCertificate":{"id":"` + seedCertID + `"},"host":{"id":"85.13.139.18"}}`},
		{"$select=timesObserved,status", "(timesObserved,status)", `{"timesObserved":15590,"status":"open"}`},
		{"$select=*", "(*)", `{` + seedJSON + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			w := s.get(t, "hosts/85.13.139.18/ports?$skip=3&"+tt.query)
			wantStatus(t, w, http.StatusOK)
			want := `{"@odata.context":"` + ctxBase + `hosts('85.13.139.18')/ports` + tt.context + `","value":[` + tt.item + `]}`
			if got := w.Body.String(); got != want {
				t.Errorf("body\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestSelectErrors(t *testing.T) {
	s := newServer(t, newFixture())
	for _, tt := range []struct{ query, name string }{
		{"$select=host/id", "host/id"},
		{"$select=mostRecentSslCertificate/id", "mostRecentSslCertificate/id"},
		{"$select=id,nope", "nope"},
		{"select=sslVersion", "sslVersion"},
	} {
		for _, path := range []string{"hosts/85.13.139.18/ports", "hostPorts/" + url.PathEscape(seedID), "hosts/85.13.139.18/ports/" + url.PathEscape(seedID)} {
			w := s.get(t, path+"?"+tt.query)
			wantError(t, w, http.StatusBadRequest, "BadRequest",
				"Parsing OData Select and Expand failed: Could not find a property named '"+tt.name+"' on type 'microsoft.graph.security.hostPort'.")
		}
	}
}

var seedCertJSON = `"id":"` + seedCertID + `","firstSeenDateTime":"2023-03-10T01:20:47Z","lastSeenDateTime":"2023-04-02T00:00:00Z",` +
	`"fingerprint":"fb:96:55:15:05:f1:ed:b2:4d:d3:b3:6f:cf:fd:b7:65:83:3b:81:18","expirationDateTime":"2024-03-03T18:56:17Z",` +
	`"issueDateTime":"2023-03-09T18:56:17Z","sha1":"` + seedCertSHA1 + `","serialNumber":"1137389559885717770175191329273386705719099773",` +
	`"subject":{"commonName":"microsoft.com","address":{"city":"Redmond","countryOrRegion":"US","postalCode":null,"postOfficeBox":null,"state":"WA","street":null,"type":"unknown"},` +
	`"email":null,"givenName":null,"organizationName":"Microsoft Corporation","organizationUnitName":null,"serialNumber":null,"surname":null,` +
	`"alternateNames":["pymes.microsoft.com","mac2.microsoft.com"]},` +
	`"issuer":{"commonName":"Microsoft Azure TLS Issuing CA 05","address":{"city":null,"countryOrRegion":"US","postalCode":null,"postOfficeBox":null,"state":null,"street":null,"type":"unknown"},` +
	`"email":null,"givenName":null,"organizationName":"Microsoft Corporation","organizationUnitName":null,"serialNumber":null,"surname":null,"alternateNames":[]}`

func TestExpandMostRecentSslCertificate(t *testing.T) {
	fx := newFixture()
	s := newServer(t, fx)
	full := strings.Replace(seedJSON, `"mostRecentSslCertificate":{"id":"`+seedCertID+`"}`, `"mostRecentSslCertificate":{`+seedCertJSON+`}`, 1)
	tests := []struct {
		query, context, item string
	}{
		{"$expand=mostRecentSslCertificate", "(mostRecentSslCertificate())", `{` + full + `}`},
		{"expand=MostRecentSslCertificate", "(mostRecentSslCertificate())", `{` + full + `}`},
		{"$select=id&$expand=mostRecentSslCertificate($select=sha1,id)", "(id,mostRecentSslCertificate(sha1,id))",
			`{"id":"` + seedID + `","mostRecentSslCertificate":{"id":"` + seedCertID + `","sha1":"` + seedCertSHA1 + `"}}`},
		{"$select=port,mostRecentSslCertificate&$expand=mostRecentSslCertificate(select=fingerprint)", "(port,mostRecentSslCertificate,mostRecentSslCertificate(fingerprint))",
			`{"port":443,"mostRecentSslCertificate":{"fingerprint":"fb:96:55:15:05:f1:ed:b2:4d:d3:b3:6f:cf:fd:b7:65:83:3b:81:18"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			w := s.get(t, "hosts/85.13.139.18/ports?$skip=3&"+tt.query)
			wantStatus(t, w, http.StatusOK)
			want := `{"@odata.context":"` + ctxBase + `hosts('85.13.139.18')/ports` + tt.context + `","value":[` + tt.item + `]}`
			if got := w.Body.String(); got != want {
				t.Errorf("body\n got %s\nwant %s", got, want)
			}
		})
	}

	// A port without a certificate, and one whose certificate the store
	// lost, expand to null.
	fx.ports = append(fx.ports, &portolan.HostPort{ID: "lost", Port: 8443, Host: "85.13.139.18", Protocol: portolan.TCP, MostRecentSSLCertificateID: "gone"})
	w := s.get(t, "hosts/85.13.139.18/ports?$select=port&$expand=mostRecentSslCertificate($select=id)&$top=2")
	wantStatus(t, w, http.StatusOK)
	want := `{"@odata.context":"` + ctxBase + `hosts('85.13.139.18')/ports(port,mostRecentSslCertificate(id))","value":[` +
		`{"port":21,"mostRecentSslCertificate":null},{"port":53,"mostRecentSslCertificate":null}],` +
		`"@odata.nextLink":"`
	if got := w.Body.String(); !strings.HasPrefix(got, want) {
		t.Errorf("body\n got %s\nwant prefix %s", got, want)
	}
	w = s.get(t, "hostPorts/lost?$expand=mostRecentSslCertificate&$select=id")
	wantStatus(t, w, http.StatusOK)
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hostPorts(id,mostRecentSslCertificate())/$entity","id":"lost","mostRecentSslCertificate":null}`; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestExpandErrors(t *testing.T) {
	s := newServer(t, newFixture())
	for _, tt := range []struct{ query, message string }{
		{"$expand=host", "Query option '$expand' is not supported for property 'host' on type 'microsoft.graph.security.hostPort'; only 'mostRecentSslCertificate' can be expanded."},
		{"$expand=services", "Query option '$expand' is not supported for property 'services' on type 'microsoft.graph.security.hostPort'; only 'mostRecentSslCertificate' can be expanded."},
		{"$expand=nope", "Parsing OData Select and Expand failed: Could not find a property named 'nope' on type 'microsoft.graph.security.hostPort'."},
		{"$expand=mostRecentSslCertificate($select=nope)", "Parsing OData Select and Expand failed: Could not find a property named 'nope' on type 'microsoft.graph.security.sslCertificate'."},
		{"$expand=mostRecentSslCertificate($top=1)", "Nested query option '$top' is not supported in $expand; only $select is."},
		{"$expand=mostRecentSslCertificate(", "Invalid value 'mostRecentSslCertificate(' for query option '$expand': missing ')'."},
		{"$expand=*", "Parsing OData Select and Expand failed: Could not find a property named '*' on type 'microsoft.graph.security.hostPort'."},
	} {
		w := s.get(t, "hosts/85.13.139.18/ports?"+tt.query)
		wantError(t, w, http.StatusBadRequest, "BadRequest", tt.message)
	}
}

func TestListHostPortsPagingOptions(t *testing.T) {
	fx := newFixture()
	s := newServer(t, fx)

	w := s.get(t, "hosts/85.13.139.18/ports")
	wantStatus(t, w, http.StatusOK)
	if f := fx.portFilter; f.Limit != 101 || f.Offset != 0 || f.Count {
		t.Errorf("default filter = %+v, want Limit 101 ($top 100 + 1)", f)
	}
	body := decode(t, w.Body.Bytes())
	if _, ok := body["@odata.count"]; ok {
		t.Error("@odata.count without $count=true")
	}
	if _, ok := body["@odata.nextLink"]; ok {
		t.Error("@odata.nextLink on the last page")
	}
	if v := body["value"].([]any); len(v) != 4 {
		t.Errorf("%d ports, want 4", len(v))
	}

	w = s.get(t, "hosts/85.13.139.18/ports?$count=true&$top=1000&$skip=1")
	wantStatus(t, w, http.StatusOK)
	body = decode(t, w.Body.Bytes())
	if c := body["@odata.count"]; c != json.Number("4") {
		t.Errorf("@odata.count = %v, want 4 (the total, independent of $skip)", c)
	}
	if v := body["value"].([]any); len(v) != 3 {
		t.Errorf("%d ports, want 3", len(v))
	}
	if f := fx.portFilter; f.Limit != 1001 || f.Offset != 1 || !f.Count {
		t.Errorf("filter = %+v", f)
	}
	// Member order: context, count, value.
	if got := w.Body.String(); !strings.HasPrefix(got, `{"@odata.context":"`+ctxBase+`hosts('85.13.139.18')/ports","@odata.count":4,"value":[`) {
		t.Errorf("envelope order: %s", got)
	}

	w = s.get(t, "hosts/85.13.139.18/ports?count=false")
	wantStatus(t, w, http.StatusOK)
	if _, ok := decode(t, w.Body.Bytes())["@odata.count"]; ok {
		t.Error("@odata.count with $count=false")
	}

	// An empty page still has "value".
	w = s.get(t, "hosts/85.13.139.18/ports?$skip=50&$count=true")
	wantStatus(t, w, http.StatusOK)
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hosts('85.13.139.18')/ports","@odata.count":4,"value":[]}`; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestQueryOptionErrors(t *testing.T) {
	s := newServer(t, newFixture())
	for _, tt := range []struct{ query, message string }{
		{"$top=0", "Invalid value '0' for query option '$top': it must be an integer from 1 to 1000."},
		{"$top=1001", "Invalid value '1001' for query option '$top': it must be an integer from 1 to 1000."},
		{"top=abc", "Invalid value 'abc' for query option '$top': it must be an integer from 1 to 1000."},
		{"$skip=-1", "Invalid value '-1' for query option '$skip': it must be a non-negative integer."},
		{"$count=1", "Invalid value '1' for query option '$count': it must be true or false."},
		{"$top=1&top=2", "Query option '$top' was specified more than once, but it must be specified at most once."},
		{"$select=id&$select=port", "Query option '$select' was specified more than once, but it must be specified at most once."},
		{"$filter=port%20eq%20443", "Query option '$filter' is not supported by this request."},
		{"$orderby=port", "Query option '$orderby' is not supported by this request."},
		{"$search=x", "Query option '$search' is not supported by this request."},
		{"$format=json", "Query option '$format' is not supported by this request."},
		{"$foo=1", "Query option '$foo' is not supported."},
		{"foo=1", "Query option 'foo' is not supported."},
		{"$top=%zz", "The value of query option '$top' is not correctly percent-encoded."},
	} {
		w := s.get(t, "hosts/85.13.139.18/ports?"+tt.query)
		wantError(t, w, http.StatusBadRequest, "BadRequest", tt.message)
	}
	// Single entities take no paging options.
	for _, q := range []string{"$top=1", "$skip=1", "$count=true", "$skiptoken=x"} {
		w := s.get(t, "hostPorts/"+url.PathEscape(seedID)+"?"+q)
		wantStatus(t, w, http.StatusBadRequest)
		if !strings.Contains(w.Body.String(), "is not supported by this request") {
			t.Errorf("%s: %s", q, w.Body)
		}
	}
}

func TestPagingFollowsNextLink(t *testing.T) {
	fx := newFixture()
	s := newServer(t, fx)
	target := "hosts/www.contoso.com/ports?$top=1&$select=id,port&$count=true"
	var got []string
	for pages := 0; target != ""; pages++ {
		if pages > 10 {
			t.Fatal("nextLink does not end")
		}
		w := s.get(t, target)
		wantStatus(t, w, http.StatusOK)
		body := decode(t, w.Body.Bytes())
		if body["@odata.count"] != json.Number("5") {
			t.Errorf("page %d: @odata.count = %v, want 5 on every page", pages, body["@odata.count"])
		}
		for _, v := range body["value"].([]any) {
			got = append(got, v.(map[string]any)["port"].(json.Number).String())
		}
		target = ""
		if next, ok := body["@odata.nextLink"].(string); ok {
			u, err := url.Parse(next)
			if err != nil {
				t.Fatal(err)
			}
			if u.Scheme != "http" || u.Host != "example.com" || u.Path != "/beta/security/threatIntelligence/hosts/www.contoso.com/ports" {
				t.Fatalf("nextLink %s is not on the request's scheme, host and path", next)
			}
			q := u.Query()
			if q.Get("$top") != "1" || q.Get("$select") != "id,port" || q.Get("$count") != "true" || q.Get("$skiptoken") == "" {
				t.Fatalf("nextLink %s does not repeat the options", next)
			}
			target = next
		}
	}
	// The aliases' ports, by port then protocol then address.
	if diff := cmp.Diff([]string{"21", "22", "53", "80", "443"}, got); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
}

func TestPagingIsStableUnderInsertion(t *testing.T) {
	fx := newFixture()
	s := newServer(t, fx)
	w := s.get(t, "hosts/85.13.139.18/ports?$top=2&$select=port")
	next := decode(t, w.Body.Bytes())["@odata.nextLink"].(string)
	// A port lands before the cursor while the client pages: keyset paging
	// neither repeats nor skips anything.
	fx.ports = append(fx.ports, simplePort("85.13.139.18", portolan.TCP, 1))
	w = s.get(t, next)
	wantStatus(t, w, http.StatusOK)
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hosts('85.13.139.18')/ports(port)","value":[{"port":80},{"port":443}]}`; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestNextLinkDropsSkipAndKeepsEncoding(t *testing.T) {
	s := newServer(t, newFixture())
	w := s.get(t, "hosts('85.13.139.18')/ports?%24skip=1&top=1&%24select=id%2Cport")
	wantStatus(t, w, http.StatusOK)
	next := decode(t, w.Body.Bytes())["@odata.nextLink"].(string)
	prefix := "http://example.com/beta/security/threatIntelligence/hosts('85.13.139.18')/ports?top=1&%24select=id%2Cport&$skiptoken="
	if !strings.HasPrefix(next, prefix) {
		t.Fatalf("nextLink %s, want prefix %s", next, prefix)
	}
	w = s.get(t, next)
	wantStatus(t, w, http.StatusOK)
	if got := decode(t, w.Body.Bytes())["value"].([]any)[0].(map[string]any)["port"]; got != json.Number("80") {
		t.Errorf("second page starts at %v, want 80 (after the skipped 21 and the first page's 53)", got)
	}
}

func TestNextLinkScheme(t *testing.T) {
	fx := newFixture()
	plain := newServer(t, fx)
	proxied := newServer(t, fx, func(c *httpapi.Config) { c.TrustForwardedProto = true })
	tests := []struct {
		name   string
		s      *testServer
		target string
		header []string
		want   string
	}{
		{"plain", plain, "hosts/85.13.139.18/ports?$top=1", nil, "http://example.com/"},
		{"tls", plain, "https://api.test:8443/beta/security/threatIntelligence/hosts/85.13.139.18/ports?$top=1", nil, "https://api.test:8443/"},
		{"forwarded ignored", plain, "hosts/85.13.139.18/ports?$top=1", []string{"X-Forwarded-Proto", "https"}, "http://example.com/"},
		{"forwarded trusted", proxied, "hosts/85.13.139.18/ports?$top=1", []string{"X-Forwarded-Proto", "https"}, "https://example.com/"},
		{"forwarded junk", proxied, "hosts/85.13.139.18/ports?$top=1", []string{"X-Forwarded-Proto", "gopher"}, "http://example.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.s.get(t, tt.target, tt.header...)
			wantStatus(t, w, http.StatusOK)
			body := decode(t, w.Body.Bytes())
			for _, m := range []string{"@odata.nextLink", "@odata.context"} {
				if v := body[m].(string); !strings.HasPrefix(v, tt.want) {
					t.Errorf("%s = %s, want prefix %s", m, v, tt.want)
				}
			}
		})
	}
}

func TestSkipTokenTampering(t *testing.T) {
	fx := newFixture()
	s := newServer(t, fx)
	w := s.get(t, "hosts/85.13.139.18/ports?$top=1")
	next, _ := url.Parse(decode(t, w.Body.Bytes())["@odata.nextLink"].(string))
	token := next.Query().Get("$skiptoken")

	flip := []byte(token)
	flip[3] ^= 1
	other := newServer(t, fx, func(c *httpapi.Config) { c.SkipTokenKey = make([]byte, 32) })
	w = other.get(t, "hosts/85.13.139.18/ports?$top=1")
	foreign, _ := url.Parse(decode(t, w.Body.Bytes())["@odata.nextLink"].(string))
	w = s.get(t, "hosts/85.13.139.18/components?$top=1")
	componentsNext, _ := url.Parse(decode(t, w.Body.Bytes())["@odata.nextLink"].(string))

	msg := "The $skiptoken is not valid for this request; follow @odata.nextLink as returned."
	for name, target := range map[string]string{
		"flipped":              "hosts/85.13.139.18/ports?$skiptoken=" + string(flip),
		"truncated":            "hosts/85.13.139.18/ports?$skiptoken=" + token[:len(token)-2],
		"garbage":              "hosts/85.13.139.18/ports?$skiptoken=!!notbase64",
		"other key":            "hosts/85.13.139.18/ports?$skiptoken=" + foreign.Query().Get("$skiptoken"),
		"other host":           "hosts/10.0.0.1/ports?$skiptoken=" + token,
		"other collection":     "hosts/85.13.139.18/components?$skiptoken=" + token,
		"components on ports":  "hosts/85.13.139.18/ports?$skiptoken=" + componentsNext.Query().Get("$skiptoken"),
		"v1.0 token elsewhere": "/v1.0/security/threatIntelligence/hosts/www.contoso.com/ports?skiptoken=" + token,
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, s.get(t, target), http.StatusBadRequest, "BadRequest", msg)
		})
	}
	// The same token works on the other service root: it names a position
	// in the same collection.
	wantStatus(t, s.get(t, "/v1.0/security/threatIntelligence/hosts/85.13.139.18/ports?$skiptoken="+token), http.StatusOK)
}

func TestHostPortsCount(t *testing.T) {
	fx := newFixture()
	s := newServer(t, fx)
	for _, target := range []string{"hosts/85.13.139.18/ports/$count", "hosts/85.13.139.18/ports/%24count", "hosts('85.13.139.18')/ports/$count"} {
		w := s.get(t, target)
		wantStatus(t, w, http.StatusOK)
		if w.Body.String() != "4" {
			t.Errorf("%s: body %q, want 4", target, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); ct != "text/plain;charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		if f := fx.portFilter; !f.Count {
			t.Errorf("filter %+v does not ask for the count", f)
		}
	}
	wantStatus(t, s.get(t, "hosts/www.contoso.com/ports/$count"), http.StatusOK)
	wantError(t, s.get(t, "hosts/9.9.9.9/ports/$count"), http.StatusNotFound, "ResourceNotFound", "Host '9.9.9.9' was not found.")
	wantError(t, s.get(t, "hosts/85.13.139.18/ports/$count?$top=1"), http.StatusBadRequest, "BadRequest", "Query option '$top' is not supported by this request.")
}

func TestGetHostPort(t *testing.T) {
	s := newServer(t, newFixture())
	escaped := url.PathEscape(seedID) // '=' stays, so escape it as Kiota does
	escaped = strings.ReplaceAll(escaped, "=", "%3D")
	for _, target := range []string{
		"hostPorts/" + seedID,
		"hostPorts/" + escaped,
		"hostPorts('" + seedID + "')",
		"hostPorts(id='" + seedID + "')",
		"HOSTPORTS/" + escaped + "/",
		"/v1.0/security/threatIntelligence/hostPorts/" + escaped,
	} {
		w := s.get(t, target)
		wantStatus(t, w, http.StatusOK)
		root := "beta"
		if strings.HasPrefix(target, "/v1.0") {
			root = "v1.0"
		}
		want := `{"@odata.context":"http://example.com/` + root + `/$metadata#security/threatIntelligence/hostPorts/$entity",` + seedJSON + `}`
		if got := w.Body.String(); got != want {
			t.Errorf("%s: body\n got %s\nwant %s", target, got, want)
		}
	}
	w := s.get(t, "hostPorts/"+escaped+"?$select=port,status")
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hostPorts(port,status)/$entity","port":443,"status":"open"}`; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	wantError(t, s.get(t, "hostPorts/bm9wZQ%3D%3D"), http.StatusNotFound, "ResourceNotFound", "HostPort 'bm9wZQ==' was not found.")
}

func TestBase64IDWithSlash(t *testing.T) {
	fx := newFixture()
	id := "a/b//c+d=="
	fx.ports = append(fx.ports, &portolan.HostPort{ID: id, Port: 7, Host: "10.0.0.1", Protocol: portolan.TCP})
	s := newServer(t, fx)
	w := s.get(t, "hostPorts/a%2Fb%2F%2Fc+d%3D%3D?$select=id")
	wantStatus(t, w, http.StatusOK)
	if got := decode(t, w.Body.Bytes())["id"]; got != id {
		t.Errorf("id = %v, want %s", got, id)
	}
	w = s.get(t, "hosts/10.0.0.1/ports/a%2Fb%2F%2Fc%2Bd%3D%3D?$select=port")
	wantStatus(t, w, http.StatusOK)
	// A raw '/' splits the path: not this resource.
	wantStatus(t, s.get(t, "hostPorts/a/b"), http.StatusNotFound)
}

func TestGetHostHostPort(t *testing.T) {
	s := newServer(t, newFixture())
	p22 := portolan.HostPortID("10.0.0.1", portolan.TCP, 22)
	w := s.get(t, "hosts/85.13.139.18/ports/"+url.PathEscape(seedID))
	wantStatus(t, w, http.StatusOK)
	want := `{"@odata.context":"` + ctxBase + `hosts('85.13.139.18')/ports/$entity",` + seedJSON + `}`
	if got := w.Body.String(); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	w = s.get(t, "hosts('85.13.139.18')/ports('"+seedID+"')?$select=id")
	wantStatus(t, w, http.StatusOK)
	// Through an alias: the name lists its addresses' ports.
	for _, id := range []string{seedID, p22} {
		wantStatus(t, s.get(t, "hosts/WWW.Contoso.COM./ports/"+url.PathEscape(id)+"?$select=id"), http.StatusOK)
	}
	// Another host's port is not this host's.
	wantError(t, s.get(t, "hosts/85.13.139.18/ports/"+url.PathEscape(p22)), http.StatusNotFound, "ResourceNotFound",
		"Host '85.13.139.18' has no port with id '"+p22+"'.")
	wantError(t, s.get(t, "hosts/2001:db8::1/ports/"+url.PathEscape(p22)), http.StatusNotFound, "ResourceNotFound", "")
	wantError(t, s.get(t, "hosts/9.9.9.9/ports/"+url.PathEscape(seedID)), http.StatusNotFound, "ResourceNotFound", "Host '9.9.9.9' was not found.")
	wantError(t, s.get(t, "hosts/85.13.139.18/ports/nope"), http.StatusNotFound, "ResourceNotFound", "HostPort 'nope' was not found.")
}

func TestHostPortNavigation(t *testing.T) {
	fx := newFixture()
	s := newServer(t, fx)
	escaped := url.PathEscape(seedID)

	w := s.get(t, "hostPorts/"+escaped+"/host")
	wantStatus(t, w, http.StatusOK)
	want := `{"@odata.context":"` + ctxBase + `hosts/$entity","@odata.type":"#microsoft.graph.security.ipAddress","id":"85.13.139.18",` +
		`"firstSeenDateTime":"2016-12-06T20:23:38Z","lastSeenDateTime":"2023-07-18T23:24:01Z",` +
		`"countryOrRegion":null,"netblock":null,"autonomousSystem":null,"hostingProvider":null}`
	if got := w.Body.String(); got != want {
		t.Errorf("host body\n got %s\nwant %s", got, want)
	}
	w = s.get(t, "hostPorts/"+escaped+"/host?$select=id")
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`hosts(id)/$entity","@odata.type":"#microsoft.graph.security.ipAddress","id":"85.13.139.18"}`; got != want {
		t.Errorf("host body\n got %s\nwant %s", got, want)
	}

	w = s.get(t, "hostPorts/"+escaped+"/mostRecentSslCertificate")
	wantStatus(t, w, http.StatusOK)
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`sslCertificates/$entity",`+seedCertJSON+`}`; got != want {
		t.Errorf("certificate body\n got %s\nwant %s", got, want)
	}
	w = s.get(t, "hostPorts/"+escaped+"/mostRecentSslCertificate?$select=sha1")
	if got, want := w.Body.String(), `{"@odata.context":"`+ctxBase+`sslCertificates(sha1)/$entity","sha1":"`+seedCertSHA1+`"}`; got != want {
		t.Errorf("certificate body\n got %s\nwant %s", got, want)
	}
	// No certificate: 204, as OData answers a null single-valued navigation.
	w = s.get(t, "hostPorts/"+url.PathEscape(portolan.HostPortID("85.13.139.18", portolan.TCP, 80))+"/mostRecentSslCertificate")
	wantStatus(t, w, http.StatusNoContent)
	if w.Body.Len() != 0 || w.Header().Get("request-id") == "" {
		t.Errorf("204 with body %q or without request-id", w.Body)
	}
	wantError(t, s.get(t, "hostPorts/nope/host"), http.StatusNotFound, "ResourceNotFound", "HostPort 'nope' was not found.")
	wantError(t, s.get(t, "hostPorts/nope/mostRecentSslCertificate"), http.StatusNotFound, "ResourceNotFound", "HostPort 'nope' was not found.")
	wantError(t, s.get(t, "hostPorts/"+escaped+"/host?$expand=ports"), http.StatusBadRequest, "BadRequest", "Query option '$expand' is not supported by this request.")
	wantError(t, s.get(t, "hostPorts/"+escaped+"/host?$select=registrar/x"), http.StatusBadRequest, "BadRequest",
		"Parsing OData Select and Expand failed: Could not find a property named 'registrar/x' on type 'microsoft.graph.security.host'.")
}
