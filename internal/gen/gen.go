// SPDX-License-Identifier: Apache-2.0

// Package gen generates synthetic but realistic scan observations for
// benchmarks: many hosts (IPv4 and IPv6, some with hostnames), ports drawn
// from the distribution internet scans see, rescans over time with ports
// opening and closing, banners of real-looking HTTP, SSH, SMTP, FTP, POP3,
// IMAP, MySQL and Redis services with volatile parts (dates, lengths,
// cookies, salts), component versions that are upgraded over time and
// certificates that rotate. It writes them as native NDJSON or as nmap XML.
//
// Every host's plan (address, ports, software, certificates) is a function
// of the seed and the host's index, and every scan of it a function of the
// seed, the index and the scan number: the output depends on the Config
// alone, and memory does not grow with the number of hosts.
package gen

import (
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"portolan"
)

// Config describes the world to generate.
type Config struct {
	Seed uint64
	// Hosts is the number of distinct hosts (the probe host aside).
	Hosts int
	// Rescans is how many times every host is scanned (default 1).
	Rescans int
	// Start is the instant of the first scan (default 2026-01-01 UTC).
	Start time.Time
	// Interval separates rescans (default a day).
	Interval time.Duration
	// BannerRatio and CertificateRatio are the expected shares of open
	// observations that carry a banner and a certificate (defaults 0.3 and
	// 0.05, the mix of the ingest benchmark).
	BannerRatio, CertificateRatio float64
	// PortsPerHost, when above 0, gives every host exactly that many
	// ports, open in every scan, every one with a banner when its service
	// sends one and every TLS one with a certificate (the shape of the
	// nmap benchmark: 5,000 hosts of 11 ports). The ports are drawn from
	// the same distribution; 0 keeps the usual 1 to 4 ports (20 for a few
	// hosts) that open, close and lose banners, and leaves the output of a
	// seed as it was.
	PortsPerHost int
	// Probe, when set, is the address of one more host, scanned first in
	// every pass: ProbePorts open ports, every one with a banner, the TLS
	// ones with a certificate. Benchmarks of hosts/{id}/ports use it as a
	// host of known shape; the other hosts are the same with or without it.
	Probe string
}

// MaxPortsPerHost bounds Config.PortsPerHost: a host's ports are distinct,
// and drawing ever more of them from the distribution would slow to a crawl.
const MaxPortsPerHost = 1000

// ProbePorts are the ports of the probe host.
var ProbePorts = []int{21, 22, 25, 80, 110, 143, 443, 465, 587, 993, 995, 3306, 6379, 8000, 8080, 8081, 8443, 8888, 9200, 10443}

// HostScan is one scan of one host: what one nmap <host> element holds.
type HostScan struct {
	Addr      string
	Hostnames []string
	Start     time.Time // when the host's scan began (the ports' seenAt)
	End       time.Time // when it finished (the ports' scannedAt)
	Ports     []PortScan
}

// PortScan is one port of a host scan.
type PortScan struct {
	Observation *portolan.Observation
	// Service is what version detection (nmap -sV) names behind an open
	// port; nil for ports that are not open or that it cannot name.
	Service *Service
}

// Service is the service a version scan names, in nmap's terms.
type Service struct {
	Name, Product, Version, ExtraInfo, OSType string
	// TLS is true when the service is reached through TLS (nmap's
	// tunnel="ssl").
	TLS bool
	// cert is the certificate the service presented, when TLS.
	cert *certificate
}

// Generator produces host scans, pass by pass: every host's first scan, then
// every host's second, and so on.
type Generator struct {
	cfg Config
	// pBanner is the probability that a port able to send a banner has
	// one; pTLS that a TLS port presents a certificate. They turn the
	// ratios of Config (shares of observations) into per-port choices.
	pBanner, pTLS float64
	pcg           *rand.PCG
	rng           *rand.Rand
	poolSize      int
	certs         map[int]*certificate
	issuerKeys    map[int]ed25519.PrivateKey
	scan, host    int // the next host scan; host -1 is the probe
	queue         []*portolan.Observation
}

