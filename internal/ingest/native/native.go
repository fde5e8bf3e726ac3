// SPDX-License-Identifier: Apache-2.0

// Package native reads Portolan's native format: newline-delimited JSON, one
// observation per line, with exactly the field names of intelligence.md §1
// (host, port, protocol, status, seenAt, scannedAt, source, scanProtocol,
// banner, components, certificate, hostnames). The certificate is base64 DER
// or a PEM string. It is the format other programs should emit.
//
// Lines are read with the JSON-lines record loop of package scan and decoded
// with its pull decoder, field by field, with the rules encoding/json applied
// when it decoded them into a struct with DisallowUnknownFields: a key
// matches its field exactly or, failing that, case-insensitively (as
// encoding/json folds it); an unknown key, or a value of the wrong type, is
// an error (the first one in the line is reported, after any syntax error);
// null leaves a string as it is and unsets the required fields and the
// lists; a later duplicate key wins. Unlike encoding/json, a line that is
// not valid UTF-8 is rejected rather than altered (scan.Records), and a line
// is limited to its maximum without its line ending.
package native

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"portolan"
	"portolan/internal/ingest/scan"
)

// DefaultMaxLine is the longest line accepted: a 16 KiB banner, a
// certificate chain and their JSON escaping fit many times over.
const DefaultMaxLine = 4 << 20

// name prefixes the errors of the underlying reader.
const name = "native"

// Reader reads observations from native NDJSON. It implements
// portolan.ObservationReader; it is not safe for concurrent use.
type Reader struct {
	recs *scan.Records[*portolan.Observation]
	lr   *scan.LineReader
	// line and off are where the observation Read returned last starts.
	line int
	off  int64
	rec  record // the line being decoded
	// bad is the first type or unknown-field error of the line, which is
	// reported unless the line is not JSON at all.
	bad      string
	interned interner
}

var _ portolan.ObservationReader = (*Reader)(nil)

// NewReader returns a Reader of r. maxLine bounds a line, without its line
// ending (0: DefaultMaxLine); a longer line is a record error and is
// skipped. Nothing is read before the first Read.
func NewReader(r io.Reader, maxLine int) *Reader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	rd := &Reader{lr: scan.NewLineReader(bufio.NewReaderSize(r, scan.BufferSize), maxLine), off: -1}
	rd.recs = scan.NewRecords(name, rd.lr, 0, rd.readLine)
	return rd
}

// Sniff reports whether head (the first bytes of an input) starts with a
// JSON object that has the native format's required fields.
func Sniff(head []byte) bool {
	head = bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(head) == 0 || head[0] != '{' {
		return false
	}
	line := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		line = head[:i]
	}
	return bytes.Contains(line, []byte(`"scannedAt"`)) && bytes.Contains(line, []byte(`"host"`))
}

// Position returns the line of the observation Read returned last, and the
// byte offset where that line starts (0 and -1 before the first).
func (r *Reader) Position() (line int, offset int64) { return r.line, r.off }

// Read returns the next observation; io.EOF at the end; a
// *portolan.InputError for a line that cannot be used (too long, not UTF-8,
// not an observation), after which the caller reads on; and the underlying
// reader's error, wrapped, when the input cannot be read further. Blank
// lines are skipped.
func (r *Reader) Read() (*portolan.Observation, error) {
	o, err := r.recs.Read()
	if err == nil {
		// Each line yields one result, returned as soon as it is decoded:
		// the line reader is still at its line.
		r.line, r.off = r.lr.Line(), r.lr.Offset()
	}
	return o, err
}

// readLine is the scan.LineFunc: it decodes one line, d reset to it, and
// queues its observation or the reason it is rejected.
func (r *Reader) readLine(rs *scan.Records[*portolan.Observation], d *scan.Decoder) {
	o, reason := r.decode(d)
	if reason != "" {
		rs.Reject("%s", reason)
		return
	}
	rs.Emit(o)
}

