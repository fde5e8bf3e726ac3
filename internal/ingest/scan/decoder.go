// SPDX-License-Identifier: Apache-2.0

package scan

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

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Decoder reads one JSON record held in memory, value by value, building
// only what it is asked for and skipping (while validating) the rest:
//
//	d.Reset(line)
//	if d.Object() {
//		for d.Next() {
//			switch string(d.Key()) {
//			case "ip":
//				v = d.Str()
//			default:
//				d.Skip()
//			}
//		}
//	}
//	d.End()
//	if err := d.Err(); err != nil { … }
//
// Every method is a no-op once an error is recorded, so callers check Err
// once, at the end. The zero value is ready for Reset; a Decoder is meant to
// be reused, record after record, so that its buffers are too.
type Decoder struct {
	// MaxDepth bounds how deeply objects and arrays may nest; 0 means
	// DefaultMaxDepth. A deeper record is an error.
	MaxDepth int

	data   []byte
	pos    int
	depth  int
	err    error
	key    []byte // the key of the member Next moved to; valid until the next call
	keyBuf []byte // the last unescaped key
	valBuf []byte // the last unescaped string value
}

// SyntaxError is the error a Decoder records: invalid JSON, a value of the
// wrong kind, or nesting beyond the limit, with where it was found.
type SyntaxError struct {
	Offset int    // byte offset in the record
	Msg    string // what is wrong
}

// Error returns the message with its offset, "msg (byte N)".
func (e *SyntaxError) Error() string { return fmt.Sprintf("%s (byte %d)", e.Msg, e.Offset) }

// Reset prepares d to decode data, forgetting any error. d keeps data (and
// returns slices of it) until the next Reset.
func (d *Decoder) Reset(data []byte) {
	d.data, d.pos, d.depth, d.err, d.key = data, 0, 0, nil, nil
}

// Err returns the first error recorded since Reset, a *SyntaxError, or nil.
func (d *Decoder) Err() error { return d.err }

// Key returns the key of the member Next moved to, unescaped; the bytes are
// valid until the next call of Next. It is nil outside an object.
func (d *Decoder) Key() []byte { return d.key }

// Offset returns the byte offset in the record of the next unread byte. With
// WantAt, it lets a caller report a value that decoded but is out of range
// where the value starts.
func (d *Decoder) Offset() int { return d.pos }

// fail records the first error.
func (d *Decoder) fail(msg string) {
	if d.err == nil {
		d.err = &SyntaxError{Offset: d.pos, Msg: msg}
	}
}

// syntax records a grammar error.
func (d *Decoder) syntax(msg string) { d.fail("invalid JSON: " + msg) }

