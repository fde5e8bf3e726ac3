// SPDX-License-Identifier: Apache-2.0

package nmap

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"portolan"
)

// Limits that keep a hostile or broken file from exhausting memory or the
// stack. nmap's own output stays far below each of them.
const (
	// maxDepth is how deeply elements may nest. Real output nests about
	// ten deep (nmaprun/host/ports/port/script/table/…/elem); encoding/xml
	// itself keeps a stack entry per open element without a limit.
	maxDepth = 64
	// maxRecordBytes caps one <host> element, and any one token outside a
	// host, since encoding/xml buffers a whole token (and we a whole host)
	// before returning it.
	maxRecordBytes = 16 << 20
	// maxPendingBytes and maxPendingPorts cap the hosts held back until
	// <runstats> gives the scan's finish time (see Reader.pending).
	maxPendingBytes = 16 << 20
	maxPendingPorts = 10000
)

// ParseError is a problem that stops the reading of the whole input:
// malformed or truncated XML, a construct this reader refuses, or input that
// is not nmap XML. Line is 1-based; Offset is the byte offset where reading
// stopped or where the offending construct starts.
type ParseError struct {
	Line   int
	Offset int64
	Msg    string
}

// Error implements the error interface.
func (e *ParseError) Error() string {
	return fmt.Sprintf("nmap: line %d: %s", e.Line, e.Msg)
}

// Reader is a streaming reader of nmap -oX output; it implements
// portolan.ObservationReader. It is not safe for concurrent use.
type Reader struct {
	in    *limitedReader
	raw   *xml.Decoder // tokenises the bytes; knows positions
	guard *tokenGuard  // sits between raw and dec, enforcing the limits
	dec   *xml.Decoder // decodes hosts from the guarded tokens

	sawRun bool     // an <nmaprun> element was opened
	run    runTimes // the instants of the current <nmaprun>

	// queue holds what the last element produced, returned by Read from
	// head onwards.
	queue []portResult
	head  int

	// pending holds the ports of hosts without an endtime: their scannedAt
	// is <runstats><finished time>, which nmap writes after every host. They
	// wait for it, within maxPendingPorts and maxPendingBytes.
	pending      []portResult
	pendingBytes int64

	err error // sticky: io.EOF or the error that stopped reading
}

var _ portolan.ObservationReader = (*Reader)(nil)

// NewReader returns a streaming reader of nmap -oX output.
func NewReader(r io.Reader) *Reader {
	in := &limitedReader{r: bufio.NewReader(r), limit: maxRecordBytes}
	raw := xml.NewDecoder(in)
	guard := &tokenGuard{d: raw}
	return &Reader{in: in, raw: raw, guard: guard, dec: xml.NewTokenDecoder(guard)}
}

// Read returns the next observation; io.EOF at the end of the input; a
// *portolan.InputError for a port that cannot be used, after which the
// caller reads on; and a *ParseError (or, when the underlying reader fails,
// that error wrapped) when the input cannot be read further. Observations
// are as nmap described them; the caller normalises them. The observations
// of one host share one Hostnames slice, which must be treated as read-only.
func (r *Reader) Read() (*portolan.Observation, error) {
	for {
		if r.head < len(r.queue) {
			res := r.queue[r.head]
			r.queue[r.head] = portResult{} // let the observation be collected
			r.head++
			if res.err != nil {
				return nil, res.err
			}
			return res.obs, nil
		}
		r.queue, r.head = r.queue[:0], 0
		if r.err != nil {
			return nil, r.err
		}
		r.step()
	}
}

// step consumes one token, or one whole <host> or <runstats>, queueing what
// it yields or setting r.err. Every token consumes input, so Read always
// makes progress.
func (r *Reader) step() {
	r.in.limit = r.in.n + maxRecordBytes
	tok, err := r.dec.Token()
	if err == io.EOF {
		r.endOfInput()
		return
	}
	if err != nil {
		r.fail(err, r.guard.pos(), "an XML token")
		return
	}
	switch t := tok.(type) {
	case xml.StartElement:
		// The guard has pushed t: depth 1 is the root.
		switch depth := len(r.guard.stack); {
		case depth == 1:
			r.beginRun(t)
		case depth == 2 && t.Name.Local == "host":
			r.readHost(t)
		case depth == 2 && t.Name.Local == "runstats":
			r.readRunstats(t)
		}
	case xml.EndElement:
		if len(r.guard.stack) == 0 {
			r.endRun()
		}
	}
}

