// SPDX-License-Identifier: Apache-2.0

package masscan

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"strconv"
)

// binarySource reads -oB, masscan's own binary format (out-binary.c writes
// it, in-binary.c reads it back for --readscan). The layout, as masscan
// 1.3 writes it:
//
//   - a 99-byte header, "masscan/1.1\ns:<scan start>\n" padded with NULs;
//   - records, each a type and a length, both big-endian base-128 numbers
//     (7 bits a byte, the high bit set on every byte but the last), then
//     length bytes of payload;
//   - a 99-byte trailer, "masscan/1.1" padded with NULs, which reads as a
//     record of type 'm' and length 'a' (97) and is skipped.
//
// Payloads, all integers big-endian:
//
//	1, 2   open, closed (oldest): time 4, IPv4 4, port 2, reason 1, ttl 1; the
//	       protocol is not written (masscan guesses UDP for 53, 123, 137, 161)
//	3      banner (oldest): time 4, IPv4 4, port 2, app 2, text; TCP
//	4, 5   banner: time 4, IPv4 4, proto 1, port 2, app 2, text (4 has one
//	       byte more than its length says, a bug of old writers)
//	6, 7   open, closed: time 4, IPv4 4, proto 1, port 2, reason 1, ttl 1
//	8, 12  ARP answers (IPv4, IPv6): no port, skipped
//	9      banner: time 4, IPv4 4, proto 1, port 2, app 2, ttl 1, text
//	10, 11 open, closed IPv6: time 4, proto 1, port 2, reason 1, ttl 1,
//	       version 1, IPv6 16
//	13     banner IPv6: time 4, proto 1, port 2, app 2, ttl 1, version 1,
//	       IPv6 16, text
//
// "app" is masscan's ApplicationProtocol number (masscan-app.h), whose
// names (masscan_app_to_string) are the service names of the text formats,
// so a banner read here is the same record -oL would have written. Unlike
// the text formats, the banner is the raw bytes the service sent.
//
// The framing makes every record skippable: a record of an unknown type or
// too short for its type is one record error and reading goes on. A length
// past maxBinaryRecord cannot be trusted to resynchronise, so it ends the
// input, as does a file cut inside a record (the records before it are
// kept).
type binarySource struct {
	br     *bufio.Reader
	off    int64 // byte offset of the next record
	header bool  // the header has been read
	buf    []byte
}

// binaryHeaderLen is the size of the header and of the trailer ('a'+2).
const binaryHeaderLen = 99

// binaryMagic starts every -oB file.
const binaryMagic = "masscan/1."

// maxBinaryRecord bounds one record's length. masscan writes at most 16383
// bytes (two length bytes) and reads at most 1 MiB (in-binary.c BUF_MAX).
const maxBinaryRecord = 1 << 20

func newBinarySource(br *bufio.Reader) *binarySource {
	return &binarySource{br: br}
}

// appNames are masscan's ApplicationProtocol names, by number
// (masscan-app.h warns that the numbers are written in files and never
// change).
var appNames = [...]string{
	0: "unknown", 1: "unknown", 2: "ssh", 3: "ssh", 4: "http", 5: "ftp", 6: "dns-ver",
	7: "snmp", 8: "nbtstat", 9: "ssl", 10: "smb", 11: "smtp", 12: "pop", 13: "imap",
	14: "zeroaccess", 15: "X509", 16: "X509CA", 17: "title", 18: "html", 19: "ntp",
	20: "vuln", 21: "heartbleed", 22: "ticketbleed", 23: "vnc", 24: "safe",
	25: "memcached", 26: "scripting", 27: "versioning", 28: "coap", 29: "telnet",
	30: "rdp", 31: "http.server", 32: "minecraft", 33: "vnc", 34: "vnc-info",
	35: "isakmp", 36: "error",
}

func appName(app uint16) string {
	if int(app) < len(appNames) {
		return appNames[app]
	}
	return "unknown"
}

// protoName names an IP protocol number the way the text formats do.
func protoName(p byte) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 132:
		return "sctp"
	}
	return strconv.Itoa(int(p))
}

func (s *binarySource) next() (record, error) {
	if !s.header {
		head := make([]byte, binaryHeaderLen)
		n, err := io.ReadFull(s.br, head)
		s.off += int64(n)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && err != io.EOF {
			return record{}, wrapReadError(err, s.off)
		}
		if !bytes.HasPrefix(head[:n], []byte(binaryMagic)) {
			return record{}, s.fatal(0, "the file does not start with masscan's binary header \"masscan/1.1\"")
		}
		if n < binaryHeaderLen {
			return record{}, s.fatal(0, "the file ends inside its header: it was cut short (truncated)")
		}
		s.header = true
	}
	for {
		start := s.off
		typ, err := s.varint()
		if err == io.EOF {
			return record{}, io.EOF
		}
		if err == nil {
			var length uint64
			if length, err = s.varint(); err == nil {
				if length > maxBinaryRecord {
					return record{}, s.fatal(start, "record length "+strconv.FormatUint(length, 10)+" is more than masscan writes: the file is damaged, and what follows cannot be found")
				}
				if typ == 4 {
					length++ // old writers' record 4 is one byte longer than it says
				}
				if cap(s.buf) < int(length) {
					s.buf = make([]byte, length)
				}
				s.buf = s.buf[:length]
				var n int
				n, err = io.ReadFull(s.br, s.buf)
				s.off += int64(n)
			}
		}
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return record{}, s.fatal(start, "the file ends inside a record: it was cut short (truncated); the records before it are kept")
		}
		if err != nil {
			return record{}, wrapReadError(err, s.off)
		}
		rec, skip, reason := parseBinaryRecord(typ, s.buf)
		if skip {
			continue
		}
		if reason != "" {
			return record{}, inputError(0, start, "%s", reason)
		}
		return rec, nil
	}
}

