// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// The JSON of the API is written by hand with append-style helpers: the
// hostPort page is the hot path (the goal is half of nginx serving the same
// bytes), the member order is part of the contract, and Graph's nulls,
// stubs and annotations do not map onto struct tags.

// hexDigits are for \u00XX escapes.
const hexDigits = "0123456789abcdef"

// safeASCII[c] is true for the ASCII bytes that need no escaping in a JSON
// string.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s as a JSON string. Control characters are escaped,
// invalid UTF-8 becomes U+FFFD (as encoding/json does), and U+2028/U+2029 are
// escaped so the output is also safe inside JavaScript. strconv.AppendQuote
// is not a JSON encoder: it writes Go escapes such as \x00 and \a.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain bytes at a time (banners are mostly runs of
		// printable ASCII); a block that needs care is walked byte by byte.
		end := len(s)
		if i+8 <= len(s) {
			if !needsEscape(load64(s, i)) {
				i += 8
				continue
			}
			end = i + 8
		}
		for i < end {
			c := s[i]
			if c < utf8.RuneSelf {
				i++
				if safeASCII[c] {
					continue
				}
				b = append(b, s[start:i-1]...)
				start = i
				switch c {
				case '"', '\\':
					b = append(b, '\\', c)
				case '\n':
					b = append(b, '\\', 'n')
				case '\r':
					b = append(b, '\\', 'r')
				case '\t':
					b = append(b, '\\', 't')
				case '\b':
					b = append(b, '\\', 'b')
				case '\f':
					b = append(b, '\\', 'f')
				default:
					b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
				}
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i++
				start = i
			case r == '\u2028' || r == '\u2029':
				b = append(b, s[start:i]...)
				b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
				i += size
				start = i
			default:
				i += size // a rune may run past end; the outer loop resumes there
			}
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// load64 reads eight bytes of s at i, little-endian (the compiler turns
// this into one load).
func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// needsEscape reports whether any of the eight bytes in w is a control
// character, '"', '\\' or not ASCII (SWAR: the classic has-zero-byte and
// has-less-than tests; a false positive only costs the byte-wise path).
func needsEscape(w uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	control := (w - lo*0x20) &^ w
	q := w ^ (lo * '"')
	quote := (q - lo) &^ q
	bs := w ^ (lo * '\\')
	backslash := (bs - lo) &^ bs
	return (control|quote|backslash|w)&hi != 0
}

// appendStringBytes is appendString for bytes. URLs are nearly always
// plain ASCII, which is copied without converting to a string (and so
// without allocating).
func appendStringBytes(b []byte, s []byte) []byte {
	for _, c := range s {
		if c >= utf8.RuneSelf || !safeASCII[c] {
			return appendString(b, string(s))
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendNullableString appends s, or null when it is empty: the domain uses
// "" for "unknown" and Graph sends null.
func appendNullableString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

// appendTime appends t as an RFC 3339 UTC string ending in Z, or null for
// the zero time. Whole seconds from 1970 to 9999 (every stored time: the
// domain keeps seconds, UTC) take a fast path; anything else goes through
// the time package.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	sec := t.Unix()
	if sec < 0 || sec > maxFastUnix || t.Nanosecond() != 0 {
		b = append(b, '"')
		b = t.UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	}
	year, month, day := civil(sec / 86400)
	rem := int(sec % 86400)
	hour, minute, second := rem/3600, rem/60%60, rem%60
	return append(b, '"',
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+second/10), byte('0'+second%10), 'Z', '"')
}

// maxFastUnix is 9999-12-31T23:59:59Z.
const maxFastUnix = 253402300799

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's days_from_civil inverse), for days >= 0.
func civil(days int64) (year, month, day int) {
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

// appendInt appends a JSON number.
func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }

// appendBool appends true or false.
func appendBool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

// member appends the separator (unless first) and `"name":`, where quoted
// is the already quoted name followed by a colon, e.g. `"id":`.
func member(b []byte, first *bool, quoted string) []byte {
	if *first {
		*first = false
	} else {
		b = append(b, ',')
	}
	return append(b, quoted...)
}

// bufPool recycles response buffers: a 20-port page is about 15 KiB, and
// allocating it per request would dominate the garbage.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 16<<10)
	return &b
}}

// maxPooledBuffer keeps the rare huge page (1000 ports with long banners)
// from pinning memory in the pool.
const maxPooledBuffer = 1 << 20

func getBuffer() *[]byte { return bufPool.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) > maxPooledBuffer {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}
