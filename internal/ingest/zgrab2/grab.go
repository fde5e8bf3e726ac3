// SPDX-License-Identifier: Apache-2.0

package zgrab2

import "portolan/internal/ingest/scan"

// The structs below mirror the parts of zgrab2's output (v0.2.0, and the
// shapes of earlier releases) that become observations, each field with the
// JSON path it comes from; the decode functions fill them with a
// scan.Decoder, skipping everything else (most of a record is TLS
// handshake detail and the HTTP body) without building it.

// grab is one output line: the target and one result per module.
type grab struct {
	IP     string // "ip"
	Domain string // "domain", only when the input line named one
	// Port is "port", the port of the input line; zgrab2 writes it only
	// when the input line carried one ("ip,domain,tag,port"), not for -p or
	// `multiple` runs.
	Port *int
	Data map[string]*moduleEntry // "data", keyed by module name, which the user chooses in `multiple`
}

// moduleEntry is zgrab2's ScanResponse: the outcome of one module.
type moduleEntry struct {
	// Status is "status", zgrab2's ScanStatus: success, connection-refused,
	// connection-timeout, connection-closed, io-timeout, protocol-error,
	// application-error or unknown-error.
	Status    string
	Protocol  string  // "protocol": the module's protocol, http, tls, ssh, ftp, …
	Result    *result // "result", partial on many failures
	Timestamp string  // "timestamp", RFC 3339: when the module finished
	// Port is "port", which zgrab2 releases after v0.2.0 write in each
	// module result.
	Port  *int
	Error string // "error", the Go error text on failure
}

// result holds the shapes this reader recognises; which one is present says
// what kind of module produced it, whatever its name.
type result struct {
	Response     *httpResponse // "response": http
	HandshakeLog *handshakeLog // "handshake_log": tls
	ServerID     *sshServerID  // "server_id": ssh
	// Banner is "banner", the greeting of the line-oriented modules (ftp,
	// smtp, pop3, imap, telnet, banner, …). Only a string is taken.
	Banner string
	// TLS is "tls.handshake_log", zgrab2's TLSLog, which any module may
	// carry: implicit TLS, or STARTTLS (smtp, imap, pop3, ftp AUTH TLS,
	// mysql, postgres, …).
	TLS *handshakeLog

	// The version fields of the modules that have one. Each comes from one
	// module's result type (zgrab2 v0.2.0 modules/<name>/scanner.go), and
	// their names do not clash across modules except "version", a string in
	// redis, memcached and mssql and a number in ntp (skipped).
	ServerVersion    string // "server_version": mysql's handshake, "5.5.5-10.11.19-MariaDB-0+deb12u1"
	Version          string // "version": redis (from INFO), memcached, mssql
	InfoResponse     string // "info_response": redis's INFO answer, read for redis_version when "version" is missing
	OS               string // "os": redis INFO's os line, "Linux 6.1.0-18-amd64 x86_64"
	AMQPProduct      string // "server_properties.product": amqp091, "RabbitMQ"
	AMQPVersion      string // "server_properties.version": amqp091
	PostgresError    bool   // "protocol_error" or "startup_error": postgres, an ErrorResponse of PostgreSQL's protocol
	PostgresParams   string // "server_parameters": postgres, "k=v,k=v" after a login
	MongoVersion     string // "build_info.version": mongodb
	CUPSVersion      string // "cups_version": ipp, "CUPS/2.4"
	OracleNSNVersion string // "handshake.nsn_version": oracle
	NativeOS         string // "native_os": smb's SMBv1 session setup, "Windows Server 2016 Standard 14393"
	NativeLanMan     string // "ntlm": smb's SMBv1 session setup NativeLanMan, "Samba 4.17.12-Debian" (not NTLM)
	FoxOSName        string // "os_name": fox
	FoxAppName       string // "app_name": fox, the Niagara application, "Station"
	FoxAppVersion    string // "app_version": fox, "3.8.311"
	// The device identification of the industrial modules: what their
	// protocols let a device say of itself.
	VendorName     string // "vendor_name": bacnet, "Johnson Controls, Inc."
	ModelName      string // "model_name": bacnet, "NAE55"
	FirmwareRev    string // "firmware_revision": bacnet, "10.0"
	MEIVendor      string // "mei_response.objects.vendor": modbus, "Schneider Electric"
	MEIProductCode string // "mei_response.objects.product_code": modbus, "BMX P34 2020"
	MEIRevision    string // "mei_response.objects.revision": modbus, "v2.6"
	S7ModuleType   string // "module_type": siemens, "CPU 315-2 PN/DP"
	S7Firmware     string // "firmware": siemens, "V3.2.6"
}

