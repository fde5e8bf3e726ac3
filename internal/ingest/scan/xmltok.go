// SPDX-License-Identifier: Apache-2.0

package scan

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// xmlTokenizer turns the bytes of an XML document into the tokens
// encoding/xml's Decoder.RawToken returns (strict mode, no CharsetReader),
// with the same syntax errors on the same lines, for XMLGuard. encoding/xml
// reads one byte per call through an io.ByteReader and copies every token
// into a buffer of its own: that was four fifths of the nmap reader's time
// (issue 14). xmlTokenizer scans a buffer of its own with loops over byte
// classes, returns text, comments and instructions in place when nothing in
// them needs decoding, and interns names and short attribute values.
//
// Its functions follow rawToken's, one for one, so that the two read side
// by side: the errors of encoding/xml depend on exactly how far it read
// (its line numbers count the newlines consumed, a byte put back with
// ungetc included), and xmlTokenizer consumes the same bytes before each
// one. Its cursor pos plays encoding/xml's offset; pos-- is ungetc. The
// differential test and fuzz target of xml_raw_test.go hold the two to the
// same tokens and errors.
//
// The budget: reading may not reach the input offset limit, which XMLGuard
// moves before each token or record; past it, the token fails with
// errTooLarge. Each token is kept whole in buf while it is read, so memory
// is bounded by a small multiple of the budget (buf, out, the strings made).
type xmlTokenizer struct {
	br *bufio.Reader
	// buf[tok:] holds the token being read, kept for its bytes to be
	// returned in place; buf[pos:end] may be read without a check, end being
	// where what was read so far or the budget ends, whichever comes first.
	buf   []byte
	tok   int
	pos   int
	end   int
	base  int64 // the input offset of buf[0]
	limit int64 // the input offset reading may not reach

	lines   int // newlines in the input before buf[counted]
	counted int //

	rerr error // the underlying reader's error other than io.EOF
	// err is sticky, as encoding/xml's: io.EOF once the input ended (a
	// token may still come with it, as the last text), errTooLarge, a read
	// error, a syntax error. Every function that fails leaves its reason
	// here and returns false; getc refuses to read once it is set.
	err error

	needClose bool     // the last start tag was empty: its end comes next
	toClose   xml.Name //

	out  []byte     // text after decoding, when it differs from the input's
	slab []xml.Attr // what the Attr slices of start tags are carved from

	names  internTable // element and attribute names, checked ones only
	values internTable // attribute values
	ends   tokenCache  // end tags
	bare   tokenCache  // start tags without attributes
}

const (
	// xmlChunk is the size of the buffer, and of the reads from br.
	xmlChunk = 64 << 10
	// maxKeptOut is the largest out kept from one token to the next: a huge
	// decoded text is rare, and its buffer goes with it.
	maxKeptOut = 1 << 20
	// attrSlab is how many attributes one allocation serves.
	attrSlab = 128
	// maxInterned is the longest name or attribute value interned: longer
	// ones (banners, script output) rarely repeat, and the table stays small.
	maxInterned = 64
)

// offset returns the input offset of pos: how far the input was consumed.
func (s *xmlTokenizer) offset() int64 { return s.base + int64(s.pos) }

// setLimit lets reading go up to the input offset limit, and no further.
func (s *xmlTokenizer) setLimit(limit int64) {
	s.limit = limit
	s.clampEnd()
}

func (s *xmlTokenizer) clampEnd() {
	s.end = len(s.buf)
	if room := s.limit - s.base; room < int64(s.end) {
		s.end = int(max(room, 0))
	}
}