// record is what a line says, before it is checked. The has flags tell a
// missing (or null) required field from a zero one; times and the
// certificate are converted as they are read, a later duplicate replacing
// the result.
type record struct {
	host, status, source                   string
	port                                   int
	hasHost, hasPort, hasStatus, hasSource bool
	protocol, scanProtocol, banner         string
	components                             []portolan.Component
	hostnames                              []string
	scannedAt, seenAt                      timeField
	certificate                            []byte
	certificateErr                         string // why the certificate is refused, if it is
}

// timeField is an RFC 3339 field as read: set, and either its instant (ok)
// or its text when it is not one.
type timeField struct {
	set, ok bool
	t       time.Time
	text    string // when set and not ok
}

// The fields of a line, and of a component, by index.
const (
	fHost = iota
	fPort
	fProtocol
	fStatus
	fSeenAt
	fScannedAt
	fSource
	fScanProtocol
	fBanner
	fComponents
	fCertificate
	fHostnames
	fUnknown = -1
)

const (
	fName = iota
	fVersion
	fCategory
)

// recordFields and componentFields are the JSON names of the fields, in
// the order of their indexes.
var (
	recordFields    = []string{"host", "port", "protocol", "status", "seenAt", "scannedAt", "source", "scanProtocol", "banner", "components", "certificate", "hostnames"}
	componentFields = []string{"name", "version", "category"}
)

// recordField returns the index of the field key names.
func recordField(key []byte) int {
	switch string(key) {
	case "host":
		return fHost
	case "port":
		return fPort
	case "protocol":
		return fProtocol
	case "status":
		return fStatus
	case "seenAt":
		return fSeenAt
	case "scannedAt":
		return fScannedAt
	case "source":
		return fSource
	case "scanProtocol":
		return fScanProtocol
	case "banner":
		return fBanner
	case "components":
		return fComponents
	case "certificate":
		return fCertificate
	case "hostnames":
		return fHostnames
	}
	return foldedField(key, recordFields)
}

// componentField returns the index of the component field key names.
func componentField(key []byte) int {
	switch string(key) {
	case "name":
		return fName
	case "version":
		return fVersion
	case "category":
		return fCategory
	}
	return foldedField(key, componentFields)
}

// foldedField matches key to one of names case-insensitively, as
// encoding/json does when no name is equal to the key: by comparing the
// names folded to upper case ASCII and to the smallest rune of their
// Unicode case-folding orbit (so that "ſource", with a long s, is source).
func foldedField(key []byte, names []string) int {
	var arr [32]byte
	folded := arr[:0]
	for i := 0; i < len(key); {
		if c := key[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			folded = append(folded, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(key[i:])
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		folded = utf8.AppendRune(folded, r)
		i += n
	}
	for i, name := range names {
		if len(name) == len(folded) && equalUpper(name, folded) {
			return i
		}
	}
	return fUnknown
}

// equalUpper reports whether the ASCII name, in upper case, is folded.
func equalUpper(name string, folded []byte) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != folded[i] {
			return false
		}
	}
	return true
}

