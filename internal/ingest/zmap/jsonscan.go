// SPDX-License-Identifier: Apache-2.0

package zmap

// A small pull decoder for one JSON record held in memory. Scanner output is
// mostly data no observation needs (parsed certificates, handshakes, page
// bodies); encoding/json reads every byte of it twice through a state
// machine, this skips strings with bytes.IndexByte and builds nothing it is
// not asked for, several times faster. It validates what it reads and what
// it skips (RFC 8259 grammar, escapes, no control characters in strings),
// bounds nesting, and reports the byte offset of the first error. UTF-8 is
// checked by the caller on the whole record, once. Like encoding/json, it
// lets a later duplicate key win and turns lone surrogate escapes into
// U+FFFD; unlike it, keys match exactly, not case-insensitively.
//
// Use: d.reset(line); if d.object() { for d.next() { switch string(d.key)
// {…: v = d.str(); default: d.skip()} } }; d.end(); then check d.err. Every
// method is a no-op once d.err is set, so callers check it once at the end.
//
// Each ingester package carries a copy (adapters do not import each other);
// keep them in step.

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

type decoder struct {
	data     []byte
	pos      int
	depth    int
	maxDepth int
	err      error
	key      []byte // the key of the member next returned; valid until the next call
	keyBuf   []byte // the last unescaped key
	valBuf   []byte // the last unescaped string value
}

// syntaxError is a JSON error with the byte offset where it was found.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s (byte %d)", e.msg, e.off) }

// reset prepares d to decode data.
func (d *decoder) reset(data []byte) {
	d.data, d.pos, d.depth, d.err, d.key = data, 0, 0, nil, nil
}

// fail records the first error.
func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = &syntaxError{off: d.pos, msg: msg}
	}
}

// syntax records a grammar error.
func (d *decoder) syntax(msg string) { d.fail("invalid JSON: " + msg) }

// want records that the value at d.pos, of the member d.key, is not what
// the format has there; or a grammar error if there is no value at all.
func (d *decoder) want(what string) {
	c := d.peek()
	switch {
	case d.pos >= len(d.data):
		d.syntax("the record ends where a value should be")
	case c != '"' && c != '{' && c != '[' && c != 't' && c != 'f' && c != 'n' && c != '-' && (c < '0' || c > '9'):
		d.syntax("want a value")
	case d.key == nil:
		d.fail("the record must be " + what)
	default:
		d.fail(strconv.Quote(string(d.key)) + " must be " + what)
	}
}

// peek skips white space and returns the next byte, 0 at the end (which
// callers that care tell from a NUL byte by d.pos).
func (d *decoder) peek() byte {
	for d.pos < len(d.data) {
		switch c := d.data[d.pos]; c {
		case ' ', '\t', '\r', '\n':
			d.pos++
		default:
			return c
		}
	}
	return 0
}

// end checks that only white space follows the record.
func (d *decoder) end() {
	if d.peek(); d.err == nil && d.pos < len(d.data) {
		d.syntax("unexpected data after the record")
	}
}

// null consumes null and reports whether it was there.
func (d *decoder) null() bool {
	if d.err == nil && d.peek() == 'n' {
		d.literal("null")
		return true
	}
	return false
}

func (d *decoder) literal(word string) {
	if !bytes.HasPrefix(d.data[d.pos:], []byte(word)) {
		d.syntax("want a value")
		return
	}
	d.pos += len(word)
}

// open consumes the opening bracket of an object or array. It returns false
// for null (an absent value, as encoding/json takes it) and, with an error,
// for any other value.
func (d *decoder) open(bracket byte, what string) bool {
	if d.err != nil || d.null() {
		return false
	}
	if d.peek() != bracket {
		d.want(what)
		return false
	}
	if d.depth++; d.depth > d.maxDepth {
		d.fail(fmt.Sprintf("the record nests deeper than %d levels", d.maxDepth))
		return false
	}
	d.pos++
	return true
}

// object consumes "{"; see open.
func (d *decoder) object() bool { return d.open('{', "an object") }

// array consumes "["; see open.
func (d *decoder) array() bool { return d.open('[', "an array") }

// after reports whether the byte before the next non-space one, looking
// back, is c: the way next and elem tell the first member from the others
// without keeping a stack.
func (d *decoder) after(c byte) bool {
	i := d.pos - 1
	for i >= 0 && (d.data[i] == ' ' || d.data[i] == '\t' || d.data[i] == '\r' || d.data[i] == '\n') {
		i--
	}
	return i >= 0 && d.data[i] == c
}

// next moves to the next member of the current object, setting d.key and
// consuming the colon; it returns false, consuming "}", at the end. The
// caller must consume the member's value before calling next again.
func (d *decoder) next() bool {
	if d.err != nil {
		return false
	}
	switch d.peek() {
	case '}':
		if d.after(',') {
			d.syntax("a comma before }")
			return false
		}
		d.pos++
		d.depth--
		return false
	case ',':
		if d.after('{') {
			d.syntax("a comma after {")
			return false
		}
		d.pos++
		if d.peek() != '"' {
			d.syntax("want a key")
			return false
		}
	case '"':
		if !d.after('{') {
			d.syntax("want a comma between members")
			return false
		}
	default:
		d.syntax("want a key or }")
		return false
	}
	d.key = d.rawString(true)
	if d.err != nil {
		return false
	}
	if d.peek() != ':' {
		d.syntax("want a colon after the key")
		return false
	}
	d.pos++
	return true
}