// varint reads a type or length: io.EOF when the input ends before its
// first byte, io.ErrUnexpectedEOF inside it.
func (s *binarySource) varint() (uint64, error) {
	var v uint64
	for i := 0; ; i++ {
		c, err := s.br.ReadByte()
		if err != nil {
			if err == io.EOF && i > 0 {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
		s.off++
		if i == 8 {
			return maxBinaryRecord + 1, nil // absurd: let the caller refuse it
		}
		v = v<<7 | uint64(c&0x7f)
		if c&0x80 == 0 {
			return v, nil
		}
	}
}

func (s *binarySource) fatal(off int64, reason string) error {
	e := inputError(0, off, "%s", reason)
	e.Fatal = true
	return e
}

// parseBinaryRecord decodes one record's payload p of type typ. skip is set
// for records that are not about a port (ARP, the trailer).
func parseBinaryRecord(typ uint64, p []byte) (rec record, skip bool, reason string) {
	be := binary.BigEndian
	short := func(want int) string {
		return "a record of type " + strconv.FormatUint(typ, 10) + " has " + strconv.Itoa(len(p)) + " bytes, fewer than the " + strconv.Itoa(want) + " of its fields"
	}
	v4 := func(b []byte) string { return netip.AddrFrom4([4]byte(b)).String() }
	switch typ {
	case 'm', 8, 12:
		return record{}, true, ""
	case 1, 2:
		if len(p) < 12 {
			return record{}, false, short(12)
		}
		rec = record{ts: int64(be.Uint32(p)), ip: v4(p[4:8]), port: int(be.Uint16(p[8:]))}
		rec.proto = "tcp"
		switch rec.port {
		case 53, 123, 137, 161: // masscan's own guess (in-binary.c parse_status)
			rec.proto = "udp"
		}
		rec.status = map[uint64]string{1: "open", 2: "closed"}[typ]
	case 6, 7:
		if len(p) < 13 {
			return record{}, false, short(13)
		}
		rec = record{ts: int64(be.Uint32(p)), ip: v4(p[4:8]), proto: protoName(p[8]), port: int(be.Uint16(p[9:]))}
		rec.status = map[uint64]string{6: "open", 7: "closed"}[typ]
	case 10, 11:
		if len(p) < 26 {
			return record{}, false, short(26)
		}
		rec = record{ts: int64(be.Uint32(p)), proto: protoName(p[4]), port: int(be.Uint16(p[5:])),
			ip: netip.AddrFrom16([16]byte(p[10:26])).String()}
		rec.status = map[uint64]string{10: "open", 11: "closed"}[typ]
	case 3:
		if len(p) < 12 {
			return record{}, false, short(12)
		}
		rec = record{ts: int64(be.Uint32(p)), ip: v4(p[4:8]), proto: "tcp", port: int(be.Uint16(p[8:])),
			service: appName(be.Uint16(p[10:])), banner: string(p[12:])}
	case 4, 5:
		if len(p) < 13 {
			return record{}, false, short(13)
		}
		rec = record{ts: int64(be.Uint32(p)), ip: v4(p[4:8]), proto: protoName(p[8]), port: int(be.Uint16(p[9:])),
			service: appName(be.Uint16(p[11:])), banner: string(p[13:])}
	case 9:
		if len(p) < 14 {
			return record{}, false, short(14)
		}
		rec = record{ts: int64(be.Uint32(p)), ip: v4(p[4:8]), proto: protoName(p[8]), port: int(be.Uint16(p[9:])),
			service: appName(be.Uint16(p[11:])), banner: string(p[14:])}
	case 13:
		if len(p) < 27 {
			return record{}, false, short(27)
		}
		rec = record{ts: int64(be.Uint32(p)), proto: protoName(p[4]), port: int(be.Uint16(p[5:])),
			service: appName(be.Uint16(p[7:])), ip: netip.AddrFrom16([16]byte(p[11:27])).String(), banner: string(p[27:])}
	default:
		return record{}, false, "unknown record type " + strconv.FormatUint(typ, 10) + " (masscan writes 1 to 13); the record is skipped"
	}
	if rec.ip == "0.0.0.0" && rec.service == "" {
		return record{}, true, "" // an ARP answer in a status record of old writers
	}
	return rec, false, ""
}
