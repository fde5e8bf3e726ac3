// SPDX-License-Identifier: Apache-2.0

package zgrab2

// The structs below mirror the parts of zgrab2's output (v0.2.0, and the
// shapes of earlier releases) that become observations, each field with the
// JSON path it comes from; the decode functions fill them with the decoder
// of jsonscan.go, skipping everything else (most of a record is TLS
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
	Error     string  // "error", the Go error text on failure
}

// result holds the shapes this reader recognises; which one is present says
// what kind of module produced it, whatever its name.
type result struct {
	Response     *httpResponse // "response": http
	HandshakeLog *handshakeLog // "handshake_log": tls
	ServerID     *sshServerID  // "server_id": ssh
	// Banner is "banner", the greeting of the line-oriented modules (ftp,
	// smtp, pop3, imap, telnet, …). Only a string is taken.
	Banner string
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
func decodeGrab(d *decoder, g *grab) {
	if d.peek() != '{' {
		d.want("an object") // and not null: a line must hold a record
		return
	}
	d.object()
	for d.next() {
		switch string(d.key) {
		case "ip":
			g.IP = d.str()
		case "domain":
			g.Domain = d.str()
		case "port":
			g.Port = d.intPtr()
		case "data":
			if !d.object() {
				continue
			}
			for d.next() {
				name := string(d.key)
				if g.Data == nil {
					g.Data = make(map[string]*moduleEntry, 1)
				}
				g.Data[name] = decodeModule(d)
			}
		default:
			d.skip()
		}
	}
	d.end()
}

// decodeModule decodes one module result; nil for null.
func decodeModule(d *decoder) *moduleEntry {
	if !d.object() {
		return nil
	}
	m := &moduleEntry{}
	for d.next() {
		switch string(d.key) {
		case "status":
			m.Status = d.str()
		case "protocol":
			m.Protocol = d.str()
		case "timestamp":
			m.Timestamp = d.str()
		case "error":
			m.Error = d.strOrSkip()
		case "result":
			m.Result = decodeResult(d)
		default:
			d.skip()
		}
	}
	return m
}

func decodeResult(d *decoder) *result {
	if !d.object() {
		return nil
	}
	r := &result{}
	for d.next() {
		switch string(d.key) {
		case "response":
			r.Response = decodeResponse(d)
		case "handshake_log":
			r.HandshakeLog = decodeHandshake(d)
		case "server_id":
			r.ServerID = decodeServerID(d)
		case "banner":
			r.Banner = d.strOrSkip() // some modules' banner is an object
		default:
			d.skip()
		}
	}
	return r
}

func decodeResponse(d *decoder) *httpResponse {
	if !d.object() {
		return nil
	}
	r := &httpResponse{}
	for d.next() {
		switch string(d.key) {
		case "status_line":
			r.StatusLine = d.str()
		case "status_code":
			n, _ := d.int()
			r.StatusCode = int(n)
		case "protocol":
			if !d.object() {
				continue
			}
			for d.next() {
				switch string(d.key) {
				case "name":
					r.Protocol.Name = d.str()
				case "major":
					n, _ := d.int()
					r.Protocol.Major = int(n)
				case "minor":
					n, _ := d.int()
					r.Protocol.Minor = int(n)
				default:
					d.skip()
				}
			}
		case "headers":
			decodeHeaders(d, &r.Headers)
		case "request":
			r.Request = decodeRequest(d)
		case "redirect_response_chain":
			if !d.array() {
				continue
			}
			for d.elem() {
				r.Redirects++
				d.skip()
			}
		default:
			d.skip()
		}
	}
	return r
}

func decodeHeaders(d *decoder, h *httpHeaders) {
	if !d.object() {
		return
	}
	for d.next() {
		if string(d.key) != "unknown" {
			h.names = append(h.names, string(d.key))
			h.values = append(h.values, decodeStrings(d))
			continue
		}
		if !d.array() {
			continue
		}
		for d.elem() {
			if !d.object() {
				continue
			}
			var name string
			var values []string
			for d.next() {
				switch string(d.key) {
				case "key":
					name = d.str()
				case "value":
					values = decodeStrings(d)
				default:
					d.skip()
				}
			}
			h.names = append(h.names, name)
			h.values = append(h.values, values)
		}
	}
}

// decodeStrings decodes a list of strings, or one string.
func decodeStrings(d *decoder) []string {
	if d.peek() == '"' {
		return []string{d.str()}
	}
	if !d.array() {
		if d.err == nil {
			return nil // null
		}
		d.err = &syntaxError{off: d.pos, msg: "want a string or a list of strings"}
		return nil
	}
	var out []string
	for d.elem() {
		out = append(out, d.str())
	}
	return out
}

func decodeRequest(d *decoder) *httpRequest {
	if !d.object() {
		return nil
	}
	r := &httpRequest{}
	for d.next() {
		switch string(d.key) {
		case "url":
			if !d.object() {
				continue
			}
			for d.next() {
				switch string(d.key) {
				case "scheme":
					r.Scheme = d.str()
				case "host":
					r.URLHost = d.str()
				default:
					d.skip()
				}
			}
		case "host":
			r.Host = d.str()
		case "tls_log":
			if !d.object() {
				continue
			}
			for d.next() {
				switch string(d.key) {
				case "handshake_log":
					r.TLSLog = decodeHandshake(d)
				default:
					d.skip()
				}
			}
		default:
			d.skip()
		}
	}
	return r
}

func decodeHandshake(d *decoder) *handshakeLog {
	if !d.object() {
		return nil
	}
	h := &handshakeLog{}
	for d.next() {
		switch string(d.key) {
		case "server_certificates":
			if !d.object() {
				continue
			}
			for d.next() {
				switch string(d.key) {
				case "certificate":
					if !d.object() {
						continue
					}
					for d.next() {
						switch string(d.key) {
						case "raw":
							h.LeafRaw = d.str()
						default:
							d.skip()
						}
					}
				default:
					d.skip()
				}
			}
		default:
			d.skip()
		}
	}
	return h
}

func decodeServerID(d *decoder) *sshServerID {
	if !d.object() {
		return nil
	}
	s := &sshServerID{}
	for d.next() {
		switch string(d.key) {
		case "raw":
			s.Raw = d.str()
		case "version":
			s.Version = d.str()
		case "software":
			s.Software = d.str()
		case "comment":
			s.Comment = d.str()
		default:
			d.skip()
		}
	}
	return s
}

// strOrSkip returns a string value, or skips any other value and returns
// "", for fields whose type differs between writers.
func (d *decoder) strOrSkip() string {
	if d.err == nil && d.peek() == '"' {
		return d.str()
	}
	d.skip()
	return ""
}
