// SPDX-License-Identifier: Apache-2.0

// Package masscan reads masscan's output formats, -oX (XML), -oJ (a JSON
// array), -oD (NDJSON), -oL (list), -oG (grepable) and -oB (its binary
// format), as portolan observations.
//
// A masscan file is one scan (intelligence.md "The instants of each
// format"): the status record of a port and the banner records that follow it
// make one observation per (ip, protocol, port), seen at the earliest record
// of that port and scanned at the latest. Records of one port can be spread
// over the whole file (masscan writes banners up to --wait seconds after the
// SYN-ACK, interleaved with other ports), so the Reader keeps a small state
// per distinct port and returns the observations once the input is
// exhausted, in the order their ports first appeared. Its memory is
// therefore proportional to the number of distinct ports in the file (a few
// hundred bytes each, plus the few banners kept per port), not to the number
// of records.
//
// How banner records become one observation (masscan's service names):
//
//   - "X509": base64 DER; the first one of a port is the leaf certificate
//     and becomes Certificate. "X509CA" (the rest of the chain) is ignored.
//   - "http": the HTTP response head; it is the Banner, with ScanProtocol
//     "http", ahead of any other banner.
//   - other text services ("ssh", "ftp", "smtp", "pop", "imap", "vnc",
//     "unknown", …): the Banner with ScanProtocol the service name.
//   - "http.server": the Server header value; without an "http" or other
//     text banner it becomes Banner "Server: <value>" with ScanProtocol
//     "http", so the fingerprint rules see it as a header.
//   - "ssl": masscan's TLS summary ("TLS/1.1 cipher:0xc014, <names>"); it is
//     the Banner, with ScanProtocol "tls", only when nothing above exists.
//   - "title", "html", "vuln", "heartbleed", "ticketbleed", "safe", "error",
//     "scripting", "versioning": findings about the service, not its answer;
//     ignored.
//
// Several banners of one kind on a port (masscan retries, or --hello)
// resolve deterministically: the longest text wins, then the one that sorts
// first.
//
// Banner text is returned as the bytes the service sent. masscan escapes
// non-printable bytes as \xNN in -oX and -oL and as \u00NN in -oJ and -oD;
// both are undone, so the text formats give the same banner (the caller's
// normalisation escapes bytes that are not UTF-8 again, per intelligence.md §4).
//
// Status records say "open" or, with --show closed, "closed"; a port with any
// open or banner record is open.
package masscan

import (
	"bufio"
	"bytes"
	"io"
	"time"

	"portolan"
	"portolan/internal/ingest/scan"
)

// Source is the Observation.Source of everything this package reads.
const Source = "masscan"

// The formats Options.Format names.
const (
	FormatXML    = "xml"
	FormatJSON   = "json"
	FormatNDJSON = "ndjson"
	FormatList   = "list"
	FormatGrep   = "grepable"
	FormatBinary = "binary"
)

// Options configures a Reader. The zero value reads any of the six formats,
// detected from the first bytes, with the default limits.
type Options struct {
	// Format is "" to detect the format, or one of FormatXML, FormatJSON,
	// FormatNDJSON, FormatList, FormatGrep and FormatBinary.
	Format string
	// MaxLineBytes bounds one line, JSON record or XML token; 0 means
	// scan.DefaultMaxLineBytes. Longer lines and JSON records are record
	// errors; a longer XML token ends the input (XML cannot be
	// resynchronised).
	MaxLineBytes int
	// MaxDepth bounds JSON and XML nesting; 0 means scan.DefaultMaxDepth. A
	// deeper JSON record is a record error; deeper XML ends the input.
	MaxDepth int
	// Time is the instant of -oL status lines written without one (0:
	// such lines are rejected).
	Time time.Time
}

// UsedTime reports whether a record read so far took Options.Time because
// its line had no time of its own.
func (r *Reader) UsedTime() bool {
	ls, ok := r.src.(*listSource)
	return ok && ls.usedAt
}

// Reader reads one masscan output file as observations. It implements
// portolan.ObservationReader; it is not safe for concurrent use.
type Reader struct {
	opts Options
	br   *bufio.Reader
	src  source // nil until the format is known
	agg  aggregator

	out     []*portolan.Observation // what remains to be returned after EOF
	drained bool                    // the input is exhausted; out is final
	err     error                   // returned once out is empty: io.EOF or fatal
}

var _ portolan.ObservationReader = (*Reader)(nil)

// source yields the records of one format. next returns a record, a
// *portolan.InputError for a record that cannot be used, io.EOF, or an
// error that ends the input (a *portolan.InputError with Fatal set, or the
// underlying reader's error wrapped).
type source interface {
	next() (record, error)
}

