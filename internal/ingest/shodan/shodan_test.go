// SPDX-License-Identifier: Apache-2.0

package shodan_test

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/ingest/ingesttest"
	"portolan/internal/ingest/shodan"
)

// sample is a Shodan export written for these tests from the Banner
// Specification in Shodan's developer documentation (there is no real one
// among the project's samples): eight banners of `shodan download` and one
// /shodan/host answer, on documentation addresses. The https banner carries
// lab_selfsigned_cert.pem in ssl.chain.
const sample = "shodan_banners.ndjson"

func TestGolden(t *testing.T) {
	obs := ingesttest.MustReadAll(t, shodan.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, sample)), shodan.Options{}))
	ingesttest.Golden(t, strings.TrimSuffix(sample, ".ndjson"), obs)
}

// TestSampleFacts checks what the golden file holds against the sample read
// by hand.
func TestSampleFacts(t *testing.T) {
	obs := ingesttest.MustReadAll(t, shodan.NewReader(bytes.NewReader(ingesttest.ReadTestdata(t, sample)), shodan.Options{}))
	type fact struct {
		host       string
		port       int
		proto      portolan.Protocol
		module     string
		at         string
		components []portolan.Component
	}
	c := func(name, version, category string) portolan.Component {
		return portolan.Component{Name: name, Version: version, Category: category}
	}
	want := []fact{
		{"198.51.100.23", 80, "tcp", "http", "2026-11-20T08:14:33.512947Z", []portolan.Component{c("nginx", "1.22.1", "Server")}},
		{"198.51.100.23", 443, "tcp", "https", "2026-11-20T08:20:05.004211Z", []portolan.Component{c("nginx", "1.22.1", "Server")}},
		{"203.0.113.7", 22, "tcp", "ssh", "2026-11-21T17:02:11.87352Z", []portolan.Component{c("OpenSSH", "9.2p1", "Remote Access"), c("Debian", "", "Operating System")}},
		{"203.0.113.7", 3306, "tcp", "mysql", "2026-11-22T03:41:57.120045Z", []portolan.Component{c("MySQL", "8.0.36", "Database"), c("Ubuntu", "", "Operating System")}},
		{"192.0.2.25", 25, "tcp", "smtp", "2026-11-23T11:05:48.661302Z", []portolan.Component{c("Postfix smtpd", "", "Mail Server")}},
		{"192.0.2.53", 123, "udp", "ntp", "2026-11-23T19:30:02.002517Z", nil},
		{"192.0.2.44", 3389, "tcp", "rdp", "2026-11-24T06:12:40.377918Z", []portolan.Component{c("Remote Desktop Protocol", "", "Remote Access"), c("Windows Server 2019", "", "Operating System")}},
		{"2001:db8:1::10", 22, "tcp", "ssh", "2026-11-25T22:48:09.745621Z", []portolan.Component{c("OpenSSH", "8.9p1", "Remote Access"), c("Ubuntu", "", "Operating System")}},
		// The /shodan/host line: one observation per element of data.
		{"203.0.113.7", 22, "tcp", "ssh", "2026-11-26T09:15:27.408913Z", []portolan.Component{c("OpenSSH", "9.2p1", "Remote Access"), c("Debian", "", "Operating System")}},
		{"203.0.113.7", 8080, "tcp", "http-simple-new", "2026-11-26T09:31:50.117703Z", []portolan.Component{c("Jetty", "9.4.53.v20231009", "Server")}},
	}
	var got []fact
	for _, o := range obs {
		got = append(got, fact{o.Host, o.Port, o.Protocol, o.ScanProtocol, o.SeenAt.Format(time.RFC3339Nano), o.Components})
		if !o.SeenAt.Equal(o.ScannedAt) || o.Status != portolan.StatusOpen || o.Source != "shodan" || o.SeenAt.Location() != time.UTC {
			t.Errorf("port %d: %+v", o.Port, o)
		}
		n := *o
		if err := n.Normalize(); err != nil {
			t.Errorf("port %d: Normalize: %v", o.Port, err)
		}
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(fact{})); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if got := portolan.CertificateDigest(obs[1].Certificate); got != ingesttest.LabCertSHA1 {
		t.Errorf("https certificate SHA-1 %s, want the leaf of ssl.chain, %s", got, ingesttest.LabCertSHA1)
	}
	for i, o := range obs {
		if i != 1 && o.Certificate != nil {
			t.Errorf("port %d: unexpected certificate", o.Port)
		}
	}
	if !strings.HasPrefix(obs[2].Banner, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\nKey type: ssh-ed25519\n") {
		t.Errorf("ssh banner %q", obs[2].Banner)
	}
	if !strings.HasPrefix(obs[3].Banner, "J\x00\x00\x00\n8.0.36-0ubuntu0.22.04.1\x00") {
		t.Errorf("mysql banner %q: the bytes must be kept", obs[3].Banner)
	}
	if diff := cmp.Diff([]string{"www.example.com", "example.com"}, obs[0].Hostnames); diff != "" {
		t.Errorf("hostnames (-want +got):\n%s", diff)
	}
	if obs[5].Hostnames != nil {
		t.Errorf("an empty hostnames list must be nil, got %#v", obs[5].Hostnames)
	}
}

