// SPDX-License-Identifier: Apache-2.0

// Package shodan reads Shodan banners as portolan observations: the NDJSON
// of `shodan download` and `shodan stream` (one banner per line), and lines
// holding a whole /shodan/host answer, whose "data" list of banners is read
// banner by banner.
//
// Each banner is one open port (Shodan keeps only services that answered),
// seen and scanned at its "timestamp", which Shodan writes in UTC without a
// zone (intelligence.md "The instants of each format"). Host is ip_str;
// Protocol is "transport"; ScanProtocol the crawler module (_shodan.module,
// e.g. "http", "https", "ssh"); Banner the service's answer ("data");
// Hostnames "hostnames"; Certificate the leaf of ssl.chain, converted from
// PEM to DER (ssl.cert, the parsed certificate, is not used: the pipeline
// parses the DER itself).
//
// Components come from product and version, with the category of the
// module (Database for mysql, mongodb, redis…; Remote Access for ssh, rdp,
// vnc, telnet; Mail Server for smtp, pop3, imap; Server otherwise). The
// version is the upstream version: Shodan's "9.2p1 Debian 2+deb12u10"
// becomes OpenSSH 9.2p1 plus a Debian component of category Operating
// System (intelligence.md "Component versions"), as does Shodan's "os".
// Without a product, the application and operating-system CPEs are used.
package shodan

import (
	"fmt"
	"io"

	"portolan"
	"portolan/internal/ingest/scan"
)

// Source is the Observation.Source of everything this package reads.
const Source = "shodan"

// Options configures a Reader. The zero value uses the default limits. A
// /shodan/host line holds every banner of the host, so it can be large.
type Options = scan.LineOptions

// Reader reads Shodan banners as observations. It implements
// portolan.ObservationReader; it is not safe for concurrent use.
type Reader = scan.ObservationLines

// NewReader returns a Reader of r. Nothing is read before the first Read.
// The caller decompresses `shodan download`'s .json.gz files.
func NewReader(r io.Reader, opts Options) *Reader {
	return scan.NewObservationLines(Source, r, opts, readLine)
}

// readLine decodes one line, d reset to it, and queues what it yields.
func readLine(rs *scan.Records[*portolan.Observation], d *scan.Decoder) {
	var b banner
	if d.Peek() != '{' {
		d.Want("an object") // and not null: a line must hold a record
	}
	decodeBanner(d, &b, true)
	d.End()
	if d.Err() != nil {
		rs.Reject("%v", d.Err())
		return
	}
	if !b.IsHost {
		add(rs, &b, nil, "")
		return
	}
	// A /shodan/host answer: each banner, with the host's fields as
	// defaults.
	if len(b.Banners) == 0 {
		rs.Reject("the host has no banners in data")
	}
	for i := range b.Banners {
		add(rs, &b.Banners[i], &b, fmt.Sprintf("banner %d of data: ", i+1))
	}
}

// add queues the observation of b, or the record error in its place.
func add(rs *scan.Records[*portolan.Observation], b, host *banner, prefix string) {
	o, reason := observation(b, host)
	if reason != "" {
		rs.Reject("%s%s", prefix, reason)
		return
	}
	rs.Emit(o)
}

// Sniff reports whether head, the first bytes of an input (up to 4 KiB, or
// less for a short file), looks like Shodan banners: a JSON object with
// ip_str or _shodan, or with "data" as a string or list next to banner or
// host fields (hash, ip, org, isp, asn, port, ports, transport). A banner's
// ip_str often comes after a long "data", beyond the head, hence the second
// rule; zgrab2 and masscan write "data" as an object.
func Sniff(head []byte) bool {
	var data, marked, hinted bool
	scan.SniffKeys(head, func(key string, first byte) bool {
		switch key {
		case "ip_str", "_shodan":
			marked = true
		case "data":
			data = first == '"' || first == '['
		case "hash", "ip", "org", "isp", "asn", "port", "ports", "transport":
			hinted = true
		}
		return !marked
	})
	return marked || data && hinted
}
