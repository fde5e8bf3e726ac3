// SPDX-License-Identifier: Apache-2.0

// Package httpx reads the JSON lines of ProjectDiscovery's httpx HTTP prober
// (-json) as portolan observations.
//
// Each line is one probed URL (httpx's runner.Result). What is read:
//
//   - the host: "host_ip" (the address httpx dialled), else "host" when it
//     is an address, else the first of "a" (the resolved addresses), else
//     "host" as a name; a "host" that is a name beside an address becomes
//     one of the observation's hostnames;
//   - the port: "port" (a string in httpx, a number accepted), else the
//     URL's port, else the scheme's (80, 443); the protocol is TCP;
//   - "scheme" is the scan protocol; "timestamp" the instant, seen and
//     scanned;
//   - the banner: the response head when httpx wrote it ("raw_header",
//     with -irr; base64 with -irrb, decoded), else the response headers
//     httpx was asked for ("header", -irh: an object of snake-cased names,
//     written back as "Name: value" lines, Content-Type for content_type,
//     in the object's order; httpx writes neither the status line nor the
//     names as sent), else "Server: <webserver>", the form masscan's
//     http.server banner takes, so the fingerprint rules over Server
//     headers see it (httpx's "webserver" is that header's value);
//   - components: each "tech" detection ("Nginx:1.22.1", wappalyzer's
//     "name:version"), named as wappalyzer names it; the stores' alias
//     table brings it to the canonical name, so "Nginx" from httpx and
//     "nginx" from a banner are one component;
//   - the certificate: "tls"."certificate", the leaf in PEM, where tlsx
//     wrote it; httpx itself (-tls-grab, v1.7.1) never does, and writes
//     only the leaf's digests and some of its fields, which become a
//     portolan.CertificateDescription: "fingerprint_hash"."sha1",
//     "serial" (hex), "not_before", "not_after", "subject_cn",
//     "subject_org", "subject_an" (the DNS names), "issuer_cn" and
//     "issuer_org" (the certificate's DER, when another scanner gives it,
//     replaces the description in the store);
//   - a line with "failed": true says the probe failed: a refused
//     connection is a closed port, a timeout a filtered one; other failures
//     (a TLS or HTTP error on an open port, a DNS failure) say nothing sure
//     about the port and give no observation.
//
// "status_code" and "title" are read to check the line's shape but have no
// place in an observation (Graph's hostPort has neither); the response
// head, when present, carries the status line.
package httpx

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"portolan"
	"portolan/internal/ingest/scan"
)

// Source is the Observation.Source of everything this package reads.
const Source = "httpx"

// Options configures a Reader; the zero value uses the default limits.
type Options = scan.LineOptions

// Reader reads httpx -json output, a line a probed URL. It implements
// portolan.ObservationReader; it is not safe for concurrent use.
type Reader = scan.ObservationLines

// NewReader returns a Reader of r. Nothing is read before the first Read.
func NewReader(r io.Reader, opts Options) *Reader {
	return scan.NewObservationLines(Source, r, opts, readLine)
}

// result mirrors the members of one httpx line that are read
// (runner/types.go, Result; tls is tlsx's clients.Response).
type result struct {
	Timestamp  string   // "timestamp": RFC 3339 with nanoseconds
	URL        string   // "url": the URL probed
	Host       string   // "host": the URL's host, a name or an address
	HostIP     string   // "host_ip": the address dialled (newer releases)
	A          []string // "a": the addresses the host resolved to
	Port       string   // "port": a string in httpx
	Scheme     string   // "scheme": http or https
	StatusCode *int     // "status_code"
	Title      string   // "title"
	WebServer  string   // "webserver": the Server header's value
	RawHeader  string   // "raw_header": the response head (-irr; base64 with -irrb)
	Header     []header // "header": the response headers (-irh)
	Tech       []string // "tech": wappalyzer's "name:version" detections
	Cert       string   // "tls"."certificate": the leaf in PEM
	TLS        tlsFacts // the rest of "tls": the leaf described
	Failed     bool     // "failed"
	Error      string   // "error": why the probe failed
}

func readLine(rs *scan.Records[*portolan.Observation], d *scan.Decoder) {
	var res result
	if d.Peek() != '{' {
		d.Want("an object")
	} else {
		d.Object()
		for d.Next() {
			switch string(d.Key()) {
			case "timestamp":
				res.Timestamp = d.Str()
			case "url":
				res.URL = d.Str()
			case "host":
				res.Host = d.Str()
			case "host_ip":
				res.HostIP = d.Str()
			case "a":
				res.A = stringArray(d)
			case "port":
				if c := d.Peek(); c >= '0' && c <= '9' {
					res.Port = string(d.Number())
				} else {
					res.Port = d.Str()
				}
			case "scheme":
				res.Scheme = d.Str()
			case "status_code":
				res.StatusCode = d.IntPtr()
			case "title":
				res.Title = d.Str()
			case "webserver":
				res.WebServer = d.Str()
			case "raw_header":
				res.RawHeader = d.Str()
			case "header":
				res.Header = readHeaders(d)
			case "tech":
				res.Tech = stringArray(d)
			case "tls":
				readTLS(d, &res)
			case "failed":
				res.Failed, _ = d.Bool()
			case "error":
				res.Error = d.Str()
			default:
				d.Skip()
			}
		}
		d.End()
	}
	if err := d.Err(); err != nil {
		rs.Reject("%v", err)
		return
	}
	o, reason := adapt(&res)
	switch {
	case reason != "":
		rs.Reject("%s", reason)
	case o != nil:
		rs.Emit(o)
	}
}

