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
//   - at most maxBytes per token, or per held record (see Hold): a
//     tokenizer holds a whole token (a start tag with its attributes, a run
//     of text, a comment) before returning it.
//
// A refusal is an *portolan.InputError with Fatal set. Fatal turns every
// other error of the token stream into the same form. After a syntax error
// (Recoverable), a reader may Resync instead: the guard skips the raw bytes
// to the next start tag of a record element and goes on from there, so that
// one damaged byte loses one record, not the rest of the file. XMLGuard also
// knows where each token starts, for the readers' record errors. It is not
// safe for concurrent use.
//
// The tokens are encoding/xml's, the same values RawToken returns, but the
// tokenizer is XMLGuard's own (xmlTokenizer): encoding/xml's, reading a byte
// per call, was most of the time of every XML reader (issue 14).
type XMLGuard struct {
	source   string // the format, for Observation.Source and error prefixes
	tz       xmlTokenizer
	maxDepth int
	maxBytes int64

	open      []string // local names of the open elements, outermost first
	openSpace []string // their prefixes, as written, for matching end tags
	mismatch  error    // sticky: the end tag that did not match, until Resync
	off       int64    // where the last token returned starts
	line      int      // its line, counted when asked for (see Pos)
	lineKnown bool     //
	err       error    // sticky: the refusal Token returned

	held     string // the element Hold made one record, "" when none
	heldLine int    // where it starts
	heldOff  int64  //
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
	return &XMLGuard{source: source, tz: xmlTokenizer{br: br}, maxDepth: maxDepth, maxBytes: int64(maxBytes)}
}

// Token implements xml.TokenReader: it returns the next token of the
// document, checked for well-formedness as encoding/xml's Token checks it
// (known entities, syntax, matching tags), and for the limits. Element and
// attribute names keep their prefixes as written (RawToken's names): a
// reader matches local names, and a decoder made with xml.NewTokenDecoder
// translates them. Byte slices in the token are valid until the next call.
// Its errors are encoding/xml's (*xml.SyntaxError with the same message
// and line), the underlying reader's, and *portolan.InputError refusals;
// Fatal turns any of them into what the reader returns. After a refusal,
// Token returns it again.
func (g *XMLGuard) Token() (xml.Token, error) {
	if g.err != nil {
		return nil, g.err
	}
	g.off, g.lineKnown = g.tz.offset(), false
	if g.held == "" {
		// Each token outside a held record gets a fresh budget.
		g.tz.setLimit(g.off + g.maxBytes)
	}
	if g.mismatch != nil {
		return nil, g.mismatch
	}
	// The tokenizer's are RawToken's tokens: no namespace translation, no
	// stack of open elements, which g keeps anyway. Checking that end tags
	// match, as Token does, is then g's job (see close).
	tok, err := g.tz.next()
	if err != nil {
		if err == io.EOF && len(g.open) > 0 {
			// Token's error for a document that ends inside an element.
			return nil, g.tz.syntaxError("unexpected EOF")
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
	// Sticky, as the tokenizer's own errors are, until Resync.
	g.mismatch = g.tz.syntaxError(msg)
	return g.mismatch
}

// refuse makes the sticky refusal of the token that starts at g's position.
func (g *XMLGuard) refuse(reason string) error {
	line, off := g.Pos()
	g.err = g.fatalAt(line, off, reason)
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
func (g *XMLGuard) Pos() (line int, offset int64) {
	if !g.lineKnown {
		// Counted now, not for every token: the tokenizer keeps the bytes
		// of the last token until the next Token, and Resync counts first.
		g.line, g.lineKnown = g.tz.lineAt(int(g.off-g.tz.base)), true
	}
	return g.line, g.off
}

// InputOffset returns the byte offset just after the last token returned,
// or where reading stopped at an error.
func (g *XMLGuard) InputOffset() int64 { return g.tz.offset() }

// curPos returns the line and offset where reading stopped.
func (g *XMLGuard) curPos() (line int, off int64) {
	return g.tz.lineAt(g.tz.pos), g.tz.offset()
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
	g.heldLine, g.heldOff = g.Pos()
	g.tz.setLimit(g.off + g.maxBytes)
}

// Release ends Hold: the tokens that follow get a budget each again.
func (g *XMLGuard) Release() { g.held = "" }

// Truncated reports whether err, an error of Token, says that the input
// ended inside the document: a scan interrupted, or a file cut short, after
// which the records before are intact.
func (g *XMLGuard) Truncated(err error) bool {
	var se *xml.SyntaxError
	return g.tz.rerr == nil && errors.As(err, &se) && se.Msg == "unexpected EOF"
}

// errTooLarge is the tokenizer's error past its budget; Fatal says which
// token or record it was.
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
		line, off := g.Pos()
		return g.fatalAt(line, off, "an XML token starting here is larger than "+size(g.maxBytes))
	case g.tz.rerr != nil:
		return fmt.Errorf("%s: read at byte %d: %w", g.source, g.tz.offset(), g.tz.rerr)
	case errors.As(err, &se):
		// se.Line is where the tokenizer stopped, so the offset is too.
		return g.fatalAt(se.Line, g.InputOffset(), "XML syntax error: "+se.Msg)
	default:
		// Errors encoding/xml raises without a position, such as a declared
		// encoding other than UTF-8, which scanners never write.
		line, off := g.curPos()
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
	if g.err != nil || g.tz.rerr != nil || errors.Is(err, errTooLarge) || !errors.As(err, &se) || se.Msg == "unexpected EOF" {
		return nil
	}
	return &portolan.InputError{Source: g.source, Line: se.Line, Offset: g.InputOffset(), Reason: "XML syntax error: " + se.Msg}
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
	g.Pos() // count the last token's line while its bytes are at hand
	found, ok := g.tz.skipTo(names)
	if g.tz.rerr != nil {
		return "", fmt.Errorf("%s: read at byte %d: %w", g.source, g.tz.offset(), g.tz.rerr)
	}
	if !ok {
		return "", nil
	}
	// The tokenizer goes on from the record's start tag, with the
	// ancestors still open around it.
	g.open, g.openSpace = g.open[:depth-1], g.openSpace[:depth-1]
	g.tz.setLimit(g.tz.offset() + g.maxBytes)
	g.mismatch = nil
	return found, nil
}

// size says n bytes the way a person reads a limit: "16 MiB", "1000 bytes".
func size(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