// fill reads more of the input after what buf holds, dropping what
// precedes the token being read, and reports whether any came. It sets
// s.err when not: io.EOF, or the read error, which it also keeps in rerr.
func (s *xmlTokenizer) fill() bool {
	keep := s.buf[s.tok:]
	if s.counted < s.tok {
		s.lineAt(s.tok) // count the lines of what is dropped
	}
	var nb []byte
	switch {
	case s.buf == nil:
		nb = make([]byte, 0, xmlChunk)
	case cap(s.buf)-len(keep) < cap(s.buf)/4:
		// The token fills most of the buffer: double it, so that a long
		// token costs a few copies, not one per read. The token is bounded
		// by the budget, so is the buffer, by less than three times it.
		nb = make([]byte, len(keep), 2*cap(s.buf))
	case cap(s.buf) > 4*xmlChunk && len(keep) < xmlChunk/2:
		// A huge token went by: let its buffer go.
		nb = make([]byte, len(keep), xmlChunk)
	default:
		// Move the token to the front; it is there already after the
		// first refill of a long token, which must not copy it at each.
		nb = s.buf[:len(keep)]
		if s.tok == 0 {
			keep = nil
		}
	}
	copy(nb, keep)
	s.buf = nb
	s.base += int64(s.tok)
	s.pos -= s.tok
	s.counted -= s.tok
	s.tok = 0
	defer s.clampEnd()
	// bufio.Reader.Read returns (0, nil) only when the reader under it
	// does; give up after as many tries as bufio itself makes.
	for range 100 {
		n, err := s.br.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if n > 0 {
			// An error that came with data comes again on the next read.
			return true
		}
		if err != nil {
			if err != io.EOF {
				s.rerr = err
			}
			s.err = err
			return false
		}
	}
	s.rerr = io.ErrNoProgress
	s.err = s.rerr
	return false
}

// ensure makes buf[pos] readable, and reports whether it could: at the end
// of the input or of the budget, or after an error, it returns false with
// the reason in s.err.
func (s *xmlTokenizer) ensure() bool {
	if s.pos < s.end {
		return true
	}
	if s.err != nil {
		return false
	}
	if s.offset() >= s.limit {
		s.err = errTooLarge
		return false
	}
	return s.fill()
}

// getc consumes one byte, as encoding/xml's getc. Its fast path is small
// enough to be inlined; so is mustgetc's.
func (s *xmlTokenizer) getc() (byte, bool) {
	if s.pos < s.end {
		b := s.buf[s.pos]
		s.pos++
		return b, true
	}
	return s.getcSlow(false)
}

// mustgetc consumes one byte, where the end of the input is a syntax error.
func (s *xmlTokenizer) mustgetc() (byte, bool) {
	if s.pos < s.end {
		b := s.buf[s.pos]
		s.pos++
		return b, true
	}
	return s.getcSlow(true)
}

// getcSlow is getc and mustgetc (must) past what buf holds.
func (s *xmlTokenizer) getcSlow(must bool) (byte, bool) {
	if !s.ensure() {
		if must {
			s.eofIsSyntax()
		}
		return 0, false
	}
	b := s.buf[s.pos]
	s.pos++
	return b, true
}

// eofIsSyntax makes the end of the input, if that is what stopped reading,
// the syntax error it is inside a token.
func (s *xmlTokenizer) eofIsSyntax() {
	if s.err == io.EOF {
		s.err = s.syntaxError("unexpected EOF")
	}
}

// lineAt returns the 1-based line of buf[i]: newlines are counted as
// positions are asked for, not byte by byte as the input is read.
func (s *xmlTokenizer) lineAt(i int) int {
	if i < s.counted {
		return s.lines + 1 - bytes.Count(s.buf[i:s.counted], []byte{'\n'})
	}
	s.lines += bytes.Count(s.buf[s.counted:i], []byte{'\n'})
	s.counted = i
	return s.lines + 1
}

// syntaxError returns the syntax error msg at the line of pos.
func (s *xmlTokenizer) syntaxError(msg string) error {
	return &xml.SyntaxError{Msg: msg, Line: s.lineAt(s.pos)}
}

