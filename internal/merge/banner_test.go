// SPDX-License-Identifier: Apache-2.0

package merge_test

import (
	"strings"
	"testing"

	"portolan"
	"portolan/internal/merge"
)

func TestNormalizeBanner(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"plain text is kept", "SSH-2.0-OpenSSH_9.2p1", "SSH-2.0-OpenSSH_9.2p1"},
		{"trailing whitespace is trimmed", "220 (vsFTPd 3.0.5)  \r\n\t", "220 (vsFTPd 3.0.5)"},
		{"leading whitespace is kept", "  hello", "  hello"},
		{"invalid UTF-8 is escaped", "ok\xff\xfeend", `ok\xff\xfeend`},
		{"NUL is escaped", "a\x00b", `a\x00b`},
		{"Date is volatile", "HTTP/1.1 200 OK\r\nDate: Fri, 27 Nov 2026 12:08:18 GMT\r\nServer: nginx\r\n", "HTTP/1.1 200 OK\r\nDate: <volatile>\r\nServer: nginx"},
		{"header names match case-insensitively and keep their case", "HTTP/1.0 200 OK\r\ncontent-LENGTH: 73\r\n", "HTTP/1.0 200 OK\r\ncontent-LENGTH: <volatile>"},
		{"Expires, Last-Modified, Age, ETag", "HTTP/1.1 200 OK\r\nExpires: x\r\nLast-Modified: y\r\nAge: 3\r\nETag: \"6b0\"\r\n", "HTTP/1.1 200 OK\r\nExpires: <volatile>\r\nLast-Modified: <volatile>\r\nAge: <volatile>\r\nETag: <volatile>"},
		{"Set-Cookie", "HTTP/1.1 302 Found\r\nSet-Cookie: sid=123; Path=/\r\nLocation: /", "HTTP/1.1 302 Found\r\nSet-Cookie: <volatile>\r\nLocation: /"},
		{"request and trace ids", "HTTP/1.1 200 OK\r\nX-Request-Id: abc\r\nCF-Ray: 7d\r\nX-Amzn-Trace-Id: Root=1", "HTTP/1.1 200 OK\r\nX-Request-Id: <volatile>\r\nCF-Ray: <volatile>\r\nX-Amzn-Trace-Id: <volatile>"},
		{"bare LF line ends", "HTTP/1.1 200 OK\nDate: now\nServer: x\n", "HTTP/1.1 200 OK\nDate: <volatile>\nServer: x"},
		{"the body after the head is untouched", "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nDate: not a header", "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nDate: not a header"},
		{"a non-HTTP banner with a Date line is untouched", "220 smtp ready\r\nDate: today", "220 smtp ready\r\nDate: today"},
		{"the status line is never a header", "HTTP/1.1 200 Date: x", "HTTP/1.1 200 Date: x"},
		{"a header block without status line (nmap http-headers)", "  Server: nginx\n  Date: Fri, 27 Nov 2026\n  \n  (Request type: HEAD)", "  Server: nginx\n  Date: <volatile>\n  \n  (Request type: HEAD)"},
		{"a header block starting at the first line", "Date: x\r\nServer: y", "Date: <volatile>\r\nServer: y"},
		{"idempotent", "HTTP/1.1 200 OK\r\nDate: <volatile>", "HTTP/1.1 200 OK\r\nDate: <volatile>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := merge.NormalizeBanner(c.in)
			if got != c.want {
				t.Errorf("NormalizeBanner(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
			if again := merge.NormalizeBanner(got); again != got {
				t.Errorf("not idempotent: %q then %q", got, again)
			}
		})
	}
}

func TestNormalizeBannerCutsAt16KiBOnARuneBoundary(t *testing.T) {
	in := strings.Repeat("é", 10000) // 2 bytes each
	got := merge.NormalizeBanner(in)
	if len(got) != portolan.MaxBannerBytes {
		t.Fatalf("length %d, want %d", len(got), portolan.MaxBannerBytes)
	}
	odd := "x" + in
	got = merge.NormalizeBanner(odd)
	if len(got) != portolan.MaxBannerBytes-1 || !strings.HasSuffix(got, "é") {
		t.Fatalf("cut inside a rune: length %d, ends %q", len(got), got[len(got)-3:])
	}
}

func BenchmarkNormalizeBanner(b *testing.B) {
	http := "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Fri, 27 Nov 2026 12:08:18 GMT\r\nContent-Type: text/html\r\nContent-Length: 73\r\nLast-Modified: Fri, 27 Nov 2026 11:53:38 GMT\r\nConnection: keep-alive\r\nETag: \"6b096f42-49\"\r\nAccept-Ranges: bytes\r\n\r\n"
	for _, c := range []struct{ name, banner string }{{"http", http}, {"ssh", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n"}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.banner)))
			for b.Loop() {
				merge.NormalizeBanner(c.banner)
			}
		})
	}
}