// decode reads the line d is reset to; a non-empty reason says why it is
// rejected. The checks, and their order, are those of the encoding/json
// reader this replaces: syntax, then types and unknown fields, then one
// JSON value per line, then the required fields, the times and the
// certificate.
func (r *Reader) decode(d *scan.Decoder) (*portolan.Observation, string) {
	rec := &r.rec
	*rec = record{}
	r.bad = ""
	switch d.Peek() {
	case '{':
		r.object(d, rec)
	case 'n':
		d.Null() // a record with no fields, as encoding/json takes it
	default:
		if kind := kindOf(d.Peek()); kind != "" {
			r.bad = "not a valid observation: the line must be a JSON object, not " + kind
		}
		d.Skip()
	}
	if err := d.Err(); err != nil {
		return nil, "not a valid observation: " + r.syntaxReason(d, err)
	}
	if r.bad != "" {
		return nil, r.bad
	}
	// encoding/json's Decoder.More let a stray "}" or "]" through.
	if c := d.Peek(); c == '}' || c == ']' {
		return nil, fmt.Sprintf("not a valid observation: invalid JSON: %q after the object", c)
	}
	if d.End(); d.Err() != nil {
		return nil, "more than one JSON value on the line"
	}
	switch {
	case !rec.hasHost:
		return nil, `field "host" is missing`
	case !rec.hasPort:
		return nil, `field "port" is missing`
	case !rec.hasStatus:
		return nil, `field "status" is missing`
	case !rec.scannedAt.set:
		return nil, `field "scannedAt" is missing`
	case !rec.hasSource:
		return nil, `field "source" is missing`
	case !rec.scannedAt.ok:
		return nil, fmt.Sprintf("scannedAt %q is not an RFC 3339 instant", rec.scannedAt.text)
	case rec.seenAt.set && !rec.seenAt.ok:
		return nil, fmt.Sprintf("seenAt %q is not an RFC 3339 instant", rec.seenAt.text)
	case rec.certificateErr != "":
		return nil, rec.certificateErr
	}
	return &portolan.Observation{
		Host: rec.host, Port: rec.port, Protocol: portolan.Protocol(rec.protocol),
		Status: portolan.HostPortStatus(rec.status), SeenAt: rec.seenAt.t, ScannedAt: rec.scannedAt.t,
		Source: rec.source, ScanProtocol: rec.scanProtocol, Banner: rec.banner,
		Components: rec.components, Certificate: rec.certificate, Hostnames: rec.hostnames,
	}, ""
}

// object decodes the members of the line's object into rec.
func (r *Reader) object(d *scan.Decoder, rec *record) {
	d.Object()
	for d.Next() {
		switch recordField(d.Key()) {
		case fHost:
			rec.hasHost = r.required(d, &rec.host, "host", false)
		case fPort:
			r.port(d, rec)
		case fProtocol:
			r.str(d, &rec.protocol, "protocol", true)
		case fStatus:
			rec.hasStatus = r.required(d, &rec.status, "status", true)
		case fSeenAt:
			r.time(d, &rec.seenAt, "seenAt", true)
		case fScannedAt:
			r.time(d, &rec.scannedAt, "scannedAt", false)
		case fSource:
			rec.hasSource = r.required(d, &rec.source, "source", true)
		case fScanProtocol:
			r.str(d, &rec.scanProtocol, "scanProtocol", true)
		case fBanner:
			r.str(d, &rec.banner, "banner", false)
		case fComponents:
			rec.components = r.components(d, rec.components)
		case fCertificate:
			r.certificate(d, rec)
		case fHostnames:
			rec.hostnames = r.hostnames(d, rec.hostnames)
		default:
			r.unknown(d)
		}
	}
}

// str decodes a string into *dst; null leaves *dst as it is. A value
// likely to repeat from line to line (a status, a source) is interned.
func (r *Reader) str(d *scan.Decoder, dst *string, field string, intern bool) {
	switch d.Peek() {
	case '"':
		b, _ := d.StrBytes()
		if intern {
			*dst = r.interned.get(b)
		} else {
			*dst = string(b)
		}
	case 'n':
		d.Null()
	default:
		r.mismatch(d, field, "string")
	}
}

// required decodes a required string into *dst and reports whether it is
// set: null unsets it.
func (r *Reader) required(d *scan.Decoder, dst *string, field string, intern bool) bool {
	if d.Null() {
		*dst = ""
		return false
	}
	r.str(d, dst, field, intern)
	return true
}

// port decodes "port", an int.
func (r *Reader) port(d *scan.Decoder, rec *record) {
	switch c := d.Peek(); {
	case c == 'n':
		d.Null()
		rec.port, rec.hasPort = 0, false
	case c == '-' || '0' <= c && c <= '9':
		text := d.Number()
		if d.Err() != nil {
			return
		}
		n, err := strconv.ParseInt(string(text), 10, strconv.IntSize)
		if err != nil {
			r.fail(`field "port" must be int, not number ` + string(text))
		}
		rec.port, rec.hasPort = int(n), true
	default:
		r.mismatch(d, "port", "int")
	}
}