// fail sets the syntax error msg, unless reading already failed.
func (s *xmlTokenizer) fail(msg string) (xml.Token, error) {
	if s.err == nil {
		s.err = s.syntaxError(msg)
	}
	return nil, s.err
}

// next returns the next token, as encoding/xml's rawToken: element names
// keep their prefixes, end tags are not matched to start tags. Byte slices
// in the token are valid until the next call.
func (s *xmlTokenizer) next() (xml.Token, error) {
	if s.err != nil {
		return nil, s.err
	}
	s.tok = s.pos
	if s.needClose {
		// The last start tag was empty, and only its StartElement half
		// was returned.
		s.needClose = false
		return s.ends.get(s.toClose, endElement), nil
	}
	b, ok := s.getc()
	if !ok {
		return nil, s.err
	}
	if b != '<' {
		s.pos--
		data, ok := s.text(-1, false)
		if !ok {
			return nil, s.err
		}
		return xml.CharData(data), nil
	}
	if b, ok = s.mustgetc(); !ok {
		return nil, s.err
	}
	switch b {
	case '/':
		name, ok := s.nsname()
		if !ok {
			return s.fail("expected element name after </")
		}
		s.space()
		if b, ok = s.mustgetc(); !ok {
			return nil, s.err
		}
		if b != '>' {
			return s.fail("invalid characters between </" + name.Local + " and >")
		}
		return s.ends.get(name, endElement), nil
	case '?':
		return s.procInst()
	case '!':
		return s.bang()
	}
	s.pos--
	return s.startElement()
}

// startElement reads a start tag from its name on.
func (s *xmlTokenizer) startElement() (xml.Token, error) {
	name, ok := s.nsname()
	if !ok {
		return s.fail("expected element name after <")
	}
	// The attributes go straight into the free part of the slab, and stay
	// there if they fit (see carve).
	if len(s.slab) < attrSlab/16 {
		s.slab = make([]xml.Attr, attrSlab)
	}
	attrs := s.slab[:0]
	empty := false
	for {
		s.space()
		b, ok := s.mustgetc()
		if !ok {
			return nil, s.err
		}
		if b == '/' {
			empty = true
			if b, ok = s.mustgetc(); !ok {
				return nil, s.err
			}
			if b != '>' {
				return s.fail("expected /> in element")
			}
			break
		}
		if b == '>' {
			break
		}
		s.pos--
		var a xml.Attr
		if a.Name, ok = s.nsname(); !ok {
			return s.fail("expected attribute name in element")
		}
		s.space()
		if b, ok = s.mustgetc(); !ok {
			return nil, s.err
		}
		if b != '=' {
			return s.fail("attribute name without = in element")
		}
		s.space()
		if b, ok = s.mustgetc(); !ok {
			return nil, s.err
		}
		if b != '"' && b != '\'' {
			return s.fail("unquoted or missing attribute value in element")
		}
		data, ok := s.text(int(b), false)
		if !ok {
			return nil, s.err
		}
		a.Value = s.values.get(data)
		attrs = append(attrs, a)
	}
	if empty {
		s.needClose = true
		s.toClose = name
	}
	if len(attrs) == 0 {
		return s.bare.get(name, bareStartElement), nil
	}
	return xml.StartElement{Name: name, Attr: s.carve(attrs)}, nil
}

// carve cuts attrs, appended to s.slab[:0], from the slab, so that start
// tags share allocations without sharing memory: each slice is capped at
// its length, and is never nil (encoding/xml's start tags without
// attributes carry an empty slice). When they did not fit, append moved
// them to an array of their own, and the slab is left as it was.
func (s *xmlTokenizer) carve(attrs []xml.Attr) []xml.Attr {
	n := len(attrs)
	if n <= len(s.slab) { // the slab's length is its capacity
		s.slab = s.slab[n:]
	}
	return attrs[:n:n]
}

