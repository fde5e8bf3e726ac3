// SPDX-License-Identifier: Apache-2.0

package nmap

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"portolan"
	"portolan/internal/ingest/scan"
)

// GrepableReader reads nmap's grepable output (-oG), which nmap has called
// deprecated since 2010 and which many scripts still write:
//
//	# Nmap 7.93 scan initiated Fri Nov 27 11:54:22 2026 as: nmap -sV -oG x.gnmap 127.0.0.1
//	Host: 127.0.0.1 (localhost)	Status: Up
//	Host: 127.0.0.1 (localhost)	Ports: 22/open/tcp//ssh//OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)/, 80/closed/tcp//http///	Ignored State: closed (998)
//	# Nmap done at Fri Nov 27 11:55:07 2026 -- 1 IP address (1 host up) scanned in 45.18 seconds
//
// A host line's fields are separated by tabs; "Ports:" lists the ports
// listed one by one, separated by ", ", each
// "port/state/protocol/owner/service/rpc info/version info/". The service
// name is written with "|" for "/" ("ssl|http": TLS first, then HTTP).
// The version info is -sV's product, version and extra information joined
// by spaces, the extra information in parentheses: the product is the
// words before the first one that starts with a digit, the version the
// words from there to the parenthesis (so a product whose name starts with
// a digit, rare in nmap's database, is read as a version). What this
// yields goes through the same adapter as -oX: the status mapping, the
// components with the upstream version and the distribution.
//
// The format has no per-host times: every port takes the time of the "#
// Nmap … scan initiated <date>" line, as seen and as scanned. nmap writes
// that date in the scanning machine's local time without a zone; it is
// read as UTC (scanners run in UTC more often than not; give --scanned-at
// otherwise). A host line before any such line takes Options.Time, and is
// rejected without one. There are no banners, scripts or certificates in
// -oG.
type GrepableReader struct {
	lr    *scan.LineReader
	max   int
	at    time.Time // the time of the ports read now
	given time.Time // GrepableOptions.Time
	used  bool      // a port took GrepableOptions.Time
	queue []grepResult
	err   error
}

type grepResult struct {
	o   *portolan.Observation
	err *portolan.InputError
}

// GrepableOptions configures a GrepableReader.
type GrepableOptions struct {
	// MaxLineBytes bounds one line; 0 means scan.DefaultMaxLineBytes.
	MaxLineBytes int
	// Time is the time of host lines before any "scan initiated" line (0:
	// they are rejected).
	Time time.Time
}

var _ portolan.ObservationReader = (*GrepableReader)(nil)

// NewGrepableReader returns a reader of the -oG output r.
func NewGrepableReader(r io.Reader, opts GrepableOptions) *GrepableReader {
	max := opts.MaxLineBytes
	if max <= 0 {
		max = scan.DefaultMaxLineBytes
	}
	return &GrepableReader{lr: scan.NewLineReader(bufio.NewReaderSize(r, scan.BufferSize), max), max: max, given: opts.Time}
}

// UsedTime reports whether a port read so far took GrepableOptions.Time.
func (r *GrepableReader) UsedTime() bool { return r.used }

// Read returns the next observation; io.EOF at the end; a
// *portolan.InputError for a line or port that cannot be used, after which
// the caller reads on; and the underlying reader's error, wrapped, when the
// input cannot be read further.
func (r *GrepableReader) Read() (*portolan.Observation, error) {
	for len(r.queue) == 0 {
		if r.err != nil {
			return nil, r.err
		}
		r.readLine()
	}
	res := r.queue[0]
	r.queue[0] = grepResult{}
	r.queue = r.queue[1:]
	if res.err != nil {
		return nil, res.err
	}
	return res.o, nil
}

func (r *GrepableReader) reject(format string, args ...any) {
	r.queue = append(r.queue, grepResult{err: &portolan.InputError{
		Source: source, Line: r.lr.Line(), Offset: r.lr.Offset(), Reason: fmt.Sprintf(format, args...)}})
}

// scanInitiated marks the comment line that gives the scan's time.
const scanInitiated = " scan initiated "