// httpResponse is the http module's result.response.
type httpResponse struct {
	StatusLine string // "status_line": "200 OK"
	StatusCode int    // "status_code"
	Protocol   struct {
		Name         string // "protocol.name": "HTTP/1.1"
		Major, Minor int    // "protocol.major", "protocol.minor"
	}
	Headers httpHeaders  // "headers"
	Request *httpRequest // "request"
	// Redirects is the length of "redirect_response_chain": when redirects
	// were followed, the request above is the last one, not the one sent
	// to the target.
	Redirects int
}

// httpRequest is the request that produced the response.
type httpRequest struct {
	Scheme  string        // "url.scheme"
	URLHost string        // "url.host": "127.0.0.1:18081"; without a port for the scheme's default
	Host    string        // "host"
	TLSLog  *handshakeLog // "tls_log.handshake_log", https only
}

// handshakeLog is zcrypto's TLS handshake log; only the leaf certificate is
// used.
type handshakeLog struct {
	LeafRaw string // "server_certificates.certificate.raw": base64 DER
}

// sshServerID is the ssh module's result.server_id.
type sshServerID struct {
	Raw      string // "raw": the identification line, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"
	Version  string // "version"
	Software string // "software"
	Comment  string // "comment"
}

// httpHeaders is zgrab2's rendering of response headers: names lower-cased
// with "-" turned into "_", each with a list of values, and headers outside
// zgrab2's list of known ones gathered under "unknown" as {key, value}
// pairs. Older releases wrote single strings instead of lists; both are
// accepted.
type httpHeaders struct {
	names  []string   // snake_case names, as in the input
	values [][]string // values of names[i]
}

// decodeGrab fills g from the line d was reset to.
func decodeGrab(d *scan.Decoder, g *grab) {
	if d.Peek() != '{' {
		d.Want("an object") // and not null: a line must hold a record
		return
	}
	d.Object()
	for d.Next() {
		switch string(d.Key()) {
		case "ip":
			g.IP = d.Str()
		case "domain":
			g.Domain = d.Str()
		case "port":
			g.Port = d.IntPtr()
		case "data":
			if !d.Object() {
				continue
			}
			for d.Next() {
				name := string(d.Key())
				if g.Data == nil {
					g.Data = make(map[string]*moduleEntry, 1)
				}
				g.Data[name] = decodeModule(d)
			}
		default:
			d.Skip()
		}
	}
	d.End()
}

// decodeModule decodes one module result; nil for null.
func decodeModule(d *scan.Decoder) *moduleEntry {
	if !d.Object() {
		return nil
	}
	m := &moduleEntry{}
	for d.Next() {
		switch string(d.Key()) {
		case "status":
			m.Status = d.Str()
		case "protocol":
			m.Protocol = d.Str()
		case "timestamp":
			m.Timestamp = d.Str()
		case "port":
			m.Port = d.IntPtr()
		case "error":
			m.Error = strOrSkip(d)
		case "result":
			m.Result = decodeResult(d)
		default:
			d.Skip()
		}
	}
	return m
}

