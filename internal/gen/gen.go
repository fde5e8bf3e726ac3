// SPDX-License-Identifier: Apache-2.0

// Package gen generates synthetic but realistic scan observations for
// benchmarks: many hosts (IPv4 and IPv6, some with hostnames), ports drawn
// from the distribution internet scans see, rescans over time with ports
// opening and closing, banners with volatile headers, component versions
// that change and certificates that rotate. The output is determined by the
// seed.
package gen

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"time"

	"portolan"
)

// Config describes the world to generate.
type Config struct {
	Seed uint64
	// Hosts is the number of distinct hosts.
	Hosts int
	// Rescans is how many times every host is scanned.
	Rescans int
	// Start is the instant of the first scan; rescans follow a day apart.
	Start time.Time
	// BannerRatio and CertificateRatio are the shares of open observations
	// that carry a banner and a certificate (defaults 0.3 and 0.05).
	BannerRatio, CertificateRatio float64
}

// commonPorts are weighted by how often internet-wide scans find them open.
var commonPorts = []struct {
	port   int
	weight int
}{
	{80, 30}, {443, 28}, {22, 20}, {21, 6}, {25, 5}, {3389, 5}, {8080, 6}, {8443, 4},
	{53, 3}, {110, 2}, {143, 2}, {993, 2}, {995, 2}, {3306, 2}, {5432, 1}, {6379, 1}, {27017, 1}, {9200, 1},
}

type service struct {
	banner    func(r *rand.Rand, at time.Time, version int) string
	scanProto string
}

var httpServers = []string{"nginx/1.18.0", "nginx/1.22.1", "Apache/2.4.57 (Debian)", "Microsoft-IIS/10.0", "lighttpd/1.4.69", "openresty/1.21.4.1"}

func httpBanner(r *rand.Rand, at time.Time, version int) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nServer: %s\r\nDate: %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: keep-alive\r\nETag: \"%x\"\r\n\r\n",
		httpServers[version%len(httpServers)], at.Format(time.RFC1123), 500+r.IntN(5000), r.Uint32())
}

var sshVersions = []string{"OpenSSH_8.2p1 Ubuntu-4ubuntu0.5", "OpenSSH_9.2p1 Debian-2+deb12u10", "OpenSSH_7.4", "dropbear_2020.81"}

func sshBanner(_ *rand.Rand, _ time.Time, version int) string {
	return "SSH-2.0-" + sshVersions[version%len(sshVersions)]
}

func smtpBanner(_ *rand.Rand, at time.Time, version int) string {
	return fmt.Sprintf("220 mail.example.net ESMTP %s; %s", []string{"Postfix (Debian/GNU)", "Exim 4.96", "Sendmail 8.15.2"}[version%3], at.Format(time.RFC1123Z))
}

func ftpBanner(_ *rand.Rand, _ time.Time, version int) string {
	return []string{"220 (vsFTPd 3.0.5)", "220 ProFTPD Server (Debian) [::ffff:10.0.0.1]", "220-FileZilla Server 1.7.0"}[version%3]
}

func serviceOf(port int) service {
	switch port {
	case 22:
		return service{sshBanner, "ssh"}
	case 25:
		return service{smtpBanner, "smtp"}
	case 21:
		return service{ftpBanner, "ftp"}
	default:
		return service{httpBanner, "http_raw"}
	}
}

// Generator produces observations scan by scan.
type Generator struct {
	cfg   Config
	rng   *rand.Rand
	certs [][]byte
	hosts []hostPlan
	scan  int
	host  int
	queue []*portolan.Observation
}

type hostPlan struct {
	addr  string
	name  string
	ports []int
}

