// SPDX-License-Identifier: Apache-2.0

package shodan

// This file holds the input plumbing the ingesters share: a line splitter
// with bounded memory and the helper Sniff uses to read the keys of a JSON
// object cut anywhere. Adapters do not import each other (style.md §1), so
// masscan, zgrab2, zmap and shodan each carry a copy of this file and of
// jsonscan.go, identical but for the package clause; keep them in step.

import (
	"bufio"
	"bytes"
	"io"
)

const (
	// DefaultMaxLineBytes is the longest line read when Options leaves the
	// limit at 0. A longer one is reported as a record error and skipped, so
	// one runaway banner cannot exhaust memory.
	DefaultMaxLineBytes = 16 << 20
	// DefaultMaxDepth is how deeply JSON (or masscan's XML) may nest when
	// Options leaves the limit at 0. Scanner output nests about 10 deep;
	// encoding/json would accept 10000 levels and encoding/xml any number.
	DefaultMaxDepth = 64
)

// bufferSize is bufio's buffer: large enough that typical lines are returned
// without copying, small enough to be irrelevant next to the line limit.
const bufferSize = 64 << 10

// lineReader splits its input into lines without holding more than one line
// (bounded by max) in memory.
type lineReader struct {
	br   *bufio.Reader
	max  int
	buf  []byte // assembles a line that does not fit bufio's buffer
	line int    // 1-based number of the line last returned
	off  int64  // byte offset of the line last returned
	next int64  // byte offset of the line after it
}

func newLineReader(br *bufio.Reader, max int) *lineReader {
	return &lineReader{br: br, max: max}
}

// read returns the next line without its line ending; the slice is valid
// until the next call. A line longer than max is consumed whole and reported
// with tooLong set and no bytes. err is io.EOF after the last line, or the
// error of the underlying reader, which ends the input.
func (l *lineReader) read() (line []byte, tooLong bool, err error) {
	if cap(l.buf) > 4*bufferSize {
		l.buf = nil // do not keep a huge buffer alive for the rest of the file
	}
	l.buf = l.buf[:0]
	l.off = l.next
	n := 0
	for {
		chunk, err := l.br.ReadSlice('\n')
		n += len(chunk)
		l.next += int64(len(chunk))
		if err == bufio.ErrBufferFull {
			// No newline yet, so the line is at least n bytes long.
			if n > l.max {
				tooLong = true
			}
			if !tooLong {
				l.buf = append(l.buf, chunk...)
			}
			continue
		}
		if err != nil && err != io.EOF {
			return nil, false, err
		}
		if n == 0 {
			return nil, false, io.EOF
		}
		l.line++
		if tooLong {
			return nil, true, nil
		}
		if len(l.buf) > 0 {
			l.buf = append(l.buf, chunk...)
			chunk = l.buf
		}
		chunk = trimEOL(chunk)
		if len(chunk) > l.max {
			return nil, true, nil
		}
		return chunk, false, nil
	}
}

// trimEOL removes a trailing "\n" or "\r\n".
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// isBlank reports whether b holds only white space.
func isBlank(b []byte) bool {
	return len(bytes.TrimSpace(b)) == 0
}

// sniffKeys calls fn with each key of the JSON object b starts with (after
// white space) and the first byte of the key's value, until fn returns false
// or b ends. b may be cut anywhere, as the head of a file is.
func sniffKeys(b []byte, fn func(key string, first byte) bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return
	}
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return
		}
		end := stringEnd(b, i)
		if end < 0 {
			return
		}
		key := string(b[i+1 : end-1])
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return
		}
		i = skipSpace(b, i+1)
		if i >= len(b) || !fn(key, b[i]) {
			return
		}
		i = skipValue(b, i)
		if i < 0 {
			return
		}
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ',' {
			return
		}
		i++
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space (or a UTF-8 byte order mark).
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		case 0xEF:
			if bytes.HasPrefix(b[i:], []byte("\xEF\xBB\xBF")) {
				i += 3
				continue
			}
			return i
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just after the JSON string starting at b[i],
// or -1 when b ends first.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index just after the JSON value starting at b[i]
// (for a scalar, the index of the byte that ends it), or -1 when b ends
// first.
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			e := stringEnd(b, i)
			if e < 0 {
				return -1
			}
			if depth == 0 {
				return e
			}
			i = e
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return i // a scalar ended by its object's closing brace
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return -1
}
