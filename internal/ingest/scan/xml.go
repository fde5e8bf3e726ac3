// SPDX-License-Identifier: Apache-2.0

package scan

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"portolan"
)

// XMLGuard is the one place where XML input is bounded: every XML reader
// takes its tokens from one, directly or through an xml.Decoder made with
// xml.NewTokenDecoder, so that each token, including those DecodeElement
// reads or skips, passes the same three checks:
//
//   - no entity declarations: encoding/xml expands no declared entity, but
//     a DTD that declares some is either a billion-laughs attack or not a
//     scanner's output (nmap and masscan write a bare <!DOCTYPE nmaprun> or
//     none), and refusing it says clearly why the file was rejected;
//   - nesting at most maxDepth deep: encoding/xml keeps a stack entry per
//     open element without a limit;
//   - at most maxBytes per token, or per held record (see Hold):
//     encoding/xml buffers a whole token (a start tag with its attributes, a
//     run of text, a comment) before returning it.
//
// A refusal is an *portolan.InputError with Fatal set. Fatal turns every
// other error of the token stream into the same form. After a syntax error
// (Recoverable), a reader may Resync instead: the guard skips the raw bytes
// to the next start tag of a record element and goes on from there, so that
// one damaged byte loses one record, not the rest of the file. XMLGuard also
// knows where each token starts, for the readers' record errors. It is not
// safe for concurrent use.
type XMLGuard struct {
	source   string // the format, for Observation.Source and error prefixes
	in       budgetReader
	dec      *xml.Decoder
	maxDepth int
	maxBytes int64

	open      []string // local names of the open elements, outermost first
	openSpace []string // their prefixes, as written, for matching end tags
	mismatch  error    // sticky: the end tag that did not match, until Resync
	line      int      // where the last token returned starts
	off       int64    //
	err       error    // sticky: the refusal Token returned

	held     string // the element Hold made one record, "" when none
	heldLine int    // where it starts
	heldOff  int64  //

	// After Resync, dec reads a synthetic prefix (the start tags of the
	// elements still open) and then the input from the record's start tag;
	// these turn its positions into the input's.
	lineDelta int   // input line = decoder line + lineDelta
	offDelta  int64 // input offset = decoder offset + offDelta
}

// NewXMLGuard returns the guard of the XML document br holds, for the
// reader of source ("nmap"), which names it in errors. maxDepth and maxBytes
// are the limits; 0 means DefaultMaxDepth and DefaultMaxLineBytes.
func NewXMLGuard(source string, br *bufio.Reader, maxDepth, maxBytes int) *XMLGuard {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxLineBytes
	}
	g := &XMLGuard{source: source, in: budgetReader{br: br}, maxDepth: maxDepth, maxBytes: int64(maxBytes)}
	// budgetReader is an io.ByteReader, so encoding/xml reads from it byte
	// by byte, without a buffer of its own: the budget is exact.
	g.dec = xml.NewDecoder(&g.in)
	return g
}

