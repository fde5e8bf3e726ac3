// SPDX-License-Identifier: Apache-2.0

package masscan

import (
	"bufio"
	"bytes"
	"io"
	"strconv"

	"portolan/internal/ingest/scan"
)

// listSource reads -oL, masscan's list format (out-text.c):
//
//	#masscan
//	open tcp 80 127.0.0.1 1795781207
//	banner tcp 80 127.0.0.1 1795781221 http.server nginx/1.22.1
//	# end
//
// A status line is "<status> <proto> <port> <ip> <unix time>"; a banner line
// is "banner <proto> <port> <ip> <unix time> <service> <text>", the text
// escaped with \xNN and running to the end of the line. Some tools write
// status lines without the time; they take Options.Time.
type listSource struct {
	lines  textLines
	at     int64 // Options.Time in Unix seconds, 0 for none
	usedAt bool  // a line took Options.Time
}

func newListSource(br *bufio.Reader, opts Options) *listSource {
	s := &listSource{lines: newTextLines(br, opts)}
	if !opts.Time.IsZero() {
		s.at = opts.Time.Unix()
	}
	return s
}

func (s *listSource) next() (record, error) {
	return s.lines.next(func(line []byte) (record, bool, string) {
		rec, skip, reason := parseListLine(line, s.at)
		s.usedAt = s.usedAt || rec.givenTs
		return rec, skip, reason
	})
}

// parseListLine parses one -oL line. skip is set for blank lines and
// comments; reason says why a line is not a record. at (Unix seconds, 0
// for none) is the time of a status line without one.
func parseListLine(line []byte, at int64) (rec record, skip bool, reason string) {
	if scan.IsBlank(line) || line[0] == '#' {
		return record{}, true, ""
	}
	var f [5][]byte
	rest := line
	for i := range f {
		j := bytes.IndexByte(rest, ' ')
		if j < 0 {
			if i == len(f)-2 && (string(f[0]) == "open" || string(f[0]) == "closed") {
				// "open tcp 80 192.0.2.1": a status line without its time.
				if at == 0 {
					return record{}, false, "a status line without its time (give the scan's time with --scanned-at)"
				}
				f[i], f[4], rest = rest, []byte(strconv.FormatInt(at, 10)), nil
				rec.givenTs = true
				break
			}
			if i < len(f)-1 {
				return record{}, false, "the line has fewer than 5 fields"
			}
			f[i], rest = rest, nil
			break
		}
		f[i], rest = rest[:j], rest[j+1:]
	}
	kind := string(f[0])
	switch kind {
	case "open", "closed":
		if len(rest) > 0 {
			return record{}, false, "a status line has more than 5 fields"
		}
		rec.status = kind
	case "banner":
		if rest == nil {
			return record{}, false, "a banner line has no service name"
		}
		svc, text, _ := bytes.Cut(rest, []byte(" "))
		if len(svc) == 0 {
			return record{}, false, "a banner line has no service name"
		}
		rec.service = string(svc)
		rec.banner = unescapeX(string(text))
	default:
		return record{}, false, "unknown record kind " + quote(kind) + ", want open, closed or banner"
	}
	rec.proto = string(f[1])
	var ok bool
	if rec.port, ok = parsePort(string(f[2])); !ok {
		return record{}, false, "port " + quote(string(f[2])) + " is not a number"
	}
	if rec.ip = string(f[3]); rec.ip == "" {
		return record{}, false, "the line has no address"
	}
	if rec.ts, ok = parseUnix(string(f[4])); !ok {
		return record{}, false, "timestamp " + quote(string(f[4])) + " is not Unix seconds"
	}
	return rec, false, ""
}

// textLines is the line loop of masscan's two text formats, -oL and -oG.
type textLines struct {
	lr  *scan.LineReader
	max int // opts.MaxLineBytes, resolved, for the message of a long line
}

func newTextLines(br *bufio.Reader, opts Options) textLines {
	return textLines{lr: scan.NewLineReader(br, opts.MaxLineBytes), max: opts.MaxLineBytes}
}

// next returns the record parse makes of the next line it does not skip
// (blank lines, comments), or the record error of that line; a line too
// long is a record error without being parsed.
func (t textLines) next(parse func(line []byte) (rec record, skip bool, reason string)) (record, error) {
	for {
		line, tooLong, err := t.lr.Read()
		if err == io.EOF {
			return record{}, io.EOF
		}
		if err != nil {
			return record{}, wrapReadError(err, t.lr.InputOffset())
		}
		if tooLong {
			return record{}, inputError(t.lr.Line(), t.lr.Offset(), "the line is longer than %d bytes", t.max)
		}
		rec, skip, reason := parse(line)
		if skip {
			continue
		}
		if reason != "" {
			return record{}, inputError(t.lr.Line(), t.lr.Offset(), "%s", reason)
		}
		return rec, nil
	}
}
