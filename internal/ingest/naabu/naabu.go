// SPDX-License-Identifier: Apache-2.0

// Package naabu reads the JSON lines of ProjectDiscovery's naabu port
// scanner (-json) as portolan observations.
//
// Each line is one open port: {"host", "ip", "port", "protocol", "tls",
// "timestamp", …} (naabu's runner.Result and jsonResult, which write the
// service fields of its nmap integration flat on the same object: "name",
// "product", "version", "extra_info", "os_type", "cpes"). naabu reports only
// open ports, so every observation is open, seen and scanned at the line's
// timestamp. The host is "ip", else "host"; a "host" that names the address
// ("127.0.0.1") is not a hostname, any other is kept as one. "protocol"
// defaults to tcp; a product becomes a component, with its version split by
// portolan.SplitVersion, as nmap's are.
package naabu

import (
	"io"
	"net/netip"
	"strings"
	"time"

	"portolan"
	"portolan/internal/ingest/scan"
)

// Source is the Observation.Source of everything this package reads.
const Source = "naabu"

// Options configures a Reader; the zero value uses the default limits.
type Options = scan.LineOptions

// Reader reads naabu -json output, a line an open port. It implements
// portolan.ObservationReader; it is not safe for concurrent use.
type Reader = scan.ObservationLines

// NewReader returns a Reader of r. Nothing is read before the first Read.
func NewReader(r io.Reader, opts Options) *Reader {
	return scan.NewObservationLines(Source, r, opts, readLine)
}

// result mirrors one naabu line (pkg/runner/output.go, jsonResult).
type result struct {
	Host      string // "host": the name or address given as target
	IP        string // "ip"
	Port      *int   // "port"
	Protocol  string // "protocol": "tcp" or "udp"
	Timestamp string // "timestamp", RFC 3339
	Name      string // "name": the service name of the nmap integration
	Product   string // "product"
	Version   string // "version"
	ExtraInfo string // "extra_info"
	OSType    string // "os_type"
}

func readLine(rs *scan.Records[*portolan.Observation], d *scan.Decoder) {
	var res result
	if d.Peek() != '{' {
		d.Want("an object")
	} else {
		d.Object()
		for d.Next() {
			switch string(d.Key()) {
			case "host":
				res.Host = d.Str()
			case "ip":
				res.IP = d.Str()
			case "port":
				res.Port = d.IntPtr()
			case "protocol":
				res.Protocol = d.Str()
			case "timestamp":
				res.Timestamp = d.Str()
			case "name":
				res.Name = d.Str()
			case "product":
				res.Product = d.Str()
			case "version":
				res.Version = d.Str()
			case "extra_info":
				res.ExtraInfo = d.Str()
			case "os_type":
				res.OSType = d.Str()
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
	if reason != "" {
		rs.Reject("%s", reason)
		return
	}
	rs.Emit(o)
}

// adapt turns a line into an observation, or says why it cannot.
func adapt(res *result) (*portolan.Observation, string) {
	host := res.IP
	if host == "" {
		host = res.Host
	}
	if host == "" {
		return nil, "the record has neither ip nor host"
	}
	if res.Port == nil {
		return nil, "the record has no port"
	}
	if res.Timestamp == "" {
		return nil, "the record has no timestamp"
	}
	at, err := time.Parse(time.RFC3339Nano, res.Timestamp)
	if err != nil {
		return nil, "timestamp " + quote(res.Timestamp) + " is not RFC 3339"
	}
	proto := portolan.TCP
	switch strings.ToLower(res.Protocol) {
	case "", "tcp":
	case "udp":
		proto = portolan.UDP
	default:
		return nil, "protocol " + quote(res.Protocol) + " is not tcp or udp"
	}
	o := &portolan.Observation{
		Host: host, Port: *res.Port, Protocol: proto, Status: portolan.StatusOpen,
		SeenAt: at, ScannedAt: at, Source: Source,
	}
	if res.Host != "" && res.IP != "" && res.Host != res.IP {
		if _, err := netip.ParseAddr(res.Host); err != nil {
			o.Hostnames = []string{res.Host}
		}
	}
	if res.Product != "" {
		upstream, systems := portolan.SplitVersion(res.Version)
		o.Components = append(o.Components, portolan.Component{Name: res.Product, Version: upstream})
		o.Components = append(o.Components, systems...)
	}
	for _, c := range portolan.OperatingSystemsIn(res.ExtraInfo + " " + res.OSType) {
		dup := false
		for _, have := range o.Components {
			dup = dup || have.Name == c.Name
		}
		if !dup {
			o.Components = append(o.Components, c)
		}
	}
	o.ScanProtocol = res.Name
	return o, ""
}

// Sniff reports whether head, the first bytes of an input, looks like naabu
// -json output: an object whose keys are naabu's ("ip" or "host", "port" a
// number, and "protocol", "tls" or "timestamp") and none of another
// scanner's ("data" of zgrab2, "rec_type" of masscan, "url" of httpx,
// "saddr" of ZMap, "ip_str" of Shodan, "scannedAt" of the native format).
func Sniff(head []byte) bool {
	var target, port, naabu, foreign bool
	scan.SniffKeys(head, func(key string, first byte) bool {
		switch key {
		case "ip", "host":
			target = target || first == '"'
		case "port":
			port = first >= '0' && first <= '9'
		case "protocol", "tls", "timestamp":
			naabu = true
		case "data", "rec_type", "url", "saddr", "ip_str", "_shodan", "scannedAt", "status", "ports":
			foreign = true
		}
		return !foreign
	})
	return target && port && naabu && !foreign
}

func quote(s string) string {
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return `"` + s + `"`
}
