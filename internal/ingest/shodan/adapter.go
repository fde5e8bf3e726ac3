// SPDX-License-Identifier: Apache-2.0

package shodan

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"portolan"
)

// observation turns one banner into an observation, or says why it cannot;
// host is the /shodan/host object around it, or nil.
func observation(b, host *banner) (*portolan.Observation, string) {
	addr := address(b)
	if addr == "" && host != nil {
		addr = address(host)
	}
	if addr == "" {
		return nil, "the banner has no ip_str"
	}
	if b.Port == nil {
		return nil, "the banner has no port"
	}
	if b.Timestamp == "" {
		return nil, "the banner has no timestamp"
	}
	at, ok := parseTime(b.Timestamp)
	if !ok {
		return nil, "timestamp " + quote(b.Timestamp) + " is not a time"
	}
	o := &portolan.Observation{
		Host:      addr,
		Port:      *b.Port,
		Protocol:  portolan.Protocol(b.Transport),
		Status:    portolan.StatusOpen,
		SeenAt:    at,
		ScannedAt: at,
		Source:    Source,
		Banner:    b.Data,
		Hostnames: b.Hostnames,
	}
	if b.Hostnames == nil && host != nil {
		o.Hostnames = host.Hostnames // only when the banner does not say
	}
	if len(o.Hostnames) == 0 {
		o.Hostnames = nil
	}
	o.ScanProtocol = b.Module
	if len(b.Chain) > 0 && b.Chain[0] != "" {
		der, err := portolan.DecodeCertificate([]byte(b.Chain[0]))
		if err != nil {
			// PEM without a certificate: pass it on, so that the pipeline
			// reports it as malformed and keeps the rest.
			der = []byte(b.Chain[0])
		}
		o.Certificate = der
	}
	osName := b.OS
	if osName == "" && host != nil {
		osName = host.OS
	}
	o.Components = components(b, osName)
	return o, ""
}

// address returns the banner's address: ip_str, else ipv6, else the integer
// ip.
func address(b *banner) string {
	switch {
	case b.IPStr != "":
		return b.IPStr
	case b.IPv6 != "":
		return b.IPv6
	case b.IP.str != "":
		return b.IP.str
	case b.IP.set:
		n := b.IP.num
		return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}).String()
	}
	return ""
}

// parseTime parses Shodan's timestamp, UTC without a zone, or RFC 3339.
func parseTime(s string) (time.Time, bool) {
	if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// Component categories, in Defender TI's words (intelligence.md §5).
const (
	catServer  = "Server"
	catDB      = "Database"
	catRemote  = "Remote Access"
	catMail    = "Mail Server"
	catOS      = portolan.CategoryOperatingSystem
	maxCPEList = 16 // CPEs read per banner; Shodan lists a handful
)

// moduleCategories maps the first word of a Shodan module name to the
// category of the product it found.
var moduleCategories = map[string]string{
	"mysql": catDB, "postgresql": catDB, "postgres": catDB, "mongodb": catDB, "redis": catDB,
	"elastic": catDB, "elasticsearch": catDB, "memcache": catDB, "memcached": catDB,
	"cassandra": catDB, "couchdb": catDB, "couchbase": catDB, "mssql": catDB, "oracle": catDB,
	"influxdb": catDB, "riak": catDB, "neo4j": catDB, "clickhouse": catDB, "db2": catDB,
	"rethinkdb": catDB, "hbase": catDB, "etcd": catDB,
	"ssh": catRemote, "rdp": catRemote, "vnc": catRemote, "telnet": catRemote, "x11": catRemote,
	"teamviewer": catRemote, "anydesk": catRemote, "winrm": catRemote,
	"smtp": catMail, "smtps": catMail, "pop3": catMail, "pop3s": catMail, "imap": catMail, "imaps": catMail,
}

// categoryOf returns the category of a product found by module.
func categoryOf(module string) string {
	base := strings.ToLower(module)
	if i := strings.IndexAny(base, "-_"); i > 0 {
		base = base[:i]
	}
	if c, ok := moduleCategories[base]; ok {
		return c
	}
	return catServer
}

// components lists what Shodan recognised on the port; see the package
// documentation.
func components(b *banner, osName string) []portolan.Component {
	var out []portolan.Component
	add := func(c portolan.Component) {
		for _, have := range out {
			if have.Name == c.Name && have.Category == c.Category {
				return
			}
		}
		out = append(out, c)
	}
	module := b.Module
	if product := strings.TrimSpace(b.Product); product != "" {
		version, systems := portolan.SplitVersion(b.Version)
		add(portolan.Component{Name: product, Version: version, Category: categoryOf(module)})
		for _, c := range systems {
			add(c)
		}
	} else {
		cpes := b.CPE23
		if len(cpes) == 0 {
			cpes = b.CPE
		}
		for i, cpe := range cpes {
			if i == maxCPEList {
				break
			}
			part, name, version := parseCPE(cpe)
			switch part {
			case "a":
				add(portolan.Component{Name: name, Version: version, Category: categoryOf(module)})
			case "o":
				add(portolan.Component{Name: name, Version: version, Category: catOS})
			}
		}
	}
	if osName = strings.TrimSpace(osName); osName != "" {
		add(portolan.Component{Name: osName, Category: catOS})
	}
	return out
}

// parseCPE returns the part ("a", "o", "h"), product and version of a CPE
// 2.3 name or 2.2 URI; "*" and "-" versions are empty.
func parseCPE(cpe string) (part, product, version string) {
	var f []string
	switch {
	case strings.HasPrefix(cpe, "cpe:2.3:"):
		f = strings.SplitN(cpe[len("cpe:2.3:"):], ":", 5)
	case strings.HasPrefix(cpe, "cpe:/"):
		f = strings.SplitN(cpe[len("cpe:/"):], ":", 5)
	default:
		return "", "", ""
	}
	if len(f) < 3 || f[2] == "" {
		return "", "", ""
	}
	part, product = f[0], strings.ReplaceAll(f[2], "_", " ")
	if len(f) > 3 && f[3] != "*" && f[3] != "-" {
		version = f[3]
	}
	return part, product, version
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}