// Token implements xml.TokenReader: it returns the next token of the
// document, checked for well-formedness by encoding/xml (known entities,
// syntax) and by g (matching tags), and for the limits by g. Element and
// attribute names keep their prefixes as written (RawToken's names): a
// reader matches local names, and a decoder made with xml.NewTokenDecoder
// translates them. Its errors are the decoder's and
// the underlying reader's, and *portolan.InputError refusals; Fatal turns
// any of them into what the reader returns. After a refusal, Token returns
// it again.
func (g *XMLGuard) Token() (xml.Token, error) {
	if g.err != nil {
		return nil, g.err
	}
	g.line, g.off = g.decPos()
	if g.held == "" {
		// Each token outside a held record gets a fresh budget.
		g.in.setLimit(g.in.consumed() + g.maxBytes)
	}
	if g.mismatch != nil {
		return nil, g.mismatch
	}
	// RawToken rather than Token: Token's namespace translation and stack
	// of open elements cost a fifth of the tokenising, and g keeps a stack
	// anyway. Checking that end tags match is then g's job (see close).
	tok, err := g.dec.RawToken()
	if err != nil {
		if err == io.EOF && len(g.open) > 0 {
			// Token's error for a document that ends inside an element.
			line, _ := g.dec.InputPos()
			return nil, &xml.SyntaxError{Msg: "unexpected EOF", Line: line}
		}
		return nil, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if len(g.open) >= g.maxDepth {
			return nil, g.refuse(fmt.Sprintf("elements are nested more than %d deep", g.maxDepth))
		}
		g.open = append(g.open, t.Name.Local)
		g.openSpace = append(g.openSpace, t.Name.Space)
	case xml.EndElement:
		if err := g.close(t.Name); err != nil {
			return nil, err
		}
	case xml.Directive:
		// Any mention counts, also outside a DOCTYPE, where encoding/xml
		// accepts a bare <!ENTITY …> as well.
		if bytes.Contains(t, []byte("ENTITY")) {
			return nil, g.refuse("XML entity declarations are refused (a billion-laughs file expands a few bytes into gigabytes)")
		}
	}
	return tok, nil
}

// close pops the innermost open element for an end tag named name, or
// returns the syntax error encoding/xml's Token returns when the tag does
// not close it, with the same message. Prefixes are compared as written,
// not as the namespaces they stand for: two prefixes bound to one namespace
// do not match, which no scanner writes.
func (g *XMLGuard) close(name xml.Name) error {
	n := len(g.open)
	var msg string
	switch {
	case n == 0:
		msg = "unexpected end element </" + name.Local + ">"
	case g.open[n-1] != name.Local:
		msg = "element <" + g.open[n-1] + "> closed by </" + name.Local + ">"
	case g.openSpace[n-1] != name.Space:
		space := name.Space
		if space == "" {
			space = `""`
		}
		msg = "element <" + g.open[n-1] + "> in space " + g.openSpace[n-1] + " closed by </" + name.Local + "> in space " + space
	default:
		g.open, g.openSpace = g.open[:n-1], g.openSpace[:n-1]
		return nil
	}
	line, _ := g.dec.InputPos()
	// Sticky, as the decoder's own errors are, until Resync.
	g.mismatch = &xml.SyntaxError{Msg: msg, Line: line}
	return g.mismatch
}

// refuse makes the sticky refusal of the token that starts at g's position.
func (g *XMLGuard) refuse(reason string) error {
	g.err = g.fatalAt(g.line, g.off, reason)
	return g.err
}

func (g *XMLGuard) fatalAt(line int, off int64, reason string) *portolan.InputError {
	return &portolan.InputError{Source: g.source, Line: line, Offset: off, Reason: reason, Fatal: true}
}

// Open returns the local names of the open elements, outermost first, the
// last one being that of the last start tag Token returned if it is still
// open. The slice is g's: it is valid until the next Token, read-only.
func (g *XMLGuard) Open() []string { return g.open }

// Pos returns where the last token Token returned starts: its 1-based line
// and byte offset, for the errors of the record it opens.
func (g *XMLGuard) Pos() (line int, offset int64) { return g.line, g.off }

// InputOffset returns the byte offset just after the last token returned.
func (g *XMLGuard) InputOffset() int64 { return g.dec.InputOffset() + g.offDelta }

// decPos returns the decoder's position in the input's terms.
func (g *XMLGuard) decPos() (line int, off int64) {
	line, _ = g.dec.InputPos()
	return line + g.lineDelta, g.dec.InputOffset() + g.offDelta
}

