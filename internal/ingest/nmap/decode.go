// SPDX-License-Identifier: Apache-2.0

package nmap

import (
	"encoding/xml"

	"portolan/internal/ingest/scan"
)

// hostDecoder fills an nmapHost from the guard's tokens by hand. It replaces
// xml.Decoder.DecodeElement, whose reflection, and the second decoder's
// translation of names and matching of tags all over again, made the reader
// run at a third of the speed of tokenising alone (issue 14). It fills the
// structs exactly as DecodeElement did from their tags, so that adapter.go
// cannot tell the difference (decode_test.go holds it to that):
//
//   - elements and attributes match by local name, whatever their prefix;
//   - of repeated attributes in one tag, the last one counts;
//   - a repeated element that maps to a single struct (<status>, <state>,
//     <service>) overwrites only the attributes it has;
//   - the text of an element (<cpe>, <elem>) is its own character data,
//     comments left out, not that of elements nested inside it;
//   - whatever has no field is skipped.
//
// The guard checks well-formedness and the limits, so this code only
// walks: any error of the guard stops the host.
type hostDecoder struct {
	guard *scan.XMLGuard
	// portAt holds where each <host><ports><port> starts, for the InputErrors
	// of its port; a new slice per host, since the last host's may still be
	// in use by its hostPorts.
	portAt  []position
	textBuf []byte // reused buffer for the character data of an element
}

// host fills h from the content of the <host> element start opens, whose
// start tag the guard has just returned, through its end tag.
func (d *hostDecoder) host(start xml.StartElement, h *nmapHost) error {
	d.portAt = nil
	setAttr(&h.StartTime, start, "starttime")
	setAttr(&h.EndTime, start, "endtime")
	return d.children(func(t xml.StartElement) error {
		switch t.Name.Local {
		case "status":
			setAttr(&h.Status.State, t, "state")
			setAttr(&h.Status.Reason, t, "reason")
			return d.skip()
		case "address":
			var a nmapAddress
			setAttr(&a.Addr, t, "addr")
			setAttr(&a.AddrType, t, "addrtype")
			setAttr(&a.Vendor, t, "vendor")
			h.Addresses = append(h.Addresses, a)
			return d.skip()
		case "hostnames":
			return d.children(func(t xml.StartElement) error {
				if t.Name.Local == "hostname" {
					var n nmapHostname
					setAttr(&n.Name, t, "name")
					setAttr(&n.Type, t, "type")
					h.Hostnames = append(h.Hostnames, n)
				}
				return d.skip()
			})
		case "ports":
			return d.children(func(t xml.StartElement) error {
				switch t.Name.Local {
				case "extraports":
					var e nmapExtraPorts
					setAttr(&e.State, t, "state")
					setAttr(&e.Count, t, "count")
					h.ExtraPorts = append(h.ExtraPorts, e)
					return d.skip()
				case "port":
					line, off := d.guard.Pos()
					d.portAt = append(d.portAt, position{line: line, offset: off})
					h.Ports = append(h.Ports, nmapPort{})
					return d.port(t, &h.Ports[len(h.Ports)-1])
				}
				return d.skip()
			})
		}
		return d.skip()
	})
}

// port fills p from the <port> element start opens.
func (d *hostDecoder) port(start xml.StartElement, p *nmapPort) error {
	setAttr(&p.Protocol, start, "protocol")
	setAttr(&p.PortID, start, "portid")
	return d.children(func(t xml.StartElement) error {
		switch t.Name.Local {
		case "state":
			setAttr(&p.State.State, t, "state")
			setAttr(&p.State.Reason, t, "reason")
			setAttr(&p.State.ReasonTTL, t, "reason_ttl")
			return d.skip()
		case "service":
			if p.Service == nil {
				p.Service = new(nmapService)
			}
			return d.service(t, p.Service)
		case "script":
			p.Scripts = append(p.Scripts, nmapScript{})
			return d.script(t, &p.Scripts[len(p.Scripts)-1])
		}
		return d.skip()
	})
}

// service fills s from the <service> element start opens.
func (d *hostDecoder) service(start xml.StartElement, s *nmapService) error {
	for _, a := range start.Attr {
		switch a.Name.Local {
		case "name":
			s.Name = a.Value
		case "product":
			s.Product = a.Value
		case "version":
			s.Version = a.Value
		case "extrainfo":
			s.ExtraInfo = a.Value
		case "tunnel":
			s.Tunnel = a.Value
		case "ostype":
			s.OSType = a.Value
		case "method":
			s.Method = a.Value
		case "conf":
			s.Conf = a.Value
		case "servicefp":
			s.Fingerprint = a.Value
		}
	}
	return d.children(func(t xml.StartElement) error {
		if t.Name.Local != "cpe" {
			return d.skip()
		}
		cpe, err := d.text()
		s.CPEs = append(s.CPEs, cpe)
		return err
	})
}

// script fills s from the <script> element start opens. Its <table>
// elements are skipped: nothing in adapter.go reads them.
func (d *hostDecoder) script(start xml.StartElement, s *nmapScript) error {
	setAttr(&s.ID, start, "id")
	setAttr(&s.Output, start, "output")
	return d.children(func(t xml.StartElement) error {
		if t.Name.Local != "elem" {
			return d.skip()
		}
		var e nmapElem
		setAttr(&e.Key, t, "key")
		var err error
		e.Value, err = d.text()
		s.Elems = append(s.Elems, e)
		return err
	})
}

// children calls child with the start tag of each element directly inside
// the element whose start tag was read last, up to and including its end
// tag; child must consume the element through its end tag. Everything else
// inside (text, comments) is passed over.
func (d *hostDecoder) children(child func(xml.StartElement) error) error {
	for {
		tok, err := d.guard.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := child(t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil // the guard checked that it is the element's
		}
	}
}

// skip consumes the rest of the element whose start tag was read last.
func (d *hostDecoder) skip() error {
	for depth := 0; ; {
		tok, err := d.guard.Token()
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth == 0 {
				return nil
			}
			depth--
		}
	}
}

// text consumes the rest of the element whose start tag was read last and
// returns its own character data. The runs are gathered in a buffer that
// lives as long as d, because a CharData's bytes are the guard's, valid
// until the next token.
func (d *hostDecoder) text() (string, error) {
	d.textBuf = d.textBuf[:0]
	for depth := 0; ; {
		tok, err := d.guard.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth == 0 {
				s := string(d.textBuf)
				if cap(d.textBuf) > 64<<10 {
					d.textBuf = nil // a huge text is rare: do not keep its buffer
				}
				return s, nil
			}
			depth--
		case xml.CharData:
			if depth == 0 {
				d.textBuf = append(d.textBuf, t...)
			}
		}
	}
}

// setAttr sets *field to the value of the last attribute of start whose
// local name is name, and leaves it alone when there is none.
func setAttr(field *string, start xml.StartElement, name string) {
	for _, a := range start.Attr {
		if a.Name.Local == name {
			*field = a.Value
		}
	}
}