func decodeResult(d *scan.Decoder) *result {
	if !d.Object() {
		return nil
	}
	r := &result{}
	for d.Next() {
		switch string(d.Key()) {
		// A module this reader does not know may use one of these keys
		// for a value of another type (mqtt's "response" is a string): it
		// is skipped, never an error, so that unknown modules are read.
		case "response":
			if isObject(d) {
				r.Response = decodeResponse(d)
			}
		case "handshake_log":
			if isObject(d) {
				r.HandshakeLog = decodeHandshake(d)
			}
		case "server_id":
			if isObject(d) {
				r.ServerID = decodeServerID(d)
			}
		case "banner":
			r.Banner = strOrSkip(d) // some modules' banner is an object
		case "tls":
			if isObject(d) {
				r.TLS = decodeTLSLog(d)
			}
		case "server_version":
			r.ServerVersion = strOrSkip(d)
		case "version":
			r.Version = strOrSkip(d) // ntp's is a number
		case "os":
			r.OS = strOrSkip(d)
		case "protocol_error", "startup_error":
			// postgres: the server answered in PostgreSQL's protocol.
			r.PostgresError = d.Peek() == '{'
			d.Skip()
		case "info_response":
			r.InfoResponse = strOrSkip(d)
		case "server_properties":
			r.AMQPProduct, r.AMQPVersion = decodeTwo(d, "product", "version")
		case "server_parameters":
			r.PostgresParams = strOrSkip(d)
		case "build_info":
			r.MongoVersion, _ = decodeTwo(d, "version", "")
		case "cups_version":
			r.CUPSVersion = strOrSkip(d)
		case "handshake":
			r.OracleNSNVersion, _ = decodeTwo(d, "nsn_version", "")
		case "native_os":
			r.NativeOS = strOrSkip(d)
		case "ntlm":
			r.NativeLanMan = strOrSkip(d)
		case "os_name":
			r.FoxOSName = strOrSkip(d)
		case "app_name":
			r.FoxAppName = strOrSkip(d)
		case "app_version":
			r.FoxAppVersion = strOrSkip(d)
		case "vendor_name":
			r.VendorName = strOrSkip(d)
		case "model_name":
			r.ModelName = strOrSkip(d)
		case "firmware_revision":
			r.FirmwareRev = strOrSkip(d)
		case "mei_response":
			r.MEIVendor, r.MEIProductCode, r.MEIRevision = decodeMEI(d)
		case "module_type":
			r.S7ModuleType = strOrSkip(d)
		case "firmware":
			r.S7Firmware = strOrSkip(d)
		default:
			d.Skip()
		}
	}
	return r
}

// isObject reports whether the next value is an object; any other is
// skipped.
func isObject(d *scan.Decoder) bool {
	if d.Err() == nil && d.Peek() == '{' {
		return true
	}
	d.Skip()
	return false
}

// decodeTLSLog decodes zgrab2's TLSLog, {"handshake_log": …, …}.
func decodeTLSLog(d *scan.Decoder) *handshakeLog {
	if !d.Object() {
		return nil
	}
	var h *handshakeLog
	for d.Next() {
		switch string(d.Key()) {
		case "handshake_log":
			h = decodeHandshake(d)
		default:
			d.Skip()
		}
	}
	return h
}

// decodeTwo returns the string members a and b (b may be "") of an object,
// skipping the rest; anything but an object is skipped.
func decodeTwo(d *scan.Decoder, a, b string) (string, string) {
	if d.Err() != nil || d.Peek() != '{' {
		d.Skip()
		return "", ""
	}
	d.Object()
	var va, vb string
	for d.Next() {
		switch k := string(d.Key()); {
		case k == a:
			va = strOrSkip(d)
		case b != "" && k == b:
			vb = strOrSkip(d)
		default:
			d.Skip()
		}
	}
	return va, vb
}

// decodeMEI returns the vendor, product code and revision of modbus's
// mei_response ({"objects": {"vendor": …, "product_code": …, "revision":
// …}, …}), the basic device identification of Modbus function 43/14.
func decodeMEI(d *scan.Decoder) (vendor, product, revision string) {
	if !isObject(d) {
		return "", "", ""
	}
	d.Object()
	for d.Next() {
		if string(d.Key()) != "objects" {
			d.Skip()
			continue
		}
		if !isObject(d) { // skipped
			continue
		}
		d.Object()
		for d.Next() {
			switch string(d.Key()) {
			case "vendor":
				vendor = strOrSkip(d)
			case "product_code":
				product = strOrSkip(d)
			case "revision":
				revision = strOrSkip(d)
			default:
				d.Skip()
			}
		}
	}
	return vendor, product, revision
}