// procInst reads a processing instruction after its "<?", refusing what
// encoding/xml refuses in an XML declaration.
func (s *xmlTokenizer) procInst() (xml.Token, error) {
	target, ok := s.name()
	if !ok {
		return s.fail("expected target name after <?")
	}
	s.space()
	start := s.pos - s.tok
	var b0 byte
	for {
		b, ok := s.mustgetc()
		if !ok {
			return nil, s.err
		}
		if b0 == '?' && b == '>' {
			break
		}
		b0 = b
	}
	data := s.buf[s.tok+start : s.pos-2]
	if target == "xml" {
		content := string(data)
		if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
			s.err = fmt.Errorf("xml: unsupported version %q; only version 1.0 is supported", ver)
			return nil, s.err
		}
		if enc := procInstParam("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
			// encoding/xml needs a CharsetReader for these; scanners write
			// UTF-8 only.
			s.err = fmt.Errorf("xml: encoding %q declared but Decoder.CharsetReader is nil", enc)
			return nil, s.err
		}
	}
	return xml.ProcInst{Target: target, Inst: data}, nil
}

// procInstParam returns the value of param in the content of an XML
// declaration, found as encoding/xml finds it (its procInst, not exact
// either: "xversion='2'" counts as version).
func procInstParam(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// bang reads what follows "<!": a comment, a CDATA section or a directive.
func (s *xmlTokenizer) bang() (xml.Token, error) {
	b, ok := s.mustgetc()
	if !ok {
		return nil, s.err
	}
	switch b {
	case '-':
		if b, ok = s.mustgetc(); !ok {
			return nil, s.err
		}
		if b != '-' {
			return s.fail("invalid sequence <!- not part of <!--")
		}
		start := s.pos - s.tok
		var b0, b1 byte
		for {
			if b, ok = s.mustgetc(); !ok {
				return nil, s.err
			}
			if b0 == '-' && b1 == '-' {
				if b != '>' {
					return s.fail(`invalid sequence "--" not allowed in comments`)
				}
				break
			}
			b0, b1 = b1, b
		}
		return xml.Comment(s.buf[s.tok+start : s.pos-3]), nil
	case '[':
		for i := range len("CDATA[") {
			if b, ok = s.mustgetc(); !ok {
				return nil, s.err
			}
			if b != "CDATA["[i] {
				return s.fail("invalid <![ sequence")
			}
		}
		data, ok := s.text(-1, true)
		if !ok {
			return nil, s.err
		}
		return xml.CharData(data), nil
	}
	return s.directive(b)
}

// directive reads a directive (<!DOCTYPE …>, <!ENTITY …>) whose first byte
// b was read, as encoding/xml does: quoted '>' and nested <…> do not end
// it, and comments inside become a space.
func (s *xmlTokenizer) directive(b byte) (xml.Token, error) {
	if cap(s.out) > maxKeptOut {
		s.out = nil
	}
	s.out = append(s.out[:0], b)
	inquote := byte(0)
	depth := 0
	var ok bool
	for {
		if b, ok = s.mustgetc(); !ok {
			return nil, s.err
		}
		if inquote == 0 && b == '>' && depth == 0 {
			break
		}
	handle:
		s.out = append(s.out, b)
		switch {
		case b == inquote:
			inquote = 0
		case inquote != 0:
			// in quotes, no special action
		case b == '\'' || b == '"':
			inquote = b
		case b == '>':
			depth--
		case b == '<':
			const open = "!--"
			for i := range len(open) {
				if b, ok = s.mustgetc(); !ok {
					return nil, s.err
				}
				if b != open[i] {
					s.out = append(s.out, open[:i]...)
					depth++
					goto handle
				}
			}
			s.out = s.out[:len(s.out)-1] // the '<' of the comment
			var b0, b1 byte
			for {
				if b, ok = s.mustgetc(); !ok {
					return nil, s.err
				}
				if b0 == '-' && b1 == '-' && b == '>' {
					break
				}
				b0, b1 = b1, b
			}
			// A space, so that what the comment separated stays apart.
			s.out = append(s.out, ' ')
		}
	}
	return xml.Directive(s.out), nil
}

// space skips white space.
func (s *xmlTokenizer) space() {
	for {
		for s.pos < s.end {
			switch s.buf[s.pos] {
			case ' ', '\r', '\n', '\t':
				s.pos++
			default:
				return
			}
		}
		if !s.ensure() {
			return
		}
	}
}

// Byte classes for the loops of text: a byte whose class has a bit of the
// loop's mask ends the run of bytes copied as they are.
const (
	cLT    = 1 << iota // '<'
	cAmp               // '&'
	cCR                // '\r'
	cGT                // '>', which may end "]]>"
	cQuot              // '"'
	cApos              // '\''
	cCheck             // bytes ≥ 0x80 and control characters: valid only after the final check
)

const (
	textMask  = cLT | cAmp | cCR | cGT | cCheck
	cdataMask = cCR | cGT | cCheck
	quotMask  = cLT | cAmp | cCR | cQuot | cCheck
	aposMask  = cLT | cAmp | cCR | cApos | cCheck
)

var charClass = func() (c [256]uint8) {
	for b := range 0x20 {
		if b != '\t' && b != '\n' {
			c[b] = cCheck
		}
	}
	for b := utf8.RuneSelf; b < 256; b++ {
		c[b] = cCheck
	}
	c['<'], c['&'], c['\r'], c['>'], c['"'], c['\''] = cLT, cAmp, cCR, cGT, cQuot, cApos
	return c
}()

// nameByte holds the bytes that may continue a name as encoding/xml reads
// it: ASCII name bytes, and any byte ≥ 0x80, which the check of the whole
// name (isName) judges.
var nameByte = func() (t [256]bool) {
	for b := range 256 {
		t[b] = b >= utf8.RuneSelf || isNameByte(byte(b))
	}
	return t
}()

// text reads character data from pos, as encoding/xml's text: up to a '<'
// (not consumed) when quote < 0 and not cdata, through the quote byte when
// quote ≥ 0, through "]]>" when cdata. It decodes character references,
// turns "\r\n" and "\r" into "\n", and checks the result for UTF-8 and the
// XML character range. The data is buf's own bytes when nothing was
// decoded, out's otherwise; either is valid until the next token. At the
// end of the input, text and attribute values (but not CDATA) end without
// an error, s.err being io.EOF, as in encoding/xml.
func (s *xmlTokenizer) text(quote int, cdata bool) ([]byte, bool) {
	var mask uint8
	switch {
	case cdata:
		mask = cdataMask
	case quote == '"':
		mask = quotMask
	case quote == '\'':
		mask = aposMask
	default:
		mask = textMask
	}
	if cap(s.out) > maxKeptOut {
		s.out = nil
	}
	s.out = s.out[:0]
	decoded := false // the data is out, not buf's bytes
	check := false   // the data holds bytes that need the final check
	// Positions are counted from buf[tok], which fill may move.
	from := s.pos - s.tok // the bytes from here on are not in out yet
	raw := from           // "]]>" counts from here on: a reference breaks it
	stop := 0             // where the data ends
loop:
	for {
		for s.pos < s.end && charClass[s.buf[s.pos]]&mask == 0 {
			s.pos++
		}
		if s.pos == s.end {
			if s.ensure() {
				continue
			}
			if s.err != io.EOF {
				return nil, false
			}
			if cdata {
				s.err = s.syntaxError("unexpected EOF in CDATA section")
				return nil, false
			}
			stop = s.pos - s.tok
			break
		}
		i := s.pos
		b := s.buf[i]
		switch {
		case b == '<':
			if quote >= 0 {
				s.pos++
				s.err = s.syntaxError("unescaped < inside quoted string")
				return nil, false
			}
			stop = i - s.tok
			break loop
		case int(b) == quote:
			s.pos++
			stop = i - s.tok
			break loop
		case b == '>':
			s.pos++
			if i-2 >= s.tok+raw && s.buf[i-1] == ']' && s.buf[i-2] == ']' {
				if !cdata {
					s.err = s.syntaxError("unescaped ]]> not in CDATA section")
					return nil, false
				}
				stop = i - 2 - s.tok
				break loop
			}
		case b == '&':
			s.out = append(s.out, s.buf[s.tok+from:i]...)
			decoded = true
			s.pos++
			if !s.entity(&check) {
				return nil, false
			}
			from = s.pos - s.tok
			raw = from
		case b == '\r':
			s.out = append(s.out, s.buf[s.tok+from:i]...)
			s.out = append(s.out, '\n')
			decoded = true
			s.pos++
			// At the end of the input, the next round stops as it should.
			if s.ensure() && s.buf[s.pos] == '\n' {
				s.pos++
			}
			from = s.pos - s.tok
		default:
			check = true
			s.pos++
		}
	}
	var data []byte
	if decoded {
		s.out = append(s.out, s.buf[s.tok+from:s.tok+stop]...)
		data = s.out
	} else {
		data = s.buf[s.tok+from : s.tok+stop]
	}
	if check {
		for d := data; len(d) > 0; {
			r, size := utf8.DecodeRune(d)
			if r == utf8.RuneError && size == 1 {
				s.err = s.syntaxError("invalid UTF-8")
				return nil, false
			}
			d = d[size:]
			if !isInCharacterRange(r) {
				s.err = s.syntaxError(fmt.Sprintf("illegal character code %U", r))
				return nil, false
			}
		}
	}
	return data, true
}

// entity appends to out the character the reference whose '&' was just
// read stands for: one of the five predefined entities or a numeric
// reference. Anything else is an error, as in encoding/xml's strict mode,
// which also reads the same bytes first. It sets *check when the character
// needs the final check of text.
func (s *xmlTokenizer) entity(check *bool) bool {
	amp := s.pos - 1 - s.tok
	b, ok := s.mustgetc()
	if !ok {
		return false
	}
	if b == '#' {
		if b, ok = s.mustgetc(); !ok {
			return false
		}
		base := uint64(10)
		if b == 'x' {
			base = 16
			if b, ok = s.mustgetc(); !ok {
				return false
			}
		}
		var n uint64
		digits := 0
		for {
			d := digitValue(b)
			if d >= base {
				break
			}
			if n <= unicode.MaxRune { // once past it, it stays past
				n = n*base + d
			}
			digits++
			if b, ok = s.mustgetc(); !ok {
				return false
			}
		}
		if b == ';' && digits > 0 && n <= unicode.MaxRune {
			r := rune(n)
			if r < 0x20 || r >= utf8.RuneSelf {
				*check = true
			}
			// A surrogate becomes U+FFFD, as encoding/xml's string(rune(n)).
			s.out = utf8.AppendRune(s.out, r)
			return true
		}
		if b != ';' {
			s.pos--
		}
	} else {
		s.pos--
		start, named := s.readName()
		if !named && s.err != nil {
			return false
		}
		if b, ok = s.mustgetc(); !ok {
			return false
		}
		if b == ';' && named {
			if c := predefinedEntity(s.buf[s.tok+start : s.pos-1]); c != 0 {
				s.out = append(s.out, c)
				return true
			}
		}
		if b != ';' {
			s.pos--
		}
	}
	ent := string(s.buf[s.tok+amp : s.pos])
	if ent[len(ent)-1] != ';' {
		ent += " (no semicolon)"
	}
	s.err = s.syntaxError("invalid character entity " + ent)
	return false
}

// digitValue returns the value of the hexadecimal digit b, or 16.
func digitValue(b byte) uint64 {
	switch {
	case '0' <= b && b <= '9':
		return uint64(b - '0')
	case 'a' <= b && b <= 'f':
		return uint64(b - 'a' + 10)
	case 'A' <= b && b <= 'F':
		return uint64(b - 'A' + 10)
	}
	return 16
}

// predefinedEntity returns the character of one of XML's five predefined
// entities, or 0.
func predefinedEntity(name []byte) byte {
	switch string(name) {
	case "lt":
		return '<'
	case "gt":
		return '>'
	case "amp":
		return '&'
	case "apos":
		return '\''
	case "quot":
		return '"'
	}
	return 0
}

// isInCharacterRange reports whether r is an XML Char (XML 1.0 §2.2).
func isInCharacterRange(r rune) bool {
	return r == 0x09 ||
		r == 0x0A ||
		r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// readName reads the bytes of a name from pos, as encoding/xml's readName,
// and returns where it starts, counted from buf[tok]. It returns false
// without an error when no name starts at pos, and with one when the input
// ends inside the name.
func (s *xmlTokenizer) readName() (start int, ok bool) {
	b, ok := s.mustgetc()
	if !ok {
		return 0, false
	}
	if !nameByte[b] {
		s.pos--
		return 0, false
	}
	start = s.pos - 1 - s.tok
	for {
		for s.pos < s.end && nameByte[s.buf[s.pos]] {
			s.pos++
		}
		if s.pos < s.end {
			return start, true
		}
		if !s.ensure() {
			s.eofIsSyntax()
			return 0, false
		}
	}
}

// name reads a name and checks it, as encoding/xml's name.
func (s *xmlTokenizer) name() (string, bool) {
	start, ok := s.readName()
	if !ok {
		return "", false
	}
	b := s.buf[s.tok+start : s.pos]
	e := s.names.slot(b)
	if e != nil && *e == string(b) {
		return *e, true // checked when it was stored
	}
	if !isName(b) {
		s.err = s.syntaxError("invalid XML name: " + string(b))
		return "", false
	}
	if e == nil {
		return string(b), true
	}
	*e = string(b)
	return *e, true
}

// nsname reads a name and splits it at its colon, as encoding/xml's
// nsname: a name with two colons is no name, one with a colon at either
// end has no prefix.
func (s *xmlTokenizer) nsname() (xml.Name, bool) {
	n, ok := s.name()
	if !ok {
		return xml.Name{}, false
	}
	i := strings.IndexByte(n, ':')
	switch {
	case i < 0:
		return xml.Name{Local: n}, true
	case strings.IndexByte(n[i+1:], ':') >= 0:
		return xml.Name{}, false
	case i == 0 || i == len(n)-1:
		return xml.Name{Local: n}, true
	}
	return xml.Name{Space: n[:i], Local: n[i+1:]}, true
}

// isName reports whether b, read by readName, is an XML name. An ASCII
// name is one when it starts with a letter, '_' or ':'. A name with other
// letters, which no scanner writes, is judged by encoding/xml itself, whose
// tables of XML 1.0's Appendix B letters are unexported: through a one-off
// decoder reading "<?name?>", which fails on a bad name only.
func isName(b []byte) bool {
	c := b[0]
	if c < utf8.RuneSelf && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == ':') {
		return false
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			pi := make([]byte, 0, len(b)+4)
			pi = append(append(append(pi, "<?"...), b...), "?>"...)
			_, err := xml.NewDecoder(bytes.NewReader(pi)).RawToken()
			return err == nil
		}
	}
	return true
}

