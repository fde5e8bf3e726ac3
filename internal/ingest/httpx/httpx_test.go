// SPDX-License-Identifier: Apache-2.0

package httpx_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/ingest/httpx"
	"portolan/internal/ingest/ingesttest"
)

const sample = "httpx_built_from_result_type.jsonl"

func TestGolden(t *testing.T) {
	data := ingesttest.ReadTestdata(t, sample)
	if !httpx.Sniff(ingesttest.Head(data)) {
		t.Error("Sniff does not recognise the sample")
	}
	obs := ingesttest.MustReadAll(t, httpx.NewReader(bytes.NewReader(data), httpx.Options{}))
	ingesttest.Golden(t, "httpx_built_from_result_type", obs)
}

// capture is httpx v1.7.1's own output against this machine's services
// (testdata/README.md).
const capture = "httpx_lab_2026-12-04.jsonl"

func TestCaptureGolden(t *testing.T) {
	data := ingesttest.ReadTestdata(t, capture)
	if !httpx.Sniff(ingesttest.Head(data)) {
		t.Error("Sniff does not recognise the capture")
	}
	obs := ingesttest.MustReadAll(t, httpx.NewReader(bytes.NewReader(data), httpx.Options{}))
	ingesttest.Golden(t, "httpx_lab_2026-12-04", obs)
}

// TestCaptureFacts pins what the real capture holds: httpx writes no
// certificate DER, and its TLS fields become a description of the leaf
// that nginx and openssl s_server presented, under the leaf's SHA-1.
func TestCaptureFacts(t *testing.T) {
	obs := ingesttest.MustReadAll(t, httpx.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, capture)), httpx.Options{}))
	byPort := map[int]*portolan.Observation{}
	for _, o := range obs {
		byPort[o.Port] = o
	}
	if len(obs) != 5 {
		t.Fatalf("%d observations, want 5", len(obs))
	}
	const leaf = "4a34bd0eaed5c0d734c35f55ddb6c3420e3a2e10" // openssl x509 -fingerprint -sha1 of the lab's cert.pem
	for _, port := range []int{18443, 18444} {
		o := byPort[port]
		if !portolan.IsDescribedCertificate(o.Certificate) || portolan.CertificateDigest(o.Certificate) != leaf {
			t.Fatalf("%d: certificate %q, want a description of %s", port, o.Certificate, leaf)
		}
		c, err := portolan.ParseCertificate(o.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject.CommonName != "portolan-lab.test" || c.SerialNumber != "200563388636312600885183926927793142627108509496" ||
			c.ExpirationDateTime.Format(time.RFC3339) != "2036-12-01T16:59:01Z" || fmt.Sprint(c.Subject.AlternateNames) != "[portolan-lab.test]" {
			t.Errorf("%d: %+v", port, c)
		}
	}
	// -irh wrote the headers as an object: they come back as header
	// lines, in its (alphabetical) order, which the fingerprint rules and
	// the volatile-header normalisation read as they read nmap's.
	nginxHead := "Accept-Ranges: bytes\r\nContent-Length: 70\r\nContent-Type: text/html\r\nDate: Fri, 04 Dec 2026 16:59:07 GMT\r\n" +
		"Etag: \"6b12f155-46\"\r\nLast-Modified: Fri, 04 Dec 2026 16:59:01 GMT\r\nServer: nginx/1.22.1"
	if o := byPort[18082]; o.Banner != nginxHead || fmt.Sprint(o.Components) != "[{Nginx 1.22.1 }]" || o.Certificate != nil {
		t.Errorf("18082: %q %+v", o.Banner, o)
	}
	if o := byPort[18443]; o.Banner != "Content-Type: text/html" {
		t.Errorf("18443 (openssl s_server sends no Server header): banner %q", o.Banner)
	}
	if o := byPort[18099]; o.Status != portolan.StatusClosed {
		t.Errorf("18099: %+v", o)
	}
}