// beginRun checks the root element and notes the scan's start time.
func (r *Reader) beginRun(start xml.StartElement) {
	if start.Name.Local != "nmaprun" {
		p := r.guard.pos()
		r.err = &ParseError{Line: p.line, Offset: p.offset,
			Msg: fmt.Sprintf("the root element is <%s>, not <nmaprun>: this is not nmap XML output", portolan.CleanText(start.Name.Local, 64))}
		return
	}
	var run nmapRun
	if err := decodeAttrs(start, &run); err != nil {
		r.fail(err, r.guard.pos(), "<nmaprun>")
		return
	}
	r.sawRun = true
	r.run = runTimes{}
	r.run.start, r.run.startErr = unixAttr("nmaprun start", run.Start)
}

// readHost decodes one <host> and queues its ports.
func (r *Reader) readHost(start xml.StartElement) {
	at := r.guard.pos()
	r.guard.ports = r.guard.ports[:0]
	r.in.limit = at.offset + maxRecordBytes
	var h nmapHost
	if err := r.dec.DecodeElement(&h, &start); err != nil {
		r.fail(err, at, "the <host> element")
		return
	}
	results, waiting := adaptHost(&h, &r.run, at, r.guard.ports)
	if !waiting {
		r.queue = append(r.queue, results...)
		return
	}
	// Hold the host's ports for <runstats>, or reject them all if holding
	// them would go past the budget: a host is kept or refused whole.
	size := r.in.n - at.offset
	ports := 0
	for _, res := range results {
		if res.obs != nil {
			ports++
		}
	}
	fits := len(r.pending)+ports <= maxPendingPorts && r.pendingBytes+size <= maxPendingBytes
	for _, res := range results {
		switch {
		case res.obs == nil:
			r.queue = append(r.queue, res)
		case fits:
			r.pending = append(r.pending, res)
		default:
			r.queue = append(r.queue, res.reject(fmt.Sprintf(
				"times cannot be determined: the host has no endtime, and too many ports (over %d, or %d MiB of XML) already wait for <runstats><finished time>",
				maxPendingPorts, maxPendingBytes>>20)))
		}
	}
	if fits {
		r.pendingBytes += size
	}
}

// readRunstats decodes <runstats> and gives the held ports their scannedAt.
func (r *Reader) readRunstats(start xml.StartElement) {
	at := r.guard.pos()
	r.in.limit = at.offset + maxRecordBytes
	var rs nmapRunstats
	if err := r.dec.DecodeElement(&rs, &start); err != nil {
		r.fail(err, at, "the <runstats> element")
		return
	}
	if rs.Finished.Time == "" {
		return // endRun rejects the held ports
	}
	finished, err := unixAttr("finished time", rs.Finished.Time)
	r.run.finished, r.run.finishedKnown = finished, err == nil
	for _, res := range r.pending {
		if err != nil {
			r.queue = append(r.queue, res.reject("times cannot be determined: the host has no endtime and "+err.Error()))
			continue
		}
		res.obs.ScannedAt = finished
		r.queue = append(r.queue, res)
	}
	r.dropPending()
}

// endRun handles </nmaprun>: ports still waiting for a finish time never get
// one.
func (r *Reader) endRun() {
	r.rejectPending("times cannot be determined: the host has no endtime and the scan has no <runstats><finished time>")
	r.run = runTimes{}
}

// endOfInput handles the end of a well-formed input. Nothing is pending:
// the decoder reports the end only after the root closed, and endRun ran.
func (r *Reader) endOfInput() {
	if !r.sawRun {
		p := r.guard.pos()
		r.err = &ParseError{Line: p.line, Offset: p.offset, Msg: "no <nmaprun> element: this is not nmap XML output"}
		return
	}
	r.err = io.EOF
}