// Hold makes the element whose start tag Token returned last one record for
// the byte budget until Release: all its tokens together may read at most
// maxBytes from its start, instead of each token as much. A reader that
// decodes a whole element into memory (xml.Decoder.DecodeElement) holds it,
// so that its memory stays bounded by one record.
func (g *XMLGuard) Hold() {
	if len(g.open) > 0 {
		g.held = g.open[len(g.open)-1]
	}
	g.heldLine, g.heldOff = g.line, g.off
	g.in.setLimit(g.off + g.maxBytes)
}

// Release ends Hold: the tokens that follow get a budget each again.
func (g *XMLGuard) Release() { g.held = "" }

// Truncated reports whether err, an error of Token, says that the input
// ended inside the document: a scan interrupted, or a file cut short, after
// which the records before are intact.
func (g *XMLGuard) Truncated(err error) bool {
	var se *xml.SyntaxError
	return g.in.err == nil && errors.As(err, &se) && se.Msg == "unexpected EOF"
}

// errTooLarge is what budgetReader returns past its limit, stopping
// encoding/xml; Fatal says which token or record it was.
var errTooLarge = errors.New("XML token too large")

// Fatal returns the error that ends the input for err, an error Token
// returned, directly or through a decoder that reads from g: an
// *portolan.InputError with Fatal set at the position of the problem, or,
// when the underlying reader failed, its error wrapped with the byte offset
// ("nmap: read at byte N: …"), as the line readers wrap theirs.
func (g *XMLGuard) Fatal(err error) error {
	var ie *portolan.InputError
	var se *xml.SyntaxError
	switch {
	case errors.As(err, &ie):
		return ie
	case errors.Is(err, errTooLarge) && g.held != "":
		return g.fatalAt(g.heldLine, g.heldOff, fmt.Sprintf("the <%s> element starting here is larger than %s", portolan.CleanText(g.held, 64), size(g.maxBytes)))
	case errors.Is(err, errTooLarge):
		return g.fatalAt(g.line, g.off, "an XML token starting here is larger than "+size(g.maxBytes))
	case g.in.err != nil:
		return fmt.Errorf("%s: read at byte %d: %w", g.source, g.in.consumed(), g.in.err)
	case errors.As(err, &se):
		// se.Line is where the decoder stopped, so the offset is too.
		return g.fatalAt(se.Line+g.lineDelta, g.InputOffset(), "XML syntax error: "+se.Msg)
	default:
		// Errors encoding/xml raises without a position, such as a declared
		// encoding other than UTF-8, which scanners never write.
		line, off := g.decPos()
		return g.fatalAt(line, off, err.Error())
	}
}

// Recoverable returns, for err, an error of Token, the record error that
// says what was wrong and where, when it is a syntax error the reader can
// Resync after (a damaged byte, a mismatched or garbled tag), and nil when
// it is not: refusals, tokens too large, the end of the input (a truncated
// file has nothing after to resynchronise to), and read errors stay Fatal.
func (g *XMLGuard) Recoverable(err error) *portolan.InputError {
	var se *xml.SyntaxError
	if g.err != nil || g.in.err != nil || errors.Is(err, errTooLarge) || !errors.As(err, &se) || se.Msg == "unexpected EOF" {
		return nil
	}
	return &portolan.InputError{Source: g.source, Line: se.Line + g.lineDelta, Offset: g.InputOffset(), Reason: "XML syntax error: " + se.Msg}
}

