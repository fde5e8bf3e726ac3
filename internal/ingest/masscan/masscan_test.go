// SPDX-License-Identifier: Apache-2.0

package masscan_test

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/ingest/ingesttest"
	"portolan/internal/ingest/masscan"
)

// samples are the real masscan outputs in testdata, one golden file each.
var samples = []string{
	"masscan_banners_oX.xml",
	"masscan_banners_oJ.json",
	"masscan_banners_oD.ndjson",
	"masscan_banners_oL.txt",
	"masscan_hello_http_18080_18081_oX.xml",
	"masscan_banners_oG.txt",
	"masscan_banners_80_443_oB.bin",
	"masscan_ns_6379_18081_18443_oB.bin",
}

func TestGolden(t *testing.T) {
	for _, name := range samples {
		t.Run(name, func(t *testing.T) {
			obs := ingesttest.MustReadAll(t, masscan.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, name)), masscan.Options{}))
			ingesttest.Golden(t, strings.TrimSuffix(name, filepath.Ext(name)), obs)
		})
	}
}

// TestSampleFacts checks, against values read off the sample files by hand,
// what the golden files hold: one observation per port however many records
// it has, seenAt the earliest and scannedAt the latest record of the port,
// the X509 banner as the certificate of port 443, and the same banners from
// all four formats of one scan.
func TestSampleFacts(t *testing.T) {
	type port struct {
		seen, scanned int64 // Unix seconds, from the records of the port
	}
	cases := []struct {
		file   string
		format string
		ports  map[int]port
	}{
		{"masscan_banners_oX.xml", masscan.FormatXML, map[int]port{
			80: {1795781176, 1795781195}, 443: {1795781176, 1795781186}, 18022: {1795781176, 1795781184}}},
		{"masscan_banners_oJ.json", masscan.FormatJSON, map[int]port{
			80: {1795781164, 1795781175}, 443: {1795781163, 1795781175}, 18022: {1795781164, 1795781170}}},
		{"masscan_banners_oD.ndjson", masscan.FormatNDJSON, map[int]port{
			80: {1795781195, 1795781207}, 443: {1795781195, 1795781207}, 18022: {1795781195, 1795781203}}},
		{"masscan_banners_oL.txt", masscan.FormatList, map[int]port{
			80: {1795781207, 1795781221}, 443: {1795781207, 1795781221}, 18022: {1795781207, 1795781213}}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			// Both detection and the explicit format must give the result.
			for _, opts := range []masscan.Options{{}, {Format: tc.format}} {
				obs := ingesttest.MustReadAll(t, masscan.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, tc.file)), opts))
				if len(obs) != len(tc.ports) {
					t.Fatalf("Format %q: %d observations, want %d", opts.Format, len(obs), len(tc.ports))
				}
				for _, o := range obs {
					want, ok := tc.ports[o.Port]
					if !ok {
						t.Errorf("unexpected port %d", o.Port)
						continue
					}
					if o.Host != "127.0.0.1" || o.Protocol != "tcp" || o.Status != portolan.StatusOpen || o.Source != "masscan" {
						t.Errorf("port %d: got %s/%s %s from %s", o.Port, o.Host, o.Protocol, o.Status, o.Source)
					}
					if got := o.SeenAt.Unix(); got != want.seen {
						t.Errorf("port %d: seenAt %d, want the earliest record %d", o.Port, got, want.seen)
					}
					if got := o.ScannedAt.Unix(); got != want.scanned {
						t.Errorf("port %d: scannedAt %d, want the latest record %d", o.Port, got, want.scanned)
					}
					checkPort(t, o)
					n := *o
					if err := n.Normalize(); err != nil {
						t.Errorf("port %d: Normalize: %v", o.Port, err)
					}
				}
			}
		})
	}
}

