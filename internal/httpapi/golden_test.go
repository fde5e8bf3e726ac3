// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/httpapi"
	"portolan/internal/mock"
	"portolan/internal/storetest"
)

// documentedListPorts is the response body of the documented example of
// GET /security/threatIntelligence/hosts/{hostId}/ports
// (microsoft-graph-docs-contrib, api-reference/beta/api/security-host-list-ports.md).
const documentedListPorts = `{
  "value": [
    {
      "id": "tKhoxnUMGirrHqYiMpsdaQRDZKBnXrao",
      "port": 443,
      "firstSeenDateTime": "2016-12-06T20:23:38.00Z",
      "lastSeenDateTime": "2023-07-18T23:24:01.00Z",
      "lastScanDateTime": "2023-07-18T23:24:29.00Z",
      "timesObserved": 15590,
      "status": "open",
      "protocol": "tcp",
      "banners": [
        {
          "banner": "HTTP/1.1 302 Found\r\nX-Content-Type-Options:...",
          "firstSeenDateTime": "2023-06-21T00:49:23.00Z",
          "lastSeenDateTime": "2023-07-18T15:31:57.00Z",
          "scanProtocol": "http_raw",
          "timesObserved": 2
        },
        {
          "banner": "HTTP/1.1 302 Found\r\nX-Content-Type-Options:...",
          "firstSeenDateTime": "2021-03-12T15:38:42.00Z",
          "lastSeenDateTime": "2023-07-18T15:22:16.00Z",
          "scanProtocol": "http_raw",
          "timesObserved": 2975
        }
      ],
      "services": [
        {
          "firstSeenDateTime": "2020-10-28T22:39:51.00Z",
          "lastSeenDateTime": "2023-07-18T22:13:54.00Z",
          "isRecent": true,
          "component": {
            "id": "EVfwHhqkUQESmqrKSFHobDUHDAKBsWLf",
            "name": "scaffolding on HTTPServer2",
            "version": "",
            "category": "Server"
          }
        },
        {
          "firstSeenDateTime": "2022-06-26T04:29:25.00Z",
          "lastSeenDateTime": "2023-07-18T00:54:13.00Z",
          "isRecent": false,
          "component": {
            "id": "ZobhjJgOwebxpsXdCUjfTpshygqgcfJj",
            "name": "nginx",
            "version": "1.18.0",
            "category": "Server"
          }
        }
      ],
      "mostRecentSslCertificate": {
        "id": "ZmI5NjU1MTUwNWYxZWRiMjRkZDNiMzZmY2ZmZGI3NjU4MzNiODExOA=="
      },
      "host": {
        "id": "85.13.139.18"
      }
    }
  ]
}`