// banner builds one banner line from a base and overrides.
func banner(over map[string]any) string {
	b := map[string]any{
		"ip_str": "192.0.2.1", "port": 22, "transport": "tcp", "timestamp": "2026-01-02T03:04:05.678901",
		"data": "SSH-2.0-OpenSSH_9.6", "_shodan": map[string]any{"module": "ssh"},
	}
	for k, v := range over {
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
	}
	out, _ := json.Marshal(b)
	return string(out) + "\n"
}

func TestComponents(t *testing.T) {
	c := func(name, version, category string) portolan.Component {
		return portolan.Component{Name: name, Version: version, Category: category}
	}
	cases := []struct {
		name string
		over map[string]any
		want []portolan.Component
	}{
		{"plain", map[string]any{"product": "OpenSSH", "version": "9.6"}, []portolan.Component{c("OpenSSH", "9.6", "Remote Access")}},
		{"distribution in parentheses", map[string]any{"product": "Apache httpd", "version": "2.4.52 (Ubuntu)", "_shodan": map[string]any{"module": "https-simple-new"}},
			[]portolan.Component{c("Apache httpd", "2.4.52", "Server"), c("Ubuntu", "", "Operating System")}},
		{"debian revision", map[string]any{"product": "OpenSSH", "version": "7.4p1-10+deb9u7"}, []portolan.Component{c("OpenSSH", "7.4p1", "Remote Access"), c("Debian", "", "Operating System")}},
		{"words that name no system are kept", map[string]any{"product": "Dropbear sshd", "version": "2022.83 build 7"}, []portolan.Component{c("Dropbear sshd", "2022.83 build 7", "Remote Access")}},
		{"database by module", map[string]any{"product": "Redis key-value store", "version": "7.2.4", "_shodan": map[string]any{"module": "redis"}},
			[]portolan.Component{c("Redis key-value store", "7.2.4", "Database")}},
		{"mail by module", map[string]any{"product": "Dovecot imapd", "_shodan": map[string]any{"module": "imaps"}}, []portolan.Component{c("Dovecot imapd", "", "Mail Server")}},
		{"cpe without product", map[string]any{"cpe23": []string{"cpe:2.3:a:openbsd:openssh:9.6", "cpe:2.3:o:canonical:ubuntu_linux:-", "cpe:2.3:h:cisco:router"}},
			[]portolan.Component{c("openssh", "9.6", "Remote Access"), c("ubuntu linux", "", "Operating System")}},
		{"cpe 2.2 as one string", map[string]any{"cpe": "cpe:/a:igor_sysoev:nginx:1.18.0", "_shodan": map[string]any{"module": "http"}}, []portolan.Component{c("nginx", "1.18.0", "Server")}},
		{"os field", map[string]any{"product": "Microsoft IIS httpd", "version": "10.0", "os": "Windows Server 2016", "_shodan": map[string]any{"module": "http"}},
			[]portolan.Component{c("Microsoft IIS httpd", "10.0", "Server"), c("Windows Server 2016", "", "Operating System")}},
		{"nothing", map[string]any{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obs := ingesttest.MustReadAll(t, shodan.NewReader(strings.NewReader(banner(tc.over)), shodan.Options{}))
			if len(obs) != 1 {
				t.Fatalf("%d observations", len(obs))
			}
			if diff := cmp.Diff(tc.want, obs[0].Components); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFields(t *testing.T) {
	cases := []struct {
		name string
		over map[string]any
		host string
		at   time.Time
		cert []byte
	}{
		{"IPv4 as an integer", map[string]any{"ip_str": nil, "ip": 3221225985}, "192.0.2.1", time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC), nil},
		{"ipv6 field", map[string]any{"ip_str": nil, "ipv6": "2001:db8::1"}, "2001:db8::1", time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC), nil},
		{"timestamp with zone", map[string]any{"timestamp": "2026-01-02T04:04:05+01:00"}, "192.0.2.1", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), nil},
		{"timestamp without fraction", map[string]any{"timestamp": "2026-01-02T03:04:05"}, "192.0.2.1", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), nil},
		{"chain without a certificate", map[string]any{"ssl": map[string]any{"chain": []string{"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}}},
			"192.0.2.1", time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obs := ingesttest.MustReadAll(t, shodan.NewReader(strings.NewReader(banner(tc.over)), shodan.Options{}))
			if len(obs) != 1 || obs[0].Host != tc.host || !obs[0].SeenAt.Equal(tc.at) || !bytes.Equal(obs[0].Certificate, tc.cert) {
				t.Errorf("got %+v, want host %s at %v", obs, tc.host, tc.at)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	good := func(port int) string { return banner(map[string]any{"port": port}) }
	cases := []ingesttest.BadInput[shodan.Options]{
		{Name: "empty", Input: ""},
		{Name: "truncated", Input: good(22) + good(80)[:60], Ports: []int{22}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "invalid JSON: the record ends inside a string (byte 60)"}}},
		{Name: "invalid UTF-8", Input: good(22) + strings.Replace(good(23), "OpenSSH", "Open\xffSSH", 1) + good(80),
			Ports: []int{22, 80}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "not valid UTF-8"}}},
		{Name: "missing fields", Input: banner(map[string]any{"ip_str": nil}) + banner(map[string]any{"port": nil}) +
			banner(map[string]any{"timestamp": nil}) + banner(map[string]any{"timestamp": "2 Jan 2026"}) + good(80),
			Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "no ip_str"}, {Line: 2, Reason: "no port"}, {Line: 3, Reason: "no timestamp"}, {Line: 4, Reason: `timestamp "2 Jan 2026"`}}},
		{Name: "wrong types", Input: banner(map[string]any{"data": map[string]any{"x": 1}}) + banner(map[string]any{"ip": "1.2.3.4.5", "ip_str": nil}) +
			banner(map[string]any{"ip": -1}) + banner(map[string]any{"port": "22"}) + good(80),
			Ports: []int{22, 80}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: `"data" must be a string (byte 35)`}, {Line: 3, Reason: `"ip" must be an IPv4 address as an integer`}, {Line: 4, Reason: `"port" must be a number`}}},
		{Name: "host with bad banners", Input: `{"ip_str": "192.0.2.9", "hostnames": ["h.example.org"], "data": [` +
			strings.TrimSpace(banner(map[string]any{"ip_str": nil, "port": 21})) + "," + strings.TrimSpace(banner(map[string]any{"port": nil})) + `]}` + "\n" +
			`{"ip_str": "192.0.2.9", "data": []}` + "\n",
			Ports: []int{21}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "banner 2 of data: the banner has no port"}, {Line: 2, Reason: "no banners"}}},
		{Name: "enormous line", Opts: shodan.Options{MaxLineBytes: 1000}, Input: good(22) + banner(map[string]any{"data": strings.Repeat("x", 200_000)}) + good(80),
			Ports: []int{22, 80}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "longer than 1000 bytes"}}},
		{Name: "deeply nested", Input: good(22) + banner(map[string]any{"http": json.RawMessage(strings.Repeat("[", 80) + strings.Repeat("]", 80))}) + good(80),
			Ports: []int{22, 80}, Bad: []ingesttest.BadRecord{{Line: 2, Reason: "deeper than 64 levels"}}},
		{Name: "host inside a host", Input: `{"data": [` + strings.Repeat(`{"data": [`, 40) + strings.Repeat("]}", 40) + "]}\n" + good(80),
			Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: `"data" must be a string`}}},
		{Name: "deeply nested host", Input: `{"data": [{"http": ` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "}]}\n" + good(80),
			Ports: []int{80}, Bad: []ingesttest.BadRecord{{Line: 1, Reason: "deeper than 64 levels"}}},
		{Name: "not a record", Input: "[]\nnull\n" + good(80) + "garbage\n", Ports: []int{80},
			Bad: []ingesttest.BadRecord{{Line: 1, Reason: "the record must be an object"}, {Line: 2, Reason: "the record must be an object"}, {Line: 4, Reason: "invalid JSON: want a value (byte 0)"}}},
	}
	ingesttest.RunBadInput(t, shodan.NewReader, cases, nil)
}

