// SPDX-License-Identifier: Apache-2.0

package masscan

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"portolan/internal/ingest/scan"
)

// ndRecord mirrors one line of -oD (out-ndjson.c), each field with its key:
//
//	{"ip":"127.0.0.1","timestamp":"1795781195","port":80,"proto":"tcp","rec_type":"status","data":{"status":"open","reason":"syn-ack","ttl":64}}
//	{"ip":"127.0.0.1","timestamp":"1795781207","port":80,"proto":"tcp","rec_type":"banner","data":{"service_name":"http.server","banner":"nginx/1.22.1"}}
type ndRecord struct {
	IP          string // "ip"
	Timestamp   string // "timestamp": Unix seconds, written as a string
	Port        *int   // "port"
	Proto       string // "proto"
	RecType     string // "rec_type": "status" or "banner"
	Status      string // "data.status" of status records: "open" or "closed"
	ServiceName string // "data.service_name" of banner records
	Banner      string // "data.banner" of banner records, \u00NN-escaped
}

// decodeND fills nd from the line d was reset to.
func decodeND(d *scan.Decoder, nd *ndRecord) {
	if d.Peek() != '{' {
		d.Want("an object")
		return
	}
	d.Object()
	for d.Next() {
		switch string(d.Key()) {
		case "ip":
			nd.IP = d.Str()
		case "timestamp":
			nd.Timestamp = text(d)
		case "port":
			nd.Port = d.IntPtr()
		case "proto":
			nd.Proto = d.Str()
		case "rec_type":
			nd.RecType = d.Str()
		case "data":
			if !d.Object() {
				continue
			}
			for d.Next() {
				switch string(d.Key()) {
				case "status":
					nd.Status = d.Str()
				case "service_name":
					nd.ServiceName = d.Str()
				case "banner":
					nd.Banner = d.Str()
				default:
					d.Skip()
				}
			}
		default:
			d.Skip()
		}
	}
	d.End()
}

// jRecord mirrors one element of the -oJ array (out-json.c); masscan writes
// one port per element, with either a status or a service:
//
//	{ "ip": "127.0.0.1", "timestamp": "1795781163", "ports": [ {"port": 443, "proto": "tcp", "status": "open", "reason": "syn-ack", "ttl": 64} ] }
//	{ "ip": "127.0.0.1", "timestamp": "1795781175", "ports": [ {"port": 443, "proto": "tcp", "service": {"name": "ssl", "banner": "TLS/1.1 …"} } ] }
type jRecord struct {
	IP        string  // "ip"
	Timestamp string  // "timestamp": Unix seconds, written as a string
	Ports     []jPort // "ports"
}

// jPort is one element of "ports".
type jPort struct {
	Port       *int   // "port"
	Proto      string // "proto"
	Status     string // "status": "open" or "closed"
	HasService bool   // "service" is present
	Service    string // "service.name"
	Banner     string // "service.banner", \u00NN-escaped
}

// decodeJ fills jr from the object d was reset to.
func decodeJ(d *scan.Decoder, jr *jRecord) {
	d.Object()
	for d.Next() {
		switch string(d.Key()) {
		case "ip":
			jr.IP = d.Str()
		case "timestamp":
			jr.Timestamp = text(d)
		case "ports":
			if !d.Array() {
				continue
			}
			for d.Elem() {
				if !d.Object() {
					continue
				}
				var p jPort
				for d.Next() {
					switch string(d.Key()) {
					case "port":
						p.Port = d.IntPtr()
					case "proto":
						p.Proto = d.Str()
					case "status":
						p.Status = d.Str()
					case "service":
						if !d.Object() {
							continue
						}
						p.HasService = true
						for d.Next() {
							switch string(d.Key()) {
							case "name":
								p.Service = d.Str()
							case "banner":
								p.Banner = d.Str()
							default:
								d.Skip()
							}
						}
					default:
						d.Skip()
					}
				}
				jr.Ports = append(jr.Ports, p)
			}
		default:
			d.Skip()
		}
	}
	d.End()
}