// seedObservations builds scans that, under intelligence.md, produce the
// documented port 443 of 85.13.139.18: 15590 distinct open instants from
// 2016-12-06T20:23:38Z to 2023-07-18T23:24:01Z (scan completed 23:24:29), a
// banner seen twice and one seen 2975 times, "scaffolding on HTTPServer2"
// last seen after the newest banner (recent) and nginx 1.18.0 before it
// (not recent). Every instant is distinct, so timesObserved counts them all.
func seedObservations(t *testing.T) []*portolan.Observation {
	t.Helper()
	const host = "85.13.139.18"
	open := func(seen, scanned time.Time) *portolan.Observation {
		return &portolan.Observation{Host: host, Port: 443, Protocol: portolan.TCP, Status: portolan.StatusOpen,
			SeenAt: seen, ScannedAt: scanned, Source: "native"}
	}
	var obs []*portolan.Observation
	add := func(o *portolan.Observation) { obs = append(obs, o) }

	first, last := ts("2016-12-06T20:23:38Z"), ts("2023-07-18T23:24:01Z")
	add(open(first, first))
	final := open(last, ts("2023-07-18T23:24:29Z"))
	final.Certificate = testCertificate(t)
	add(final)

	// The banners (texts made distinct: the documentation shows both cut to
	// the same string).
	bannerA := "HTTP/1.1 302 Found\r\nX-Content-Type-Options: nosniff\r\nLocation: /a"
	bannerB := "HTTP/1.1 302 Found\r\nX-Content-Type-Options: nosniff\r\nLocation: /b"
	for _, at := range []string{"2023-06-21T00:49:23Z", "2023-07-18T15:31:57Z"} {
		o := open(ts(at), ts(at))
		o.ScanProtocol, o.Banner = "http_raw", bannerA
		add(o)
	}
	bFirst, bLast := ts("2021-03-12T15:38:42Z"), ts("2023-07-18T15:22:16Z")
	for i := 0; i < 2975; i++ {
		at := bFirst.Add(time.Duration(i) * 6 * time.Hour) // ...:38:42, never on a filler's second
		if i == 2974 {
			at = bLast
		}
		o := open(at, at)
		o.ScanProtocol, o.Banner = "http_raw", bannerB
		add(o)
	}

	// The components, as a scanner names them.
	for _, c := range []struct {
		at   string
		comp portolan.Component
	}{
		{"2020-10-28T22:39:51Z", portolan.Component{Name: "scaffolding on HTTPServer2", Category: "Server"}},
		{"2023-07-18T22:13:54Z", portolan.Component{Name: "scaffolding on HTTPServer2", Category: "Server"}},
		{"2022-06-26T04:29:25Z", portolan.Component{Name: "nginx", Version: "1.18.0", Category: "Server"}},
		{"2023-07-18T00:54:13Z", portolan.Component{Name: "nginx", Version: "1.18.0", Category: "Server"}},
	} {
		o := open(ts(c.at), ts(c.at))
		o.Components = []portolan.Component{c.comp}
		add(o)
	}

	// Plain answers in between, up to 15590 distinct instants.
	for i := 1; len(obs) < 15590; i++ {
		at := first.Add(time.Duration(i)*4*time.Hour + 7*time.Second)
		add(open(at, at.Add(20*time.Second)))
	}
	// A closed scan before the last one changes neither status nor counts.
	closed := open(time.Time{}, ts("2023-07-18T23:00:00Z"))
	closed.Status = portolan.StatusClosed
	add(closed)

	for _, o := range obs {
		if err := o.Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	return obs
}

func testCertificate(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "85.13.139.18"},
		NotBefore: ts("2023-01-01T00:00:00Z"), NotAfter: ts("2024-01-01T00:00:00Z")}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestDocumentedExampleFromObservations reproduces the documented example
