// SPDX-License-Identifier: Apache-2.0

package fingerprint_test

import (
	"encoding/pem"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/fingerprint"
)

func comp(name, version, category string) portolan.Component {
	return portolan.Component{Name: name, Version: version, Category: category}
}

// bigBody is filler that looks like an HTML page and mentions products, so
// that it tests that a body is not read as headers.
func bigBody(n int) string {
	const chunk = "<p>Server: Apache/2.4.1 is mentioned here, not served; X-Powered-By: PHP/5.0 neither.</p>\n"
	return strings.Repeat(chunk, n/len(chunk)+1)[:n]
}

func TestRecognize(t *testing.T) {
	sshDebian := "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"
	big := "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n\r\n"
	big += bigBody(portolan.MaxBannerBytes - len(big))
	bigTail := strings.Repeat("x", portolan.MaxBannerBytes-len(sshDebian)) + sshDebian
	tests := []struct {
		name       string
		banner     string
		components []portolan.Component
		want       []portolan.Component
	}{
		{
			name: "empty banner, nothing named",
			want: nil,
		},
		{
			name:       "empty banner keeps the scanner's components, sorted and unique",
			components: []portolan.Component{comp("nginx", "1.22.1", "Server"), comp("Debian", "", "Operating System"), comp("nginx", "1.22.1", "Server")},
			want:       []portolan.Component{comp("Debian", "", "Operating System"), comp("nginx", "1.22.1", "Server")},
		},
		{
			name:   "rules alone",
			banner: sshDebian,
			want:   []portolan.Component{comp("Debian", "", "Operating System"), comp("OpenSSH", "9.2p1", "Remote Access")},
		},
		{
			name:       "scanner's product and version win, under the canonical category",
			banner:     sshDebian,
			components: []portolan.Component{comp("OpenSSH", "9.2", "")},
			want:       []portolan.Component{comp("Debian", "", "Operating System"), comp("OpenSSH", "9.2", "Remote Access")},
		},
		{
			name:       "scanner's name ignores case, and a versionless one gives way to the rule's version",
			banner:     "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n\r\n",
			components: []portolan.Component{comp("NGINX", "", "Server")},
			want:       []portolan.Component{comp("nginx", "1.22.1", "Server")},
		},
		{
			name:       "scanner's name wins through an alias",
			banner:     "HTTP/1.1 200 OK\r\nServer: Apache/2.4.57 (Debian)\r\n\r\n",
			components: []portolan.Component{comp("Apache httpd", "2.4.57", "")},
			want:       []portolan.Component{comp("Apache", "2.4.57", "Server"), comp("Debian", "", "Operating System")},
		},
		{
			name:       "scanner's distribution wins",
			banner:     sshDebian,
			components: []portolan.Component{comp("OpenSSH", "9.2p1", "Remote Access"), comp("Debian", "", "Operating System")},
			want:       []portolan.Component{comp("Debian", "", "Operating System"), comp("OpenSSH", "9.2p1", "Remote Access")},
		},
		{
			name:       "scanner duplicates go",
			banner:     "Server: nginx/1.22.1",
			components: []portolan.Component{comp("nginx", "1.22.1", "Server"), comp("nginx", "1.22.1", "Server")},
			want:       []portolan.Component{comp("nginx", "1.22.1", "Server")},
		},
		{
			name:   "a repeated header counts once",
			banner: "HTTP/1.1 200 OK\r\nX-Powered-By: PHP/8.2.7\r\nX-Powered-By: PHP/8.2.7\r\n\r\n",
			want:   []portolan.Component{comp("PHP", "8.2.7", "Framework")},
		},
		{
			name:   "a repeated header with two versions gives both",
			banner: "HTTP/1.1 200 OK\r\nX-Powered-By: PHP/8.2.7\r\nX-Powered-By: PHP/7.4.3\r\n\r\n",
			want:   []portolan.Component{comp("PHP", "7.4.3", "Framework"), comp("PHP", "8.2.7", "Framework")},
		},
		{
			name:   "a versioned component replaces the versionless one",
			banner: "HTTP/1.1 200 OK\r\nX-Varnish: 32770 3\r\nVia: 1.1 varnish (Varnish/6.0)\r\n\r\n",
			want:   []portolan.Component{comp("Varnish", "6.0", "Cache")},
		},
		{
			name:   "header names ignore case and blanks",
			banner: "HTTP/1.1 200 OK\nSERVER :nginx/1.25.3 \nx-powered-by:\tExpress\n",
			want:   []portolan.Component{comp("Express", "", "Framework"), comp("Node.js", "", "Framework"), comp("nginx", "1.25.3", "Server")},
		},
		{
			name:   "a header after the blank line is body",
			banner: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nServer: nginx/1.22.1\r\n",
			want:   nil,
		},
		{
			name:   "leading blank lines before the head",
			banner: "\r\n\r\nServer: lighttpd/1.4.69\r\n",
			want:   []portolan.Component{comp("lighttpd", "1.4.69", "Server")},
		},
		{
			name:   "masscan's escaped line ends",
			banner: `HTTP/1.1 200 OK\x0d\x0aServer: nginx/1.22.1\x0d\x0aX-Powered-By: PHP/8.1.2\x0d\x0a\x0d\x0aServer: Apache`,
			want:   []portolan.Component{comp("PHP", "8.1.2", "Framework"), comp("nginx", "1.22.1", "Server")},
		},
		{
			name:   "binary handshake with \\xNN escapes",
			banner: `J\x00\x00\x00` + "\n" + `8.0.36-0ubuntu0.22.04.1\x00\x08\x00\x00\x00\xff\xf7\x08\x02\x00caching_sha2_password\x00`,
			want:   []portolan.Component{comp("MySQL", "8.0.36", "Database"), comp("Ubuntu", "", "Operating System")},
		},
		{
			name:   "raw invalid UTF-8 and NUL in an unnormalised banner",
			banner: "\xff\xfe\x00SSH-2.0-OpenSSH_9.6\x00\xc3",
			want:   []portolan.Component{comp("OpenSSH", "9.6", "Remote Access")},
		},
		{
			name:   "16 KiB banner: head only, body ignored",
			banner: big,
			want:   []portolan.Component{comp("nginx", "1.22.1", "Server")},
		},
		{
			name:   "16 KiB banner: match at the very end",
			banner: bigTail,
			want:   []portolan.Component{comp("Debian", "", "Operating System"), comp("OpenSSH", "9.2p1", "Remote Access")},
		},
		{
			name:   "keyword without a match",
			banner: "220 mail.example.com ESMTP ready; we do not run postfix here\r\n",
			want:   nil,
		},
	}
	r := fingerprint.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &portolan.Observation{Host: "192.0.2.1", Port: 22, Status: portolan.StatusOpen, Source: "test", Banner: tt.banner, Components: slices.Clone(tt.components)}
			before := cloneObservation(o)
			got := r.Recognize(o)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Recognize mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, o); diff != "" {
				t.Errorf("Recognize modified the observation (-before +after):\n%s", diff)
			}
			if cap(got) != len(got) {
				t.Errorf("result has cap %d > len %d: appending to it could write into shared memory", cap(got), len(got))
			}
			// Determinism: the same input, and the scanner's components in
			// another order, give the same result.
			slices.Reverse(o.Components)
			if diff := cmp.Diff(got, r.Recognize(o)); diff != "" {
				t.Errorf("second Recognize differs (-first +second):\n%s", diff)
			}
		})
	}
}

