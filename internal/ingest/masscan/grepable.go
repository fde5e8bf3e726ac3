// SPDX-License-Identifier: Apache-2.0

package masscan

import (
	"bufio"
	"bytes"
	"strings"

	"portolan/internal/ingest/scan"
)

// grepableSource reads -oG, masscan's imitation of nmap's grepable format
// (out-grepable.c):
//
//	# Masscan 1.3.2 scan initiated Fri Nov 27 12:07:20 2026
//	# Ports scanned: TCP(4;22-22,80-80,443-443,18022-18022) UDP(0;) SCTP(0;) PROTOCOLS(0;)
//	Timestamp: 1795781240	Host: 127.0.0.1 ()	Ports: 80/open/tcp//http//
//	Host: 127.0.0.1 ()	Port: 18022	Service: ssh	Banner: SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10
//	# Masscan done at Fri Nov 27 12:08:02 2026
//
// Fields are separated by tabs. A status line is "Timestamp: <unix>",
// "Host: <ip> ()" and "Ports: <port>/<status>/<proto>/<owner>/<service>/<rpc>/<version>",
// one port a line. A banner line is "Host:", "Port:", "Service:" (masscan's
// service name) and "Banner:" (escaped with \xNN as in -oL, to the end of
// the line); it carries neither the time nor the protocol. Its port is
// taken to be TCP, except for the services masscan only speaks over UDP,
// and it takes the time of the last status line read, which is no later
// than the banner's own (masscan writes each line as it happens); a banner
// line before any status line is rejected.
type grepableSource struct {
	lines  textLines
	lastTs int64 // the time of the last status line, 0 before the first
}

func newGrepableSource(br *bufio.Reader, opts Options) *grepableSource {
	return &grepableSource{lines: newTextLines(br, opts)}
}

// udpServices are the banners masscan gets only from UDP probes.
var udpServices = map[string]bool{"snmp": true, "ntp": true, "nbtstat": true, "dns-ver": true, "coap": true, "isakmp": true, "zeroaccess": true}

func (s *grepableSource) next() (record, error) {
	rec, err := s.lines.next(func(line []byte) (record, bool, string) { return parseGrepableLine(line, s.lastTs) })
	if err == nil && rec.service == "" {
		s.lastTs = rec.ts // a status line: the time of the banner lines after it
	}
	return rec, err
}

// grepableFields splits a line into its "Name: value" fields.
func grepableFields(line string) map[string]string {
	fields := make(map[string]string, 4)
	for _, f := range strings.Split(line, "\t") {
		name, value, ok := strings.Cut(f, ": ")
		if !ok {
			name, value = strings.TrimSuffix(f, ":"), ""
		}
		if _, dup := fields[name]; !dup {
			fields[name] = value
		}
	}
	return fields
}

// parseGrepableLine parses one -oG line; lastTs is the time a banner line
// takes. skip is set for blank lines and comments.
func parseGrepableLine(raw []byte, lastTs int64) (rec record, skip bool, reason string) {
	if scan.IsBlank(raw) || raw[0] == '#' {
		return record{}, true, ""
	}
	// The banner runs to the end of the line and may hold tabs only
	// escaped (\x09), so splitting on tabs is safe.
	f := grepableFields(string(raw))
	host, ok := f["Host"]
	if !ok {
		return record{}, false, "the line has no Host: field"
	}
	rec.ip = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(host), "()"))
	if rec.ip == "" {
		return record{}, false, "the Host: field has no address"
	}
	if ports, ok := f["Ports"]; ok {
		ts, ok := parseUnix(f["Timestamp"])
		if !ok {
			return record{}, false, "timestamp " + quote(f["Timestamp"]) + " is not Unix seconds"
		}
		rec.ts = ts
		parts := strings.Split(strings.TrimSpace(ports), "/")
		if len(parts) < 3 {
			return record{}, false, "Ports: " + quote(ports) + " is not port/status/protocol/…"
		}
		if rec.port, ok = parsePort(parts[0]); !ok {
			return record{}, false, "port " + quote(parts[0]) + " is not a number"
		}
		rec.status, rec.proto = parts[1], parts[2]
		if rec.status != "open" && rec.status != "closed" {
			return record{}, false, "status " + quote(rec.status) + " is not open or closed"
		}
		return rec, false, ""
	}
	port, ok := f["Port"]
	if !ok {
		return record{}, false, "the line has neither Ports: nor Port:"
	}
	if rec.port, ok = parsePort(port); !ok {
		return record{}, false, "port " + quote(port) + " is not a number"
	}
	if rec.service = strings.TrimSpace(f["Service"]); rec.service == "" {
		return record{}, false, "a banner line has no service name"
	}
	if lastTs == 0 {
		return record{}, false, "a banner line before any status line has no time to take"
	}
	rec.ts = lastTs
	rec.proto = "tcp"
	if udpServices[rec.service] {
		rec.proto = "udp"
	}
	rec.banner = unescapeX(f["Banner"])
	return rec, false, ""
}

// isGrepable reports whether line, the first line that is not blank, starts
// masscan -oG output.
func isGrepable(line []byte) bool {
	return bytes.HasPrefix(line, []byte("# Masscan ")) || bytes.HasPrefix(line, []byte("Timestamp: ")) && bytes.Contains(line, []byte("\tHost: "))
}
