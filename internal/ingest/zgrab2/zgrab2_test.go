// SPDX-License-Identifier: Apache-2.0

package zgrab2_test

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/fingerprint"
	"portolan/internal/ingest/ingesttest"
	"portolan/internal/ingest/zgrab2"
)

// multiplePorts are the ports of zg_multi.ini, which zgrab2 does not write.
var multiplePorts = map[string]int{"http18081": 18081, "https18444": 18444, "ssh18022": 18022, "tls18444": 18444}

// goldenCases are the real zgrab2 outputs in testdata, with the options the
// command line would pass for them.
var goldenCases = []struct {
	file string
	opts zgrab2.Options
}{
	{"zgrab2_http.jsonl", zgrab2.Options{}},
	{"zgrab2_http_closed_port.jsonl", zgrab2.Options{}},
	{"zgrab2_http_https.jsonl", zgrab2.Options{}},
	{"zgrab2_http_portflag_no_port_field.jsonl", zgrab2.Options{Port: 18081}},
	{"zgrab2_multiple.jsonl", zgrab2.Options{ModulePorts: multiplePorts}},
	{"zgrab2_ssh.jsonl", zgrab2.Options{}},
	{"zgrab2_tls.jsonl", zgrab2.Options{}},
	{"zmap_to_zgrab2_tls443_pipeline.jsonl", zgrab2.Options{Port: 443}},
	// Real captures of the machine's services (testdata/README.md).
	{"zgrab2_amqp091_5672.jsonl", zgrab2.Options{}},
	{"zgrab2_jarm_5432.jsonl", zgrab2.Options{}},
	{"zgrab2_memcached_11211.jsonl", zgrab2.Options{}},
	{"zgrab2_memcached_11299_closed.jsonl", zgrab2.Options{}},
	{"zgrab2_mqtt_1883.jsonl", zgrab2.Options{}},
	{"zgrab2_mysql_3306.jsonl", zgrab2.Options{}},
	{"zgrab2_postgres_5432.jsonl", zgrab2.Options{}},
	{"zgrab2_redis_6379.jsonl", zgrab2.Options{}},
	{"zgrab2_banner_21.jsonl", zgrab2.Options{}},
	{"zgrab2_banner_21_read_timeout.jsonl", zgrab2.Options{}},
	{"zgrab2_ftp_21_authtls.jsonl", zgrab2.Options{}},
	{"zgrab2_imap_143_starttls.jsonl", zgrab2.Options{}},
	{"zgrab2_imap_993_imaps.jsonl", zgrab2.Options{}},
	{"zgrab2_ipp_631.jsonl", zgrab2.Options{}},
	{"zgrab2_jarm_993.jsonl", zgrab2.Options{}},
	{"zgrab2_ntp_123.jsonl", zgrab2.Options{}},
	{"zgrab2_pop3_110_starttls.jsonl", zgrab2.Options{}},
	{"zgrab2_pop3_995_pop3s.jsonl", zgrab2.Options{}},
	{"zgrab2_smb_445.jsonl", zgrab2.Options{}},
	{"zgrab2_smb_445_smb1.jsonl", zgrab2.Options{}},
	{"zgrab2_smtp_25_starttls.jsonl", zgrab2.Options{}},
	{"zgrab2_telnet_23.jsonl", zgrab2.Options{}},
	// Records built from zgrab2's result types, for modules whose servers
	// Debian does not ship and server shapes not captured here.
	{"zgrab2_modules_built_from_result_types.jsonl", zgrab2.Options{}},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.file, func(t *testing.T) {
			obs := ingesttest.MustReadAll(t, zgrab2.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, tc.file)), tc.opts))
			ingesttest.Golden(t, strings.TrimSuffix(tc.file, ".jsonl"), obs)
		})
	}
}