// time decodes an RFC 3339 instant into *f. For scannedAt (required), null
// unsets it; for seenAt (optional), it leaves it as it is, and "" is no
// time.
func (r *Reader) time(d *scan.Decoder, f *timeField, field string, optional bool) {
	switch d.Peek() {
	case '"':
		b, _ := d.StrBytes()
		if optional && len(b) == 0 {
			*f = timeField{}
			return
		}
		*f = timeField{set: true}
		if f.t, f.ok = parseTime(b); !f.ok {
			f.text = string(b)
		}
	case 'n':
		d.Null()
		if !optional {
			*f = timeField{}
		}
	default:
		r.mismatch(d, field, "string")
	}
}

// certificate decodes "certificate", PEM or standard base64 DER; "" is no
// certificate.
func (r *Reader) certificate(d *scan.Decoder, rec *record) {
	switch d.Peek() {
	case '"':
		b, _ := d.StrBytes()
		rec.certificate, rec.certificateErr = nil, ""
		if len(b) > 0 {
			var err error
			if rec.certificate, err = decodeCertificate(b); err != nil {
				rec.certificateErr = err.Error()
			}
		}
	case 'n':
		d.Null()
	default:
		r.mismatch(d, "certificate", "string")
	}
}

// components decodes "components" into dst, reusing its elements as
// encoding/json does when the key is repeated; null gives nil, [] an empty
// list.
func (r *Reader) components(d *scan.Decoder, dst []portolan.Component) []portolan.Component {
	switch d.Peek() {
	case 'n':
		d.Null()
		return nil
	case '[':
	default:
		r.mismatch(d, "components", "[]portolan.Component")
		return dst
	}
	s := dst[:0]
	d.Array()
	for d.Elem() {
		if len(s) < cap(s) {
			s = s[:len(s)+1]
		} else {
			s = append(s, portolan.Component{})
		}
		c := &s[len(s)-1]
		switch d.Peek() {
		case '{':
			d.Object()
			for d.Next() {
				switch componentField(d.Key()) {
				case fName:
					r.str(d, &c.Name, "components.name", true)
				case fVersion:
					r.str(d, &c.Version, "components.version", true)
				case fCategory:
					r.str(d, &c.Category, "components.category", true)
				default:
					r.unknown(d)
				}
			}
		case 'n':
			d.Null() // leaves the element as it is
		default:
			r.mismatch(d, "components", "portolan.Component")
		}
	}
	if len(s) == 0 {
		return []portolan.Component{}
	}
	return s
}

// hostnames decodes "hostnames" into dst, as components does.
func (r *Reader) hostnames(d *scan.Decoder, dst []string) []string {
	switch d.Peek() {
	case 'n':
		d.Null()
		return nil
	case '[':
	default:
		r.mismatch(d, "hostnames", "[]string")
		return dst
	}
	s := dst[:0]
	d.Array()
	for d.Elem() {
		if len(s) < cap(s) {
			s = s[:len(s)+1]
		} else {
			s = append(s, "")
		}
		r.str(d, &s[len(s)-1], "hostnames", false)
	}
	if len(s) == 0 {
		return []string{}
	}
	return s
}

// fail records reason, the line's first type or unknown-field error,
// unless there is one already.
func (r *Reader) fail(reason string) {
	if r.bad == "" {
		r.bad = "not a valid observation: " + reason
	}
}

// mismatch records that the value at d, of field, is not of the Go type
// typ (named as encoding/json names it), and skips it.
func (r *Reader) mismatch(d *scan.Decoder, field, typ string) {
	if kind := kindOf(d.Peek()); kind != "" && r.bad == "" {
		r.fail(fmt.Sprintf("field %q must be %s, not %s", field, typ, kind))
	}
	d.Skip() // and what is not a value at all is a syntax error
}

// unknown records that the member d is at has an unknown key, and skips
// its value.
func (r *Reader) unknown(d *scan.Decoder) {
	if r.bad == "" {
		r.fail(fmt.Sprintf("json: unknown field %q", d.Key()))
	}
	d.Skip()
}

