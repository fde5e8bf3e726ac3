// SPDX-License-Identifier: Apache-2.0

package masscan

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"

	"portolan/internal/ingest/scan"
)

// xmlSource reads -oX (out-xml.c), nmap's layout with one port per <host>:
//
//	<nmaprun scanner="masscan" start="1795781176" …>
//	<host endtime="1795781184"><address addr="127.0.0.1" addrtype="ipv4"/><ports>
//	  <port protocol="tcp" portid="18022"><state state="open" reason="response" reason_ttl="64"/>
//	  <service name="ssh" banner="SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"></service></port>
//	</ports></host>
//
// It walks the tokens of a scan.XMLGuard, which bounds entity declarations,
// nesting and token sizes, instead of decoding whole elements, so that a
// <host> is never held whole: it takes only the attributes below and ignores
// every other element.
type xmlSource struct {
	g     *scan.XMLGuard
	opts  Options
	start string   // <nmaprun start>: the time of a host without endtime
	host  *hostXML // the <host> being read, nil outside one
	queue []sourceItem
	done  bool
}

// sourceItem is a record or the error in its place.
type sourceItem struct {
	rec record
	err error
}

// hostXML collects one <host> element.
type hostXML struct {
	line      int
	off       int64
	endtime   string // <host endtime>: when masscan wrote the record
	starttime string // <host starttime>: not written by masscan; nmap's
	addr      string // <address addr>, skipping addrtype="mac"
	ports     []portXML
	tooLong   bool // the element outgrew MaxLineBytes; its ports were dropped
}

// portXML collects one <port> element.
type portXML struct {
	line     int
	protocol string // <port protocol>
	portid   string // <port portid>
	state    string // <state state>: open or closed
	service  string // <service name>
	banner   string // <service banner>, \xNN-escaped
	banners  bool   // a <service> element was present
}

func newXMLSource(br *bufio.Reader, opts Options) *xmlSource {
	return &xmlSource{g: scan.NewXMLGuard(Source, br, opts.MaxDepth, opts.MaxLineBytes), opts: opts}
}

func (s *xmlSource) next() (record, error) {
	for len(s.queue) == 0 {
		if s.done {
			return record{}, io.EOF
		}
		s.step()
	}
	it := s.queue[0]
	s.queue = s.queue[1:]
	return it.rec, it.err
}

// step consumes one token. Every call consumes input or ends the source, so
// next always makes progress.
func (s *xmlSource) step() {
	tok, err := s.g.Token()
	if err == io.EOF {
		s.done = true
		return
	}
	if err != nil {
		s.fail(err)
		return
	}
	switch t := tok.(type) {
	case xml.StartElement:
		s.startElement(t)
	case xml.EndElement:
		if t.Name.Local == "host" && s.host != nil {
			s.endHost()
		}
	}
	if s.host != nil && !s.host.tooLong && s.g.InputOffset()-s.host.off > int64(s.opts.MaxLineBytes) {
		// A <host> with endless ports would grow without bound; stop
		// collecting it and report it at </host>.
		s.host.tooLong = true
		s.host.ports = nil
	}
}

func (s *xmlSource) startElement(t xml.StartElement) {
	switch t.Name.Local {
	case "nmaprun":
		s.start = attr(t, "start")
	case "host":
		line, off := s.g.Pos()
		s.host = &hostXML{line: line, off: off, endtime: attr(t, "endtime"), starttime: attr(t, "starttime")}
	}
	h := s.host
	if h == nil || h.tooLong {
		return
	}
	switch t.Name.Local {
	case "address":
		if h.addr == "" && attr(t, "addrtype") != "mac" {
			h.addr = attr(t, "addr")
		}
	case "port":
		line, _ := s.g.Pos()
		h.ports = append(h.ports, portXML{line: line, protocol: attr(t, "protocol"), portid: attr(t, "portid")})
	case "state":
		if n := len(h.ports); n > 0 {
			h.ports[n-1].state = attr(t, "state")
		}
	case "service":
		if n := len(h.ports); n > 0 {
			p := &h.ports[n-1]
			p.service, p.banner, p.banners = attr(t, "name"), attr(t, "banner"), true
		}
	}
}

// endHost queues the records of the finished <host>.
func (s *xmlSource) endHost() {
	h := s.host
	s.host = nil
	bad := func(line int, format string, args ...any) {
		s.queue = append(s.queue, sourceItem{err: inputError(line, h.off, format, args...)})
	}
	if h.tooLong {
		bad(h.line, "the record is longer than %d bytes", s.opts.MaxLineBytes)
		return
	}
	if h.addr == "" {
		bad(h.line, "the host has no address")
		return
	}
	var ts int64
	var ok bool
	for _, t := range []string{h.endtime, h.starttime, s.start} {
		if ts, ok = parseUnix(t); ok {
			break
		}
	}
	if !ok {
		bad(h.line, "the host has no valid endtime")
		return
	}
	for _, p := range h.ports {
		port, ok := parsePort(p.portid)
		if !ok {
			bad(p.line, "portid %s is not a number", quote(p.portid))
			continue
		}
		rec := record{ip: h.addr, proto: p.protocol, port: port, ts: ts, status: p.state}
		if p.banners {
			rec.service, rec.banner = p.service, unescapeX(p.banner)
			if rec.service == "" {
				bad(p.line, "a service has no name")
				continue
			}
		}
		if rec.status == "" && rec.service == "" {
			bad(p.line, "the port has neither state nor service")
			continue
		}
		s.queue = append(s.queue, sourceItem{rec: rec})
	}
}

// fail turns an error of the token stream into the source's last item, or,
// after a syntax error in a scan (one damaged byte, a garbled tag), into a
// record error, after which reading resumes at the next <host>.
func (s *xmlSource) fail(err error) {
	if rec := s.g.Recoverable(err); rec != nil {
		h := s.host
		found, rerr := s.g.Resync(2, "host")
		switch {
		case rerr != nil:
			s.done = true
			s.queue = append(s.queue, sourceItem{err: rerr})
			return
		case found != "":
			if h != nil {
				rec.Reason += fmt.Sprintf("; the host starting on line %d is skipped", h.line)
			}
			rec.Reason += "; reading resumes at the next <host>"
			s.host = nil
			s.queue = append(s.queue, sourceItem{err: rec})
			return
		}
		// Nothing follows to resume at: the error ends the input.
	}
	s.done = true
	if !s.g.Truncated(err) {
		s.queue = append(s.queue, sourceItem{err: s.g.Fatal(err)})
		return
	}
	// A scan that was interrupted, or a file cut short: the records before
	// are intact, so report the loss as a record error.
	if h := s.host; h != nil {
		s.queue = append(s.queue, sourceItem{err: inputError(h.line, h.off, "the input ends inside this record (truncated)")})
	} else {
		line, off := s.g.Pos()
		s.queue = append(s.queue, sourceItem{err: inputError(line, off, "the input ends before the XML document does (truncated)")})
	}
}

// attr returns the value of the attribute name of t, or "".
func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