func cloneObservation(o *portolan.Observation) *portolan.Observation {
	c := *o
	c.Components = slices.Clone(o.Components)
	c.Certificate = slices.Clone(o.Certificate)
	c.Hostnames = slices.Clone(o.Hostnames)
	return &c
}

func TestRecognizeAppendDoesNotWriteIntoObservation(t *testing.T) {
	// Room after len, which a careless append would fill.
	components := make([]portolan.Component, 1, 4)
	components[0] = comp("nginx", "1.22.1", "Server")
	o := &portolan.Observation{Components: components}
	got := fingerprint.Default().Recognize(o)
	_ = append(got, comp("X", "", "Server"))
	if spare := components[:2][1]; spare != (portolan.Component{}) {
		t.Errorf("append to the result wrote %+v into the observation's array", spare)
	}
}

func TestRecognizeNil(t *testing.T) {
	if got := fingerprint.Default().Recognize(nil); got != nil {
		t.Errorf("Recognize(nil) = %v, want nil", got)
	}
	var r *fingerprint.Rules
	o := &portolan.Observation{Banner: "Server: nginx", Components: []portolan.Component{comp("b", "", ""), comp("a", "", "")}}
	want := []portolan.Component{comp("a", "", ""), comp("b", "", "")}
	if diff := cmp.Diff(want, r.Recognize(o)); diff != "" {
		t.Errorf("nil *Rules: Recognize mismatch (-want +got):\n%s", diff)
	}
}