// Want records that the next value, of the member Key, is not what the
// format has there ("an object", "a string"): the error reads `"key" must
// be what`. If there is no value at all, it records a grammar error instead.
func (d *Decoder) Want(what string) {
	c := d.Peek()
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

// WantAt is Want for the value at offset off, a value already read that
// turned out to be out of range; off is what Offset returned before it was
// read. It leaves d at off, which does not matter: d has an error now.
func (d *Decoder) WantAt(off int, what string) {
	d.pos = off
	d.Want(what)
}

// Reword replaces the recorded error, if there is one, with msg at the
// current offset, for a caller that can say better than d what the value
// should have been. Without an error it does nothing.
func (d *Decoder) Reword(msg string) {
	if d.err != nil {
		d.err = &SyntaxError{Offset: d.pos, Msg: msg}
	}
}

// Peek skips white space and returns the first byte of the next value (or
// of "}", "]" or ","), so that a caller can tell a string from a number from
// null; it returns 0 at the end of the record (which a caller that cares
// tells from a NUL byte by Offset).
func (d *Decoder) Peek() byte {
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

// End records an error unless only white space follows the value read.
func (d *Decoder) End() {
	if d.Peek(); d.err == nil && d.pos < len(d.data) {
		d.syntax("unexpected data after the record")
	}
}

// Null consumes null and reports whether it was there.
func (d *Decoder) Null() bool {
	if d.err == nil && d.Peek() == 'n' {
		d.literal("null")
		return true
	}
	return false
}

func (d *Decoder) literal(word string) {
	if !bytes.HasPrefix(d.data[d.pos:], []byte(word)) {
		d.syntax("want a value")
		return
	}
	d.pos += len(word)
}

// open consumes the opening bracket of an object or array. It returns false
// for null (an absent value, as encoding/json takes it) and, with an error,
// for any other value.
func (d *Decoder) open(bracket byte, what string) bool {
	if d.err != nil || d.Null() {
		return false
	}
	if d.Peek() != bracket {
		d.Want(what)
		return false
	}
	max := d.MaxDepth
	if max <= 0 {
		max = DefaultMaxDepth
	}
	if d.depth++; d.depth > max {
		d.fail(fmt.Sprintf("the record nests deeper than %d levels", max))
		return false
	}
	d.pos++
	return true
}

// Object consumes the "{" of an object and reports whether it did: it
// returns false for null (an absent value, as encoding/json takes it) and,
// recording an error, for any other value. Read the members with Next.
func (d *Decoder) Object() bool { return d.open('{', "an object") }

// Array consumes the "[" of an array and reports whether it did: it returns
// false for null and, recording an error, for any other value. Read the
// elements with Elem.
func (d *Decoder) Array() bool { return d.open('[', "an array") }

// after reports whether the byte before the next non-space one, looking
// back, is c: the way Next and Elem tell the first member from the others
// without keeping a stack.
func (d *Decoder) after(c byte) bool {
	i := d.pos - 1
	for i >= 0 && (d.data[i] == ' ' || d.data[i] == '\t' || d.data[i] == '\r' || d.data[i] == '\n') {
		i--
	}
	return i >= 0 && d.data[i] == c
}

// Next moves to the next member of the current object, setting Key and
// consuming the colon; it returns false, consuming "}", at the end (or on
// error). The caller must consume the member's value, if only with Skip,
// before calling Next again.
func (d *Decoder) Next() bool {
	if d.err != nil {
		return false
	}
	switch d.Peek() {
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
		if d.Peek() != '"' {
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
	if d.Peek() != ':' {
		d.syntax("want a colon after the key")
		return false
	}
	d.pos++
	return true
}

// Elem moves to the next element of the current array; it returns false,
// consuming "]", at the end (or on error). The caller must consume the
// element before calling Elem again.
func (d *Decoder) Elem() bool {
	if d.err != nil {
		return false
	}
	switch d.Peek() {
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

// Str returns a string value, unescaped; null (and an error) gives "".
func (d *Decoder) Str() string {
	if b, ok := d.StrBytes(); ok {
		return string(b)
	}
	return ""
}

// StrBytes returns a string value, unescaped, without copying it when it
// has no escapes; the bytes are valid until the next call of d's methods.
// ok is false for null and on error.
func (d *Decoder) StrBytes() (b []byte, ok bool) {
	if d.err != nil || d.Null() {
		return nil, false
	}
	if d.Peek() != '"' {
		d.Want("a string")
		return nil, false
	}
	b = d.rawString(false)
	return b, d.err == nil
}

// rawString reads the string at d.pos. A string without escapes is
// returned in place; one with escapes is unescaped into d.keyBuf or d.valBuf,
// so that a key stays valid while its value is read.
func (d *Decoder) rawString(key bool) []byte {
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
	*buf = unescape((*buf)[:0], d.data[start:end])
	return *buf
}

// stringEnd returns the index of the closing quote of the string whose
// content starts at start, and whether it has escapes. It rejects control
// characters and malformed escapes.
func (d *Decoder) stringEnd(start int) (end int, escaped bool) {
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
func unescape(out, s []byte) []byte {
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

// Bool returns a boolean value; ok is false for null and on error.
func (d *Decoder) Bool() (v, ok bool) {
	if d.err != nil || d.Null() {
		return false, false
	}
	switch d.Peek() {
	case 't':
		d.literal("true")
		v = true
	case 'f':
		d.literal("false")
	default:
		d.Want("a boolean")
		return false, false
	}
	return v, d.err == nil
}

// Number returns the text of a number value, as written (for a caller that
// keeps it as text or parses it itself); the bytes are valid until the next
// Reset. It returns nil for null and on error.
func (d *Decoder) Number() []byte {
	if d.err != nil || d.Null() {
		return nil
	}
	if c := d.Peek(); c != '-' && (c < '0' || c > '9') {
		d.Want("a number")
		return nil
	}
	return d.number()
}

// number returns the text of the number at d.pos.
func (d *Decoder) number() []byte {
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

// Int returns an integer value; ok is false for null and on error (a
// fraction, or a number beyond int64, is an error, as in encoding/json).
func (d *Decoder) Int() (n int64, ok bool) {
	if d.err != nil || d.Null() {
		return 0, false
	}
	start := d.pos
	if c := d.Peek(); c != '-' && (c < '0' || c > '9') {
		d.Want("a number")
		return 0, false
	}
	text := d.number()
	if d.err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(string(text), 10, 64)
	if err != nil {
		d.pos = start
		d.Want("an integer")
		return 0, false
	}
	return n, true
}

// IntPtr returns an integer value as a pointer: nil for null, on error, and
// for a value beyond int.
func (d *Decoder) IntPtr() *int {
	n, ok := d.Int()
	if !ok || n != int64(int(n)) {
		return nil
	}
	v := int(n)
	return &v
}

// Skip consumes any value, validating it.
func (d *Decoder) Skip() {
	if d.err != nil {
		return
	}
	switch c := d.Peek(); {
	case c == '"':
		d.rawStringSkip()
	case c == '{':
		if d.Object() {
			for d.Next() {
				d.Skip()
			}
		}
	case c == '[':
		if d.Array() {
			for d.Elem() {
				d.Skip()
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
		d.Want("a value")
	}
}

// rawStringSkip consumes a string without unescaping it, but checking it.
func (d *Decoder) rawStringSkip() {
	if end, _ := d.stringEnd(d.pos + 1); d.err == nil {
		d.pos = end + 1
	}
}