// internTable keeps recent short strings, so that the names and common
// values of a document, repeated in every record, are allocated once. It is
// a direct-mapped cache: bounded, and a miss costs what no table would.
type internTable [512]string

// slot returns the entry of the table where b would be, nil when b is too
// long to be kept.
func (t *internTable) slot(b []byte) *string {
	if len(b) > maxInterned {
		return nil
	}
	h := uint32(2166136261) // FNV-1a
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return &t[(h^h>>16)%uint32(len(t))]
}

// get returns b as a string, from the table when it holds it.
func (t *internTable) get(b []byte) string {
	e := t.slot(b)
	if e == nil {
		return string(b)
	}
	if *e != string(b) {
		*e = string(b)
	}
	return *e
}

// tokenCache keeps the tokens of recent names as xml.Token values. Putting
// a token into an interface allocates a copy of it, and end tags and start
// tags without attributes come back with every record; the copy can be
// shared, because nothing can change it through the interface (a type
// assertion copies it out, and an empty Attr slice has no room to append
// into). A direct-mapped cache, as internTable.
type tokenCache [64]struct {
	name xml.Name
	tok  xml.Token
}

func endElement(name xml.Name) xml.Token { return xml.EndElement{Name: name} }

func bareStartElement(name xml.Name) xml.Token {
	return xml.StartElement{Name: name, Attr: noAttrs}
}