// response of the seed from observations, through the merge rules and the
// API, and compares it member by member. As intelligence.md §9 says, three
// things cannot be reproduced and are compared by shape only: the opaque
// hostPort id, the certificate (its SHA-1 cannot be forged) and the banner
// texts (cut to one string in the documentation). The component ids of the
// example are opaque too; Portolan's are checked against its own rule.
func TestDocumentedExampleFromObservations(t *testing.T) {
	store := storetest.NewMemoryStore(nil)
	obs := seedObservations(t)
	if _, err := store.ImportObservations(context.Background(), obs); err != nil {
		t.Fatal(err)
	}
	s, err := httpapi.New(httpapi.Config{
		HostPorts: store, Hosts: store, Certificates: store,
		Verifier: fakeVerifier(), SkipTokenKey: testKey, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/beta/security/threatIntelligence/hosts/85.13.139.18/ports", nil)
	r.Header.Set("Authorization", "Bearer "+goodToken)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	wantStatus(t, w, http.StatusOK)

	var got, want map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(documentedListPorts), &want); err != nil {
		t.Fatal(err)
	}
	if got["@odata.context"] != ctxBase+"hosts('85.13.139.18')/ports" {
		t.Errorf("@odata.context = %v", got["@odata.context"])
	}
	delete(got, "@odata.context")

	// What cannot be reproduced: check it follows Portolan's rules, then
	// put the documented values in place.
	port := got["value"].([]any)[0].(map[string]any)
	docPort := want["value"].([]any)[0].(map[string]any)
	if port["id"] != portolan.HostPortID("85.13.139.18", portolan.TCP, 443) {
		t.Errorf("id = %v, want the rule of intelligence.md §3", port["id"])
	}
	port["id"] = docPort["id"]
	certID := portolan.SSLCertificateID(portolan.CertificateDigest(obs[1].Certificate))
	if diff := cmp.Diff(map[string]any{"id": certID}, port["mostRecentSslCertificate"]); diff != "" {
		t.Errorf("mostRecentSslCertificate (-want +got):\n%s", diff)
	}
	port["mostRecentSslCertificate"] = docPort["mostRecentSslCertificate"]
	for i, b := range port["banners"].([]any) {
		b.(map[string]any)["banner"] = docPort["banners"].([]any)[i].(map[string]any)["banner"]
	}
	for i, sv := range port["services"].([]any) {
		c := sv.(map[string]any)["component"].(map[string]any)
		comp := portolan.Component{Name: c["name"].(string), Version: c["version"].(string), Category: c["category"].(string)}
		if c["id"] != portolan.HostComponentID("85.13.139.18", comp) {
			t.Errorf("component id %v, want the rule of intelligence.md §5", c["id"])
		}
		c["id"] = docPort["services"].([]any)[i].(map[string]any)["component"].(map[string]any)["id"]
	}

	// Times are compared as instants: the documentation writes ".00Z".
	if diff := cmp.Diff(want, got, cmp.Transformer("instant", func(s string) string {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
		return s
	})); diff != "" {
		t.Errorf("response differs from the documented example (-doc +got):\n%s", diff)
	}
}

// TestMemoryStorePagesThroughAHost walks the paging of the real merge store
// with $top=1 to the end, as the end-to-end test will do with the binary.
func TestMemoryStorePagesThroughAHost(t *testing.T) {
	store := storetest.NewMemoryStore(nil)
	var obs []*portolan.Observation
	for _, p := range []int{443, 22, 80, 8080} {
		for _, proto := range []portolan.Protocol{portolan.TCP, portolan.UDP} {
			o := &portolan.Observation{Host: "192.0.2.1", Port: p, Protocol: proto, Status: portolan.StatusOpen,
				ScannedAt: ts("2024-01-01T00:00:00Z"), Source: "native", Hostnames: []string{"www.example.test"}}
			if err := o.Normalize(); err != nil {
				t.Fatal(err)
			}
			obs = append(obs, o)
		}
	}
	if _, err := store.ImportObservations(context.Background(), obs); err != nil {
		t.Fatal(err)
	}
	s, err := httpapi.New(httpapi.Config{HostPorts: store, Hosts: store, Certificates: store,
		Verifier: &mock.TokenVerifier{VerifyTokenFn: fakeVerifier().VerifyTokenFn}, SkipTokenKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"192.0.2.1", "www.example.test"} {
		var got []string
		target := "/beta/security/threatIntelligence/hosts/" + host + "/ports?$top=1&$select=port,protocol"
		for i := 0; target != ""; i++ {
			if i > 20 {
				t.Fatal("paging does not end")
			}
			r := httptest.NewRequest(http.MethodGet, target, nil)
			r.Header.Set("Authorization", "Bearer "+goodToken)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			wantStatus(t, w, http.StatusOK)
			var page struct {
				Value []struct {
					Port     int    `json:"port"`
					Protocol string `json:"protocol"`
				} `json:"value"`
				Next string `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
				t.Fatal(err)
			}
			for _, v := range page.Value {
				got = append(got, v.Protocol+"/"+strconv.Itoa(v.Port))
			}
			target = page.Next
		}
		want := []string{"tcp/22", "udp/22", "tcp/80", "udp/80", "tcp/443", "udp/443", "tcp/8080", "udp/8080"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: ports (-want +got):\n%s", host, diff)
		}
	}
}