// checkPort checks the banner and certificate of one port of the banners scan.
func checkPort(t *testing.T, o *portolan.Observation) {
	t.Helper()
	switch o.Port {
	case 80:
		if o.ScanProtocol != "http" || !strings.HasPrefix(o.Banner, "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: ") ||
			!strings.Contains(o.Banner, "\r\nETag: \"6b096f42-49\"\r\n") {
			t.Errorf("port 80: banner %q (%s), want nginx's response head with \\r\\n and quotes unescaped", o.Banner, o.ScanProtocol)
		}
		if o.Certificate != nil {
			t.Errorf("port 80: unexpected certificate")
		}
	case 443:
		if o.ScanProtocol != "tls" || o.Banner != "TLS/1.1 cipher:0xc014, lab.example.test, lab.example.test, www.lab.example.test" {
			t.Errorf("port 443: banner %q (%s), want the ssl summary as tls", o.Banner, o.ScanProtocol)
		}
		if got := portolan.CertificateDigest(o.Certificate); got != ingesttest.LabCertSHA1 {
			t.Errorf("port 443: certificate SHA-1 %s, want %s", got, ingesttest.LabCertSHA1)
		}
		c, err := portolan.ParseCertificate(o.Certificate)
		if err != nil || c.Subject.CommonName != "lab.example.test" {
			t.Errorf("port 443: certificate %+v, %v", c, err)
		}
	case 18022:
		if o.ScanProtocol != "ssh" || o.Banner != "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10" {
			t.Errorf("port 18022: banner %q (%s)", o.Banner, o.ScanProtocol)
		}
	}
}

func TestHelloHTTP(t *testing.T) {
	obs := ingesttest.MustReadAll(t, masscan.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, "masscan_hello_http_18080_18081_oX.xml")), masscan.Options{}))
	want := map[int]string{
		18080: "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.7\r\nDate: ",
		18081: "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: ",
	}
	if len(obs) != 2 {
		t.Fatalf("%d observations, want 2", len(obs))
	}
	for _, o := range obs {
		if !strings.HasPrefix(o.Banner, want[o.Port]) || o.ScanProtocol != "http" {
			t.Errorf("port %d: banner %q (%s): the http banner must win over http.server and title", o.Port, o.Banner, o.ScanProtocol)
		}
		// 18081 answered its SYN at 1795780912, 18080 at 1795780913; both
		// banners came at 1795780923.
		if o.ScannedAt.Unix() != 1795780923 || o.SeenAt.Unix() != map[int]int64{18080: 1795780913, 18081: 1795780912}[o.Port] {
			t.Errorf("port %d: seen %v scanned %v", o.Port, o.SeenAt, o.ScannedAt)
		}
	}
}

// TestBannerChoice covers the choice among several banners of one port,
// which the real samples only partly exercise.
func TestBannerChoice(t *testing.T) {
	const cert = "MIIBszCCAVmgAwIBAgIUQ" // not a whole certificate: passed on as is
	cases := []struct {
		name, input string
		banner      string
		protocol    string
	}{
		{"server header without http banner", "banner tcp 80 192.0.2.1 100 http.server nginx\nbanner tcp 80 192.0.2.1 101 title Home\n",
			"Server: nginx", "http"},
		{"text banner beats server header", "banner tcp 80 192.0.2.1 100 http.server nginx\nbanner tcp 80 192.0.2.1 101 unknown HELLO\n",
			"HELLO", "unknown"},
		{"ssl only when nothing else", "banner tcp 443 192.0.2.1 100 ssl TLS/1.2 cipher:0x1301\nbanner tcp 443 192.0.2.1 100 X509 " + cert + "\n",
			"TLS/1.2 cipher:0x1301", "tls"},
		{"longest of one kind, in any order", "banner tcp 21 192.0.2.1 100 ftp 220 a\nbanner tcp 21 192.0.2.1 100 ftp 220 longer\nbanner tcp 21 192.0.2.1 100 ftp 220 b\n",
			"220 longer", "ftp"},
		{"ties sort", "banner tcp 21 192.0.2.1 100 ftp 220 b\nbanner tcp 21 192.0.2.1 100 ftp 220 a\n",
			"220 a", "ftp"},
		{"vuln is not a banner", "banner tcp 443 192.0.2.1 100 vuln SSL[heartbeat]\n", "", ""},
		{"escapes undone", `banner tcp 23 192.0.2.1 100 telnet \xff\xfb\x01login:\x5cx41` + "\n", "\xff\xfb\x01login:\\x41", "telnet"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obs := ingesttest.MustReadAll(t, masscan.NewReader(strings.NewReader(tc.input), masscan.Options{}))
			if len(obs) != 1 {
				t.Fatalf("%d observations, want 1", len(obs))
			}
			if obs[0].Banner != tc.banner || obs[0].ScanProtocol != tc.protocol {
				t.Errorf("banner %q (%s), want %q (%s)", obs[0].Banner, obs[0].ScanProtocol, tc.banner, tc.protocol)
			}
			if obs[0].Status != portolan.StatusOpen {
				t.Errorf("status %s: a banner means open", obs[0].Status)
			}
		})
	}
}