// TestSampleFacts pins what the sample is known to hold, apart from the
// golden file.
func TestSampleFacts(t *testing.T) {
	obs := ingesttest.MustReadAll(t, httpx.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, sample)), httpx.Options{}))
	byPort := map[int]*portolan.Observation{}
	for _, o := range obs {
		byPort[o.Port] = o
	}
	if len(obs) != 5 || byPort[18022] != nil {
		t.Fatalf("%d observations (want 5: the TLS failure on 18022 gives none)", len(obs))
	}
	if o := byPort[18080]; o.Banner != "Server: SimpleHTTP/0.6 Python/3.11.7" || len(o.Components) != 2 || o.Components[1] != (portolan.Component{Name: "SimpleHTTP", Version: "0.6"}) {
		t.Errorf("18080: %+v", o)
	}
	if o := byPort[18081]; o.ScanProtocol != "http" || !bytes.HasPrefix([]byte(o.Banner), []byte("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n")) {
		t.Errorf("18081: the raw header is the banner: %+v", o)
	}
	if o := byPort[18443]; o.ScanProtocol != "https" || hexSHA1(o.Certificate) != ingesttest.LabCertSHA1 {
		t.Errorf("18443: certificate %s, want the lab certificate", hexSHA1(o.Certificate))
	}
	// 18444's tls has the leaf's fields but not its PEM: a description.
	if o := byPort[18444]; o.Host != "127.0.0.1" || len(o.Hostnames) != 1 || o.Hostnames[0] != "lab.example.test" ||
		portolan.CertificateDigest(o.Certificate) != ingesttest.LabCertSHA1 || !portolan.IsDescribedCertificate(o.Certificate) {
		t.Errorf("18444: %+v", o)
	}
	if o := byPort[18099]; o.Status != portolan.StatusClosed || o.ScanProtocol != "" {
		t.Errorf("18099: %+v", o)
	}
}

// TestResponseHeadForms reads the three ways httpx writes what a port
// answered: raw_header as text (-irr) or base64 (-irrb), the header object
// (-irh), or only webserver; the first present wins, in that order.
func TestResponseHeadForms(t *testing.T) {
	const head = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nX-Powered-By: PHP/8.2.1\r\n\r\n"
	line := func(members string) string {
		return `{"timestamp":"2026-12-04T04:10:00Z","url":"http://192.0.2.1:8080","port":"8080","scheme":"http","webserver":"nginx/1.22.1",` + members + `}` + "\n"
	}
	for _, tc := range []struct{ name, members, want string }{
		{"raw", `"raw_header":` + strconv.Quote(head) + `,"header":{"server":"ignored"}`, head},
		{"raw base64", `"raw_header":"` + base64.StdEncoding.EncodeToString([]byte(head)) + `"`, head},
		{"raw, not base64", `"raw_header":"Server: x"`, "Server: x"},
		{"header object", `"header":{"server":"nginx/1.22.1","x_powered_by":"PHP/8.2.1","set_cookie":["a=1","b=2"],"odd":7,"":"nameless"}`,
			"Server: nginx/1.22.1\r\nX-Powered-By: PHP/8.2.1\r\nSet-Cookie: a=1, b=2"},
		{"empty header object", `"header":{}`, "Server: nginx/1.22.1"},
		{"null header", `"header":null`, "Server: nginx/1.22.1"},
		{"webserver only", `"title":"x"`, "Server: nginx/1.22.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := ingesttest.MustReadAll(t, httpx.NewReader(strings.NewReader(line(tc.members)), httpx.Options{}))
			if len(obs) != 1 {
				t.Fatalf("got %d observations, want 1", len(obs))
			}
			if obs[0].Banner != tc.want {
				t.Errorf("banner %q, want %q", obs[0].Banner, tc.want)
			}
		})
	}
}

// tlsLine is an https line whose tls member has the given fingerprint_hash
// members, serial and not_after.
func tlsLine(hashes, serial, notAfter string) string {
	return `{"timestamp":"2026-12-04T04:10:00Z","url":"https://192.0.2.1","tls":{"fingerprint_hash":{` + hashes +
		`},"serial":` + serial + `,"not_before":"2026-12-04T16:59:01Z","not_after":` + notAfter + `}}`
}