// Resync goes on after a Recoverable error: it skips the input to the next
// start tag of an element named one of names at depth (2 for a child of the
// root), keeping the depth-1 elements open around it, so that the next Token
// is that start tag and the end tags of the ancestors still match. It
// returns the name found, or "" when the input ends first or fewer than
// depth-1 elements were open (nothing to resume inside); err is the underlying
// reader's error, wrapped as Fatal wraps it. The bytes skipped are read, not
// kept: memory stays that of one start tag.
func (g *XMLGuard) Resync(depth int, names ...string) (found string, err error) {
	g.held = ""
	if depth < 1 || len(g.open) < depth-1 {
		return "", nil
	}
	keep := g.open[:depth-1]
	start, ok := g.in.skipTo(names)
	if g.in.err != nil {
		return "", fmt.Errorf("%s: read at byte %d: %w", g.source, g.in.consumed(), g.in.err)
	}
	if !ok {
		return "", nil
	}
	// The new decoder reads the ancestors' start tags, then the record's
	// start tag and the rest of the input: to it the document is whole.
	var prefix []byte
	for _, name := range keep {
		prefix = append(prefix, '<')
		prefix = append(prefix, name...)
		prefix = append(prefix, '>')
	}
	g.lineDelta = g.in.lineCount() // the record starts on line lines+1, the decoder's line 1
	g.offDelta = g.in.consumed() - int64(len(start)) - int64(len(prefix))
	g.dec = xml.NewDecoder(&resumeReader{head: append(prefix, start...), in: &g.in})
	g.in.setLimit(g.in.consumed() + g.maxBytes)
	for range keep {
		if _, err := g.dec.RawToken(); err != nil { // the synthetic start tags, well-formed
			return "", g.Fatal(err)
		}
	}
	g.open = append(g.open[:0], keep...)
	// The synthetic start tags have no prefix, so neither may the end tags
	// that close the ancestors: nmap and masscan write none.
	g.openSpace = g.openSpace[:0]
	for range keep {
		g.openSpace = append(g.openSpace, "")
	}
	g.mismatch = nil
	return string(start[1 : len(start)-1]), nil
}

// size says n bytes the way a person reads a limit: "16 MiB", "1000 bytes".
func size(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// budgetReader is an XMLGuard's byte source. It counts the bytes consumed,
// refuses to go past limit, which the guard moves forward before each token
// or record, and records the underlying reader's errors so that they can be
// told apart from XML errors.
//
// encoding/xml calls ReadByte once per byte of input, which makes it the
// hot path of every XML reader: the bytes come from a chunk of budgetReader's
// own, not through bufio.Reader.ReadByte (a second call per byte), and one
// comparison with end checks both the chunk and the budget. Newlines are
// counted a chunk at a time, when Resync needs them.
type budgetReader struct {
	br      *bufio.Reader
	buf     []byte // the chunk read last; buf[pos:] is not consumed yet
	pos     int    //
	end     int    // ReadByte may serve buf[pos:end] without more checks
	base    int64  // the input offset of buf[0]
	limit   int64  // the offset consumption may not pass
	lines   int    // newlines consumed, up to buf[counted]
	counted int    //
	err     error  // the underlying reader's last error other than io.EOF
}

// budgetChunk is how much budgetReader asks br for at once.
const budgetChunk = 64 << 10

// consumed returns how many bytes of the input were consumed.
func (b *budgetReader) consumed() int64 { return b.base + int64(b.pos) }

// setLimit lets consumption go up to limit, and no further.
func (b *budgetReader) setLimit(limit int64) {
	b.limit = limit
	b.clampEnd()
}

func (b *budgetReader) clampEnd() {
	b.end = len(b.buf)
	if room := b.limit - b.base; room < int64(b.end) {
		b.end = int(max(room, 0))
	}
}

// lineCount returns the number of newlines consumed.
func (b *budgetReader) lineCount() int {
	b.lines += bytes.Count(b.buf[b.counted:b.pos], []byte{'\n'})
	b.counted = b.pos
	return b.lines
}

// ReadByte implements io.ByteReader, which encoding/xml uses when present.
func (b *budgetReader) ReadByte() (byte, error) {
	if b.pos < b.end {
		c := b.buf[b.pos]
		b.pos++
		return c, nil
	}
	if b.consumed() >= b.limit {
		return 0, errTooLarge
	}
	return b.next()
}

// next returns the next byte of the input, outside the budget, which is
// the caller's business.
func (b *budgetReader) next() (byte, error) {
	if b.pos >= len(b.buf) {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	c := b.buf[b.pos]
	b.pos++
	return c, nil
}

// fill replaces the consumed chunk with the next one, or returns why it
// cannot: io.EOF, or the underlying reader's error, which it records.
func (b *budgetReader) fill() error {
	b.lineCount()
	b.base += int64(len(b.buf))
	b.buf, b.pos, b.counted = b.buf[:0], 0, 0
	defer b.clampEnd()
	if b.buf == nil {
		b.buf = make([]byte, 0, budgetChunk)
	}
	// bufio.Reader.Read returns (0, nil) only when the reader under it
	// does; give up after as many tries as bufio itself makes.
	for range 100 {
		n, err := b.br.Read(b.buf[:cap(b.buf)])
		b.buf = b.buf[:n]
		if n > 0 {
			// An error that came with data comes again on the next read,
			// as it would have through bufio.Reader.ReadByte.
			return nil
		}
		if err != nil {
			if err != io.EOF {
				b.err = err
			}
			return err
		}
	}
	b.err = io.ErrNoProgress
	return b.err
}

// Read implements io.Reader, which xml.NewDecoder's signature asks for,
// under the same budget.
func (b *budgetReader) Read(p []byte) (int, error) {
	room := b.limit - b.consumed()
	if room <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	if b.pos >= len(b.buf) {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.pos:])
	b.pos += n
	return n, nil
}

// skipTo reads past everything before the next start tag "<name" of one
// of names (the name followed by a space, '/' or '>'), without a budget:
// nothing is kept but the tag's first bytes, which it returns. ok is false
// at the end of the input or on a read error (b.err).
func (b *budgetReader) skipTo(names []string) (start []byte, ok bool) {
	var tag []byte // "<" and the name read so far, nil outside a tag
	for {
		c, err := b.next()
		if err != nil {
			return nil, false // fill recorded a read error
		}
		switch {
		case c == '<':
			tag = append(tag[:0], c)
		case c == '!' && len(tag) == 1:
			// A comment may mention a start tag: skip it whole.
			if !b.skipComment() {
				return nil, false
			}
			tag = nil
		case tag == nil:
			// text between tags, skipped
		case isNameByte(c) && len(tag) <= maxResyncName:
			tag = append(tag, c)
		default:
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' || c == '>' {
				for _, name := range names {
					if string(tag[1:]) == name {
						return append(tag, c), true
					}
				}
			}
			tag = nil
		}
	}
}

