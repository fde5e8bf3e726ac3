// SPDX-License-Identifier: Apache-2.0

package zmap

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"portolan"
	"portolan/internal/ingest/scan"
)

// layout is how the file is written.
type layout int

const (
	layoutUnknown   layout = iota // before the first line
	layoutCSV                     // a header row naming the fields, then rows
	layoutAddresses               // ZMap's default output: one saddr per line
	layoutJSON                    // one JSON object per line
)

// form is the layout and, for CSV, the column of each field used (-1 when
// the file lacks it).
type form struct {
	layout  layout
	columns int // fields per CSV row
	saddr, sport, success, class,
	ts, us, str int
}

// zRecord mirrors one line of -O json, each field with ZMap's name:
//
//	{ "saddr": "127.0.0.1", "sport": 18022, "classification": "synack", "success": 1, "repeat": 0,
//	  "timestamp-str": "2026-11-27T12:10:08.671+0000", "timestamp-ts": 1795781408, "timestamp-us": 671534, … }
type zRecord struct {
	Saddr          string // "saddr"
	Sport          *int   // "sport"
	Success        *bool  // "success": 1/0, or true/false in some builds
	Classification string // "classification": synack, rst, udp, icmp-unreach, …
	TimestampTS    *int64 // "timestamp-ts": Unix seconds
	TimestampUS    *int64 // "timestamp-us": microseconds within the second
	TimestampStr   string // "timestamp-str"
}

// decodeZ fills z from the line d was reset to.
func decodeZ(d *scan.Decoder, z *zRecord) {
	if d.Peek() != '{' {
		d.Want("an object")
		return
	}
	d.Object()
	for d.Next() {
		switch string(d.Key()) {
		case "saddr":
			z.Saddr = d.Str()
		case "sport":
			z.Sport = d.IntPtr()
		case "success":
			z.Success = boolish(d)
		case "classification":
			z.Classification = d.Str()
		case "timestamp-ts":
			if n, ok := d.Int(); ok {
				z.TimestampTS = &n
			}
		case "timestamp-us":
			if n, ok := d.Int(); ok {
				z.TimestampUS = &n
			}
		case "timestamp-str":
			z.TimestampStr = d.Str()
		default:
			d.Skip()
		}
	}
	d.End()
}

// boolish decodes a boolean written as true/false or 1/0; nil for null.
func boolish(d *scan.Decoder) *bool {
	var v bool
	switch d.Peek() {
	case 'n':
		d.Skip()
		return nil
	case 't', 'f':
		v, _ = d.Bool()
	default:
		start := d.Offset()
		n, ok := d.Int()
		if !ok {
			return nil
		}
		if n != 0 && n != 1 {
			d.WantAt(start, "1, 0, true or false")
			return nil
		}
		v = n == 1
	}
	return &v
}

// answer is one line of the file, reduced to what the adapter needs.
type answer struct {
	saddr   string
	proto   portolan.Protocol
	port    int
	success bool
	at      time.Time
}

// next returns the next answer, a *portolan.InputError, io.EOF, or an error
// that ends the input.
func (r *Reader) next() (answer, error) {
	for {
		line, tooLong, err := r.lr.Read()
		if err == io.EOF {
			return answer{}, io.EOF
		}
		if err != nil {
			return answer{}, fmt.Errorf("zmap: read at byte %d: %w", r.lr.InputOffset(), err)
		}
		if tooLong {
			return answer{}, r.bad("the line is longer than %d bytes", r.opts.MaxLineBytes)
		}
		if r.lr.Line() == 1 {
			line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF")) // a UTF-8 byte order mark
		}
		if scan.IsBlank(line) {
			continue
		}
		if r.form.layout == layoutUnknown {
			header, err := r.detect(line)
			if err != nil {
				return answer{}, err
			}
			if header {
				continue
			}
		}
		var a answer
		var skip bool
		if r.form.layout == layoutJSON {
			a, skip, err = r.parseJSON(line)
		} else {
			a, skip, err = r.parseCSV(line)
		}
		if err != nil {
			return answer{}, err
		}
		if !skip {
			return a, nil
		}
	}
}

