// SPDX-License-Identifier: Apache-2.0

package shodan

import "portolan/internal/ingest/scan"

// banner mirrors the fields of Shodan's banner (the "Banner Specification"
// of Shodan's developer documentation, and each element of /shodan/host's
// "data") that become an observation, each with its JSON key. A /shodan/host
// object decodes into the same struct: its "data" is then the list of
// banners, and its ip_str, hostnames and os apply to each of them.
// decodeBanner fills it with a scan.Decoder, skipping everything else
// (location, org, the parsed certificate, http.html, vulns, …) without
// building it.
type banner struct {
	IPStr     string   // "ip_str": "192.0.2.1" or an IPv6 address
	IP        flexIP   // "ip": the IPv4 address as an integer
	IPv6      string   // "ipv6", in older IPv6 banners
	Port      *int     // "port"
	Transport string   // "transport": tcp or udp
	Timestamp string   // "timestamp": "2024-01-02T03:04:05.678901", UTC without zone
	Data      string   // "data": the service's answer
	Banners   []banner // "data" of a /shodan/host object: its banners
	IsHost    bool     // "data" was a list: this is a /shodan/host object
	Product   string   // "product"
	Version   string   // "version"
	OS        string   // "os"
	CPE       []string // "cpe": CPE 2.2 URIs, "cpe:/a:openbsd:openssh:9.2p1"
	CPE23     []string // "cpe23": CPE 2.3 names, "cpe:2.3:a:openbsd:openssh:9.2p1"
	Hostnames []string // "hostnames"
	Module    string   // "_shodan.module": the crawler module, http, https, ssh, mysql, …
	Chain     []string // "ssl.chain": PEM certificates, the leaf first
}

// flexIP is Shodan's "ip": an integer for IPv4, a string in some exports.
type flexIP struct {
	num uint32
	str string
	set bool
}

// decodeBanner fills b from the object at d. top allows "data" to be a list
// of banners, as in /shodan/host; banners inside it may not nest further.
func decodeBanner(d *scan.Decoder, b *banner, top bool) {
	if !d.Object() {
		return
	}
	for d.Next() {
		switch string(d.Key()) {
		case "ip_str":
			b.IPStr = d.Str()
		case "ip":
			decodeIP(d, &b.IP)
		case "ipv6":
			b.IPv6 = d.Str()
		case "port":
			b.Port = d.IntPtr()
		case "transport":
			b.Transport = d.Str()
		case "timestamp":
			b.Timestamp = d.Str()
		case "data":
			switch d.Peek() {
			case '[':
				if !top {
					d.Want("a string")
					continue
				}
				b.IsHost = true
				d.Array()
				for d.Elem() {
					var e banner
					if d.Peek() == 'n' {
						d.Skip()
						continue
					}
					decodeBanner(d, &e, false)
					b.Banners = append(b.Banners, e)
				}
			case 'n':
				d.Skip()
			default:
				b.Data = d.Str()
			}
		case "product":
			b.Product = d.Str()
		case "version":
			b.Version = d.Str()
		case "os":
			b.OS = d.Str()
		case "cpe":
			b.CPE = decodeStrings(d)
		case "cpe23":
			b.CPE23 = decodeStrings(d)
		case "hostnames":
			b.Hostnames = decodeStrings(d) // [] stays non-nil: said, and empty
		case "_shodan":
			if !d.Object() {
				continue
			}
			for d.Next() {
				switch string(d.Key()) {
				case "module":
					b.Module = d.Str()
				default:
					d.Skip()
				}
			}
		case "ssl":
			if !d.Object() {
				continue
			}
			for d.Next() {
				switch string(d.Key()) {
				case "chain":
					b.Chain = decodeStrings(d)
				default:
					d.Skip()
				}
			}
		default:
			d.Skip()
		}
	}
}

// decodeIP decodes "ip", an integer or a string.
func decodeIP(d *scan.Decoder, ip *flexIP) {
	if d.Peek() == '"' {
		ip.str, ip.set = d.Str(), true
		return
	}
	start := d.Offset()
	n, ok := d.Int()
	if !ok {
		return
	}
	if n < 0 || n > 1<<32-1 {
		d.WantAt(start, "an IPv4 address as an integer")
		return
	}
	ip.num, ip.set = uint32(n), true
}

// decodeStrings decodes a list of strings, or one string; null gives nil.
func decodeStrings(d *scan.Decoder) []string {
	if d.Peek() == '"' {
		return []string{d.Str()}
	}
	if !d.Array() {
		return nil
	}
	out := []string{}
	for d.Elem() {
		out = append(out, d.Str())
	}
	return out
}