// TestSampleFacts checks, against the sample files read by hand, what the
// golden files hold.
func TestSampleFacts(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	nginx := "HTTP/1.1 200 OK\r\nAccept-Ranges: bytes\r\nConnection: keep-alive\r\nContent-Length: 73\r\nContent-Type: text/html\r\n" +
		"Date: Fri, 27 Nov 2026 12:08:18 GMT\r\nEtag: \"6b096f42-49\"\r\nLast-Modified: Fri, 27 Nov 2026 11:53:38 GMT\r\nServer: nginx/1.22.1\r\n"

	t.Run("closed port", func(t *testing.T) {
		// status connection-timeout, but the error says the dial was refused.
		obs := ingesttest.MustReadAll(t, zgrab2.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, "zgrab2_http_closed_port.jsonl")), zgrab2.Options{}))
		want := []*portolan.Observation{{Host: "127.0.0.1", Port: 18099, Protocol: "tcp", Status: portolan.StatusClosed,
			SeenAt: at("2026-11-27T12:08:27Z"), ScannedAt: at("2026-11-27T12:08:27Z"), Source: "zgrab2", ScanProtocol: "http"}}
		if diff := cmp.Diff(want, obs); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("http head rebuilt without body", func(t *testing.T) {
		obs := ingesttest.MustReadAll(t, zgrab2.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, "zgrab2_http.jsonl")), zgrab2.Options{}))
		if len(obs) != 2 || obs[0].Port != 18081 || obs[0].Banner != nginx || obs[0].ScanProtocol != "http" {
			t.Fatalf("got %+v", obs[0])
		}
		if want := "HTTP/1.0 200 OK\r\nContent-Length: 73\r\nContent-Type: text/html\r\nDate: Fri, 27 Nov 2026 12:08:18 GMT\r\n" +
			"Last-Modified: Fri, 27 Nov 2026 11:53:38 GMT\r\nServer: SimpleHTTP/0.6 Python/3.11.7\r\n"; obs[1].Banner != want {
			t.Errorf("18080 banner %q, want %q", obs[1].Banner, want)
		}
		for _, o := range obs {
			if !o.SeenAt.Equal(at("2026-11-27T12:08:18Z")) || !o.ScannedAt.Equal(o.SeenAt) || o.Certificate != nil || o.Status != portolan.StatusOpen {
				t.Errorf("port %d: %+v", o.Port, o)
			}
		}
	})
	t.Run("https certificate", func(t *testing.T) {
		obs := ingesttest.MustReadAll(t, zgrab2.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, "zgrab2_http_https.jsonl")), zgrab2.Options{}))
		if len(obs) != 2 || obs[0].Banner != "HTTP/1.0 200 ok\r\nContent-Type: text/html\r\n" || obs[1].Banner != nginx {
			t.Fatalf("got %+v", obs)
		}
		for _, o := range obs {
			if got := portolan.CertificateDigest(o.Certificate); got != ingesttest.LabCertSHA1 {
				t.Errorf("port %d: certificate SHA-1 %s, want %s", o.Port, got, ingesttest.LabCertSHA1)
			}
		}
	})
	t.Run("tls and ssh", func(t *testing.T) {
		for _, o := range ingesttest.MustReadAll(t, zgrab2.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, "zgrab2_tls.jsonl")), zgrab2.Options{})) {
			if o.ScanProtocol != "tls" || o.Banner != "" || portolan.CertificateDigest(o.Certificate) != ingesttest.LabCertSHA1 {
				t.Errorf("port %d: %+v", o.Port, o)
			}
		}
		obs := ingesttest.MustReadAll(t, zgrab2.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, "zgrab2_ssh.jsonl")), zgrab2.Options{}))
		if len(obs) != 1 || obs[0].Port != 18022 || obs[0].Banner != "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10" || obs[0].ScanProtocol != "ssh" {
			t.Errorf("got %+v", obs)
		}
	})
	t.Run("multiple: kind by shape, port by module", func(t *testing.T) {
		obs := ingesttest.MustReadAll(t, zgrab2.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, "zgrab2_multiple.jsonl")), zgrab2.Options{ModulePorts: multiplePorts}))
		type got struct {
			port     int
			protocol string
			cert     bool
		}
		var gots []got
		for _, o := range obs {
			gots = append(gots, got{o.Port, o.ScanProtocol, o.Certificate != nil})
		}
		want := []got{{18081, "http", false}, {18444, "http", true}, {18022, "ssh", false}, {18444, "tls", true}}
		if diff := cmp.Diff(want, gots, cmp.AllowUnexported(got{})); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("no port without options", func(t *testing.T) {
		// The http modules know their port from the request URL; ssh and
		// tls do not, and must ask for it.
		obs, bad, err := portolan.ReadAll(zgrab2.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, "zgrab2_multiple.jsonl")), zgrab2.Options{}))
		if err != nil || len(obs) != 2 || len(bad) != 2 {
			t.Fatalf("observations %v, record errors %v, error %v", obs, bad, err)
		}
		for _, b := range bad {
			if b.Line != 1 || !strings.Contains(b.Reason, "pass --port") {
				t.Errorf("record error %v does not ask for --port", b)
			}
		}
		obs = ingesttest.MustReadAll(t, zgrab2.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, "zgrab2_http_portflag_no_port_field.jsonl")), zgrab2.Options{}))
		if len(obs) != 1 || obs[0].Port != 18081 {
			t.Errorf("got %+v, want port 18081 from the request URL", obs)
		}
		_, bad, _ = portolan.ReadAll(zgrab2.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, "zmap_to_zgrab2_tls443_pipeline.jsonl")), zgrab2.Options{}))
		if len(bad) != 1 || !strings.Contains(bad[0].Reason, "pass --port") {
			t.Errorf("record errors %v, want one asking for --port", bad)
		}
	})
}