// bad returns a record error for the current line.
func (r *Reader) bad(format string, args ...any) *portolan.InputError {
	return &portolan.InputError{Source: Source, Line: r.lr.Line(), Offset: r.lr.Offset(), Reason: fmt.Sprintf(format, args...)}
}

// fatal returns the error that ends the input at the current line.
func (r *Reader) fatal(msg string) *portolan.InputError {
	return &portolan.InputError{Source: Source, Line: r.lr.Line(), Offset: r.lr.Offset(), Reason: msg, Fatal: true}
}

// Messages of the fatal errors, in the words of the command line.
const (
	msgNoPort = "the file has no sport field, so the scanned port is unknown: pass --port with the port given to zmap -p"
	msgNoTime = "the file has no timestamp-ts or timestamp-str field, and its modification time was not given"
)

// detect learns the layout from the first line. header reports that the
// line was a CSV header, not an answer.
func (r *Reader) detect(line []byte) (header bool, err error) {
	f := form{saddr: -1, sport: -1, success: -1, class: -1, ts: -1, us: -1, str: -1}
	if trimmed := bytes.TrimSpace(line); trimmed[0] == '{' {
		f.layout = layoutJSON
		r.form = f
		return false, nil
	}
	fields, ok := splitCSV(line, nil)
	if r.lr.Unterminated() && len(fields) > 0 && isFieldPrefix(strings.TrimSpace(string(fields[0]))) {
		// A header and nothing after it, not even its line ending: the
		// file was cut inside its first line, and whatever answers it had
		// are lost. (A scan that found nothing still ends its header line.)
		return false, r.fatal("the file ends inside its header line: it was cut short (truncated), so no answer can be read")
	}
	if !ok {
		return false, r.fatal("the first line is neither a ZMap CSV header nor an address: a quote is not closed")
	}
	if len(fields) == 1 {
		if _, err := netip.ParseAddr(strings.TrimSpace(string(fields[0]))); err == nil {
			// The default output: addresses only, no header.
			f.layout, f.columns, f.saddr = layoutAddresses, 1, 0
			r.form = f
			return false, r.checkForm()
		}
	}
	for i, name := range fields {
		switch strings.TrimSpace(string(name)) {
		case "saddr":
			f.saddr = i
		case "sport":
			f.sport = i
		case "success":
			f.success = i
		case "classification":
			f.class = i
		case "timestamp-ts":
			f.ts = i
		case "timestamp-us":
			f.us = i
		case "timestamp-str":
			f.str = i
		}
	}
	if f.saddr < 0 {
		return false, r.fatal("the first line is neither a ZMap CSV header with a saddr column nor an address")
	}
	f.layout, f.columns = layoutCSV, len(fields)
	r.form = f
	return true, r.checkForm()
}

// fieldNames are the ZMap output fields Portolan reads, which a header
// made with -f names.
var fieldNames = []string{"saddr", "sport", "success", "classification", "timestamp-ts", "timestamp-us", "timestamp-str"}

// isFieldPrefix reports whether s begins a field name (or is one): the
// first column of a header, possibly cut short.
func isFieldPrefix(s string) bool {
	for _, name := range fieldNames {
		if s != "" && strings.HasPrefix(name, s) || strings.HasPrefix(s, name) {
			return true
		}
	}
	return false
}

// checkForm fails a CSV file that cannot give ports or times, before any of
// its rows is read.
func (r *Reader) checkForm() error {
	if r.form.sport < 0 && r.opts.Port == 0 {
		return r.fatal(msgNoPort)
	}
	if r.form.ts < 0 && r.form.str < 0 && r.opts.ModTime.IsZero() {
		return r.fatal(msgNoTime)
	}
	return nil
}

