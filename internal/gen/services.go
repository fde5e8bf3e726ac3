// SPDX-License-Identifier: Apache-2.0

package gen

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// release is one version of a product, as its banner and nmap -sV name it.
// A product's releases are listed in upgrade order.
type release struct {
	token   string // how the software names itself in its banner: "nginx/1.22.1"
	version string // nmap's version attribute: "1.22.1", "8.2p1 Ubuntu 4ubuntu0.5"
	extra   string // nmap's extrainfo: "Ubuntu Linux; protocol 2.0"
}

// product is a piece of software behind a port.
type product struct {
	name     string // nmap's product attribute: "nginx", "Apache httpd"
	ostype   string // nmap's ostype attribute, when the service reveals it
	releases []release
}

// bannerArgs is what a banner is made from. r is the scan's own random
// source: the volatile parts (dates, lengths, cookies) come from it.
type bannerArgs struct {
	r       *rand.Rand
	at      time.Time
	prod    *product
	rel     *release
	variant int    // per-port choice of flavour (status code, extra headers)
	host    string // the name the service would greet with
}

// serviceKind is a protocol spoken behind a port.
type serviceKind struct {
	name     string // nmap's service name, also the native scanProtocol
	products []product
	// banner renders what a banner grab keeps; nil for services that send
	// nothing textual (RDP, PostgreSQL, DNS), which never have a banner.
	banner func(b *bannerArgs) string
}

// httpDate is the layout of HTTP's Date header (net/http.TimeFormat).
const httpDate = "Mon, 02 Jan 2006 15:04:05 GMT"