func TestRecognizeCertificate(t *testing.T) {
	fortinet := MustCertificate(t, nameSpec{CommonName: "FGT60E4Q16000000", OrganizationName: "Fortinet", OrganizationUnitName: "FortiGate"}, nameSpec{})
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fortinet})
	plain := MustCertificate(t, nameSpec{CommonName: "lab.example.test", OrganizationName: "Example Lab"}, nameSpec{})
	tests := []struct {
		name        string
		banner      string
		certificate []byte
		components  []portolan.Component
		want        []portolan.Component
	}{
		{name: "DER", certificate: fortinet, want: []portolan.Component{comp("FortiGate", "", "Server")}},
		{name: "PEM", certificate: pemCert, want: []portolan.Component{comp("FortiGate", "", "Server")}},
		{
			name:        "with a banner",
			banner:      "HTTP/1.1 200 OK\r\nServer: xxxxxxxx-xxxxx\r\n\r\n",
			certificate: fortinet,
			want:        []portolan.Component{comp("FortiGate", "", "Server")},
		},
		{
			name:        "scanner wins",
			certificate: fortinet,
			components:  []portolan.Component{comp("Fortinet FortiGate", "7.2", "")},
			want:        []portolan.Component{comp("FortiGate", "7.2", "Server")},
		},
		{name: "certificate no rule knows", certificate: plain, want: nil},
		{name: "malformed DER", certificate: []byte{0x30, 0x82, 0x01}, want: nil},
		{name: "bad PEM", certificate: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &portolan.Observation{Banner: tt.banner, Certificate: tt.certificate, Components: tt.components}
			before := cloneObservation(o)
			if diff := cmp.Diff(tt.want, fingerprint.Default().Recognize(o)); diff != "" {
				t.Errorf("Recognize mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, o); diff != "" {
				t.Errorf("Recognize modified the observation (-before +after):\n%s", diff)
			}
		})
	}
}

// TestRecognizeNoAllocationWithoutMatch holds the hot-path promise: a banner
// that no rule matches costs no allocation.
func TestRecognizeNoAllocationWithoutMatch(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	r := fingerprint.Default()
	for _, banner := range []string{
		"",
		"HTTP/1.1 404 Not Found\r\nServer: custom-frontend\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n",
		"220 mail.example.com ESMTP ready; we do not run postfix here\r\n",
		strings.Repeat("no product here. ", 1000),
	} {
		o := &portolan.Observation{Banner: banner, Components: []portolan.Component{comp("a", "", "")}}
		if n := testing.AllocsPerRun(100, func() { r.Recognize(o) }); n != 0 {
			t.Errorf("Recognize(%.40q) allocates %v times, want 0", banner, n)
		}
	}
}