// Rescan behaviour: ports open, close and are upgraded on a scale of about
// ten scans, so that a few rescans already show every kind of change.
const (
	bannerMissPercent    = 3  // open scans whose banner grab got nothing
	transientPercent     = 2  // open ports that one scan sees filtered
	neverOpenPercent     = 3  // listed ports that are never open
	opensLaterPercent    = 6  // ports that open after the first scan
	closesPercent        = 6  // ports that close for good at some scan
	changeHorizon        = 10 // openings and closings happen within this many scans
	upgradingPercent     = 50 // ports whose software gets upgraded
	minUpgradeEvery      = 4  // scans between upgrades, at least ...
	maxUpgradeEvery      = 30 // ... and at most
	maxPoolSize          = 4096
	probeCertPoolOffset  = 1 << 30 // the probe's certificates, apart from the pool
	hostnamePercent      = 20
	ipv6Percent          = 10
	manyPortsPer1000     = 20 // hosts that expose many ports
	manyPorts            = 20
	maxPortsOfCommonHost = 4
)

// New returns a generator for cfg.
func New(cfg Config) *Generator {
	cfg = cfg.withDefaults()
	pcg := rand.NewPCG(cfg.Seed, 0)
	g := &Generator{
		cfg:      cfg,
		pcg:      pcg,
		rng:      rand.New(pcg),
		poolSize: min(max(cfg.Hosts/8, 64), maxPoolSize),
		certs:    make(map[int]*certificate),
		host:     -1,
	}
	if cfg.Probe == "" {
		g.host = 0
	}
	// The ratios of 1 mark the generator that measures the shares, which
	// needs no probabilities: no draw depends on their values.
	if cfg.BannerRatio < 1 || cfg.CertificateRatio < 1 {
		banner, tls := shares()
		g.pBanner = min(1, cfg.BannerRatio/(banner*(1-bannerMissPercent/100.0)))
		g.pTLS = min(1, cfg.CertificateRatio/tls)
	} else {
		g.pBanner, g.pTLS = 1, 1
	}
	return g
}

// withDefaults fills in the fields left zero.
func (cfg Config) withDefaults() Config {
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 24 * time.Hour
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
	cfg.PortsPerHost = min(cfg.PortsPerHost, MaxPortsPerHost)
	return cfg
}

// hostPlan is what does not change between the scans of a host.
type hostPlan struct {
	key   uint64 // hashes the host into the random streams
	fixed bool   // every port open in every scan (Config.PortsPerHost)
	addr  string
	name  string
	ttl   int
	ports []portPlan
}

// portPlan is what does not change between the scans of a port, and the
// schedule of what does.
type portPlan struct {
	port    int
	proto   portolan.Protocol
	svc     *serviceKind
	prod    *product
	release int // the release of the first scan
	// The release moves on every upgradeEvery scans (0: never), starting
	// upgradePhase scans early.
	upgradeEvery, upgradePhase int
	variant                    int
	banner, tls                bool
	// The certificate rotates every certEvery scans, certPhase early.
	certEvery, certPhase int
	// The port is open in scans [born, dies) and down (closed or
	// filtered) outside.
	born, dies int
	down       portolan.HostPortStatus
}

// plan returns the plan of host i (-1 for the probe).
func (g *Generator) plan(i int) hostPlan {
	if i < 0 {
		return g.probePlan()
	}
	key := uint64(i)
	g.pcg.Seed(g.cfg.Seed^saltPlan, mix(key, saltPlan))
	r := g.rng
	h := hostPlan{key: key, addr: g.address(i, r.IntN(100) < ipv6Percent), ttl: 40 + r.IntN(24)}
	if r.IntN(100) < hostnamePercent {
		h.name = fmt.Sprintf("%s%d.example.%s", []string{"www", "mail", "vpn", "api", "host", "gw", "dev", "mx"}[r.IntN(8)], i,
			[]string{"net", "com", "org"}[r.IntN(3)])
	}
	n := 1 + r.IntN(maxPortsOfCommonHost)
	if r.IntN(1000) < manyPortsPer1000 {
		n = manyPorts
	}
	// The draws above happen either way, so that a fixed count leaves
	// the addresses and hostnames as they are.
	if g.cfg.PortsPerHost > 0 {
		n, h.fixed = g.cfg.PortsPerHost, true
	}
	total := 0
	for _, p := range commonPorts {
		total += p.weight
	}
	h.ports = make([]portPlan, 0, n)
	for len(h.ports) < n {
		var port int
		svc := unknownService
		if r.Float64() < longTailShare {
			port = 1024 + r.IntN(64000)
			switch x := r.Float64(); {
			case x < longTailHTTP:
				svc = httpService
			case x < longTailHTTP+longTailSSH:
				svc = sshService
			}
		} else {
			w := r.IntN(total)
			for _, p := range commonPorts {
				if w < p.weight {
					port = p.port
					break
				}
				w -= p.weight
			}
			svc = serviceByPort[port]
		}
		if hasPort(h.ports, port) {
			continue
		}
		h.ports = append(h.ports, g.portPlan(r, port, svc, h.fixed))
	}
	return h
}

