// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"portolan"
)

// Base is the instant random observations start from.
var Base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	certsOnce sync.Once
	certs     [][]byte
)

// DescribeCertificate returns the encoded portolan.CertificateDescription
// of der as httpx would write it: with or without its subject's names.
func DescribeCertificate(der []byte, names bool) []byte {
	c, err := portolan.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	d := portolan.CertificateDescription{
		SHA1: c.SHA1, SerialNumber: c.SerialNumber, NotBefore: c.IssueDateTime, NotAfter: c.ExpirationDateTime,
		IssuerCommonName: c.Issuer.CommonName, IssuerOrganization: c.Issuer.OrganizationName,
	}
	if names {
		d.SubjectCommonName, d.SubjectOrganization = c.Subject.CommonName, c.Subject.OrganizationName
		d.SubjectAlternateNames = c.Subject.AlternateNames
	}
	b, err := d.Encode()
	if err != nil {
		panic(err)
	}
	return b
}

// TestCertificates returns a few self-signed DER certificates (made once per
// process), with subjects, SANs and serial numbers that differ.
func TestCertificates() [][]byte {
	certsOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), cryptorand.Reader)
		if err != nil {
			panic(err)
		}
		for i := 0; i < 4; i++ {
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(int64(1000 + i)),
				Subject: pkix.Name{
					CommonName: fmt.Sprintf("svc%d.example.test", i), Organization: []string{"Example Lab"},
					Country: []string{"US"}, Locality: []string{"Springfield"},
				},
				NotBefore:   Base.AddDate(0, -1, i),
				NotAfter:    Base.AddDate(1, 0, i),
				DNSNames:    []string{fmt.Sprintf("svc%d.example.test", i), "www.example.test"},
				IPAddresses: []net.IP{net.IPv4(192, 0, 2, byte(i))},
			}
			der, err := x509.CreateCertificate(cryptorand.Reader, tmpl, tmpl, &key.PublicKey, key)
			if err != nil {
				panic(err)
			}
			certs = append(certs, der)
		}
	})
	return certs
}

var (
	// randomHosts come first and stay in this order: tests index AllHosts.
	randomHosts = []string{"192.0.2.1", "192.0.2.2", "198.51.100.7", "2001:db8::1", "2001:db8::2:1", "scan.example.test"}
	// quietHost is only ever seen closed or filtered: a host with no record.
	quietHost = "203.0.113.9"
	// randomNames are hostnames scanners associate with addresses;
	// closedName only on closed and filtered observations.
	randomNames = []string{"www.example.test", "mail.example.test", "alias.example.test"}
	closedName  = "closed.example.test"
	randomPorts = []int{21, 22, 25, 80, 443, 3389, 8080, 8443}
	// banners are templates: {date} becomes an HTTP date and {n} a random
	// number, so that volatile headers differ between scans. Several
	// normalise to the same banner (trailing whitespace, volatile values).
	banners = []string{
		"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10",
		"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n",
		"SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.5",
		"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: {date}\r\nContent-Length: {n}\r\n\r\n",
		"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\ndate: {date}\r\ncontent-length: {n}\r\n\r\n",
		"HTTP/1.1 302 Found\r\nLocation: /login\r\nServer: Apache/2.4.57 (Debian)\r\nSet-Cookie: sid={n}\r\n",
		"HTTP/1.0 404 Not Found\r\nETag: \"{n}\"\r\nExpires: {date}\r\nX-Request-Id: {n}\r\n\r\n<p>Date: {date}</p>",
		"  Server: nginx/1.18.0\n  Date: {date}\n  Age: {n}\n",
		"220 mail.example.test ESMTP Postfix (Debian/GNU)  \r\n",
		"220 (vsFTPd 3.0.5)",
		"220 (vsFTPd 3.0.5)\t \n",
		" \r\n",
		"\xff\xfeSSH-2.0-dropbear_2022.83\x00",
	}
	components = []portolan.Component{
		{Name: "nginx", Version: "1.22.1", Category: "Server"},
		{Name: "nginx", Version: "1.18.0", Category: "Server"},
		{Name: "nginx", Category: "Server"},
		{Name: "OpenSSH", Version: "9.2p1", Category: "Remote Access"},
		{Name: "Debian", Category: "Operating System"},
		{Name: "Linux", Category: "Operating System"},
		{Name: "Postfix", Category: "Mail Server"},
	}
	sources   = []string{"nmap", "masscan", "native", "zgrab2"}
	protocols = []string{"http_raw", "tls", "ssh", ""}
)

