// SPDX-License-Identifier: Apache-2.0

// Package zgrab2 reads zgrab2's JSON lines as portolan observations.
//
// Each line is {"ip", "domain"?, "port"?, "data": {<module name>: result}};
// every module result becomes one observation, seen and scanned at the
// result's timestamp (intelligence.md "The instants of each format").
// Results of one line come in module-name order.
//
// The module kind is told by the shape of the result, not by its name, since
// `zgrab2 multiple` lets the user name modules at will ("http-18444"):
//
//   - result.response with a status line: http. Banner is the response head
//     rebuilt as text (see httpHead), ScanProtocol "http", and Certificate
//     the leaf of result.response.request.tls_log when the request was
//     https.
//   - result.handshake_log: tls. Certificate is
//     handshake_log.server_certificates.certificate.raw; ScanProtocol "tls"
//     and no Banner (the handshake has no text a person would call a
//     banner, and inventing one would add a banner entry per cipher).
//   - result.server_id: ssh. Banner is the identification line the server
//     sent, ScanProtocol "ssh".
//   - result.banner, a string: the greeting of ftp, smtp, pop3, imap,
//     telnet, banner and the like. ScanProtocol is the module's "protocol".
//
// Then, for every module, known or not:
//
//   - result.tls.handshake_log (zgrab2's TLSLog, implicit TLS or STARTTLS:
//     smtp, imap, pop3, ftp, postgres, mssql, …) gives the Certificate when
//     the shapes above gave none.
//   - The module's version fields give Components, by the module's
//     "protocol": mysql server_version (MariaDB's "5.5.5-" version is kept
//     for the fingerprint rules to name), redis version (or redis_version
//     of info_response) and the os line, memcached version, mssql version,
//     amqp091 server_properties product and version, postgres
//     server_version of server_parameters (after a login; without one, an
//     error in PostgreSQL's protocol names PostgreSQL without a version),
//     mongodb build_info.version, ipp cups_version, oracle
//     handshake.nsn_version, smb's SMBv1 LAN manager field "ntlm" (Samba
//     and its version; Samba's native_os "Windows 6.1" is a stand-in and
//     is then ignored) or else native_os, fox app_name "Station" and
//     app_version (Niagara Framework) and os_name (operating systems), and
//     the device identification of the industrial modules as Industrial
//     Control components: bacnet vendor_name, model_name and
//     firmware_revision, modbus mei_response objects (vendor,
//     product_code, revision), siemens module_type and firmware. Versions
//     go through portolan.SplitVersion.
//   - Everything else (mqtt, ntp, jarm, dnp3, and
//     modules this reader has never heard of) gives status, scan protocol,
//     and certificate or banner when it has one; a key of a known shape
//     holding a value of another type is skipped, never an error.
//
// The transport is UDP for the modules whose scanners dial UDP (ntp,
// bacnet, omronfins) and TCP for every other.
//
// Status follows zgrab2's status and error text: "success" is open; a
// refused connection ("connection-refused", or any status whose error says
// "connection refused": zgrab2 v0.2.0 reports a refused dial as
// "connection-timeout") is closed; a dial that timed out or found no route
// is filtered; any other failure happened after connecting (a protocol
// error, a timeout reading the answer) and is open, with what the partial
// result holds.
//
// The port is the line's "port", which zgrab2 writes only when the input
// line carried one, then the module result's "port" (releases after v0.2.0
// write it). Without either, Options.ModulePorts[module name], then the
// port of the http request URL (which zgrab2 builds from the scanned port),
// then Options.Port; a result left without a port is a record error asking
// for --port.
//
// Certificates are returned as DER without further checks; a "raw" that is
// not base64 is passed on as its bytes, so that the pipeline reports it as a
// malformed certificate and keeps the rest of the observation.
package zgrab2

import (
	"bufio"
	"io"

	"portolan"
	"portolan/internal/ingest/scan"
)

// Source is the Observation.Source of everything this package reads.
const Source = "zgrab2"

// Options configures a Reader. The zero value reads files whose lines carry
// their port, with the default limits.
type Options struct {
	// Port is the port of results that carry none (runs with -p, or fed
	// addresses without ports); 0 when unknown.
	Port int
	// ModulePorts gives the port per module name, for `multiple` runs whose
	// modules scan different ports (the port= of each ini section). It wins
	// over Port.
	ModulePorts map[string]int
	// MaxLineBytes bounds one line; 0 means scan.DefaultMaxLineBytes. A
	// longer line is a record error.
	MaxLineBytes int
	// MaxDepth bounds JSON nesting; 0 means scan.DefaultMaxDepth. A deeper
	// line is a record error.
	MaxDepth int
}

// Reader reads zgrab2 output as observations. It implements
// portolan.ObservationReader; it is not safe for concurrent use.
type Reader struct {
	opts Options
	recs *scan.Records[*portolan.Observation]
}

var _ portolan.ObservationReader = (*Reader)(nil)

// NewReader returns a Reader of r. Nothing is read before the first Read.
func NewReader(r io.Reader, opts Options) *Reader {
	rd := &Reader{opts: opts}
	lr := scan.NewLineReader(bufio.NewReaderSize(r, scan.BufferSize), opts.MaxLineBytes)
	rd.recs = scan.NewRecords(Source, lr, opts.MaxDepth, rd.readLine)
	return rd
}

// Read returns the next observation; io.EOF at the end; a
// *portolan.InputError for a line or module result that cannot be used,
// after which the caller reads on; and the underlying reader's error,
// wrapped, when the input cannot be read further.
func (r *Reader) Read() (*portolan.Observation, error) {
	return r.recs.Read()
}

// readLine decodes one line, d reset to it, and queues what it yields.
func (r *Reader) readLine(rs *scan.Records[*portolan.Observation], d *scan.Decoder) {
	var g grab
	decodeGrab(d, &g)
	if d.Err() != nil {
		rs.Reject("%v", d.Err())
		return
	}
	r.adapt(rs, &g)
}

// Sniff reports whether head, the first bytes of an input (up to 4 KiB, or
// less for a short file), looks like zgrab2 output: a JSON object with an
// "ip" or "domain" string and a "data" object, and none of the keys that
// mark other scanners' JSON lines (masscan's rec_type, ZMap's saddr,
// Shodan's ip_str and _shodan).
func Sniff(head []byte) bool {
	var data, target, foreign bool
	scan.SniffKeys(head, func(key string, first byte) bool {
		switch key {
		case "data":
			data = first == '{'
		case "ip", "domain":
			target = target || first == '"'
		case "rec_type", "saddr", "ip_str", "_shodan":
			foreign = true
		}
		return !foreign
	})
	return data && target && !foreign
}