// fail stops reading with err, said in terms of where it happened. what names
// the record being read when it grew past maxRecordBytes, at is its start.
// Ports held for a finish time are returned as InputErrors first, so that the
// caller learns what was lost.
func (r *Reader) fail(err error, at position, what string) {
	var pe *ParseError
	var se *xml.SyntaxError
	switch {
	case errors.As(err, &pe):
		r.err = pe
	case errors.As(err, &se):
		r.err = &ParseError{Line: se.Line, Offset: r.raw.InputOffset(), Msg: se.Msg}
	case errors.Is(err, errRecordTooLarge):
		r.err = &ParseError{Line: at.line, Offset: at.offset,
			Msg: fmt.Sprintf("%s starting here is larger than %d MiB", what, maxRecordBytes>>20)}
	default:
		// A failing underlying reader, or an XML declaration naming an
		// encoding other than UTF-8, which nmap never writes.
		line, _ := r.raw.InputPos()
		r.err = fmt.Errorf("nmap: line %d: %w", line, err)
	}
	r.rejectPending("times cannot be determined: the host has no endtime and the input broke off before <runstats><finished time>")
}

func (r *Reader) rejectPending(reason string) {
	for _, res := range r.pending {
		r.queue = append(r.queue, res.reject(reason))
	}
	r.dropPending()
}

func (r *Reader) dropPending() {
	clear(r.pending)
	r.pending, r.pendingBytes = r.pending[:0], 0
}

// position is where a token or record starts.
type position struct {
	line   int
	offset int64
}

// tokenGuard is the xml.TokenReader between the byte-level decoder and the
// one that decodes hosts, so that every token, including those DecodeElement
// reads or skips, passes its checks: nesting depth, and no entity
// declarations. It also notes where each <host><ports><port> starts, which
// DecodeElement cannot tell, so that an InputError names the port's line.
type tokenGuard struct {
	d     *xml.Decoder
	stack []string   // local names of the open elements
	line  int        // where the last token returned starts
	off   int64      //
	ports []position // starts of the <port> elements of the host being read
}

// Token returns the next token of the underlying decoder, which checks
// well-formedness (matching tags, known entities) with line numbers.
func (g *tokenGuard) Token() (xml.Token, error) {
	g.line, _ = g.d.InputPos()
	g.off = g.d.InputOffset()
	tok, err := g.d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if len(g.stack) >= maxDepth {
			return nil, &ParseError{Line: g.line, Offset: g.off,
				Msg: fmt.Sprintf("elements are nested more than %d deep", maxDepth)}
		}
		if t.Name.Local == "port" && len(g.stack) == 3 && g.stack[1] == "host" && g.stack[2] == "ports" {
			g.ports = append(g.ports, g.pos())
		}
		g.stack = append(g.stack, t.Name.Local)
	case xml.EndElement:
		if len(g.stack) > 0 {
			g.stack = g.stack[:len(g.stack)-1]
		}
	case xml.Directive:
		// encoding/xml expands no declared entity, but a DTD that
		// declares some is either an attack (billion laughs) or not
		// nmap's output, which has a bare <!DOCTYPE nmaprun>.
		if bytes.Contains(t, []byte("<!ENTITY")) {
			return nil, &ParseError{Line: g.line, Offset: g.off,
				Msg: "XML entity declarations are refused (billion-laughs protection)"}
		}
	}
	return tok, nil
}

func (g *tokenGuard) pos() position { return position{line: g.line, offset: g.off} }

// errRecordTooLarge is what limitedReader returns past its limit; Reader
// turns it into a ParseError naming the record.
var errRecordTooLarge = errors.New("record too large")

// limitedReader counts the bytes the decoder consumes and refuses to go past
// limit, which the Reader moves forward before each token or record. It is
// an io.ByteReader, so encoding/xml reads from it byte by byte and the count
// is exact.
type limitedReader struct {
	r     *bufio.Reader
	n     int64 // bytes consumed so far
	limit int64 // n may not exceed it
}