// stringArray reads an array of strings; null is an empty one.
func stringArray(d *scan.Decoder) []string {
	if d.Null() {
		return nil
	}
	var out []string
	if d.Array() {
		for d.Elem() {
			out = append(out, d.Str())
		}
	}
	return out
}

// header is one member of httpx's "header" object: a response header's
// name, lower-cased with "-" as "_", and its values joined with ", ".
type header struct{ name, value string }

// readHeaders reads the "header" object in its order. A value that is not
// a string (an array of them is joined) is skipped: httpx writes strings.
func readHeaders(d *scan.Decoder) []header {
	if d.Null() || !d.Object() {
		return nil
	}
	var out []header
	for d.Next() {
		name := string(d.Key())
		switch d.Peek() {
		case '"':
			out = append(out, header{name, d.Str()})
		case '[':
			out = append(out, header{name, strings.Join(stringArray(d), ", ")})
		default:
			d.Skip()
		}
	}
	return out
}

// headerLines writes headers back as response header lines: content_type
// becomes Content-Type (httpx lost the case as sent; this is the usual one).
func headerLines(headers []header) string {
	var b strings.Builder
	for _, h := range headers {
		if h.name == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		for i, part := range strings.Split(h.name, "_") {
			if i > 0 {
				b.WriteByte('-')
			}
			if part != "" {
				b.WriteString(strings.ToUpper(part[:1]))
				b.WriteString(part[1:])
			}
		}
		b.WriteString(": ")
		b.WriteString(h.value)
	}
	return b.String()
}

// responseHead returns raw_header as text: -irrb writes it in base64,
// which decodes to a head starting "HTTP/"; anything else is kept as read.
func responseHead(raw string) string {
	if strings.HasPrefix(raw, "HTTP/") {
		return raw
	}
	if b, err := base64.StdEncoding.DecodeString(raw); err == nil && bytes.HasPrefix(b, []byte("HTTP/")) {
		return string(b)
	}
	return raw
}

// tlsFacts are the members of tlsx's response that describe the leaf
// (clients.CertificateResponse).
type tlsFacts struct {
	SHA1, Serial, NotBefore, NotAfter string
	SubjectCN, IssuerCN               string
	SubjectOrg, IssuerOrg, SubjectAN  []string
}

// readTLS reads the certificate of tlsx's response object, or what it
// says of it.
func readTLS(d *scan.Decoder, res *result) {
	if d.Null() {
		return
	}
	if !d.Object() {
		return
	}
	f := &res.TLS
	for d.Next() {
		switch string(d.Key()) {
		case "certificate":
			res.Cert = d.Str()
		case "fingerprint_hash":
			if d.Null() || !d.Object() {
				break
			}
			for d.Next() {
				if string(d.Key()) == "sha1" {
					f.SHA1 = d.Str()
				} else {
					d.Skip()
				}
			}
		case "serial":
			f.Serial = d.Str()
		case "not_before":
			f.NotBefore = d.Str()
		case "not_after":
			f.NotAfter = d.Str()
		case "subject_cn":
			f.SubjectCN = d.Str()
		case "issuer_cn":
			f.IssuerCN = d.Str()
		case "subject_org":
			f.SubjectOrg = stringArray(d)
		case "issuer_org":
			f.IssuerOrg = stringArray(d)
		case "subject_an":
			f.SubjectAN = stringArray(d)
		default:
			d.Skip()
		}
	}
}

// describe returns the encoded description of the leaf that f describes,
// nil when f names no certificate (no SHA-1), or why it cannot be used.
func (f *tlsFacts) describe() ([]byte, string) {
	if f.SHA1 == "" {
		return nil, ""
	}
	d := portolan.CertificateDescription{
		SHA1:                  f.SHA1,
		IssuerCommonName:      f.IssuerCN,
		IssuerOrganization:    strings.Join(f.IssuerOrg, ", "),
		SubjectCommonName:     f.SubjectCN,
		SubjectOrganization:   strings.Join(f.SubjectOrg, ", "),
		SubjectAlternateNames: f.SubjectAN,
	}
	if f.Serial != "" {
		if d.SerialNumber = portolan.SerialFromHex(f.Serial); d.SerialNumber == "" {
			return nil, "tls.serial " + quote(f.Serial) + " is not hexadecimal"
		}
	}
	for _, v := range []struct {
		text string
		into *time.Time
		name string
	}{{f.NotBefore, &d.NotBefore, "not_before"}, {f.NotAfter, &d.NotAfter, "not_after"}} {
		t, err := time.Parse(time.RFC3339Nano, v.text)
		if err != nil {
			return nil, "tls." + v.name + " " + quote(v.text) + " is not RFC 3339"
		}
		*v.into = t
	}
	b, err := d.Encode()
	if err != nil {
		return nil, "tls: " + portolan.ErrorMessage(err)
	}
	return b, ""
}