func hexSHA1(b []byte) string {
	if b == nil {
		return ""
	}
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

func TestSniffRefusesOthers(t *testing.T) {
	for _, head := range []string{
		`{"ip":"127.0.0.1","data":{"http":{}},"url":"x","status_code":1}`,
		`{"host":"127.0.0.1","ip":"127.0.0.1","port":22,"protocol":"tcp","timestamp":"2026-12-04T04:10:00Z"}`,
		`{"host":"127.0.0.1","port":22,"status":"open","scannedAt":"2026-01-01T00:00:00Z"}`,
		`{"url":"http://x"}`,
	} {
		if httpx.Sniff([]byte(head)) {
			t.Errorf("Sniff(%s) = true", head)
		}
	}
}

func TestBadInput(t *testing.T) {
	line := func(port string) string {
		return `{"timestamp":"2026-12-04T04:10:00Z","port":"` + port + `","url":"http://192.0.2.1:` + port + `","scheme":"http","host":"192.0.2.1","status_code":200,"failed":false}`
	}
	ingesttest.RunBadInput(t, httpx.NewReader, []ingesttest.BadInput[httpx.Options]{
		{Name: "broken JSON between good lines", Input: line("1") + "\n{\"url\":\n" + line("2") + "\n",
			Ports: []int{1, 2}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "byte"}}},
		{Name: "bad port", Input: `{"timestamp":"2026-12-04T04:10:00Z","port":"x","url":"http://192.0.2.1"}` + "\n" + line("3") + "\n",
			Ports: []int{3}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: `port "x"`}}},
		{Name: "bad url", Input: line("x") + "\n" + line("3") + "\n", Ports: []int{3}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "not a URL"}}},
		{Name: "bad timestamp", Input: `{"timestamp":"now","url":"http://192.0.2.1"}` + "\n" + line("4") + "\n",
			Ports: []int{4}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "RFC 3339"}}},
		{Name: "no host", Input: `{"timestamp":"2026-12-04T04:10:00Z","port":"5"}` + "\n", Bad: []ingesttest.BadRecord{{Line: 1, Reason: "neither"}}},
		{Name: "bad certificate", Input: `{"timestamp":"2026-12-04T04:10:00Z","url":"https://192.0.2.1","tls":{"certificate":"MII..."}}` + "\n" + line("6") + "\n",
			Ports: []int{6}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "PEM"}}},
		{Name: "default ports from the scheme", Input: `{"timestamp":"2026-12-04T04:10:00Z","url":"https://192.0.2.1/","status_code":200}` + "\n" +
			`{"timestamp":"2026-12-04T04:10:00Z","url":"http://192.0.2.1/","port":8080,"status_code":200}` + "\n", Ports: []int{443, 8080}},
		{Name: "a timeout is filtered, a DNS error nothing", Input: `{"timestamp":"2026-12-04T04:10:00Z","url":"http://192.0.2.1:7","failed":true,"error":"context deadline exceeded"}` + "\n" +
			`{"timestamp":"2026-12-04T04:10:00Z","url":"http://nowhere.example:8","failed":true,"error":"no address found for host"}` + "\n", Ports: []int{7}},
		{Name: "not an object", Input: "[1]\n" + line("9") + "\n", Ports: []int{9}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "object"}}},
		{Name: "a TLS description that cannot describe", Input: tlsLine(`"sha1":"abc"`, `"23:21"`, `"2036-12-01T16:59:01Z"`) + "\n" +
			tlsLine(`"sha1":"4a34bd0eaed5c0d734c35f55ddb6c3420e3a2e10"`, `"zz"`, `"2036-12-01T16:59:01Z"`) + "\n" +
			tlsLine(`"sha1":"4a34bd0eaed5c0d734c35f55ddb6c3420e3a2e10"`, `"23:21"`, `"someday"`) + "\n" +
			tlsLine(`"md5":"a7"`, `"23:21"`, `"2036-12-01T16:59:01Z"`) + "\n" + line("10") + "\n",
			Ports: []int{443, 10}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "40 hex digits"}, {Line: 2, Reason: "hexadecimal"}, {Line: 3, Reason: "RFC 3339"}}},
	}, nil)
}

func TestReadError(t *testing.T) {
	ingesttest.CheckReadError(t, httpx.NewReader, httpx.Options{}, `{"timestamp":"2026-12-04T04:10:00Z","url":"http://192.0.2.1:7"}`+"\n", []int{7})
}

func FuzzRead(f *testing.F) {
	f.Add(ingesttest.ReadTestdata(f, sample))
	f.Add(ingesttest.ReadTestdata(f, capture))
	f.Add([]byte(`{"timestamp":"2026-12-04T04:10:00Z","url":"http://[::1]:x","tech":["a:b:c",":"],"tls":null,"a":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		httpx.Sniff(data)
		r := httpx.NewReader(bytes.NewReader(data), httpx.Options{})
		for i := 0; i < 1e5; i++ {
			o, err := r.Read()
			if err == io.EOF {
				return
			}
			if portolan.RecordError(err) == nil && err != nil {
				t.Fatalf("an in-memory input ended with %v", err)
			}
			if err == nil && (o == nil || o.Source != httpx.Source || !o.Status.Valid()) {
				t.Fatalf("bad observation %+v", o)
			}
		}
		t.Fatal("Read did not reach EOF")
	})
}

// TestMemoryFlat reads 64 MiB of lines: the heap does not grow with them.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 64 MiB")
	}
	in := &ingesttest.Generated{Size: 64 << 20, Record: func(i int) []byte {
		return fmt.Appendf(nil, `{"timestamp":"2026-12-04T04:10:00Z","port":"%d","url":"http://192.0.2.%d:%d","scheme":"http","webserver":"nginx/1.22.1","tech":["Nginx:1.22.1"],"host":"192.0.2.%d","status_code":200,"failed":false}`+"\n", i%65536, i%250, i%65536, i%250)
	}}
	ingesttest.CheckFlatMemory(t, httpx.NewReader(in, httpx.Options{}), 4<<20)
}
