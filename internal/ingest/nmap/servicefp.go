// SPDX-License-Identifier: Apache-2.0

package nmap

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// When -sV cannot name a service, nmap prints its fingerprint
// (<service servicefp="…">): a header, then what the service answered to
// each probe, as r(PROBE,LENGTH,"ESCAPED BYTES"):
//
//	SF-Port4222-TCP:V=7.93%I=7%D=12/4%Time=6B134CB9%P=x86_64-pc-linux-gnu%r(NULL,141,"INFO\x20{\"server_id\"…}\x20\r\n")%r(GenericLines,…)
//
// The answer to the NULL probe is what the service sends as soon as a
// client connects, which is what nmap's banner script would have printed:
// it is the banner of services nmap does not know (a NATS server's INFO
// line, a custom daemon's greeting). A service that waits to be spoken to
// and answers GetRequest with HTTP gives its response head instead. Normal
// output (-oN) wraps the fingerprint in lines that begin "SF:"; the wraps
// are undone here too.

// fingerprintBanner returns the banner in fp, a servicefp attribute: the
// NULL probe's answer, else the head of an HTTP answer to GetRequest, else
// "". Bytes that are not printable text are written \xHH, as the banner
// script writes them.
func fingerprintBanner(fp string) string {
	if fp == "" {
		return ""
	}
	fp = strings.ReplaceAll(strings.ReplaceAll(fp, "\r\n", "\n"), "\nSF:", "")
	if answer, ok := probeAnswer(fp, "NULL"); ok && len(answer) > 0 {
		return printable(answer)
	}
	if answer, ok := probeAnswer(fp, "GetRequest"); ok && bytes.HasPrefix(answer, []byte("HTTP/")) {
		if end := bytes.Index(answer, []byte("\r\n\r\n")); end >= 0 {
			answer = answer[:end]
		}
		return printable(answer)
	}
	return ""
}

// probeAnswer finds r(probe,LENGTH,"…") in fp and returns its bytes
// unescaped; ok is false when the probe is not there or its answer is not
// well formed (cut short, say), which costs the banner and nothing else.
func probeAnswer(fp, probe string) (answer []byte, ok bool) {
	for from := 0; ; {
		i := strings.Index(fp[from:], "r("+probe+",")
		if i < 0 {
			return nil, false
		}
		i += from
		// A probe's answer follows the header's % (the field separator)
		// or starts the fingerprint; anything else is inside another
		// answer.
		if i > 0 && fp[i-1] != '%' && fp[i-1] != ':' {
			from = i + 2
			continue
		}
		rest := fp[i+len("r(")+len(probe)+1:]
		comma := strings.IndexByte(rest, ',')
		if comma < 0 {
			return nil, false
		}
		length, err := strconv.ParseUint(rest[:comma], 16, 32)
		if err != nil || !strings.HasPrefix(rest[comma+1:], `"`) {
			return nil, false
		}
		return unescapeAnswer(rest[comma+2:], int(length))
	}
}

// unescapeAnswer reads nmap's escaped bytes up to the closing quote: \xHH
// a byte, \0 NUL, \r \n \t themselves, and a backslash before any other
// character that character (nmap escapes the quote, the backslash and the
// characters a regexp would read, such as \. and \$, so that a fingerprint
// can be pasted into a match line). length, nmap's count of the answer's
// bytes, sizes the result.
func unescapeAnswer(s string, length int) ([]byte, bool) {
	out := make([]byte, 0, min(length, len(s)))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return out, true
		case '\\':
			if i+1 >= len(s) {
				return nil, false
			}
			i++
			switch e := s[i]; e {
			case 'x':
				if i+2 >= len(s) {
					return nil, false
				}
				b, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
				if err != nil {
					return nil, false
				}
				out = append(out, byte(b))
				i += 2
			case '0':
				out = append(out, 0)
			case 'r':
				out = append(out, '\r')
			case 'n':
				out = append(out, '\n')
			case 't':
				out = append(out, '\t')
			default:
				out = append(out, e)
			}
		default:
			out = append(out, c)
		}
	}
	return nil, false
}

// printable returns b as text: as it is when it is UTF-8 without control
// characters other than CR, LF and tab; else with every byte outside
// printable ASCII written \xHH, which is how nmap's banner script shows a
// binary greeting (and what the fingerprint rules for handshakes read).
func printable(b []byte) string {
	text := utf8.Valid(b)
	for _, c := range b {
		if control(c) {
			text = false
			break
		}
	}
	if text {
		return string(b)
	}
	const hex = "0123456789abcdef"
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for _, c := range b {
		if c < 0x80 && !control(c) {
			sb.WriteByte(c)
			continue
		}
		sb.WriteString(`\x`)
		sb.WriteByte(hex[c>>4])
		sb.WriteByte(hex[c&0xf])
	}
	return sb.String()
}

// control reports the ASCII control characters other than CR, LF and tab.
func control(c byte) bool {
	return (c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f
}