// mailCertSHA1 is the SHA-1 of the self-signed certificate that Exim,
// Dovecot and vsftpd presented in the captures of testdata/README.md.
const mailCertSHA1 = "1290e1e4a22fdc3f66e18cd28a4687cb203fdf30"

// TestRealCaptures checks, against the captures of Debian's servers read by
// hand, what each module's observation holds: the port and its transport,
// the status, the greeting, and the certificate of a STARTTLS, implicit TLS
// or AUTH TLS handshake.
func TestRealCaptures(t *testing.T) {
	cases := []struct {
		file, scanProtocol string
		port               int
		protocol           portolan.Protocol
		status             portolan.HostPortStatus
		banner             string
		cert               bool // the mail certificate, from the module's TLS log
		hostnames          []string
	}{
		{"zgrab2_smtp_25_starttls.jsonl", "smtp", 25, portolan.TCP, portolan.StatusOpen,
			"220 vm ESMTP Exim 4.96 Fri, 04 Dec 2026 14:40:16 +0000\r\n", true, []string{"mail.portolan.test"}},
		{"zgrab2_imap_143_starttls.jsonl", "imap", 143, portolan.TCP, portolan.StatusOpen,
			"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n", true, nil},
		{"zgrab2_imap_993_imaps.jsonl", "imap", 993, portolan.TCP, portolan.StatusOpen,
			"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot (Debian) ready.\r\n", true, nil},
		{"zgrab2_pop3_110_starttls.jsonl", "pop3", 110, portolan.TCP, portolan.StatusOpen, "+OK Dovecot (Debian) ready.\r\n", true, nil},
		{"zgrab2_pop3_995_pop3s.jsonl", "pop3", 995, portolan.TCP, portolan.StatusOpen, "+OK Dovecot (Debian) ready.\r\n", true, nil},
		{"zgrab2_ftp_21_authtls.jsonl", "ftp", 21, portolan.TCP, portolan.StatusOpen, "220 (vsFTPd 3.0.3)\r\n", true, nil},
		{"zgrab2_banner_21.jsonl", "banner", 21, portolan.TCP, portolan.StatusOpen, "220 (vsFTPd 3.0.3)\r\n", false, nil},
		// io-timeout after the dial: the port is open, nothing else is known.
		{"zgrab2_banner_21_read_timeout.jsonl", "banner", 21, portolan.TCP, portolan.StatusOpen, "", false, nil},
		{"zgrab2_telnet_23.jsonl", "telnet", 23, portolan.TCP, portolan.StatusOpen, "\r\nLinux 6.18.44-fc-v1272 (localhost) (pts/0)\r\n\r\n", false, nil},
		{"zgrab2_smb_445.jsonl", "smb", 445, portolan.TCP, portolan.StatusOpen, "", false, nil},
		{"zgrab2_smb_445_smb1.jsonl", "smb", 445, portolan.TCP, portolan.StatusOpen, "", false, nil},
		{"zgrab2_ipp_631.jsonl", "ipp", 631, portolan.TCP, portolan.StatusOpen, "", false, nil},
		// ntp dials UDP.
		{"zgrab2_ntp_123.jsonl", "ntp", 123, portolan.UDP, portolan.StatusOpen, "", false, nil},
		// jarm's fingerprint has no place in an observation: an open port.
		{"zgrab2_jarm_993.jsonl", "jarm", 993, portolan.TCP, portolan.StatusOpen, "", false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			obs := ingesttest.MustReadAll(t, zgrab2.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, tc.file)), zgrab2.Options{}))
			if len(obs) != 1 {
				t.Fatalf("%d observations, want 1", len(obs))
			}
			o := obs[0]
			if o.Host != "127.0.0.1" || o.Port != tc.port || o.Protocol != tc.protocol || o.Status != tc.status || o.ScanProtocol != tc.scanProtocol {
				t.Errorf("got %s %d/%s %s %s, want %d/%s %s %s", o.Host, o.Port, o.Protocol, o.Status, o.ScanProtocol, tc.port, tc.protocol, tc.status, tc.scanProtocol)
			}
			if o.Banner != tc.banner {
				t.Errorf("banner %q, want %q", o.Banner, tc.banner)
			}
			switch got := portolan.CertificateDigest(o.Certificate); {
			case tc.cert && got != mailCertSHA1:
				t.Errorf("certificate SHA-1 %s, want %s", got, mailCertSHA1)
			case !tc.cert && o.Certificate != nil:
				t.Errorf("a certificate (SHA-1 %s), want none", got)
			}
			if diff := cmp.Diff(tc.hostnames, o.Hostnames); diff != "" {
				t.Errorf("hostnames (-want +got):\n%s", diff)
			}
		})
	}
}