func hasPort(ports []portPlan, port int) bool {
	for _, p := range ports {
		if p.port == port {
			return true
		}
	}
	return false
}

// portPlan draws the plan of one port. always makes it open in every scan,
// with a banner when the service sends one and a certificate when it speaks
// TLS (the probe host).
func (g *Generator) portPlan(r *rand.Rand, port int, svc *serviceKind, always bool) portPlan {
	p := portPlan{port: port, proto: portolan.TCP, svc: svc, variant: r.IntN(1 << 16), dies: 1 << 30, down: portolan.StatusClosed}
	if port == 53 {
		p.proto = portolan.UDP
	}
	if len(svc.products) > 0 {
		p.prod = &svc.products[r.IntN(len(svc.products))]
		p.release = r.IntN(len(p.prod.releases))
		if r.IntN(100) < upgradingPercent {
			p.upgradeEvery = minUpgradeEvery + r.IntN(maxUpgradeEvery-minUpgradeEvery+1)
			p.upgradePhase = r.IntN(p.upgradeEvery)
		}
	}
	p.banner = svc.banner != nil && (always || r.Float64() < g.pBanner)
	p.tls = tlsPorts[port] && (always || r.Float64() < g.pTLS)
	// Let's Encrypt renews every 60 days, others yearly; rescans are about
	// a day apart, so some certificates rotate within a run.
	p.certEvery = []int{30, 60, 60, 365}[r.IntN(4)]
	p.certPhase = r.IntN(p.certEvery)
	if always {
		return p
	}
	switch x := r.IntN(100); {
	case x < neverOpenPercent:
		p.born = 1 << 30
	case x < neverOpenPercent+opensLaterPercent:
		p.born = 1 + r.IntN(changeHorizon-1)
	case x < neverOpenPercent+opensLaterPercent+closesPercent:
		p.dies = 1 + r.IntN(changeHorizon-1)
	}
	if r.IntN(10) < 3 {
		p.down = portolan.StatusFiltered
	}
	return p
}

func (g *Generator) probePlan() hostPlan {
	key := uint64(1) << 63
	g.pcg.Seed(g.cfg.Seed^saltPlan, mix(key, saltPlan))
	h := hostPlan{key: key, addr: g.cfg.Probe, name: "probe.example.net", ttl: 52}
	for _, port := range ProbePorts {
		h.ports = append(h.ports, g.portPlan(g.rng, port, serviceByPort[port], true))
	}
	return h
}

// address gives host i a unique address: a bijection of i onto the IPv4
// space, or 2001:db8::/32 for IPv6 hosts, so that no two hosts merge.
func (g *Generator) address(i int, ipv6 bool) string {
	if !ipv6 {
		v := uint32(i)*0x9e3779b1 + uint32(mix(g.cfg.Seed, saltAddr))
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		if a.String() != g.cfg.Probe {
			return a.String()
		}
	}
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	s := mix(g.cfg.Seed, saltAddr+1)
	for j := 4; j < 8; j++ {
		b[j] = byte(s >> (8 * j))
	}
	v := uint64(i)*0x9e3779b97f4a7c15 + s
	for j := 8; j < 16; j++ {
		b[j] = byte(v >> (8 * (15 - j)))
	}
	return netip.AddrFrom16(b).String()
}