// skipComment reads past a comment whose "<!" was read: "--" and
// everything to the next "-->". Other declarations ("<!DOCTYPE") are
// skipped by the caller as text. It reports false at the end of the input.
func (b *budgetReader) skipComment() bool {
	var last [2]byte // the two bytes before c
	for i := 0; ; i++ {
		c, err := b.next()
		if err != nil {
			return false // fill recorded a read error
		}
		if i < 2 && c != '-' {
			return true // not a comment
		}
		if i >= 4 && c == '>' && last == [2]byte{'-', '-'} {
			return true
		}
		last[0], last[1] = last[1], c
	}
}

// maxResyncName bounds the element names skipTo compares.
const maxResyncName = 64

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == ':' || c == '.'
}

// resumeReader is what the decoder reads after Resync: head (the synthetic
// start tags and the bytes skipTo consumed), then the guarded input.
type resumeReader struct {
	head []byte
	in   *budgetReader
}

// ReadByte implements io.ByteReader.
func (r *resumeReader) ReadByte() (byte, error) {
	if len(r.head) > 0 {
		c := r.head[0]
		r.head = r.head[1:]
		return c, nil
	}
	return r.in.ReadByte()
}

// Read implements io.Reader.
func (r *resumeReader) Read(p []byte) (int, error) {
	if len(r.head) > 0 {
		n := copy(p, r.head)
		r.head = r.head[n:]
		return n, nil
	}
	return r.in.Read(p)
}