// New returns a generator for cfg.
func New(cfg Config) *Generator {
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.BannerRatio == 0 {
		cfg.BannerRatio = 0.3
	}
	if cfg.CertificateRatio == 0 {
		cfg.CertificateRatio = 0.05
	}
	if cfg.Rescans <= 0 {
		cfg.Rescans = 1
	}
	g := &Generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))}
	g.certs = makeCertificates(g.rng, 64)
	total := 0
	for _, p := range commonPorts {
		total += p.weight
	}
	for i := 0; i < cfg.Hosts; i++ {
		h := hostPlan{}
		if g.rng.IntN(10) == 0 {
			var b [16]byte
			b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
			for j := 8; j < 16; j++ {
				b[j] = byte(g.rng.UintN(256))
			}
			h.addr = netip.AddrFrom16(b).String()
		} else {
			h.addr = netip.AddrFrom4([4]byte{byte(1 + g.rng.IntN(223)), byte(g.rng.UintN(256)), byte(g.rng.UintN(256)), byte(1 + g.rng.IntN(254))}).String()
		}
		if g.rng.IntN(5) == 0 {
			h.name = fmt.Sprintf("host%d.example.net", i)
		}
		n := 1 + g.rng.IntN(4)
		if g.rng.IntN(50) == 0 {
			n = 20 // a few hosts expose many ports
		}
		seen := map[int]bool{}
		for len(h.ports) < n {
			var port int
			if g.rng.IntN(10) == 0 {
				port = 1024 + g.rng.IntN(64000) // the long tail
			} else {
				w := g.rng.IntN(total)
				for _, p := range commonPorts {
					if w < p.weight {
						port = p.port
						break
					}
					w -= p.weight
				}
			}
			if !seen[port] {
				seen[port] = true
				h.ports = append(h.ports, port)
			}
		}
		g.hosts = append(g.hosts, h)
	}
	return g
}

// Total is the number of observations the generator yields.
func (g *Generator) Total() int {
	n := 0
	for _, h := range g.hosts {
		n += len(h.ports)
	}
	return n * g.cfg.Rescans
}

// Next returns the next observation, or nil when all were generated.
func (g *Generator) Next() *portolan.Observation {
	for len(g.queue) == 0 {
		if g.scan >= g.cfg.Rescans {
			return nil
		}
		g.queue = g.hostScan(g.hosts[g.host], g.host)
		g.host++
		if g.host == len(g.hosts) {
			g.host = 0
			g.scan++
		}
	}
	o := g.queue[0]
	g.queue = g.queue[1:]
	return o
}

// hostScan is one scan of one host: every port of its plan, most open,
// some closed or filtered for a while.
func (g *Generator) hostScan(h hostPlan, index int) []*portolan.Observation {
	start := g.cfg.Start.Add(time.Duration(g.scan)*24*time.Hour + time.Duration(index%86400)*time.Second)
	end := start.Add(time.Duration(5+g.rng.IntN(40)) * time.Second)
	out := make([]*portolan.Observation, 0, len(h.ports))
	for _, port := range h.ports {
		o := &portolan.Observation{
			Host: h.addr, Port: port, Protocol: portolan.TCP, Status: portolan.StatusOpen,
			SeenAt: start, ScannedAt: end, Source: "gen",
		}
		if port == 53 {
			o.Protocol = portolan.UDP
		}
		switch r := g.rng.IntN(100); {
		case r < 7:
			o.Status = portolan.StatusClosed
		case r < 10:
			o.Status = portolan.StatusFiltered
		}
		if h.name != "" {
			o.Hostnames = []string{h.name}
		}
		if o.Status == portolan.StatusOpen {
			// Versions change every ten scans or so.
			version := index + g.scan/10
			if g.rng.Float64() < g.cfg.BannerRatio {
				svc := serviceOf(port)
				o.Banner = svc.banner(g.rng, start, version)
				o.ScanProtocol = svc.scanProto
			}
			if g.rng.Float64() < g.cfg.CertificateRatio {
				// Certificates rotate every 30 scans.
				o.Certificate = g.certs[(index+g.scan/30)%len(g.certs)]
				o.ScanProtocol = "tls"
			}
		}
		out = append(out, o)
	}
	return out
}

func makeCertificates(rng *rand.Rand, n int) [][]byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), nil)
	if err != nil {
		panic(err)
	}
	var out [][]byte
	for i := 0; i < n; i++ {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(rng.Uint32())),
			Subject:      pkix.Name{CommonName: fmt.Sprintf("www%d.example.net", i), Organization: []string{"Example Networks"}},
			NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
			DNSNames:     []string{fmt.Sprintf("www%d.example.net", i)},
		}
		der, err := x509.CreateCertificate(nil, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		out = append(out, der)
	}
	return out
}