// text returns a string value, or the text of a number or literal, for
// fields that tools write either way ("timestamp": "1795781195" or
// 1795781195); null gives "".
func text(d *scan.Decoder) string {
	if d.Err() != nil || d.Null() {
		return ""
	}
	switch c := d.Peek(); {
	case c == '"':
		return d.Str()
	case c == 't' || c == 'f':
		if v, ok := d.Bool(); ok {
			return strconv.FormatBool(v)
		}
		return ""
	case c == '-' || c >= '0' && c <= '9':
		return string(d.Number())
	}
	d.Want("a string or a number")
	return ""
}

// ndjsonSource reads -oD, one JSON record per line.
type ndjsonSource struct {
	recs *scan.Records[record]
}

func newNDJSONSource(br *bufio.Reader, opts Options) ndjsonSource {
	lr := scan.NewLineReader(br, opts.MaxLineBytes)
	return ndjsonSource{recs: scan.NewRecords(Source, lr, opts.MaxDepth, ndjsonLine)}
}

func (s ndjsonSource) next() (record, error) {
	return s.recs.Read()
}

// ndjsonLine decodes one line of -oD, d reset to it, and queues its record.
func ndjsonLine(rs *scan.Records[record], d *scan.Decoder) {
	var nd ndRecord
	decodeND(d, &nd)
	if d.Err() != nil {
		rs.Reject("%v", d.Err())
		return
	}
	rec := record{ip: nd.IP, proto: nd.Proto}
	switch nd.RecType {
	case "status":
		rec.status = nd.Status
		if rec.status == "" {
			rs.Reject("a status record has no data.status")
			return
		}
	case "banner":
		rec.service = nd.ServiceName
		rec.banner = bytesFromLatin1(nd.Banner)
		if rec.service == "" {
			rs.Reject("a banner record has no data.service_name")
			return
		}
	default:
		rs.Reject("rec_type %s is neither status nor banner", quote(nd.RecType))
		return
	}
	if reason := complete(&rec, nd.Port, nd.Timestamp); reason != "" {
		rs.Reject("%s", reason)
		return
	}
	rs.Emit(rec)
}

// complete fills the port and time of rec, or says what is missing.
func complete(rec *record, port *int, ts string) string {
	if rec.ip == "" {
		return "the record has no ip"
	}
	if port == nil {
		return "the record has no port"
	}
	rec.port = *port
	var ok bool
	if rec.ts, ok = parseUnix(ts); !ok {
		if ts == "" {
			return "the record has no timestamp"
		}
		return "timestamp " + quote(ts) + " is not Unix seconds"
	}
	return ""
}

// jsonSource reads -oJ. It streams the array one element at a time with
// objectScanner rather than encoding/json's Decoder, because masscan's
// separators are not always valid JSON: older versions end every element
// with a comma (so the last one is followed by "]"), and --append-output
// leaves several arrays in one file.
type jsonSource struct {
	sc    *objectScanner
	dec   scan.Decoder
	opts  Options
	queue []record
}

func newJSONSource(br *bufio.Reader, opts Options) *jsonSource {
	return &jsonSource{
		sc:   &objectScanner{br: br, max: opts.MaxLineBytes, maxDepth: opts.MaxDepth, line: 1},
		dec:  scan.Decoder{MaxDepth: opts.MaxDepth},
		opts: opts,
	}
}

// finishedTrailer is the "{finished: 1}" element (not JSON: the key is not
// quoted) that old masscan versions write before "]".
var finishedTrailer = []byte("{finished:1}")

func (s *jsonSource) next() (record, error) {
	for len(s.queue) == 0 {
		obj, line, off, err := s.sc.next()
		if err != nil {
			return record{}, err
		}
		if !utf8.Valid(obj) {
			return record{}, inputError(line, off, "the record is not valid UTF-8, which JSON requires")
		}
		var jr jRecord
		s.dec.Reset(obj)
		decodeJ(&s.dec, &jr)
		if s.dec.Err() != nil {
			if bytes.Equal(removeSpace(obj), finishedTrailer) {
				continue
			}
			return record{}, inputError(line, off, "%v", s.dec.Err())
		}
		if len(jr.Ports) == 0 {
			return record{}, inputError(line, off, "the record has no ports")
		}
		for _, p := range jr.Ports {
			rec := record{ip: jr.IP, proto: p.Proto, status: p.Status}
			if p.HasService {
				rec.service = p.Service
				rec.banner = bytesFromLatin1(p.Banner)
			}
			if rec.status == "" && rec.service == "" {
				return record{}, inputError(line, off, "a port of the record has neither status nor service")
			}
			if reason := complete(&rec, p.Port, jr.Timestamp); reason != "" {
				return record{}, inputError(line, off, "%s", reason)
			}
			s.queue = append(s.queue, rec)
		}
	}
	rec := s.queue[0]
	s.queue = s.queue[1:]
	return rec, nil
}