func (r *GrepableReader) readLine() {
	line, tooLong, err := r.lr.Read()
	switch {
	case err == io.EOF:
		r.err = io.EOF
		return
	case err != nil:
		r.err = fmt.Errorf("nmap: read at byte %d: %w", r.lr.InputOffset(), err)
		return
	case tooLong:
		r.reject("the line is longer than %d bytes", r.max)
		return
	case scan.IsBlank(line):
		return
	}
	s := string(line)
	if strings.HasPrefix(s, "#") {
		if _, rest, ok := strings.Cut(s, scanInitiated); ok && strings.HasPrefix(s, "# Nmap ") {
			date, _, _ := strings.Cut(rest, " as: ")
			at, err := time.Parse("Mon Jan _2 15:04:05 2006", strings.TrimSpace(date))
			if err != nil {
				r.reject("the scan's date %s is not nmap's (\"Fri Nov 27 11:54:22 2026\")", show(date))
				return
			}
			r.at = at
		}
		return
	}
	fields := strings.Split(s, "\t")
	hostField, ok := strings.CutPrefix(fields[0], "Host: ")
	if !ok {
		r.reject("the line starts with neither \"Host: \" nor \"#\"")
		return
	}
	var ports string
	var havePorts bool
	for _, f := range fields[1:] {
		if p, ok := strings.CutPrefix(f, "Ports: "); ok {
			ports, havePorts = p, true
		}
	}
	if !havePorts {
		return // "Status: Up", or a host with no port listed one by one
	}
	addr, name, _ := strings.Cut(strings.TrimSpace(hostField), " ")
	var names []string
	if name = strings.TrimSuffix(strings.TrimPrefix(name, "("), ")"); name != "" {
		names = []string{name}
	}
	at := r.at
	if at.IsZero() {
		if r.given.IsZero() {
			r.reject("a host line with no \"# Nmap … scan initiated\" line before it has no time (give the scan's time with --scanned-at)")
			return
		}
		at, r.used = r.given, true
	}
	for _, entry := range splitGrepablePorts(ports) {
		p, reason := parseGrepablePort(entry)
		if reason == "" {
			var o *portolan.Observation
			if o, reason = adaptPort(p, addr, names); o != nil {
				o.SeenAt, o.ScannedAt = at, at
				r.queue = append(r.queue, grepResult{o: o})
				continue
			}
		}
		r.reject("port %s: %s", show(entry), reason)
	}
}

// splitGrepablePorts splits a Ports: field into its port entries: at ", "
// followed by a digit, so that a comma inside the version info does not
// split an entry.
func splitGrepablePorts(s string) []string {
	var out []string
	for {
		i := 0
		for {
			j := strings.Index(s[i:], ", ")
			if j < 0 {
				return append(out, strings.TrimSpace(s))
			}
			i += j
			if i+2 < len(s) && s[i+2] >= '0' && s[i+2] <= '9' {
				break
			}
			i += 2
		}
		out = append(out, s[:i])
		s = s[i+2:]
	}
}

// parseGrepablePort reads one "port/state/protocol/owner/service/rpc/version/"
// entry into the structures of -oX, so that one adapter serves both.
func parseGrepablePort(entry string) (*nmapPort, string) {
	parts := strings.SplitN(entry, "/", 7)
	if len(parts) < 7 {
		return nil, "is not port/state/protocol/owner/service/rpc info/version info/"
	}
	p := &nmapPort{PortID: parts[0], Protocol: parts[2], State: nmapState{State: parts[1]}}
	// A trailing "?" is nmap's mark of a name taken from its port table
	// after -sV matched nothing; -oX says so in method="table" and keeps
	// the name bare, and so does this reader.
	service := strings.TrimSuffix(strings.ReplaceAll(parts[4], "|", "/"), "?")
	version := strings.TrimSuffix(parts[6], "/")
	if service == "" && version == "" {
		return p, ""
	}
	s := &nmapService{Name: service}
	if tunnel, name, ok := strings.Cut(service, "/"); ok && tunnel == "ssl" {
		s.Tunnel, s.Name = "ssl", name
	}
	s.Product, s.Version, s.ExtraInfo = splitVersionInfo(version)
	p.Service = s
	return p, ""
}

// splitVersionInfo splits -sV's "product version (extra info)" text: the
// extra information is the trailing parenthesised part, the version starts
// at the first word that starts with a digit, or with "v" and a digit
// (-oX's product "NTP" with version "v4" is "NTP v4" in -oG).
func splitVersionInfo(v string) (product, version, extra string) {
	v = strings.TrimSpace(v)
	if strings.HasSuffix(v, ")") {
		depth := 0
		for i := len(v) - 1; i >= 0; i-- {
			switch v[i] {
			case ')':
				depth++
			case '(':
				depth--
			}
			if depth == 0 {
				extra = strings.TrimSpace(v[i+1 : len(v)-1])
				v = strings.TrimSpace(v[:i])
				break
			}
		}
	}
	words := strings.Fields(v)
	for i, w := range words {
		if isDigit(w[0]) || (len(w) > 1 && (w[0] == 'v' || w[0] == 'V') && isDigit(w[1])) {
			return strings.Join(words[:i], " "), strings.Join(words[i:], " "), extra
		}
	}
	return v, "", extra
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// SniffGrepable reports whether head, the first bytes of an input, looks
// like nmap -oG output: a "Host: " line with a "Status:" or "Ports:" field,
// first or after nmap's comment lines. nmap's normal output (-oN) starts
// with the same "# Nmap … scan initiated" comment, so the comment alone is
// not enough: a -oG file of a scan that found no host is not recognised
// (--format nmap reads it).
func SniffGrepable(head []byte) bool {
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		switch {
		case scan.IsBlank(line), bytes.HasPrefix(line, []byte("# ")):
			continue
		case bytes.HasPrefix(line, []byte("Host: ")):
			return bytes.Contains(line, []byte("\tStatus: ")) || bytes.Contains(line, []byte("\tPorts: "))
		}
		return false
	}
	return false
}
