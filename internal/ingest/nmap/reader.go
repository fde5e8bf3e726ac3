// SPDX-License-Identifier: Apache-2.0

package nmap

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"

	"portolan"
	"portolan/internal/ingest/scan"
)

// Limits that keep a hostile or broken file from exhausting memory. The
// XML itself is bounded by scan.XMLGuard with its default limits: nesting
// (real output nests about ten deep, nmaprun/host/ports/port/script/table/
// …/elem), and the bytes of one token or, since Reader decodes a whole
// <host> into memory, of one <host>.
const (
	// maxPendingBytes and maxPendingPorts cap the hosts held back until
	// <runstats> gives the scan's finish time (see Reader.pending).
	maxPendingBytes = 16 << 20
	maxPendingPorts = 10000
)

// Reader is a streaming reader of nmap -oX output; it implements
// portolan.ObservationReader. It is not safe for concurrent use.
type Reader struct {
	guard *scan.XMLGuard // tokenises and bounds the bytes; knows positions
	hosts hostDecoder    // decodes each <host> from the guard's tokens

	sawRun bool     // an <nmaprun> element was opened
	run    runTimes // the instants of the current <nmaprun>

	// queue holds what the last element produced, returned by Read from
	// head onwards.
	queue []portResult
	head  int
	// host holds the ports of the last <host>, adapted one per Read after
	// the queue is empty.
	host *hostPorts

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
	guard := scan.NewXMLGuard(source, bufio.NewReader(r), 0, 0)
	return &Reader{guard: guard, hosts: hostDecoder{guard: guard}}
}

// Read returns the next observation; io.EOF at the end of the input; a
// *portolan.InputError for a port that cannot be used, after which the
// caller reads on; and a *portolan.InputError with Fatal set (or, when the
// underlying reader fails, that error wrapped) when the input cannot be
// read further. Observations
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
		if r.host != nil && r.host.more() {
			res := r.host.adapt()
			if res.err != nil {
				return nil, res.err
			}
			return res.obs, nil
		}
		r.host = nil
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
	tok, err := r.guard.Token()
	if err == io.EOF {
		r.endOfInput()
		return
	}
	if err != nil {
		r.fail(err, nil)
		return
	}
	switch t := tok.(type) {
	case xml.StartElement:
		// The guard has pushed t: depth 1 is the root.
		switch depth := len(r.guard.Open()); {
		case depth == 1:
			r.beginRun(t)
		case depth == 2 && t.Name.Local == "host":
			r.readHost(t)
		case depth == 2 && t.Name.Local == "runstats":
			r.readRunstats(t)
		}
	case xml.EndElement:
		if len(r.guard.Open()) == 0 {
			r.endRun()
		}
	}
}

// beginRun checks the root element and notes the scan's start time.
func (r *Reader) beginRun(start xml.StartElement) {
	if start.Name.Local != "nmaprun" {
		r.err = fatalError(r.pos(),
			fmt.Sprintf("the root element is <%s>, not <nmaprun>: this is not nmap XML output", portolan.CleanText(start.Name.Local, 64)))
		return
	}
	var run nmapRun
	if err := decodeAttrs(start, &run); err != nil {
		r.fail(err, nil)
		return
	}
	r.sawRun = true
	r.run = runTimes{}
	r.run.start, r.run.startErr = unixAttr("nmaprun start", run.Start)
}

// readHost decodes one <host> and queues its ports.
func (r *Reader) readHost(start xml.StartElement) {
	at := r.pos()
	// The whole host is decoded into memory: bound it as one record.
	r.guard.Hold()
	defer r.guard.Release()
	var h nmapHost
	if err := r.hosts.host(start, &h); err != nil {
		r.fail(err, &at)
		return
	}
	hp, waiting := newHostPorts(&h, &r.run, at, r.hosts.portAt)
	if !waiting {
		r.host = hp
		return
	}
	// Hold the host's ports for <runstats>, or reject them all if holding
	// them would go past the budget: a host is kept or refused whole. Its
	// <port> elements are counted, valid or not, so that what is held is
	// bounded before any is adapted.
	size := r.guard.InputOffset() - at.offset
	if len(r.pending)+len(h.Ports) > maxPendingPorts || r.pendingBytes+size > maxPendingBytes {
		hp.refuse = fmt.Sprintf(
			"times cannot be determined: the host has no endtime, and too many ports (over %d, or %d MiB of XML) already wait for <runstats><finished time>",
			maxPendingPorts, maxPendingBytes>>20)
		r.host = hp
		return
	}
	for hp.more() {
		if res := hp.adapt(); res.obs != nil {
			r.pending = append(r.pending, res)
		} else {
			r.queue = append(r.queue, res)
		}
	}
	r.pendingBytes += size
}

// decode decodes the element start opens, whose start tag the guard has
// just returned, into v, by reflection: for <runstats>, once a scan, where
// speed does not matter (hosts have hostDecoder). Each element gets a
// decoder of its own, so that after a Resync no decoder holds a stale stack
// of open elements.
func (r *Reader) decode(start xml.StartElement, v any) error {
	d := xml.NewTokenDecoder(&primed{first: start, rest: r.guard})
	return d.Decode(v)
}

// primed is an xml.TokenReader that returns first, then rest's tokens.
type primed struct {
	first xml.Token
	rest  xml.TokenReader
}

// Token implements xml.TokenReader.
func (p *primed) Token() (xml.Token, error) {
	if t := p.first; t != nil {
		p.first = nil
		return t, nil
	}
	return p.rest.Token()
}

// readRunstats decodes <runstats> and gives the held ports their scannedAt.
func (r *Reader) readRunstats(start xml.StartElement) {
	r.guard.Hold()
	defer r.guard.Release()
	var rs nmapRunstats
	if err := r.decode(start, &rs); err != nil {
		r.fail(err, nil)
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
// the guard reports the end only after the root closed, and endRun ran.
func (r *Reader) endOfInput() {
	if !r.sawRun {
		r.err = fatalError(r.pos(), "no <nmaprun> element: this is not nmap XML output")
		return
	}
	r.err = io.EOF
}

// fail handles err, an error of the token stream. After a syntax error in
// a scan (one damaged byte, a garbled tag) reading resumes at the next
// <host> or <runstats>: the error is a record error saying what was lost
// (the host being read, at host, if any). Any other error stops reading,
// which the guard says in terms of where it happened; so does a syntax error
// with nothing readable after it. Ports held for a finish time are then
// returned as InputErrors first, so that the caller learns what was lost.
func (r *Reader) fail(err error, host *position) {
	if rec := r.guard.Recoverable(err); rec != nil && r.sawRun {
		found, rerr := r.guard.Resync(2, "host", "runstats")
		switch {
		case rerr != nil:
			err = rerr
		case found != "":
			if host != nil {
				rec.Reason += fmt.Sprintf("; the host starting on line %d is skipped", host.line)
			}
			rec.Reason += "; reading resumes at the next <" + found + ">"
			r.queue = append(r.queue, portResult{err: rec})
			return
		default:
			// Nothing follows to resume at: the file ends as a truncated
			// one does, with the error that made it so.
		}
	}
	if r.err = r.guard.Fatal(err); r.err == nil {
		r.err = err
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

// pos returns where the last token read starts.
func (r *Reader) pos() position {
	line, off := r.guard.Pos()
	return position{line: line, offset: off}
}

// fatalError is the error that ends the input at at: the input is not nmap
// XML.
func fatalError(at position, reason string) *portolan.InputError {
	return &portolan.InputError{Source: source, Line: at.line, Offset: at.offset, Reason: reason, Fatal: true}
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