var (
	httpService = &serviceKind{name: "http", banner: httpBanner, products: []product{
		{name: "nginx", releases: []release{
			{"nginx/1.18.0 (Ubuntu)", "1.18.0", "Ubuntu"}, {"nginx/1.20.2", "1.20.2", ""}, {"nginx/1.22.1", "1.22.1", ""},
			{"nginx/1.24.0", "1.24.0", ""}, {"nginx/1.26.2", "1.26.2", ""},
		}},
		{name: "Apache httpd", releases: []release{
			{"Apache/2.4.41 (Ubuntu)", "2.4.41", "(Ubuntu)"}, {"Apache/2.4.52 (Ubuntu)", "2.4.52", "(Ubuntu)"},
			{"Apache/2.4.57 (Debian)", "2.4.57", "(Debian)"}, {"Apache/2.4.62 (Debian)", "2.4.62", "(Debian)"},
		}},
		{name: "Microsoft IIS httpd", ostype: "Windows", releases: []release{
			{"Microsoft-IIS/8.5", "8.5", ""}, {"Microsoft-IIS/10.0", "10.0", ""},
		}},
		{name: "lighttpd", releases: []release{
			{"lighttpd/1.4.59", "1.4.59", ""}, {"lighttpd/1.4.69", "1.4.69", ""}, {"lighttpd/1.4.76", "1.4.76", ""},
		}},
		{name: "OpenResty web app server", releases: []release{
			{"openresty/1.21.4.1", "1.21.4.1", ""}, {"openresty/1.25.3.1", "1.25.3.1", ""},
		}},
	}}
	elasticService = &serviceKind{name: "http", banner: elasticBanner, products: []product{
		{name: "Elasticsearch REST API", releases: []release{
			{"7.17.9", "7.17.9", ""}, {"8.11.1", "8.11.1", ""}, {"8.15.0", "8.15.0", ""},
		}},
	}}
	sshService = &serviceKind{name: "ssh", banner: sshBanner, products: []product{
		{name: "OpenSSH", ostype: "Linux", releases: []release{
			{"OpenSSH_7.4", "7.4", "protocol 2.0"},
			{"OpenSSH_8.2p1 Ubuntu-4ubuntu0.5", "8.2p1 Ubuntu 4ubuntu0.5", "Ubuntu Linux; protocol 2.0"},
			{"OpenSSH_8.9p1 Ubuntu-3ubuntu0.6", "8.9p1 Ubuntu 3ubuntu0.6", "Ubuntu Linux; protocol 2.0"},
			{"OpenSSH_9.2p1 Debian-2+deb12u3", "9.2p1 Debian 2+deb12u3", "protocol 2.0"},
			{"OpenSSH_9.6p1 Ubuntu-3ubuntu13.5", "9.6p1 Ubuntu 3ubuntu13.5", "Ubuntu Linux; protocol 2.0"},
		}},
		{name: "Dropbear sshd", ostype: "Linux", releases: []release{
			{"dropbear_2019.78", "2019.78", "protocol 2.0"}, {"dropbear_2020.81", "2020.81", "protocol 2.0"},
			{"dropbear_2022.83", "2022.83", "protocol 2.0"},
		}},
	}}
	smtpService = &serviceKind{name: "smtp", banner: smtpBanner, products: []product{
		{name: "Postfix smtpd", releases: []release{{"Postfix (Debian/GNU)", "", ""}, {"Postfix (Ubuntu)", "", ""}}},
		{name: "Exim smtpd", releases: []release{{"Exim 4.94.2", "4.94.2", ""}, {"Exim 4.96", "4.96", ""}, {"Exim 4.97.1", "4.97.1", ""}}},
		{name: "Sendmail", releases: []release{{"Sendmail 8.15.2/8.15.2", "8.15.2/8.15.2", ""}, {"Sendmail 8.17.1/8.17.1", "8.17.1/8.17.1", ""}}},
	}}
	ftpService = &serviceKind{name: "ftp", banner: ftpBanner, products: []product{
		{name: "vsftpd", releases: []release{{"vsFTPd 3.0.3", "3.0.3", ""}, {"vsFTPd 3.0.5", "3.0.5", ""}}},
		{name: "ProFTPD", releases: []release{{"ProFTPD 1.3.6", "1.3.6", ""}, {"ProFTPD 1.3.8", "1.3.8", ""}}},
		{name: "FileZilla ftpd", ostype: "Windows", releases: []release{{"FileZilla Server 1.7.0", "1.7.0", ""}, {"FileZilla Server 1.8.2", "1.8.2", ""}}},
	}}
	pop3Service = &serviceKind{name: "pop3", banner: pop3Banner, products: []product{
		{name: "Dovecot pop3d", releases: []release{{"Dovecot (Debian)", "", ""}, {"Dovecot (Ubuntu)", "", ""}}},
	}}
	imapService = &serviceKind{name: "imap", banner: imapBanner, products: []product{
		{name: "Dovecot imapd", releases: []release{{"Dovecot (Debian)", "", ""}, {"Dovecot (Ubuntu)", "", ""}}},
	}}
	mysqlService = &serviceKind{name: "mysql", banner: mysqlBanner, products: []product{
		{name: "MySQL", releases: []release{
			{"5.7.42-0ubuntu0.18.04.1", "5.7.42-0ubuntu0.18.04.1", ""}, {"8.0.36-0ubuntu0.22.04.1", "8.0.36-0ubuntu0.22.04.1", ""},
			{"8.0.39", "8.0.39", ""},
		}},
	}}
	redisService = &serviceKind{name: "redis", banner: redisBanner, products: []product{
		{name: "Redis key-value store", releases: []release{{"6.0.16", "6.0.16", ""}, {"7.0.15", "7.0.15", ""}, {"7.2.4", "7.2.4", ""}}},
	}}
	rdpService = &serviceKind{name: "ms-wbt-server", products: []product{
		{name: "Microsoft Terminal Services", ostype: "Windows", releases: []release{{"", "", ""}}},
	}}
	postgresService = &serviceKind{name: "postgresql", products: []product{
		{name: "PostgreSQL DB", releases: []release{{"", "9.6.0 - 9.6.x", ""}, {"", "13.0 - 13.x", ""}, {"", "15.0 - 15.x", ""}}},
	}}
	mongoService = &serviceKind{name: "mongodb", products: []product{
		{name: "MongoDB", releases: []release{{"", "4.4.29", ""}, {"", "6.0.13", ""}, {"", "7.0.12", ""}}},
	}}
	dnsService = &serviceKind{name: "domain", products: []product{
		{name: "ISC BIND", releases: []release{{"", "9.16.48-Ubuntu", "Ubuntu Linux"}, {"", "9.18.28-1~deb12u2-Debian", "Debian Linux"}}},
	}}
	// unknownService is a port -sV could not name and a banner grab got
	// nothing from.
	unknownService = &serviceKind{name: ""}
)