// noAttrs is the Attr of start tags without attributes: empty and not nil,
// as encoding/xml's.
var noAttrs = []xml.Attr{}

// get returns the token build makes of name, from the cache when it holds
// it. Names are never empty.
func (c *tokenCache) get(name xml.Name, build func(xml.Name) xml.Token) xml.Token {
	l := name.Local
	e := &c[(len(l)*7+int(l[0])*3+int(l[len(l)-1]))%len(c)]
	if e.tok == nil || e.name != name {
		e.name, e.tok = name, build(name)
	}
	return e.tok
}

// skipTo reads past everything before the next start tag "<name" of one
// of names (the name followed by white space, '/' or '>'), without a
// budget, and leaves pos at its '<'. It skips comments, which may mention a
// start tag, and keeps nothing it skips. It clears the sticky error, and
// returns false at the end of the input or on a read error (rerr).
func (s *xmlTokenizer) skipTo(names []string) (string, bool) {
	s.err, s.needClose = nil, false
	s.setLimit(math.MaxInt64)
	for {
		s.tok = s.pos
		i := bytes.IndexByte(s.buf[s.pos:], '<')
		if i < 0 {
			s.pos = len(s.buf)
			s.tok = s.pos
			if !s.fill() {
				return "", false
			}
			continue
		}
		s.pos += i
		s.tok = s.pos // keep the tag while its name is read
		s.pos++
		if !s.ensure() {
			return "", false
		}
		if s.buf[s.pos] == '!' {
			s.pos++
			if !s.skipComment() {
				return "", false
			}
			continue
		}
		for s.pos-s.tok <= maxResyncName {
			if !s.ensure() {
				return "", false
			}
			if !isNameByte(s.buf[s.pos]) {
				break
			}
			s.pos++
		}
		if !s.ensure() {
			return "", false
		}
		switch s.buf[s.pos] {
		case ' ', '\t', '\r', '\n', '/', '>':
			for _, name := range names {
				if string(s.buf[s.tok+1:s.pos]) == name {
					s.pos = s.tok
					return name, true
				}
			}
		}
	}
}

// skipComment reads past a comment whose "<!" was read: "--" and
// everything to the next "-->". Other declarations ("<!DOCTYPE") are left
// to be skipped as text. It reports false at the end of the input.
func (s *xmlTokenizer) skipComment() bool {
	for range 2 {
		if !s.ensure() {
			return false
		}
		if s.buf[s.pos] != '-' {
			return true // not a comment
		}
		s.pos++
	}
	var last [2]byte
	for {
		s.tok = s.pos // nothing of a comment is kept
		b, ok := s.getc()
		if !ok {
			return false
		}
		if b == '>' && last == [2]byte{'-', '-'} {
			return true
		}
		last[0], last[1] = last[1], b
	}
}

// maxResyncName bounds the element names skipTo compares.
const maxResyncName = 64

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == ':' || c == '.'
}