// RandomObservations returns n normalised observations with distinct
// identities drawn from a small world (a few hosts, ports, banners,
// components and certificates) so that they collide on records a lot. The
// histories hold rescans of the same ports; ports closed or filtered before
// their first open observation and after it; a host never seen open;
// status ties on one scannedAt between sources; probes of one scan at one
// instant (banners, services and certificates tied on lastSeen); banners
// that change, and that normalise alike (volatile headers, trailing
// whitespace, bytes that are not UTF-8); certificates that rotate by week,
// shared between hosts and between tcp and udp of a port; hostname aliases
// (several per address, in any case, with a trailing dot, one that is also
// a scanned host, one seen only on closed ports).
func RandomObservations(rng *rand.Rand, n int) []*portolan.Observation {
	g := &generator{rng: rng, seen: make(map[[16]byte]bool, n)}
	for len(g.out) < n {
		g.scenario()
	}
	return g.out[:n]
}

type generator struct {
	rng  *rand.Rand
	seen map[[16]byte]bool
	out  []*portolan.Observation
}

// scenario adds one to four observations of one port.
func (g *generator) scenario() {
	rng := g.rng
	host := randomHosts[rng.IntN(len(randomHosts))]
	quiet := rng.IntN(20) == 0
	if quiet {
		host = quietHost
	}
	proto := portolan.TCP
	if rng.IntN(8) == 0 {
		proto = portolan.UDP
	}
	port := randomPorts[rng.IntN(len(randomPorts))]
	scanned := Base.Add(time.Duration(rng.IntN(30*24*3600)) * time.Second)
	if rng.IntN(3) == 0 {
		// On the hour: ties with other ports and other scans.
		scanned = scanned.Truncate(time.Hour)
	}
	mk := func(status portolan.HostPortStatus, seen, scanned time.Time, source string) *portolan.Observation {
		if quiet && status == portolan.StatusOpen {
			status = portolan.StatusFiltered
		}
		return &portolan.Observation{Host: host, Port: port, Protocol: proto, Status: status, SeenAt: seen, ScannedAt: scanned, Source: source}
	}
	source := func() string { return sources[rng.IntN(len(sources))] }
	seenBefore := func(t time.Time) time.Time {
		if rng.IntN(3) == 0 {
			return t
		}
		return t.Add(-time.Duration(rng.IntN(40)) * time.Second)
	}
	switch rng.IntN(12) {
	case 0:
		// Closed or filtered before the port first opens, possibly at the
		// same scannedAt (open wins the tie).
		first := mk(g.closedOrFiltered(), scanned, scanned, source())
		later := scanned.Add(time.Duration(rng.IntN(3)) * 24 * time.Hour)
		g.add(first, g.decorate(mk(portolan.StatusOpen, seenBefore(later), later, source())))
	case 1:
		// Two sources disagree at one scannedAt.
		a := g.decorate(mk(g.anyStatus(), seenBefore(scanned), scanned, "nmap"))
		b := g.decorate(mk(g.anyStatus(), seenBefore(scanned), scanned, "masscan"))
		g.add(a, b)
	case 2:
		// Several probes of one scan at one instant: banners, services and
		// certificates tied on lastSeen.
		seen := seenBefore(scanned)
		var obs []*portolan.Observation
		for i, k := 0, 2+rng.IntN(3); i < k; i++ {
			o := g.decorate(mk(portolan.StatusOpen, seen, scanned, sources[i]))
			if o.Certificate == nil && rng.IntN(2) == 0 {
				o.Certificate = TestCertificates()[rng.IntN(len(TestCertificates()))]
			}
			obs = append(obs, o)
		}
		g.add(obs...)
	case 3:
		// Open, then closed or filtered at a later scan.
		g.add(g.decorate(mk(portolan.StatusOpen, seenBefore(scanned), scanned, source())),
			g.decorate(mk(g.closedOrFiltered(), scanned.Add(time.Hour), scanned.Add(time.Hour), source())))
	default:
		g.add(g.decorate(mk(g.anyStatus(), seenBefore(scanned), scanned, source())))
	}
}

func (g *generator) anyStatus() portolan.HostPortStatus {
	if g.rng.IntN(10) < 7 {
		return portolan.StatusOpen
	}
	return g.closedOrFiltered()
}

func (g *generator) closedOrFiltered() portolan.HostPortStatus {
	if g.rng.IntN(3) == 0 {
		return portolan.StatusFiltered
	}
	return portolan.StatusClosed
}

