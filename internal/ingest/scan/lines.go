// SPDX-License-Identifier: Apache-2.0

// Package scan holds the input plumbing the scanner readers share: a line
// splitter with bounded memory, the helpers their Sniff functions use to
// read the keys of a JSON object cut anywhere, Decoder, a small validating
// pull decoder for one JSON record, Records, the record loop of a JSON-lines
// reader, and XMLGuard, the bounds of every XML reader (nmap, masscan -oX).
// Adapters do not import each other (style.md §1); this is the one helper
// package they may all import, and it imports only the standard library and
// the domain package, portolan (itself standard library only), for its
// InputError, the one positioned error of every reader.
package scan

import (
	"bufio"
	"bytes"
	"io"
)

const (
	// DefaultMaxLineBytes is the longest line a reader accepts when its
	// options leave the limit at 0. A longer one is reported as a record
	// error and skipped, so one runaway banner cannot exhaust memory.
	DefaultMaxLineBytes = 16 << 20
	// DefaultMaxDepth is how deeply a record may nest when the options leave
	// the limit at 0. Scanner output nests about 10 deep; encoding/json
	// would accept 10000 levels and encoding/xml any number.
	DefaultMaxDepth = 64
)

// BufferSize is the size of the bufio.Reader a LineReader reads from: large
// enough that typical lines are returned without copying, small enough to be
// irrelevant next to the line limit.
const BufferSize = 64 << 10

// LineReader splits its input into lines without holding more than one line
// (bounded by its maximum) in memory.
type LineReader struct {
	br   *bufio.Reader
	max  int
	buf  []byte // assembles a line that does not fit bufio's buffer
	line int    // 1-based number of the line last returned
	off  int64  // byte offset of the line last returned
	next int64  // byte offset of the line after it
	cut  bool   // the line last returned has no line ending
}

// NewLineReader returns a LineReader of br that reports lines longer than
// max bytes (without their line ending) as too long; max 0 means
// DefaultMaxLineBytes. br is best made with BufferSize.
func NewLineReader(br *bufio.Reader, max int) *LineReader {
	if max <= 0 {
		max = DefaultMaxLineBytes
	}
	return &LineReader{br: br, max: max}
}

// Read returns the next line without its line ending; the slice is valid
// until the next call. A line longer than the maximum is consumed whole and
// reported with tooLong set and no bytes. err is io.EOF after the last line,
// or the error of the underlying reader, which ends the input.
func (l *LineReader) Read() (line []byte, tooLong bool, err error) {
	if cap(l.buf) > 4*BufferSize {
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
		l.cut = err == io.EOF
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

// Line returns the 1-based number of the line Read returned last (0 before
// the first), for record errors.
func (l *LineReader) Line() int { return l.line }

// Offset returns the byte offset in the input of the line Read returned
// last, for record errors.
func (l *LineReader) Offset() int64 { return l.off }

// Unterminated reports whether the line Read returned last ends the input
// without a line ending: the last line of a file, or one cut short.
func (l *LineReader) Unterminated() bool { return l.cut }

// InputOffset returns the byte offset in the input just after what Read has
// consumed: after an error of the underlying reader, where it failed.
func (l *LineReader) InputOffset() int64 { return l.next }

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

// IsBlank reports whether b holds only white space.
func IsBlank(b []byte) bool {
	return len(bytes.TrimSpace(b)) == 0
}

// SniffKeys calls fn with each key of the JSON object b starts with (after
// white space) and the first byte of the key's value, until fn returns false
// or b ends. b may be cut anywhere, as the head of a file is. It validates
// nothing: it is for guessing a format, not for reading it.
func SniffKeys(b []byte, fn func(key string, first byte) bool) {
	i := SkipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return
	}
	i++
	for {
		i = SkipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return
		}
		end := stringEnd(b, i)
		if end < 0 {
			return
		}
		key := string(b[i+1 : end-1])
		i = SkipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return
		}
		i = SkipSpace(b, i+1)
		if i >= len(b) || !fn(key, b[i]) {
			return
		}
		i = skipValue(b, i)
		if i < 0 {
			return
		}
		i = SkipSpace(b, i)
		if i >= len(b) || b[i] != ',' {
			return
		}
		i++
	}
}

// SkipSpace returns the index of the first byte at or after i that is not
// JSON white space (or a UTF-8 byte order mark), len(b) if there is none.
func SkipSpace(b []byte, i int) int {
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
