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
	randomHosts = []string{"192.0.2.1", "192.0.2.2", "198.51.100.7", "2001:db8::1", "2001:db8::2:1", "scan.example.test"}
	randomNames = []string{"www.example.test", "mail.example.test", "alias.example.test"}
	randomPorts = []int{21, 22, 25, 80, 443, 3389, 8080, 8443}
	banners     = []string{
		"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10",
		"SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.5",
		"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: %s\r\nContent-Length: %d\r\n\r\n",
		"HTTP/1.1 302 Found\r\nLocation: /login\r\nServer: Apache/2.4.57 (Debian)\r\nSet-Cookie: sid=%d\r\n",
		"220 mail.example.test ESMTP Postfix (Debian/GNU)  \r\n",
		"220 (vsFTPd 3.0.5)",
	}
	components = []portolan.Component{
		{Name: "nginx", Version: "1.22.1", Category: "Server"},
		{Name: "nginx", Version: "1.18.0", Category: "Server"},
		{Name: "OpenSSH", Version: "9.2p1", Category: "Remote Access"},
		{Name: "Debian", Category: "Operating System"},
		{Name: "Postfix", Category: "Mail Server"},
	}
)

// RandomObservations returns n normalised observations with distinct
// identities drawn from a small world (a few hosts, ports, banners,
// components and certificates) so that they collide on records a lot: rescans
// of the same ports, opening and closing, banners with volatile headers,
// instants shared between sources.
func RandomObservations(rng *rand.Rand, n int) []*portolan.Observation {
	certs := TestCertificates()
	seen := make(map[[16]byte]bool, n)
	out := make([]*portolan.Observation, 0, n)
	for len(out) < n {
		scanned := Base.Add(time.Duration(rng.IntN(30*24*3600)) * time.Second)
		o := &portolan.Observation{
			Host:      randomHosts[rng.IntN(len(randomHosts))],
			Port:      randomPorts[rng.IntN(len(randomPorts))],
			Protocol:  portolan.TCP,
			ScannedAt: scanned,
			SeenAt:    scanned.Add(-time.Duration(rng.IntN(40)) * time.Second),
			Source:    []string{"nmap", "masscan", "native"}[rng.IntN(3)],
		}
		if rng.IntN(10) == 0 {
			o.Protocol = portolan.UDP
		}
		switch r := rng.IntN(10); {
		case r < 7:
			o.Status = portolan.StatusOpen
		case r < 9:
			o.Status = portolan.StatusClosed
		default:
			o.Status = portolan.StatusFiltered
		}
		if rng.IntN(4) == 0 {
			// Two probes of one scan: the same instant from another tool.
			o.SeenAt = o.ScannedAt
		}
		if rng.IntN(3) == 0 {
			b := banners[rng.IntN(len(banners))]
			switch {
			case b[0] == 'H' && b[9] == '2':
				b = fmt.Sprintf(b, scanned.Format(time.RFC1123), rng.IntN(9000))
			case b[0] == 'H':
				b = fmt.Sprintf(b, rng.IntN(1e6))
			}
			o.Banner = b
			o.ScanProtocol = []string{"http_raw", "tls", "ssh", ""}[rng.IntN(4)]
		}
		for i := rng.IntN(3); i > 0; i-- {
			o.Components = append(o.Components, components[rng.IntN(len(components))])
		}
		if rng.IntN(8) == 0 {
			o.Certificate = certs[rng.IntN(len(certs))]
		}
		if rng.IntN(6) == 0 && portolan.HostKindOf(o.Host) == portolan.KindIPAddress {
			o.Hostnames = []string{randomNames[rng.IntN(len(randomNames))]}
		}
		if err := o.Normalize(); err != nil {
			panic(err)
		}
		if id := o.Identity(); !seen[id] {
			seen[id] = true
			out = append(out, o)
		}
	}
	return out
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
	return append(append([]string(nil), randomHosts...), randomNames...)
}