// decorate adds a banner, components, a certificate and hostnames at
// random. Closed and filtered observations get them too, more rarely: the
// rules must ignore them for seen figures.
func (g *generator) decorate(o *portolan.Observation) *portolan.Observation {
	rng := g.rng
	rare := 1
	if o.Status != portolan.StatusOpen {
		rare = 4
	}
	if rng.IntN(3*rare) == 0 {
		b := banners[rng.IntN(len(banners))]
		b = strings.ReplaceAll(b, "{date}", o.ScannedAt.Format(time.RFC1123))
		b = strings.ReplaceAll(b, "{n}", fmt.Sprint(rng.IntN(1e6)))
		if rng.IntN(150) == 0 {
			// Longer than 16 KiB: cut on a UTF-8 boundary.
			b += strings.Repeat("é", 9000)
		}
		o.Banner = b
		o.ScanProtocol = protocols[rng.IntN(len(protocols))]
	}
	if rng.IntN(rare) == 0 {
		for i := rng.IntN(3); i > 0; i-- {
			o.Components = append(o.Components, components[rng.IntN(len(components))])
		}
	}
	if rng.IntN(6*rare) == 0 {
		certs := TestCertificates()
		// Each port rotates through the certificates week by week, in
		// step on tcp and udp; some observations show another one.
		week := int(o.ScannedAt.Sub(Base) / (7 * 24 * time.Hour))
		i := (o.Port + week) % len(certs)
		if rng.IntN(4) == 0 {
			i = rng.IntN(len(certs))
		}
		o.Certificate = certs[i]
		// Some scanners (httpx) describe a certificate rather than give
		// its DER; the DER replaces the description, and of two
		// descriptions one is kept, whichever order they come in.
		switch rng.IntN(6) {
		case 0:
			o.Certificate = DescribeCertificate(certs[i], true)
		case 1:
			o.Certificate = DescribeCertificate(certs[i], false)
		}
	}
	if portolan.HostKindOf(o.Host) == portolan.KindIPAddress && rng.IntN(4) == 0 {
		for i := 1 + rng.IntN(2); i > 0; i-- {
			switch r := rng.IntN(10); {
			case r == 0:
				o.Hostnames = append(o.Hostnames, "scan.example.test")
			case r == 1:
				o.Hostnames = append(o.Hostnames, o.Host) // the target itself: no alias
			case r == 2:
				o.Hostnames = append(o.Hostnames, strings.ToUpper(randomNames[0])+".")
			default:
				o.Hostnames = append(o.Hostnames, randomNames[rng.IntN(len(randomNames))])
			}
		}
	}
	if o.Status != portolan.StatusOpen && rng.IntN(5) == 0 {
		o.Hostnames = append(o.Hostnames, closedName)
	}
	return o
}

// add normalises and keeps the observations whose identity is new.
func (g *generator) add(obs ...*portolan.Observation) {
	for _, o := range obs {
		if err := o.Normalize(); err != nil {
			panic(err)
		}
		if len(o.Hostnames) == 0 {
			// Normalize leaves an empty list when it drops every name (the
			// target's own address); the log decodes that as nil.
			o.Hostnames = nil
		}
		if id := o.Identity(); !g.seen[id] {
			g.seen[id] = true
			g.out = append(g.out, o)
		}
	}
}

// SortedByTime returns the observations ordered by scannedAt, seenAt, host,
// port: the "sorted single pass" the property tests compare with.
func SortedByTime(obs []*portolan.Observation) []*portolan.Observation {
	out := append([]*portolan.Observation(nil), obs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.ScannedAt.Equal(b.ScannedAt) {
			return a.ScannedAt.Before(b.ScannedAt)
		}
		if !a.SeenAt.Equal(b.SeenAt) {
			return a.SeenAt.Before(b.SeenAt)
		}
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		return a.Port < b.Port
	})
	return out
}

// Shuffled returns the observations in random order with random duplicates
// (copies of some observations, up to dupFraction of them), cut into
// batches of random sizes between 1 and maxBatch.
func Shuffled(rng *rand.Rand, obs []*portolan.Observation, dupFraction float64, maxBatch int) [][]*portolan.Observation {
	all := append([]*portolan.Observation(nil), obs...)
	for i := 0; i < int(float64(len(obs))*dupFraction); i++ {
		o := *obs[rng.IntN(len(obs))]
		all = append(all, &o)
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	var batches [][]*portolan.Observation
	for len(all) > 0 {
		n := 1 + rng.IntN(maxBatch)
		if n > len(all) {
			n = len(all)
		}
		batches = append(batches, all[:n])
		all = all[n:]
	}
	return batches
}

// AllHosts are the host ids RandomObservations draws from, names included.
func AllHosts() []string {
	all := append([]string(nil), randomHosts...)
	all = append(all, quietHost)
	all = append(all, randomNames...)
	return append(all, closedName)
}
