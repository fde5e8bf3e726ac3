// SPDX-License-Identifier: Apache-2.0

package nmap

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzFingerprintBanner feeds arbitrary fingerprints to fingerprintBanner,
// which must not panic and must return text: valid UTF-8, with no control
// characters but CR, LF and tab, whatever bytes the answer held.
func FuzzFingerprintBanner(f *testing.F) {
	f.Add(`SF-Port4222-TCP:V=7.93%I=7%r(NULL,2E,"INFO\x20{\"version\":\"2\.9\.10\"}\x20\r\n")%r(GenericLines,A,"-ERR\r\n");`)
	f.Add(`SF-Port23-TCP:V=7.93%I=7%r(NULL,6,"\xff\xfb%\xff\xfd\0")`)
	f.Add(`SF-Port8000-TCP:V=7.93%I=7%r(GetRequest,2D,"HTTP/1\.0\x20200\x20OK\r\nServer:\x20x\r\n\r\nbody")`)
	f.Add("SF-Port9-TCP:V=7.93%I=7%r(NULL,B,\"hello\\x20\nSF:world\");")
	f.Add(`%r(NULL,1,"\`)
	f.Fuzz(func(t *testing.T, fp string) {
		b := fingerprintBanner(fp)
		if !utf8.ValidString(b) {
			t.Fatalf("banner %q is not UTF-8", b)
		}
		if i := strings.IndexFunc(b, func(r rune) bool { return r < 0x20 && r != '\r' && r != '\n' && r != '\t' || r == 0x7f }); i >= 0 {
			t.Fatalf("banner %q has a control character at %d", b, i)
		}
		if again := fingerprintBanner(fp); again != b {
			t.Fatalf("two reads differ: %q, %q", b, again)
		}
	})
}