// NewReader returns a Reader of r. Nothing is read before the first Read.
func NewReader(r io.Reader, opts Options) *Reader {
	// The XML and list readers check and report the limits themselves, so
	// they are resolved here.
	opts.MaxLineBytes, opts.MaxDepth = scan.Limits(opts.MaxLineBytes, opts.MaxDepth)
	return &Reader{opts: opts, br: bufio.NewReaderSize(r, scan.BufferSize), agg: newAggregator()}
}

// Read returns the next observation; io.EOF at the end; a
// *portolan.InputError for a record that cannot be used, after which the
// caller reads on; and a *portolan.InputError with Fatal set, or the
// underlying reader's error wrapped, when the input cannot be read further:
// XML that is malformed, declares entities, nests too deeply or holds an
// oversized token (XML cannot be resynchronised after a bad record as lines
// can), or an unknown Options.Format. Observations come only
// after the whole input has been read (see the package documentation);
// when reading stops on an error, the observations of the records read until
// then are returned first, then the error.
func (r *Reader) Read() (*portolan.Observation, error) {
	for !r.drained {
		if r.src == nil {
			if err := r.start(); err != nil {
				r.finish(err)
				continue
			}
		}
		rec, err := r.src.next()
		if err == nil {
			r.agg.add(&rec)
			continue
		}
		if ie := portolan.RecordError(err); ie != nil {
			return nil, ie
		}
		r.finish(err)
	}
	if len(r.out) > 0 {
		o := r.out[0]
		r.out[0] = nil // let the caller own it alone
		r.out = r.out[1:]
		return o, nil
	}
	return nil, r.err
}

// finish ends the reading: the per-port state becomes the observations to
// return, followed by err.
func (r *Reader) finish(err error) {
	r.drained = true
	r.err = err
	r.out = r.agg.observations()
	r.agg = aggregator{}
}

// start picks the source for the configured or detected format.
func (r *Reader) start() error {
	format := r.opts.Format
	if format == "" {
		head, err := r.br.Peek(4096)
		if len(head) == 0 || scan.IsBlank(head) && err != nil {
			if err == nil || err == io.EOF {
				return io.EOF // an empty file is an empty scan
			}
			return wrapReadError(err, 0)
		}
		if format = detect(head, false); format == "" {
			format = FormatList // 4 KiB of blank lines: the list reader skips them
		}
	}
	switch format {
	case FormatXML:
		r.src = newXMLSource(r.br, r.opts)
	case FormatJSON:
		r.src = newJSONSource(r.br, r.opts)
	case FormatNDJSON:
		r.src = newNDJSONSource(r.br, r.opts)
	case FormatList:
		r.src = newListSource(r.br, r.opts)
	case FormatGrep:
		r.src = newGrepableSource(r.br, r.opts)
	case FormatBinary:
		r.src = newBinarySource(r.br)
	default:
		return &portolan.InputError{Source: Source, Offset: -1, Reason: "unknown format " + quote(format) + ": use xml, json, ndjson, list, grepable or binary", Fatal: true}
	}
	return nil
}

// Sniff reports whether head, the first bytes of an input (up to 4 KiB, or
// less for a short file), looks like masscan output in any of the six
// formats. It looks for masscan's own marks (scanner="masscan", the
// "#masscan" line, rec_type, the ip/ports record shape) so that it does not
// claim nmap XML or other scanners' JSON.
func Sniff(head []byte) bool {
	return detect(head, true) != ""
}

// detect names the format of head. strict requires masscan's marks and
// returns "" without them; otherwise the first byte decides.
func detect(head []byte, strict bool) string {
	if bytes.HasPrefix(head, []byte(binaryMagic)) {
		return FormatBinary
	}
	i := scan.SkipSpace(head, 0)
	if i >= len(head) {
		return ""
	}
	b := head[i:]
	switch b[0] {
	case '<':
		if !strict {
			return FormatXML
		}
		if bytes.Contains(b, []byte("<nmaprun")) &&
			(bytes.Contains(b, []byte(`scanner="masscan"`)) || bytes.Contains(b, []byte("<!-- masscan"))) {
			return FormatXML
		}
	case '[':
		if !strict {
			return FormatJSON
		}
		var ip, ports bool
		scan.SniffKeys(b[scan.SkipSpace(b, 1):], func(key string, first byte) bool {
			ip = ip || key == "ip" && first == '"'
			ports = ports || key == "ports" && first == '['
			return true
		})
		if ip && ports {
			return FormatJSON
		}
	case '{':
		if !strict {
			return FormatNDJSON
		}
		var recType bool
		scan.SniffKeys(b, func(key string, first byte) bool {
			recType = recType || key == "rec_type"
			return !recType
		})
		if recType {
			return FormatNDJSON
		}
	default:
		line := b
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		if isGrepable(line) {
			return FormatGrep
		}
		if !strict {
			return FormatList
		}
		line = bytes.TrimSpace(line)
		if bytes.Equal(line, []byte("#masscan")) {
			return FormatList
		}
		if _, skip, reason := parseListLine(line, 0); !skip && reason == "" {
			return FormatList
		}
	}
	return ""
}