// serviceByPort is what listens on the well-known ports.
var serviceByPort = map[int]*serviceKind{
	21: ftpService, 22: sshService, 25: smtpService, 53: dnsService, 80: httpService, 110: pop3Service,
	143: imapService, 443: httpService, 465: smtpService, 587: smtpService, 993: imapService, 995: pop3Service,
	3306: mysqlService, 3389: rdpService, 5432: postgresService, 6379: redisService, 8000: httpService,
	8080: httpService, 8081: httpService, 8443: httpService, 8888: httpService, 9200: elasticService,
	10443: httpService, 27017: mongoService,
}

// tlsPorts are the ports that speak TLS first; only they present certificates.
var tlsPorts = map[int]bool{443: true, 465: true, 993: true, 995: true, 8443: true, 10443: true}

// commonPorts are weighted by how often internet-wide scans find them open.
var commonPorts = []struct {
	port   int
	weight int
}{
	{80, 30}, {443, 28}, {22, 20}, {21, 6}, {25, 5}, {3389, 5}, {8080, 6}, {8443, 4},
	{53, 3}, {110, 2}, {143, 2}, {993, 2}, {995, 2}, {3306, 2}, {5432, 1}, {6379, 1}, {27017, 1}, {9200, 1},
}

// Long-tail ports (above 1024, drawn uniformly) are this share of all ports;
// of them, these shares run HTTP and SSH, and the rest are unknown.
const (
	longTailShare = 0.10
	longTailHTTP  = 0.70
	longTailSSH   = 0.10
)

// shares returns the share of planned ports that can carry a banner and of
// those that speak TLS, so that New can turn Config's ratios (shares of
// observations) into per-port probabilities. It is measured on hosts planned
// with a fixed seed rather than computed from the weights, because the
// distinct ports of a host (and the hosts with many ports) skew the
// distribution away from the weights.
func shares() (banner, tls float64) {
	sharesOnce.Do(measureShares)
	return bannerShare, tlsShare
}

var (
	sharesOnce            sync.Once
	bannerShare, tlsShare float64
	openPortsPerHost      float64
)

// HostsFor returns how many hosts a world of one scan needs for about
// hostPorts hostPort records: ports found open in the first scan (a store
// keeps no record of a port it never saw open), so that a benchmark can ask
// for a store of a given size.
func HostsFor(hostPorts int) int {
	sharesOnce.Do(measureShares)
	return max(1, int(float64(hostPorts)/openPortsPerHost+0.5))
}

func measureShares() {
	const hosts = 20000
	g := New(Config{Seed: 0xca11b7a7e, Hosts: hosts, BannerRatio: 1, CertificateRatio: 1})
	var ports, capable, secure int
	var open float64
	for i := range hosts {
		for _, p := range g.plan(i).ports {
			ports++
			if p.born == 0 {
				open += 1 - transientPercent/100.0
			}
			if p.svc.banner != nil {
				capable++
			}
			if tlsPorts[p.port] {
				secure++
			}
		}
	}
	bannerShare, tlsShare = float64(capable)/float64(ports), float64(secure)/float64(ports)
	openPortsPerHost = open / hosts
}