func TestReadError(t *testing.T) {
	ingesttest.CheckReadError(t, shodan.NewReader, shodan.Options{}, banner(nil), []int{22})
}

func TestSniff(t *testing.T) {
	data := ingesttest.ReadTestdata(t, sample)
	if !shodan.Sniff(ingesttest.Head(data)) {
		t.Errorf("Sniff(%s) = false", sample)
	}
	yes := map[string]string{
		"data first, cut": `{"hash": -1161094386, "ip": 3405803783, "org": "x", "data": "` + strings.Repeat("A", 5000),
		"host object":     `{"city": "Frankfurt am Main", "ports": [22], "data": [{"port": 22`,
		"stream banner":   banner(nil),
	}
	for name, in := range yes {
		if !shodan.Sniff(ingesttest.Head([]byte(in))) {
			t.Errorf("Sniff(%s) = false", name)
		}
	}
	no := map[string]string{
		"zgrab2":      `{"ip":"127.0.0.1","port":18081,"data":{"http":{"status":"success"}}}`,
		"masscan -oD": `{"ip":"127.0.0.1","timestamp":"1795781195","port":80,"proto":"tcp","rec_type":"status","data":{"status":"open"}}`,
		"masscan -oJ": "[\n{   \"ip\": \"127.0.0.1\", \"ports\": [ {\"port\": 443} ] }\n",
		"zmap JSON":   `{ "saddr": "127.0.0.1", "sport": 18022, "success": 1 }`,
		"native":      `{"host":"192.0.2.1","port":80,"status":"open","scannedAt":"2026-01-01T00:00:00Z","source":"native","banner":"x"}`,
		"nmap":        `<?xml version="1.0"?><nmaprun scanner="nmap">`,
		"empty":       "",
	}
	for name, in := range no {
		if shodan.Sniff([]byte(in)) {
			t.Errorf("Sniff(%s) = true", name)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add(ingesttest.ReadTestdata(f, sample))
	f.Add([]byte(`{"ip": 1, "port": 1, "timestamp": "2026-01-01T00:00:00", "cpe23": "cpe:2.3:a:x", "version": "1 (ubuntu) x", "data": [{"ssl": {"chain": ["-----BEGIN CERTIFICATE-----\n"]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := shodan.NewReader(bytes.NewReader(data), shodan.Options{MaxLineBytes: 4096, MaxDepth: 10})
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
			if o == nil || o.Source != "shodan" || o.Status != portolan.StatusOpen {
				t.Fatalf("bad observation %+v", o)
			}
		}
	})
}

func benchInput(b *testing.B) []byte {
	data := ingesttest.ReadTestdata(b, sample)
	out := make([]byte, 0, 1<<20+len(data))
	for len(out) < 1<<20 {
		out = append(out, data...)
	}
	return out
}

func BenchmarkReader(b *testing.B) {
	ingesttest.BenchRead(b, benchInput(b), shodan.NewReader, shodan.Options{})
}

// BenchmarkDecodeAny is the yardstick: encoding/json decoding the same lines
// into any.
func BenchmarkDecodeAny(b *testing.B) {
	ingesttest.BenchDecodeAny(b, benchInput(b))
}