func TestClosedAndOpen(t *testing.T) {
	input := "#masscan\nclosed tcp 81 192.0.2.1 100\nopen tcp 80 192.0.2.1 100\nopen udp 80 192.0.2.1 105\nclosed tcp 80 192.0.2.1 110\n# end\n"
	obs := ingesttest.MustReadAll(t, masscan.NewReader(strings.NewReader(input), masscan.Options{}))
	want := []*portolan.Observation{
		{Host: "192.0.2.1", Port: 81, Protocol: "tcp", Status: portolan.StatusClosed, SeenAt: time.Unix(100, 0).UTC(), ScannedAt: time.Unix(100, 0).UTC(), Source: "masscan"},
		{Host: "192.0.2.1", Port: 80, Protocol: "tcp", Status: portolan.StatusOpen, SeenAt: time.Unix(100, 0).UTC(), ScannedAt: time.Unix(110, 0).UTC(), Source: "masscan"},
		{Host: "192.0.2.1", Port: 80, Protocol: "udp", Status: portolan.StatusOpen, SeenAt: time.Unix(105, 0).UTC(), ScannedAt: time.Unix(105, 0).UTC(), Source: "masscan"},
	}
	if diff := cmp.Diff(want, obs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestJSONBanner checks that -oJ's \u00NN escapes come back as the bytes
// masscan saw, as -oL's \xNN do.
func TestJSONBanner(t *testing.T) {
	in := `[
{   "ip": "192.0.2.1",   "timestamp": "100", "ports": [ {"port": 80, "proto": "tcp", "service": {"name": "http", "banner": "HTTP/1.0 200 OK\u000d\u000aX: caf\u00c3\u00a9 \u00ff"} } ] },
{finished: 1}
]
`
	obs := ingesttest.MustReadAll(t, masscan.NewReader(strings.NewReader(in), masscan.Options{}))
	if len(obs) != 1 || obs[0].Banner != "HTTP/1.0 200 OK\r\nX: café \xff" {
		t.Fatalf("got %+v", obs)
	}
}

func TestSniff(t *testing.T) {
	for _, name := range samples {
		if !masscan.Sniff(ingesttest.Head(ingesttest.ReadTestdata(t, name))) {
			t.Errorf("Sniff(%s) = false", name)
		}
	}
	others := map[string]string{
		"nmap XML":     `<?xml version="1.0"?><!DOCTYPE nmaprun><nmaprun scanner="nmap" args="nmap -sV" start="1795781176">`,
		"zgrab2":       `{"ip":"127.0.0.1","port":18081,"data":{"http":{"status":"success","protocol":"http","result":{}}}}`,
		"zmap JSON":    `{ "saddr": "127.0.0.1", "daddr": "127.0.0.2", "sport": 18022, "classification": "synack", "success": 1 }`,
		"zmap CSV":     "saddr,daddr,ipid,ttl,sport,dport\n127.0.0.1,127.0.0.2,0,64,443,40743\n",
		"zmap default": "127.0.0.1\n",
		"shodan":       `{"hash": 1, "ip": 3221225985, "data": "SSH-2.0-OpenSSH_9.2p1", "port": 22, "ip_str": "192.0.2.1"}`,
		"native":       `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"native"}`,
		"empty JSON":   "[\n]\n",
		"empty":        "",
		"text":         "hello world\n",
	}
	for name, in := range others {
		if masscan.Sniff([]byte(in)) {
			t.Errorf("Sniff(%s) = true", name)
		}
	}
	// The head may be cut anywhere.
	for _, name := range samples {
		data := ingesttest.ReadTestdata(t, name)
		for _, n := range []int{0, 1, 10, 100} {
			masscan.Sniff(data[:min(n, len(data))]) // must not panic
		}
	}
}

var formats = []string{"", masscan.FormatXML, masscan.FormatJSON, masscan.FormatNDJSON, masscan.FormatList, masscan.FormatGrep, masscan.FormatBinary}

func FuzzReader(f *testing.F) {
	for _, name := range samples {
		f.Add(ingesttest.ReadTestdata(f, name), uint8(0))
	}
	f.Add([]byte("[{\"ip\":\"1\",\"ports\":[{\"port\":1,\"status\":\"open\"}]},]"), uint8(2))
	f.Add([]byte("<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		opts := masscan.Options{Format: formats[int(format)%len(formats)], MaxLineBytes: 512, MaxDepth: 8}
		r := masscan.NewReader(bytes.NewReader(data), opts)
		// Every call consumes input or returns what was gathered, so the
		// number of calls is bounded by the size of the input.
		for calls := 0; ; calls++ {
			if calls > 4*len(data)+16 {
				t.Fatalf("more than %d calls to Read: the reader does not progress", calls)
			}
			o, err := r.Read()
			if err == io.EOF {
				return
			}
			if ie := portolan.RecordError(err); ie != nil {
				if ie.Line <= 0 && ie.Offset < 0 {
					t.Fatalf("record error without a position: %v", ie)
				}
				continue
			}
			if err != nil {
				return
			}
			if o == nil || o.Source != "masscan" {
				t.Fatalf("bad observation %+v", o)
			}
		}
	})
}

// benchInput repeats the records of a sample to about 1 MiB, inside one
// document for the XML and JSON formats.
func benchInput(b *testing.B, name string) []byte {
	data := ingesttest.ReadTestdata(b, name)
	var body, pre, post []byte
	switch filepath.Ext(name) {
	case ".xml":
		i := bytes.Index(data, []byte("<host "))
		j := bytes.LastIndex(data, []byte("</host>")) + len("</host>\n")
		pre, body, post = data[:i], data[i:j], data[j:]
	case ".json":
		pre, body, post = []byte("[\n"), bytes.TrimSuffix(bytes.TrimPrefix(data, []byte("[\n")), []byte("]\n")), []byte("]\n")
		body = append(append([]byte{}, body...), ",\n"...)
	default:
		body = data
	}
	out := append([]byte{}, pre...)
	for len(out) < 1<<20 {
		out = append(out, body...)
	}
	return append(out, post...)
}

func BenchmarkReader(b *testing.B) {
	for _, name := range samples[:4] {
		data := benchInput(b, name)
		b.Run(name, func(b *testing.B) {
			ingesttest.BenchRead(b, data, masscan.NewReader, masscan.Options{})
		})
	}
}

// BenchmarkDecodeAny is the yardstick: encoding/json decoding the same
// NDJSON lines into any, which is what the typed decoding must beat.
func BenchmarkDecodeAny(b *testing.B) {
	ingesttest.BenchDecodeAny(b, benchInput(b, "masscan_banners_oD.ndjson"))
}