// Total is the number of observations the generator yields. It plans every
// host, which takes a moment for millions.
func (g *Generator) Total() int {
	n := 0
	first := 0
	if g.cfg.Probe != "" {
		first = -1
	}
	for i := first; i < g.cfg.Hosts; i++ {
		n += len(g.plan(i).ports)
	}
	return n * g.cfg.Rescans
}

// Next returns the next observation, or nil when all were generated. Every
// observation is a new value the caller may keep and modify.
func (g *Generator) Next() *portolan.Observation {
	for len(g.queue) == 0 {
		hs := g.NextScan()
		if hs == nil {
			return nil
		}
		for _, p := range hs.Ports {
			g.queue = append(g.queue, p.Observation)
		}
	}
	o := g.queue[0]
	g.queue[0] = nil
	g.queue = g.queue[1:]
	return o
}

// NextScan returns the next host scan, or nil when all were generated.
func (g *Generator) NextScan() *HostScan {
	if g.scan >= g.cfg.Rescans || g.cfg.Hosts <= 0 && g.cfg.Probe == "" {
		return nil
	}
	hs := g.hostScan(g.plan(g.host), g.host, g.scan)
	g.host++
	if g.host == g.cfg.Hosts {
		g.host, g.scan = 0, g.scan+1
		if g.cfg.Probe != "" {
			g.host = -1
		}
	}
	return hs
}

// hostScan is scan number scan of host i.
func (g *Generator) hostScan(h hostPlan, i, scan int) *HostScan {
	g.pcg.Seed(g.cfg.Seed^saltScan, mix(h.key, uint64(scan)))
	r := g.rng
	// Hosts are spread over the interval, in index order.
	spread := int64(g.cfg.Interval / time.Second)
	start := g.cfg.Start.Add(time.Duration(scan)*g.cfg.Interval + time.Duration(int64(i+1)%max(spread, 1))*time.Second)
	hs := &HostScan{Addr: h.addr, Start: start, End: start.Add(time.Duration(5+r.IntN(40)) * time.Second)}
	if h.name != "" {
		hs.Hostnames = []string{h.name}
	}
	greet := h.name
	if greet == "" {
		greet = h.addr
	}
	hs.Ports = make([]PortScan, 0, len(h.ports))
	for _, p := range h.ports {
		o := &portolan.Observation{
			Host: h.addr, Port: p.port, Protocol: p.proto, Status: portolan.StatusOpen,
			SeenAt: hs.Start, ScannedAt: hs.End, Source: "gen",
		}
		if h.name != "" {
			o.Hostnames = []string{h.name}
		}
		transient := r.IntN(100) < transientPercent
		missed := r.IntN(100) < bannerMissPercent
		switch {
		case scan < p.born || scan >= p.dies:
			o.Status = p.down
		case transient && i >= 0 && !h.fixed:
			o.Status = portolan.StatusFiltered
		}
		ps := PortScan{Observation: o}
		if o.Status == portolan.StatusOpen && p.prod != nil {
			rel := p.release
			if p.upgradeEvery > 0 {
				rel = min(rel+(scan+p.upgradePhase)/p.upgradeEvery, len(p.prod.releases)-1)
			}
			svc := &Service{Name: p.svc.name, Product: p.prod.name, Version: p.prod.releases[rel].version,
				ExtraInfo: p.prod.releases[rel].extra, OSType: p.prod.ostype, TLS: p.tls}
			o.ScanProtocol = p.svc.name
			if p.tls {
				o.ScanProtocol = "ssl/" + p.svc.name
				epoch := (scan + p.certPhase) / p.certEvery
				k := int(mix(mix(h.key, uint64(p.port)), uint64(epoch)) % uint64(g.poolSize))
				if i < 0 {
					k = probeCertPoolOffset + p.port<<8 + epoch%256
				}
				svc.cert = g.cert(k)
				o.Certificate = svc.cert.der
			}
			if p.banner && (!missed || i < 0 || h.fixed) {
				o.Banner = p.svc.banner(&bannerArgs{r: r, at: hs.Start, prod: p.prod, rel: &p.prod.releases[rel], variant: p.variant, host: greet})
			}
			ps.Service = svc
		}
		hs.Ports = append(hs.Ports, ps)
	}
	return hs
}