// line builds one zgrab2 line for module "m" with the given status, error and
// result.
func line(status, errText, result string) string {
	m := map[string]any{"status": status, "protocol": "http", "timestamp": "2026-01-02T03:04:05Z", "result": json.RawMessage(result)}
	if errText != "" {
		m["error"] = errText
	}
	b, _ := json.Marshal(map[string]any{"ip": "192.0.2.1", "port": 8080, "data": map[string]any{"m": m}})
	return string(b) + "\n"
}

func TestStatus(t *testing.T) {
	partial := `{"response":{"status_line":"400 Bad Request","protocol":{"name":"HTTP/1.1"},"headers":{"server":["x"]}}}`
	cases := []struct {
		name, status, err, result string
		want                      portolan.HostPortStatus
		banner                    string
	}{
		{"success", "success", "", `{}`, portolan.StatusOpen, ""},
		{"refused", "connection-refused", "dial tcp 192.0.2.1:8080: connect: connection refused", `{}`, portolan.StatusClosed, ""},
		{"refused reported as timeout", "connection-timeout", "unable to dial target (192.0.2.1) with L4 Dialer: dial context failed: dial tcp 192.0.2.1:8080: connect: connection refused", `{}`, portolan.StatusClosed, ""},
		{"refused as unknown error", "unknown-error", "dial tcp 192.0.2.1:8080: connect: connection refused", `{}`, portolan.StatusClosed, ""},
		{"dial timeout", "connection-timeout", "dial tcp 192.0.2.1:8080: i/o timeout", `{}`, portolan.StatusFiltered, ""},
		{"no route", "unknown-error", "unable to dial target (192.0.2.1): dial tcp 192.0.2.1:8080: connect: no route to host", `{}`, portolan.StatusFiltered, ""},
		{"protocol error keeps the partial result", "protocol-error", "malformed HTTP response", partial, portolan.StatusOpen, "HTTP/1.1 400 Bad Request\r\nServer: x\r\n"},
		{"read timeout", "io-timeout", "read tcp: i/o timeout", `{}`, portolan.StatusOpen, ""},
		{"application error", "application-error", "server sent 500", `null`, portolan.StatusOpen, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obs := ingesttest.MustReadAll(t, zgrab2.NewReader(strings.NewReader(line(tc.status, tc.err, tc.result)), zgrab2.Options{}))
			if len(obs) != 1 || obs[0].Status != tc.want || obs[0].Banner != tc.banner {
				t.Errorf("got %+v, want %s with banner %q", obs, tc.want, tc.banner)
			}
		})
	}
}