// FuzzRecognize checks that no input makes Recognize panic, and that its
// result is always sorted, unique, deterministic and leaves o alone.
func FuzzRecognize(f *testing.F) {
	_, rules := MustReadRules(f)
	for _, r := range rules {
		for _, c := range r.Cases {
			f.Add(c.Banner, "", []byte(nil))
		}
	}
	f.Add("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", "openssh", []byte(nil))
	f.Add(`HTTP/1.1 200 OK\x0d\x0aServer: nginx\x0d`, "", []byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Add("", "", MustCertificate(f, nameSpec{OrganizationName: "Fortinet"}, nameSpec{}))
	r := fingerprint.Default()
	f.Fuzz(func(t *testing.T, banner, scannerName string, certificate []byte) {
		o := &portolan.Observation{Banner: banner, Certificate: certificate}
		if scannerName != "" {
			o.Components = []portolan.Component{comp(scannerName, "1", "Server")}
		}
		before := cloneObservation(o)
		got := r.Recognize(o)
		for i := 1; i < len(got); i++ {
			if !got[i-1].Less(got[i]) {
				t.Fatalf("result not sorted and unique at %d: %+v", i, got)
			}
		}
		for _, c := range got {
			if c.Name == "" {
				t.Fatalf("component without a name: %+v", got)
			}
		}
		if diff := cmp.Diff(got, r.Recognize(o)); diff != "" {
			t.Fatalf("not deterministic (-first +second):\n%s", diff)
		}
		if diff := cmp.Diff(before, o); diff != "" {
			t.Fatalf("observation modified (-before +after):\n%s", diff)
		}
	})
}

// benchBanners is a realistic mix: mostly HTTP heads, then SSH, mail and
// FTP greetings, database handshakes, and banners nothing matches.
var benchBanners = []string{
	"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 12:06:53 GMT\r\nContent-Type: text/html\r\nContent-Length: 73\r\nLast-Modified: Fri, 27 Nov 2026 11:53:38 GMT\r\nConnection: close\r\nETag: \"6b096f42-49\"\r\nAccept-Ranges: bytes\r\n\r\n",
	"HTTP/1.1 200 OK\r\nDate: Fri, 27 Nov 2026 12:00:00 GMT\r\nServer: Apache/2.4.57 (Debian)\r\nX-Powered-By: PHP/8.2.7\r\nVary: Accept-Encoding\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n",
	"HTTP/1.1 302 Found\r\nCache-Control: private\r\nContent-Type: text/html; charset=utf-8\r\nLocation: /owa/\r\nServer: Microsoft-IIS/10.0\r\nX-AspNet-Version: 4.0.30319\r\nX-Powered-By: ASP.NET\r\nDate: Fri, 27 Nov 2026 12:00:00 GMT\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 403 Forbidden\r\nDate: Fri, 27 Nov 2026 12:00:00 GMT\r\nContent-Type: text/html\r\nConnection: close\r\nServer: cloudflare\r\nCF-RAY: 82d3b5a1ef2c1f3e-FRA\r\n\r\n",
	"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.7\r\nDate: Fri, 27 Nov 2026 12:06:53 GMT\r\nContent-type: text/html; charset=utf-8\r\nContent-Length: 318\r\n\r\n",
	"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nDate: Fri, 27 Nov 2026 12:00:00 GMT\r\nContent-Length: 19\r\n\r\n404 page not found\n",
	"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nServer: custom-frontend\r\nStrict-Transport-Security: max-age=31536000\r\n\r\n<!DOCTYPE html><html><head><title>Welcome</title></head><body><p>Hello.</p></body></html>",
	"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10",
	"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6",
	"SSH-2.0-dropbear_2022.83",
	"220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n",
	"220 (vsFTPd 3.0.5)\r\n",
	"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n",
	`J\x00\x00\x00` + "\n" + `8.0.36\x00\x08\x00\x00\x00\xff\xf7\x08\x02\x00caching_sha2_password\x00`,
	"-NOAUTH Authentication required.\r\n",
	"",
}

func BenchmarkRecognize(b *testing.B) {
	r := fingerprint.Default()
	run := func(b *testing.B, banners []string) {
		obs := make([]*portolan.Observation, len(banners))
		for i, banner := range banners {
			obs[i] = &portolan.Observation{Banner: banner}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			r.Recognize(obs[i%len(obs)])
		}
	}
	b.Run("mix", func(b *testing.B) { run(b, benchBanners) })
	b.Run("nomatch", func(b *testing.B) { run(b, benchBanners[5:7]) })
	b.Run("nginx", func(b *testing.B) { run(b, benchBanners[:1]) })
	head := "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n\r\n"
	b.Run("16KiB-body", func(b *testing.B) {
		run(b, []string{head + bigBody(portolan.MaxBannerBytes-len(head))})
	})
	b.Run("16KiB-nomatch", func(b *testing.B) {
		run(b, []string{strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789 ", 443)[:portolan.MaxBannerBytes]})
	})
	// The worst case: keywords of many banner rules scattered through a
	// 16 KiB text, so their regexps run over all of it.
	var worst strings.Builder
	for worst.Len() < portolan.MaxBannerBytes-200 {
		worst.WriteString("debian ubuntu mariadb rabbitmq mosquitto postfix exim dovecot cyrus mikrotik haproxy version wordpress redis_version: ")
	}
	b.Run("16KiB-keywords", func(b *testing.B) { run(b, []string{worst.String()}) })
}

// TestRecognizeConcurrent shares one *Rules between goroutines, as the
// stores do; run with -race it proves Recognize keeps no mutable state.
func TestRecognizeConcurrent(t *testing.T) {
	r := fingerprint.Default()
	want := make([][]portolan.Component, len(benchBanners))
	for i, b := range benchBanners {
		want[i] = r.Recognize(&portolan.Observation{Banner: b})
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for i, b := range benchBanners {
				if diff := cmp.Diff(want[i], r.Recognize(&portolan.Observation{Banner: b})); diff != "" {
					t.Errorf("goroutine result differs (-want +got):\n%s", diff)
				}
			}
		})
	}
	wg.Wait()
}

// TestRecognizeSkipsAmbiguousIDs: a rule whose capture takes "$$" from a
// hostile banner yields no component (its id would be ambiguous), and the
// same rule still recognises an ordinary banner.
func TestRecognizeSkipsAmbiguousIDs(t *testing.T) {
	r, err := fingerprint.Load([]byte(`{"rules": [{"id": "zed", "target": "banner", "keywords": ["Zed/"], "pattern": "^Zed/(\\S+)",
		"component": {"name": "Zed", "version": "$1", "category": "Server"},
		"cases": [{"banner": "Zed/1.0", "want": [{"name": "Zed", "version": "1.0", "category": "Server"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, banner := range []string{"Zed/1$$2", "Zed/1$", "Zed/$1"} {
		if got := r.Recognize(&portolan.Observation{Banner: banner}); len(got) != 0 {
			t.Errorf("%q: %+v, want no component", banner, got)
		}
	}
	if got := r.Recognize(&portolan.Observation{Banner: "Zed/2.1"}); len(got) != 1 || got[0].Version != "2.1" {
		t.Errorf("ordinary banner: %+v", got)
	}
}