// adapt turns a line into an observation; nil and no reason for a failed
// probe that says nothing about the port.
func adapt(res *result) (*portolan.Observation, string) {
	if res.Timestamp == "" {
		return nil, "the record has no timestamp"
	}
	at, err := time.Parse(time.RFC3339Nano, res.Timestamp)
	if err != nil {
		return nil, "timestamp " + quote(res.Timestamp) + " is not RFC 3339"
	}
	var u *url.URL
	if res.URL != "" {
		if u, err = url.Parse(res.URL); err != nil {
			return nil, "url " + quote(res.URL) + " is not a URL"
		}
	}
	scheme := strings.ToLower(res.Scheme)
	if scheme == "" && u != nil {
		scheme = strings.ToLower(u.Scheme)
	}
	name := res.Host
	if name == "" && u != nil {
		name = u.Hostname()
	}
	host := res.HostIP
	if host == "" {
		if _, err := netip.ParseAddr(name); err == nil {
			host = name
		} else if len(res.A) > 0 {
			host = res.A[0]
		} else {
			host = name
		}
	}
	if host == "" {
		return nil, "the record has neither host_ip, host, a nor url"
	}
	portText := res.Port
	if portText == "" && u != nil {
		portText = u.Port()
	}
	port := 0
	switch {
	case portText != "":
		if port, err = strconv.Atoi(portText); err != nil {
			return nil, "port " + quote(portText) + " is not a number"
		}
	case scheme == "http":
		port = 80
	case scheme == "https":
		port = 443
	default:
		return nil, "the record has no port, and no http or https scheme that implies one"
	}
	o := &portolan.Observation{Host: host, Port: port, Protocol: portolan.TCP, SeenAt: at, ScannedAt: at, Source: Source}
	if name != "" && name != host {
		if _, err := netip.ParseAddr(name); err != nil {
			o.Hostnames = []string{name}
		}
	}
	if res.Failed {
		switch e := strings.ToLower(res.Error); {
		case strings.Contains(e, "connection refused"):
			o.Status = portolan.StatusClosed
		case strings.Contains(e, "timeout"), strings.Contains(e, "deadline exceeded"):
			o.Status = portolan.StatusFiltered
		default:
			return nil, "" // not about the port: no observation
		}
		o.SeenAt = time.Time{}
		return o, ""
	}
	o.Status = portolan.StatusOpen
	o.ScanProtocol = scheme
	switch {
	case res.RawHeader != "":
		o.Banner = responseHead(res.RawHeader)
	case len(res.Header) > 0:
		o.Banner = headerLines(res.Header)
	case res.WebServer != "":
		o.Banner = "Server: " + res.WebServer
	}
	for _, t := range res.Tech {
		name, version, _ := strings.Cut(t, ":")
		if name = strings.TrimSpace(name); name != "" {
			o.Components = append(o.Components, portolan.Component{Name: name, Version: strings.TrimSpace(version)})
		}
	}
	if res.Cert != "" {
		block, _ := pem.Decode([]byte(res.Cert))
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, "tls.certificate is not a PEM certificate"
		}
		o.Certificate = block.Bytes
	} else {
		described, reason := res.TLS.describe()
		if reason != "" {
			return nil, reason
		}
		o.Certificate = described
	}
	return o, ""
}

// Sniff reports whether head, the first bytes of an input, looks like httpx
// -json output: an object with a "url" string and one of httpx's own keys
// ("status_code", "webserver", "tech", "scheme", "input", "failed",
// "host_ip", "content_length"), and no key of another scanner's ("data" of
// zgrab2, "rec_type" of masscan, "saddr" of ZMap, "ip_str" of Shodan,
// "scannedAt" of the native format).
func Sniff(head []byte) bool {
	var url, httpx, foreign bool
	scan.SniffKeys(head, func(key string, first byte) bool {
		switch key {
		case "url":
			url = first == '"'
		case "status_code", "webserver", "tech", "scheme", "input", "failed", "host_ip", "content_length", "title":
			httpx = true
		case "data", "rec_type", "saddr", "ip_str", "_shodan", "scannedAt":
			foreign = true
		}
		return !foreign
	})
	return url && httpx && !foreign
}

func quote(s string) string {
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return strconv.Quote(s)
}