func TestShapes(t *testing.T) {
	cases := []struct {
		name, input string
		want        *portolan.Observation
	}{
		{"unknown headers and repeated values",
			`{"ip":"192.0.2.1","port":80,"data":{"web":{"status":"success","protocol":"http","timestamp":"2026-01-02T03:04:05.5+01:00","result":{"response":{"status_line":"302 Found","protocol":{"major":1,"minor":0},"headers":{"set_cookie":["a=1","b=2"],"unknown":[{"key":"x_backend_server","value":["app1"]}],"x_powered_by":"PHP/8.2"},"body":"<html>secret</html>"}}}}}`,
			&portolan.Observation{Banner: "HTTP/1.0 302 Found\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Backend-Server: app1\r\nX-Powered-By: PHP/8.2\r\n", ScanProtocol: "http", Port: 80}},
		{"header value cannot forge lines",
			`{"ip":"192.0.2.1","port":80,"data":{"http":{"status":"success","protocol":"http","timestamp":"2026-01-02T03:04:05Z","result":{"response":{"status_code":200,"protocol":{"name":"HTTP/1.1"},"headers":{"server":["a\r\nX-Evil: 1"]}}}}}}`,
			&portolan.Observation{Banner: "HTTP/1.1 200\r\nServer: a  X-Evil: 1\r\n", ScanProtocol: "http", Port: 80}},
		{"greeting of a line-oriented module",
			`{"ip":"192.0.2.1","domain":"ftp.example.org","port":21,"data":{"ftp":{"status":"success","protocol":"ftp","timestamp":"2026-01-02T03:04:05Z","result":{"banner":"220 ProFTPD Server ready.\r\n"}}}}`,
			&portolan.Observation{Banner: "220 ProFTPD Server ready.\r\n", ScanProtocol: "ftp", Port: 21, Hostnames: []string{"ftp.example.org"}}},
		{"ssh without raw",
			`{"ip":"192.0.2.1","port":22,"data":{"ssh":{"status":"success","protocol":"ssh","timestamp":"2026-01-02T03:04:05Z","result":{"server_id":{"version":"2.0","software":"dropbear_2022.83"}}}}}`,
			&portolan.Observation{Banner: "SSH-2.0-dropbear_2022.83", ScanProtocol: "ssh", Port: 22}},
		{"redirected request gives no port",
			`{"ip":"192.0.2.1","data":{"http":{"status":"success","protocol":"http","timestamp":"2026-01-02T03:04:05Z","result":{"response":{"status_line":"200 OK","request":{"url":{"scheme":"https","host":"www.example.org"}},"redirect_response_chain":[{"status_line":"301 Moved"}]}}}}}`,
			&portolan.Observation{Banner: "HTTP/1.1 200 OK\r\n", ScanProtocol: "http", Port: 8443}},
		{"default port of the request scheme",
			`{"ip":"192.0.2.1","data":{"http":{"status":"success","protocol":"http","timestamp":"2026-01-02T03:04:05Z","result":{"response":{"status_line":"200 OK","request":{"url":{"scheme":"https","host":"192.0.2.1"}}}}}}}`,
			&portolan.Observation{Banner: "HTTP/1.1 200 OK\r\n", ScanProtocol: "http", Port: 443}},
		{"certificate that is not base64 is passed on",
			`{"ip":"192.0.2.1","port":443,"data":{"tls":{"status":"success","protocol":"tls","timestamp":"2026-01-02T03:04:05Z","result":{"handshake_log":{"server_certificates":{"certificate":{"raw":"not base64!"}}}}}}}`,
			&portolan.Observation{ScanProtocol: "tls", Port: 443, Certificate: []byte("not base64!")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obs := ingesttest.MustReadAll(t, zgrab2.NewReader(strings.NewReader(tc.input), zgrab2.Options{Port: 8443}))
			if len(obs) != 1 {
				t.Fatalf("%d observations", len(obs))
			}
			o := obs[0]
			got := &portolan.Observation{Banner: o.Banner, ScanProtocol: o.ScanProtocol, Port: o.Port, Certificate: o.Certificate, Hostnames: o.Hostnames}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range goldenCases {
		if !zgrab2.Sniff(ingesttest.Head(ingesttest.ReadTestdata(t, tc.file))) {
			t.Errorf("Sniff(%s) = false", tc.file)
		}
	}
	others := map[string]string{
		"masscan -oD":  `{"ip":"127.0.0.1","timestamp":"1795781195","port":80,"proto":"tcp","rec_type":"status","data":{"status":"open"}}`,
		"masscan -oJ":  "[\n{   \"ip\": \"127.0.0.1\",   \"timestamp\": \"1795781163\", \"ports\": [ {\"port\": 443} ] }\n",
		"zmap JSON":    `{ "saddr": "127.0.0.1", "daddr": "127.0.0.2", "sport": 18022, "success": 1 }`,
		"shodan":       `{"ip_str": "192.0.2.1", "data": "SSH-2.0-OpenSSH_9.2p1", "port": 22}`,
		"shodan host":  `{"ip": 3221225985, "ports": [22], "data": [{"data": "x"}]}`,
		"nmap XML":     `<?xml version="1.0"?><nmaprun scanner="nmap">`,
		"native":       `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"native"}`,
		"empty":        "",
		"not JSON":     "hello\n",
		"cut anywhere": `{"ip":"127.0.0.1","da`,
	}
	for name, in := range others {
		if zgrab2.Sniff([]byte(in)) {
			t.Errorf("Sniff(%s) = true", name)
		}
	}
}

func FuzzReader(f *testing.F) {
	for _, tc := range goldenCases {
		f.Add(ingesttest.ReadTestdata(f, tc.file))
	}
	f.Add([]byte(line("protocol-error", "x", `{"response":{"status_code":1,"headers":{"unknown":[{"key":"a","value":"b"}]}}}`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := zgrab2.NewReader(bytes.NewReader(data), zgrab2.Options{MaxLineBytes: 2048, MaxDepth: 12})
		for calls := 0; ; calls++ {
			if calls > 4*len(data)+16 {
				t.Fatalf("more than %d calls to Read: the reader does not progress", calls)
			}
			o, err := r.Read()
			if err == io.EOF {
				return
			}
			if ie := portolan.RecordError(err); ie != nil {
				if ie.Line <= 0 {
					t.Fatalf("record error without a line: %v", ie)
				}
				continue
			}
			if err != nil {
				t.Fatalf("a bytes.Reader cannot fail: %v", err)
			}
			if o == nil || o.Source != "zgrab2" || !o.SeenAt.Equal(o.ScannedAt) {
				t.Fatalf("bad observation %+v", o)
			}
		}
	})
}

// benchInput repeats the lines of the samples to about 1 MiB.
func benchInput(b *testing.B) []byte {
	var all []byte
	for _, name := range []string{"zgrab2_http.jsonl", "zgrab2_http_https.jsonl", "zgrab2_tls.jsonl", "zgrab2_ssh.jsonl", "zgrab2_http_closed_port.jsonl"} {
		all = append(all, ingesttest.ReadTestdata(b, name)...)
	}
	out := make([]byte, 0, 1<<20+len(all))
	for len(out) < 1<<20 {
		out = append(out, all...)
	}
	return out
}

func BenchmarkReader(b *testing.B) {
	ingesttest.BenchRead(b, benchInput(b), zgrab2.NewReader, zgrab2.Options{})
}

// BenchmarkDecodeAny is the yardstick: encoding/json decoding the same lines
// into any.
func BenchmarkDecodeAny(b *testing.B) {
	ingesttest.BenchDecodeAny(b, benchInput(b))
}

// TestModulesRecognised reads each module's capture or built record through
// the fingerprint rules, as a store does, and checks the components: one
// per product, under its canonical name, naming only what ran.
func TestModulesRecognised(t *testing.T) {
	c := func(name, version, category string) portolan.Component {
		return portolan.Component{Name: name, Version: version, Category: category}
	}
	linux := c("Linux", "", portolan.CategoryOperatingSystem)
	debian := c("Debian", "", portolan.CategoryOperatingSystem)
	ubuntu := c("Ubuntu", "", portolan.CategoryOperatingSystem)
	windows := c("Windows", "", portolan.CategoryOperatingSystem)
	want := map[string]map[int][]portolan.Component{
		"zgrab2_mysql_3306.jsonl":             {3306: {debian, c("MariaDB", "10.11.19", "Database")}},
		"zgrab2_redis_6379.jsonl":             {6379: {linux, c("Redis", "7.0.15", "Database")}},
		"zgrab2_postgres_5432.jsonl":          {5432: {c("PostgreSQL", "", "Database")}},
		"zgrab2_amqp091_5672.jsonl":           {5672: {c("RabbitMQ", "3.10.8", "Message Broker")}},
		"zgrab2_memcached_11211.jsonl":        {11211: {c("Memcached", "1.6.18", "Cache")}},
		"zgrab2_memcached_11299_closed.jsonl": {11299: nil},
		"zgrab2_mqtt_1883.jsonl":              {1883: nil},
		"zgrab2_jarm_5432.jsonl":              {5432: nil},
		// Debian's mail, FTP, telnet, SMB, IPP and NTP servers.
		"zgrab2_smtp_25_starttls.jsonl":       {25: {c("Exim", "4.96", "Mail Server")}},
		"zgrab2_imap_143_starttls.jsonl":      {143: {debian, c("Dovecot", "", "Mail Server")}},
		"zgrab2_imap_993_imaps.jsonl":         {993: {debian, c("Dovecot", "", "Mail Server")}},
		"zgrab2_pop3_110_starttls.jsonl":      {110: {debian, c("Dovecot", "", "Mail Server")}},
		"zgrab2_pop3_995_pop3s.jsonl":         {995: {debian, c("Dovecot", "", "Mail Server")}},
		"zgrab2_ftp_21_authtls.jsonl":         {21: {c("vsftpd", "3.0.3", "Server")}},
		"zgrab2_banner_21.jsonl":              {21: {c("vsftpd", "3.0.3", "Server")}},
		"zgrab2_banner_21_read_timeout.jsonl": {21: nil},
		"zgrab2_ipp_631.jsonl":                {631: {c("CUPS", "2.4", "Server")}},
		// Samba over SMB2 names neither itself nor an OS; NTLM's
		// os_version "6.1.0" is Samba's stand-in and must not become a
		// Windows.
		"zgrab2_smb_445.jsonl": {445: nil},
		// Over SMBv1 Samba says native_os "Windows 6.1" and names itself
		// in the LAN manager field.
		"zgrab2_smb_445_smb1.jsonl": {445: {debian, c("Samba", "4.17.12", "Server")}},
		// inetutils telnetd's greeting names the kernel ("Linux 6.18.44-…"),
		// which no fingerprint rule reads yet.
		"zgrab2_telnet_23.jsonl": {23: nil},
		"zgrab2_ntp_123.jsonl":   {123: nil},
		"zgrab2_jarm_993.jsonl":  {993: nil},
		"zgrab2_modules_built_from_result_types.jsonl": {
			25:    {c("Exim", "4.96", "Mail Server")},
			143:   {debian, c("Dovecot", "", "Mail Server")},
			110:   {debian, c("Dovecot", "", "Mail Server")},
			21:    {c("vsftpd", "3.0.3", "Server")},
			23:    {c("Debian", "12", portolan.CategoryOperatingSystem)},
			7000:  {debian, c("OpenSSH", "9.2p1", "Remote Access")},
			993:   {c("Dovecot", "", "Mail Server")},
			1433:  {c("Microsoft SQL Server", "15.0.2000", "Database")},
			27017: {c("MongoDB", "7.0.4", "Database")},
			1521:  {c("Oracle Database", "19.0.0.0.0", "Database")},
			445:   {windows},
			123:   nil,
			631:   {c("CUPS", "2.4", "Server")},
			502:   {c("Schneider Electric BMX P34 2020", "2.6", "Industrial Control")},
			47808: {c("Johnson Controls, Inc. NAE55", "10.0", "Industrial Control")},
			20000: nil,
			1911:  {c("Niagara Framework", "3.8.311", "Industrial Control"), windows},
			102:   {c("Siemens SIMATIC S7 CPU 315-2 PN/DP", "3.2.6", "Industrial Control")},
			3389:  nil,
			2525:  nil,
			6380:  nil,
			3307:  {c("MySQL", "8.0.36", "Database"), ubuntu},
		},
	}
	r := fingerprint.Default()
	for file, ports := range want {
		t.Run(file, func(t *testing.T) {
			obs := ingesttest.MustReadAll(t, zgrab2.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, file)), zgrab2.Options{}))
			if len(obs) != len(ports) {
				t.Fatalf("%d observations, want %d", len(obs), len(ports))
			}
			for _, o := range obs {
				w, ok := ports[o.Port]
				if !ok {
					t.Errorf("unexpected port %d", o.Port)
					continue
				}
				if diff := cmp.Diff(w, r.Recognize(o)); diff != "" {
					t.Errorf("port %d (-want +got):\n%s", o.Port, diff)
				}
			}
		})
	}
}

// TestIndustrialIdentification reads the device identification of the
// industrial modules in the shapes zgrab2's result types allow, malformed
// ones included: a value of another type is skipped, never an error, and
// names no component.
func TestIndustrialIdentification(t *testing.T) {
	c := func(name, version string) []portolan.Component {
		return []portolan.Component{{Name: name, Version: version, Category: "Industrial Control"}}
	}
	for _, tc := range []struct {
		name, module, result string
		want                 []portolan.Component
	}{
		{"modbus vendor and product", "modbus", `{"mei_response":{"objects":{"vendor":"Schneider Electric","product_code":"BMX P34 2020","revision":"V2.6"}}}`, c("Schneider Electric BMX P34 2020", "2.6")},
		{"modbus product naming its vendor", "modbus", `{"mei_response":{"objects":{"vendor":"Schneider","product_code":"Schneider M221","revision":"1.6"}}}`, c("Schneider M221", "1.6")},
		{"modbus without objects", "modbus", `{"mei_response":{"conformity_level":1}}`, nil},
		{"modbus objects of another type", "modbus", `{"mei_response":{"objects":["vendor"]}}`, nil},
		{"modbus mei_response of another type", "modbus", `{"mei_response":"x","function_code":43}`, nil},
		{"bacnet without a model", "bacnet", `{"vendor_name":"Johnson Controls, Inc.","firmware_revision":"10.0"}`, nil},
		{"bacnet model without vendor", "bacnet", `{"model_name":"NAE55","firmware_revision":"10.0"}`, c("NAE55", "10.0")},
		{"siemens without a module type", "siemens", `{"is_s7":true,"module":"6ES7 315-2EH14-0AB0","firmware":"V3.2.6"}`, nil},
		{"fox other than a station", "fox", `{"is_fox":true,"app_name":"Supervisor","app_version":"4.1"}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := map[string]int{"modbus": 502, "bacnet": 47808, "siemens": 102, "fox": 1911}[tc.module]
			line := `{"ip":"192.0.2.10","data":{"` + tc.module + `":{"status":"success","protocol":"` + tc.module + `","port":` + strconv.Itoa(port) +
				`,"result":` + tc.result + `,"timestamp":"2026-12-04T04:00:00Z"}}}`
			obs := ingesttest.MustReadAll(t, zgrab2.NewReader(strings.NewReader(line+"\n"), zgrab2.Options{}))
			if len(obs) != 1 {
				t.Fatalf("%d observations, want 1", len(obs))
			}
			if diff := cmp.Diff(tc.want, obs[0].Components); diff != "" {
				t.Errorf("components (-want +got):\n%s", diff)
			}
		})
	}
}