// removeSpace returns b without ASCII white space.
func removeSpace(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return out
}

// objectScanner cuts a stream into top-level JSON objects by matching
// braces outside strings, skipping white space, commas and brackets between
// them. It bounds each object's size and nesting; an object beyond either
// is consumed and reported as a record error.
type objectScanner struct {
	br       *bufio.Reader
	max      int
	maxDepth int
	buf      []byte
	line     int   // line of the next unread byte, 1-based
	off      int64 // offset of the next unread byte
}

// window returns the bytes bufio holds, reading more when it holds none.
func (s *objectScanner) window() ([]byte, error) {
	if s.br.Buffered() == 0 {
		if _, err := s.br.Peek(1); err != nil {
			return nil, err
		}
	}
	return s.br.Peek(s.br.Buffered())
}

func (s *objectScanner) consume(n int) {
	s.br.Discard(n) // never fails: n bytes are buffered
	s.off += int64(n)
}

// next returns the next object, valid until the next call, with its line and
// offset; a *portolan.InputError for an object that cannot be used or for
// junk between objects; io.EOF; or a read error.
func (s *objectScanner) next() (obj []byte, line int, off int64, err error) {
	if cap(s.buf) > 4*scan.BufferSize {
		s.buf = nil
	}
	// Find the opening brace.
	for found := false; !found; {
		w, err := s.window()
		if err == io.EOF {
			return nil, 0, 0, io.EOF
		}
		if err != nil {
			return nil, 0, 0, wrapReadError(err, s.off)
		}
		i := 0
	find:
		for ; i < len(w); i++ {
			switch c := w[i]; c {
			case '{':
				found = true
				break find
			case '\n':
				s.line++
			case ' ', '\t', '\r', ',', '[', ']':
			default:
				s.consume(i)
				line, off := s.line, s.off
				if err := s.skipLine(); err != nil && err != io.EOF {
					return nil, 0, 0, wrapReadError(err, s.off)
				}
				return nil, 0, 0, inputError(line, off, "unexpected %s between records", quote(string(rune(c))))
			}
		}
		s.consume(i)
	}
	line, off = s.line, s.off
	s.buf = s.buf[:0]
	depth, inStr, esc := 0, false, false
	reason := ""
	for done := false; !done; {
		w, err := s.window()
		if err == io.EOF {
			return nil, 0, 0, inputError(line, off, "the input ends inside this record (truncated)")
		}
		if err != nil {
			return nil, 0, 0, wrapReadError(err, s.off)
		}
		n := len(w)
		for i := 0; i < len(w); i++ {
			c := w[i]
			if c == '\n' {
				s.line++
			}
			if inStr {
				switch {
				case esc:
					esc = false
				case c == '\\':
					esc = true
				case c == '"':
					inStr = false
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				depth++
				if depth > s.maxDepth && reason == "" {
					reason = fmt.Sprintf("the record nests deeper than %d levels", s.maxDepth)
				}
			case '}', ']':
				depth--
			}
			if depth == 0 {
				n, done = i+1, true
				break
			}
		}
		if reason == "" && len(s.buf)+n > s.max {
			reason = fmt.Sprintf("the record is longer than %d bytes", s.max)
		}
		if reason == "" {
			s.buf = append(s.buf, w[:n]...)
		} else {
			s.buf = s.buf[:0] // keep consuming, but hold nothing
		}
		s.consume(n)
	}
	if reason != "" {
		return nil, 0, 0, inputError(line, off, "%s", reason)
	}
	return s.buf, line, off, nil
}

// skipLine consumes through the next newline.
func (s *objectScanner) skipLine() error {
	for {
		w, err := s.window()
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(w, '\n'); i >= 0 {
			s.consume(i + 1)
			s.line++
			return nil
		}
		s.consume(len(w))
	}
}