func httpBanner(b *bannerArgs) string {
	var s strings.Builder
	s.Grow(512)
	date := b.at.Add(time.Duration(b.r.IntN(20)) * time.Second).UTC().Format(httpDate)
	switch b.variant % 8 {
	case 5:
		fmt.Fprintf(&s, "HTTP/1.1 301 Moved Permanently\r\nServer: %s\r\nDate: %s\r\nContent-Type: text/html\r\nContent-Length: 162\r\nConnection: keep-alive\r\nLocation: https://%s/\r\n",
			b.rel.token, date, b.host)
	case 6:
		fmt.Fprintf(&s, "HTTP/1.1 403 Forbidden\r\nServer: %s\r\nDate: %s\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Length: %d\r\nConnection: close\r\n",
			b.rel.token, date, 199+b.r.IntN(80))
	case 7:
		fmt.Fprintf(&s, "HTTP/1.1 404 Not Found\r\nServer: %s\r\nDate: %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: keep-alive\r\n",
			b.rel.token, date, 146+b.r.IntN(60))
	default:
		fmt.Fprintf(&s, "HTTP/1.1 200 OK\r\nServer: %s\r\nDate: %s\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Length: %d\r\nConnection: keep-alive\r\n",
			b.rel.token, date, 300+b.r.IntN(40000))
		if b.variant%3 == 0 {
			fmt.Fprintf(&s, "Last-Modified: %s\r\nETag: \"%x-%x\"\r\nAccept-Ranges: bytes\r\n",
				b.at.Add(-time.Duration(b.r.IntN(1e7))*time.Second).UTC().Format(httpDate), b.r.Uint32(), b.r.Uint32()&0xfffff)
		}
	}
	if strings.HasPrefix(b.rel.token, "Microsoft-IIS") {
		s.WriteString("X-Powered-By: ASP.NET\r\n")
	}
	if b.variant%4 == 1 {
		fmt.Fprintf(&s, "Set-Cookie: PHPSESSID=%016x%010x; path=/; HttpOnly\r\n", b.r.Uint64(), b.r.Uint64()>>24)
	}
	if b.variant%5 == 2 {
		fmt.Fprintf(&s, "X-Request-Id: %08x-%04x-4%03x-%04x-%012x\r\nX-Frame-Options: SAMEORIGIN\r\n",
			b.r.Uint32(), b.r.Uint32()&0xffff, b.r.Uint32()&0xfff, 0x8000|b.r.Uint32()&0x3fff, b.r.Uint64()&0xffffffffffff)
	}
	s.WriteString("\r\n")
	return s.String()
}

func elasticBanner(b *bannerArgs) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nX-elastic-product: Elasticsearch\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n",
		520+b.r.IntN(40))
}

func sshBanner(b *bannerArgs) string {
	return "SSH-2.0-" + b.rel.token + "\r\n"
}

func smtpBanner(b *bannerArgs) string {
	if strings.HasPrefix(b.rel.token, "Postfix") {
		return fmt.Sprintf("220 %s ESMTP %s\r\n", b.host, b.rel.token)
	}
	// Exim and Sendmail put the time in their greeting.
	return fmt.Sprintf("220 %s ESMTP %s; %s\r\n", b.host, b.rel.token, b.at.UTC().Format(time.RFC1123Z))
}

func ftpBanner(b *bannerArgs) string {
	switch {
	case strings.HasPrefix(b.rel.token, "vsFTPd"):
		return "220 (" + b.rel.token + ")\r\n"
	case strings.HasPrefix(b.rel.token, "ProFTPD"):
		return "220 " + b.rel.token + " Server (Debian) [" + b.host + "]\r\n"
	}
	return "220-" + b.rel.token + "\r\n220 Please visit https://filezilla-project.org/\r\n"
}

func pop3Banner(b *bannerArgs) string {
	return fmt.Sprintf("+OK %s ready. <%x.%d@%s>\r\n", b.rel.token, b.r.Uint32(), b.at.Unix(), b.host)
}

func imapBanner(b *bannerArgs) string {
	return "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] " + b.rel.token + " ready.\r\n"
}

// mysqlBanner is the server greeting as nmap's banner script prints binary:
// escaped, with the random authentication salt in it.
func mysqlBanner(b *bannerArgs) string {
	const salt = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var s [20]byte
	for i := range s {
		s[i] = salt[b.r.IntN(len(salt))]
	}
	return fmt.Sprintf(`J\x00\x00\x00\x0A%s\x00%s\x00\x00\x00%s\x00\xFF\xF7\x08\x02\x00\xFF\xC1\x15\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00%s\x00mysql_native_password\x00`,
		b.rel.token, fmt.Sprintf(`\x%02X`, b.r.IntN(256)), s[:8], s[8:])
}

func redisBanner(b *bannerArgs) string {
	if b.variant%2 == 0 {
		return "-NOAUTH Authentication required.\r\n"
	}
	return "-ERR unknown command 'GET / HTTP/1.0'\r\n"
}