// parseCSV parses one CSV row. skip is set for answers that name no port.
// It converts to strings only what it keeps: rows are small and many.
func (r *Reader) parseCSV(line []byte) (a answer, skip bool, err error) {
	fields, ok := splitCSV(line, r.fields)
	r.fields = fields
	if !ok {
		return answer{}, false, r.bad("a quoted field is not closed")
	}
	f := &r.form
	if len(fields) != f.columns {
		return answer{}, false, r.bad("the row has %d fields, the header %d", len(fields), f.columns)
	}
	field := func(i int) []byte {
		if i < 0 {
			return nil
		}
		return bytes.TrimSpace(fields[i])
	}
	if a.saddr = string(field(f.saddr)); !isAddr(a.saddr) {
		return answer{}, false, r.bad("saddr %s is not an IP address", quote(a.saddr))
	}
	a.port = r.opts.Port
	if f.sport >= 0 {
		n, ok := atoi(field(f.sport))
		if !ok || n > 1<<31 {
			return answer{}, false, r.bad("sport %s is not a number", quote(string(field(f.sport))))
		}
		a.port = int(n)
	}
	a.success = true // the default output filter writes successes only
	if f.success >= 0 {
		switch s := field(f.success); string(s) {
		case "1", "true":
		case "0", "false":
			a.success = false
		default:
			return answer{}, false, r.bad("success %s is neither 1 nor 0", quote(string(s)))
		}
	}
	if skip = r.classify(&a, string(field(f.class))); skip {
		return answer{}, true, nil
	}
	var ts, us *int64
	if s := field(f.ts); len(s) > 0 {
		n, ok := atoi(s)
		if !ok {
			return answer{}, false, r.bad("timestamp-ts %s is not Unix seconds", quote(string(s)))
		}
		ts = &n
	}
	if n, ok := atoi(field(f.us)); ok {
		us = &n
	}
	var str string
	if f.str >= 0 {
		str = string(field(f.str))
	}
	if err := r.setTime(&a, ts, us, str, f.ts >= 0 || f.str >= 0); err != nil {
		return answer{}, false, err
	}
	return a, false, nil
}

// atoi parses a decimal integer of up to 18 digits, optionally negative,
// without allocating.
func atoi(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// parseJSON parses one JSON line.
func (r *Reader) parseJSON(line []byte) (a answer, skip bool, err error) {
	if !utf8.Valid(line) {
		return answer{}, false, r.bad("the record is not valid UTF-8, which JSON requires")
	}
	var z zRecord
	r.dec.Reset(line)
	decodeZ(&r.dec, &z)
	if r.dec.Err() != nil {
		return answer{}, false, r.bad("%v", r.dec.Err())
	}
	if a.saddr = z.Saddr; !isAddr(a.saddr) {
		return answer{}, false, r.bad("saddr %s is not an IP address", quote(a.saddr))
	}
	switch {
	case z.Sport != nil:
		a.port = *z.Sport
	case r.opts.Port != 0:
		a.port = r.opts.Port
	default:
		// ZMap writes the same fields on every line (-f), so one line
		// without sport means the whole file has none.
		return answer{}, false, r.fatal(msgNoPort)
	}
	a.success = z.Success == nil || *z.Success
	if r.classify(&a, z.Classification) {
		return answer{}, true, nil
	}
	hasTime := z.TimestampTS != nil || z.TimestampStr != ""
	if !hasTime && r.opts.ModTime.IsZero() {
		return answer{}, false, r.fatal(msgNoTime)
	}
	if err := r.setTime(&a, z.TimestampTS, z.TimestampUS, z.TimestampStr, hasTime); err != nil {
		return answer{}, false, err
	}
	return a, false, nil
}

// classify sets the protocol from ZMap's classification, and reports
// answers to skip: ICMP messages, which come from whatever router or host
// sent them and name no scanned port.
func (r *Reader) classify(a *answer, class string) (skip bool) {
	a.proto = portolan.TCP
	switch {
	case strings.HasPrefix(class, "icmp"):
		return true
	case class == "udp":
		a.proto = portolan.UDP
	}
	return false
}

// timeLayouts are the forms of timestamp-str: ZMap's own (strftime
// "%Y-%m-%dT%H:%M:%S.%03d%z"), then RFC 3339 for other writers.
var timeLayouts = []string{"2006-01-02T15:04:05.999-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano}

// setTime sets a.at from the timestamp fields; hasTime says whether the file
// has any, otherwise Options.ModTime is used.
func (r *Reader) setTime(a *answer, ts, us *int64, str string, hasTime bool) error {
	switch {
	case ts != nil:
		a.at = time.Unix(*ts, 0).UTC()
		if us != nil && *us >= 0 && *us < 1e6 {
			a.at = a.at.Add(time.Duration(*us) * time.Microsecond)
		}
	case str != "":
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, str); err == nil {
				a.at = t.UTC()
				return nil
			}
		}
		return r.bad("timestamp-str %s is not a time", quote(str))
	case hasTime:
		return r.bad("the record has no timestamp")
	default:
		a.at = r.opts.ModTime.UTC()
		r.usedModTime = true
	}
	return nil
}