func decodeResponse(d *scan.Decoder) *httpResponse {
	if !d.Object() {
		return nil
	}
	r := &httpResponse{}
	for d.Next() {
		switch string(d.Key()) {
		case "status_line":
			r.StatusLine = d.Str()
		case "status_code":
			n, _ := d.Int()
			r.StatusCode = int(n)
		case "protocol":
			if !d.Object() {
				continue
			}
			for d.Next() {
				switch string(d.Key()) {
				case "name":
					r.Protocol.Name = d.Str()
				case "major":
					n, _ := d.Int()
					r.Protocol.Major = int(n)
				case "minor":
					n, _ := d.Int()
					r.Protocol.Minor = int(n)
				default:
					d.Skip()
				}
			}
		case "headers":
			decodeHeaders(d, &r.Headers)
		case "request":
			r.Request = decodeRequest(d)
		case "redirect_response_chain":
			if !d.Array() {
				continue
			}
			for d.Elem() {
				r.Redirects++
				d.Skip()
			}
		default:
			d.Skip()
		}
	}
	return r
}

func decodeHeaders(d *scan.Decoder, h *httpHeaders) {
	if !d.Object() {
		return
	}
	for d.Next() {
		if string(d.Key()) != "unknown" {
			h.names = append(h.names, string(d.Key()))
			h.values = append(h.values, decodeStrings(d))
			continue
		}
		if !d.Array() {
			continue
		}
		for d.Elem() {
			if !d.Object() {
				continue
			}
			var name string
			var values []string
			for d.Next() {
				switch string(d.Key()) {
				case "key":
					name = d.Str()
				case "value":
					values = decodeStrings(d)
				default:
					d.Skip()
				}
			}
			h.names = append(h.names, name)
			h.values = append(h.values, values)
		}
	}
}

// decodeStrings decodes a list of strings, or one string.
func decodeStrings(d *scan.Decoder) []string {
	if d.Peek() == '"' {
		return []string{d.Str()}
	}
	if !d.Array() {
		if d.Err() == nil {
			return nil // null
		}
		d.Reword("want a string or a list of strings")
		return nil
	}
	var out []string
	for d.Elem() {
		out = append(out, d.Str())
	}
	return out
}

func decodeRequest(d *scan.Decoder) *httpRequest {
	if !d.Object() {
		return nil
	}
	r := &httpRequest{}
	for d.Next() {
		switch string(d.Key()) {
		case "url":
			if !d.Object() {
				continue
			}
			for d.Next() {
				switch string(d.Key()) {
				case "scheme":
					r.Scheme = d.Str()
				case "host":
					r.URLHost = d.Str()
				default:
					d.Skip()
				}
			}
		case "host":
			r.Host = d.Str()
		case "tls_log":
			if !d.Object() {
				continue
			}
			for d.Next() {
				switch string(d.Key()) {
				case "handshake_log":
					r.TLSLog = decodeHandshake(d)
				default:
					d.Skip()
				}
			}
		default:
			d.Skip()
		}
	}
	return r
}

func decodeHandshake(d *scan.Decoder) *handshakeLog {
	if !d.Object() {
		return nil
	}
	h := &handshakeLog{}
	for d.Next() {
		switch string(d.Key()) {
		case "server_certificates":
			if !d.Object() {
				continue
			}
			for d.Next() {
				switch string(d.Key()) {
				case "certificate":
					if !d.Object() {
						continue
					}
					for d.Next() {
						switch string(d.Key()) {
						case "raw":
							h.LeafRaw = d.Str()
						default:
							d.Skip()
						}
					}
				default:
					d.Skip()
				}
			}
		default:
			d.Skip()
		}
	}
	return h
}

func decodeServerID(d *scan.Decoder) *sshServerID {
	if !d.Object() {
		return nil
	}
	s := &sshServerID{}
	for d.Next() {
		switch string(d.Key()) {
		case "raw":
			s.Raw = d.Str()
		case "version":
			s.Version = d.Str()
		case "software":
			s.Software = d.Str()
		case "comment":
			s.Comment = d.Str()
		default:
			d.Skip()
		}
	}
	return s
}

// strOrSkip returns a string value, or skips any other value and returns
// "", for fields whose type differs between writers.
func strOrSkip(d *scan.Decoder) string {
	if d.Err() == nil && d.Peek() == '"' {
		return d.Str()
	}
	d.Skip()
	return ""
}