// elem moves to the next element of the current array; it returns false,
// consuming "]", at the end.
func (d *decoder) elem() bool {
	if d.err != nil {
		return false
	}
	switch d.peek() {
	case ']':
		if d.after(',') {
			d.syntax("a comma before ]")
			return false
		}
		d.pos++
		d.depth--
		return false
	case ',':
		if d.after('[') {
			d.syntax("a comma after [")
			return false
		}
		d.pos++
	default:
		if d.pos >= len(d.data) {
			d.syntax("the record ends inside an array")
			return false
		}
		if !d.after('[') {
			d.syntax("want a comma between elements")
			return false
		}
	}
	return true
}

// str returns a string value; null gives "".
func (d *decoder) str() string {
	if b, ok := d.strBytes(); ok {
		return string(b)
	}
	return ""
}

// strBytes returns a string value without copying it when it has no
// escapes; the bytes are valid until the next call. ok is false for null
// and on error.
func (d *decoder) strBytes() (b []byte, ok bool) {
	if d.err != nil || d.null() {
		return nil, false
	}
	if d.peek() != '"' {
		d.want("a string")
		return nil, false
	}
	b = d.rawString(false)
	return b, d.err == nil
}

// rawString reads the string at d.pos. A string without escapes is
// returned in place; one with escapes is unescaped into d.keyBuf or d.valBuf,
// so that a key stays valid while its value is read.
func (d *decoder) rawString(key bool) []byte {
	start := d.pos + 1
	end, escaped := d.stringEnd(start)
	if d.err != nil {
		return nil
	}
	d.pos = end + 1
	if !escaped {
		return d.data[start:end]
	}
	buf := &d.valBuf
	if key {
		buf = &d.keyBuf
	}
	*buf = d.unescape((*buf)[:0], d.data[start:end])
	return *buf
}

// stringEnd returns the index of the closing quote of the string whose
// content starts at start, and whether it has escapes. It rejects control
// characters and malformed escapes.
func (d *decoder) stringEnd(start int) (end int, escaped bool) {
	i := start
	for {
		q := bytes.IndexByte(d.data[i:], '"')
		if q < 0 {
			d.pos = len(d.data)
			d.syntax("the record ends inside a string")
			return 0, false
		}
		j := i
		for j < i+q {
			c := d.data[j]
			if c >= 0x20 && c != '\\' {
				j++
				continue
			}
			if c < 0x20 {
				d.pos = j
				d.syntax("a control character in a string")
				return 0, false
			}
			escaped = true
			if j+1 >= len(d.data) {
				d.pos = j
				d.syntax("an unfinished escape")
				return 0, false
			}
			switch d.data[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if _, ok := hex4(d.data[j+2:]); !ok {
					d.pos = j
					d.syntax(`an invalid \u escape`)
					return 0, false
				}
				j += 6
			default:
				d.pos = j
				d.syntax("an invalid escape")
				return 0, false
			}
		}
		if j == i+q {
			return j, escaped
		}
		i = j // the quote at i+q was escaped: search on after it
	}
}

// unescape appends the decoded form of s, whose escapes stringEnd checked,
// to out.
func (d *decoder) unescape(out, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch s[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, _ := hex4(s[i+1:])
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2, _ = hex4(s[i+3:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError // a lone surrogate, as encoding/json does
				}
			}
			out = utf8.AppendRune(out, r)
		default: // '"', '\\', '/'
			out = append(out, s[i])
		}
	}
	return out
}

// hex4 decodes the four hex digits at the start of s.
func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number returns the text of a number value.
func (d *decoder) number() []byte {
	if d.err != nil {
		return nil
	}
	start := d.pos
	i := start
	if i < len(d.data) && d.data[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(d.data) && d.data[i] >= '0' && d.data[i] <= '9' {
			i++
		}
		return i > j
	}
	switch {
	case i < len(d.data) && d.data[i] == '0':
		i++
	case !digits():
		d.syntax("want a number")
		return nil
	}
	if i < len(d.data) && d.data[i] == '.' {
		i++
		if !digits() {
			d.pos = i
			d.syntax("want digits after the decimal point")
			return nil
		}
	}
	if i < len(d.data) && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		if i < len(d.data) && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		if !digits() {
			d.pos = i
			d.syntax("want digits in the exponent")
			return nil
		}
	}
	d.pos = i
	return d.data[start:i]
}

// int returns an integer value; ok is false for null and on error (a
// fraction, or a number beyond int64, is an error, as in encoding/json).
func (d *decoder) int() (n int64, ok bool) {
	if d.err != nil || d.null() {
		return 0, false
	}
	start := d.pos
	if c := d.peek(); c != '-' && (c < '0' || c > '9') {
		d.want("a number")
		return 0, false
	}
	text := d.number()
	if d.err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(string(text), 10, 64)
	if err != nil {
		d.pos = start
		d.want("an integer")
		return 0, false
	}
	return n, true
}

// intPtr returns an integer value as a pointer, nil for null.
func (d *decoder) intPtr() *int {
	n, ok := d.int()
	if !ok || n != int64(int(n)) {
		return nil
	}
	v := int(n)
	return &v
}

// skip consumes any value, validating it.
func (d *decoder) skip() {
	if d.err != nil {
		return
	}
	switch c := d.peek(); {
	case c == '"':
		d.rawStringSkip()
	case c == '{':
		if d.object() {
			for d.next() {
				d.skip()
			}
		}
	case c == '[':
		if d.array() {
			for d.elem() {
				d.skip()
			}
		}
	case c == 't':
		d.literal("true")
	case c == 'f':
		d.literal("false")
	case c == 'n':
		d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		d.number()
	default:
		d.want("a value")
	}
}

// rawStringSkip consumes a string without unescaping it, but checking it.
func (d *decoder) rawStringSkip() {
	if end, _ := d.stringEnd(d.pos + 1); d.err == nil {
		d.pos = end + 1
	}
}