// splitCSV splits one CSV line into fields (RFC 4180 quoting within the
// line), appending to dst. Fields point into line unless they were quoted
// with doubled quotes. ok is false for an unclosed quote.
func splitCSV(line []byte, dst [][]byte) (fields [][]byte, ok bool) {
	fields = dst[:0]
	for {
		if len(line) > 0 && line[0] == '"' {
			var field []byte
			i := 1
			for {
				j := bytes.IndexByte(line[i:], '"')
				if j < 0 {
					return fields, false
				}
				field = append(field, line[i:i+j]...)
				i += j + 1
				if i < len(line) && line[i] == '"' {
					field = append(field, '"')
					i++
					continue
				}
				break
			}
			fields = append(fields, field)
			line = line[i:]
			if len(line) == 0 {
				return fields, true
			}
			if line[0] != ',' {
				return fields, false
			}
			line = line[1:]
			continue
		}
		j := bytes.IndexByte(line, ',')
		if j < 0 {
			return append(fields, line), true
		}
		fields = append(fields, line[:j])
		line = line[j+1:]
	}
}

// isAddr reports whether s is an IP address, the only thing ZMap writes as
// saddr; checking here turns garbage into a record error with its line.
func isAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}

// Sniff reports whether head, the first bytes of an input (up to 4 KiB, or
// less for a short file), looks like ZMap output: a JSON object with a
// "saddr" key, a CSV header with a saddr column, or ZMap's default output,
// lines that each hold one IP address.
func Sniff(head []byte) bool {
	b := head[scan.SkipSpace(head, 0):]
	if len(b) == 0 {
		return false
	}
	if b[0] == '{' {
		var saddr bool
		scan.SniffKeys(b, func(key string, _ byte) bool {
			saddr = saddr || key == "saddr"
			return !saddr
		})
		return saddr
	}
	first, _, _ := bytes.Cut(b, []byte("\n"))
	if fields, ok := splitCSV(bytes.TrimRight(first, "\r"), nil); ok {
		for _, f := range fields {
			if string(bytes.TrimSpace(f)) == "saddr" {
				return true
			}
		}
	}
	// Addresses only. The last line may be cut, unless the head is short
	// (the whole file) or ends with a newline.
	lines := bytes.Split(b, []byte("\n"))
	if len(head) >= 4096 && !bytes.HasSuffix(b, []byte("\n")) {
		lines = lines[:len(lines)-1]
	}
	n := 0
	for _, l := range lines {
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		if _, err := netip.ParseAddr(string(l)); err != nil {
			return false
		}
		n++
	}
	return n > 0
}