// ReadByte implements io.ByteReader.
func (l *limitedReader) ReadByte() (byte, error) {
	if l.n >= l.limit {
		return 0, errRecordTooLarge
	}
	b, err := l.r.ReadByte()
	if err == nil {
		l.n++
	}
	return b, err
}

// Read implements io.Reader, which xml.NewDecoder's signature asks for.
func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n >= l.limit {
		return 0, errRecordTooLarge
	}
	if rest := l.limit - l.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

// decodeAttrs fills v, a struct mirroring an element's attributes, from a
// start tag alone, without reading the element's content (<nmaprun>'s content
// is the whole scan).
func decodeAttrs(start xml.StartElement, v any) error {
	d := xml.NewTokenDecoder(&tokenList{toks: []xml.Token{start, start.End()}})
	return d.Decode(v)
}

// tokenList is an xml.TokenReader over a fixed list of tokens.
type tokenList struct{ toks []xml.Token }

// Token implements xml.TokenReader.
func (l *tokenList) Token() (xml.Token, error) {
	if len(l.toks) == 0 {
		return nil, io.EOF
	}
	t := l.toks[0]
	l.toks = l.toks[1:]
	return t, nil
}

// Sniff reports whether the first bytes of an input (up to 4 KiB, maybe
// less) look like nmap XML: an XML prolog (declaration, comments, processing
// instructions, <!DOCTYPE nmaprun>) followed by <nmaprun>. masscan's -oX
// output also has an <nmaprun> root, with scanner="masscan"; it is not nmap
// XML, because a masscan port spreads over several records.
func Sniff(head []byte) bool {
	s := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	doctype := false
	for {
		s = bytes.TrimLeft(s, " \t\r\n")
		var end []byte
		switch {
		case len(s) == 0:
			return doctype // the head ended in the prolog
		case bytes.HasPrefix(s, []byte("<?")):
			end = []byte("?>")
		case bytes.HasPrefix(s, []byte("<!--")):
			end = []byte("-->")
		case bytes.HasPrefix(s, []byte("<!DOCTYPE")):
			rest := bytes.TrimLeft(s[len("<!DOCTYPE"):], " \t\r\n")
			if !bytes.HasPrefix(rest, []byte("nmaprun")) {
				return false
			}
			doctype = true
			end = []byte(">")
		case bytes.HasPrefix(s, []byte("<nmaprun")):
			return sniffRoot(s[len("<nmaprun"):])
		default:
			return false
		}
		i := bytes.Index(s, end)
		if i < 0 {
			return doctype
		}
		s = s[i+len(end):]
	}
}

// sniffRoot looks at what follows "<nmaprun": the name must end there, and a
// scanner attribute, when the head holds it, must say nmap.
func sniffRoot(tag []byte) bool {
	if len(tag) > 0 && !bytes.ContainsAny(tag[:1], " \t\r\n>/") {
		return false // another element, like <nmaprunx>
	}
	if i := bytes.IndexByte(tag, '>'); i >= 0 {
		tag = tag[:i]
	}
	for i := 0; i < len(tag); {
		j := bytes.Index(tag[i:], []byte("scanner"))
		if j < 0 {
			break
		}
		j += i
		i = j + len("scanner")
		if j == 0 || !bytes.ContainsAny(tag[j-1:j], " \t\r\n") {
			continue // part of another attribute's name or value
		}
		v := bytes.TrimLeft(tag[i:], " \t\r\n")
		if len(v) == 0 || v[0] != '=' {
			continue
		}
		v = bytes.TrimLeft(v[1:], " \t\r\n")
		if len(v) == 0 || (v[0] != '"' && v[0] != '\'') {
			return true // cut off by the end of the head
		}
		q := bytes.IndexByte(v[1:], v[0])
		if q < 0 {
			return true
		}
		return string(v[1:1+q]) == "nmap"
	}
	return true
}