// kindOf names the kind of JSON value that starts with c, as encoding/json
// does in its type errors; "" if c starts none (or null).
func kindOf(c byte) string {
	switch {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "bool"
	case c == '-' || '0' <= c && c <= '9':
		return "number"
	}
	return ""
}

// syntaxReason words the syntax error err of d: a line that ends before
// its JSON value does is "truncated", as encoding/json said. That is an
// error where d finds nothing more to read (it reads a NUL byte as the end,
// so one among the last two bytes of the line, before its end, counts as
// the end too: a NUL is damage either way).
func (r *Reader) syntaxReason(d *scan.Decoder, err error) string {
	var se *scan.SyntaxError
	if errors.As(err, &se) {
		consumed := r.lr.InputOffset() - r.lr.Offset() // the line and its line ending
		if d.Peek() == 0 && consumed-int64(d.Offset()) <= 2 {
			return "the JSON object is truncated"
		}
	}
	return err.Error()
}

// parseTime is time.Parse(time.RFC3339Nano, string(b)) without converting
// b, for the usual form, UTC with "Z".
func parseTime(b []byte) (time.Time, bool) {
	if t, ok := parseUTC(b); ok {
		return t, true
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	return t, err == nil
}

// parseUTC parses "2006-01-02T15:04:05Z", optionally with a fraction of a
// second of any length (digits beyond nanoseconds are dropped). It accepts
// only what time.Parse's own RFC 3339 fast path accepts with a "Z", and
// returns what it returns; ok is false for anything else, which time.Parse
// then reads.
func parseUTC(s []byte) (t time.Time, ok bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || s[len(s)-1] != 'Z' ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	ok = true
	num := func(b []byte, lo, hi int) int {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				ok = false
				return lo
			}
			n = n*10 + int(c-'0')
		}
		if n < lo || n > hi {
			ok = false
			return lo
		}
		return n
	}
	year := num(s[0:4], 0, 9999)
	month := num(s[5:7], 1, 12)
	day := num(s[8:10], 1, daysIn(month, year))
	hour := num(s[11:13], 0, 23)
	minute := num(s[14:16], 0, 59)
	sec := num(s[17:19], 0, 59)
	nsec := 0
	if frac := s[19 : len(s)-1]; len(frac) > 0 {
		if len(frac) < 2 || frac[0] != '.' {
			return time.Time{}, false
		}
		digits := frac[1:]
		for _, c := range digits {
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
		}
		digits = digits[:min(len(digits), 9)]
		for _, c := range digits {
			nsec = nsec*10 + int(c-'0')
		}
		for range 9 - len(digits) {
			nsec *= 10
		}
	}
	if !ok {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// daysIn returns the number of days of month in year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// decodeCertificate accepts PEM or standard base64 DER.
func decodeCertificate(s []byte) ([]byte, error) {
	if bytes.HasPrefix(bytes.TrimSpace(s), []byte("-----BEGIN")) {
		der, err := portolan.DecodeCertificate(s)
		if err != nil {
			return nil, errors.New(portolan.ErrorMessage(err))
		}
		return der, nil
	}
	der := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(der, s)
	if err != nil {
		return nil, errors.New("certificate is neither PEM nor base64 DER")
	}
	return der[:n], nil
}

// interner shares the strings of values that repeat from line to line
// (statuses, sources, protocols, product names and versions), so that they
// are allocated once rather than on every line. It holds at most
// maxInterned strings of at most maxInternedLen bytes, forgetting them all
// when full.
type interner struct {
	m map[string]string
}

const (
	maxInterned    = 4096
	maxInternedLen = 64
)

// get returns b as a string, the one it returned before for the same
// bytes if it has kept it.
func (in *interner) get(b []byte) string {
	if len(b) > maxInternedLen {
		return string(b)
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	if in.m == nil || len(in.m) >= maxInterned {
		in.m = make(map[string]string, 64)
	}
	s := string(b)
	in.m[s] = s
	return s
}
