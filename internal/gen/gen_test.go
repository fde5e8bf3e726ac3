// SPDX-License-Identifier: Apache-2.0

package gen_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"portolan"
	"portolan/internal/gen"
	"portolan/internal/ingest/native"
	"portolan/internal/ingest/nmap"
	"portolan/internal/merge"
)

const probe = "198.51.100.20"

func write(t *testing.T, cfg gen.Config, format string) ([]byte, gen.Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := gen.WriteAll(&buf, gen.New(cfg), format)
	if err != nil {
		t.Fatal(err)
	}
	if st.Bytes != int64(buf.Len()) {
		t.Errorf("Stats.Bytes = %d, wrote %d", st.Bytes, buf.Len())
	}
	return buf.Bytes(), st
}

func TestGenDeterministicForASeed(t *testing.T) {
	cfg := gen.Config{Seed: 7, Hosts: 300, Rescans: 3, Probe: probe}
	for _, format := range gen.Formats {
		a, _ := write(t, cfg, format)
		b, _ := write(t, cfg, format)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two runs with seed 7 differ", format)
		}
		other := cfg
		other.Seed = 8
		if c, _ := write(t, other, format); bytes.Equal(a, c) {
			t.Errorf("%s: seeds 7 and 8 give the same output", format)
		}
	}
}

// Next yields the observations of NextScan, in order, and Total counts them.
func TestGenNextFollowsNextScan(t *testing.T) {
	cfg := gen.Config{Seed: 2, Hosts: 50, Rescans: 2, Probe: probe}
	g1, g2 := gen.New(cfg), gen.New(cfg)
	n := 0
	for hs := g1.NextScan(); hs != nil; hs = g1.NextScan() {
		for _, p := range hs.Ports {
			o := g2.Next()
			if o == nil || o.Host != p.Observation.Host || o.Port != p.Observation.Port || o.Banner != p.Observation.Banner {
				t.Fatalf("observation %d: Next gave %+v, NextScan %+v", n, o, p.Observation)
			}
			n++
		}
	}
	if o := g2.Next(); o != nil {
		t.Fatalf("Next goes on after NextScan ended: %+v", o)
	}
	if total := gen.New(cfg).Total(); total != n {
		t.Errorf("Total() = %d, generated %d", total, n)
	}
}

// The other hosts are the same with and without a probe host, so that
// adding one to a benchmark does not change the rest of its data.
func TestGenProbeHost(t *testing.T) {
	cfg := gen.Config{Seed: 4, Hosts: 40, Rescans: 2}
	without := observations(gen.New(cfg))
	cfg.Probe = probe
	with := observations(gen.New(cfg))
	var rest []*portolan.Observation
	ports := map[int]bool{}
	for _, o := range with {
		if o.Host != probe {
			rest = append(rest, o)
			continue
		}
		ports[o.Port] = true
		if o.Status != portolan.StatusOpen || o.Banner == "" {
			t.Errorf("probe port %d: status %s, banner %q; want open with a banner", o.Port, o.Status, o.Banner)
		}
	}
	if len(ports) != len(gen.ProbePorts) || len(ports) != 20 {
		t.Errorf("probe has %d ports, want 20", len(ports))
	}
	if len(rest) != len(without) {
		t.Fatalf("%d other observations with a probe, %d without", len(rest), len(without))
	}
	for i := range rest {
		if fmt.Sprint(*rest[i]) != fmt.Sprint(*without[i]) {
			t.Fatalf("observation %d differs with a probe:\n%+v\n%+v", i, rest[i], without[i])
		}
	}
}

func observations(g *gen.Generator) []*portolan.Observation {
	var out []*portolan.Observation
	for o := g.Next(); o != nil; o = g.Next() {
		out = append(out, o)
	}
	return out
}

func readAll(t *testing.T, r portolan.ObservationReader) []*portolan.Observation {
	t.Helper()
	var out []*portolan.Observation
	for {
		o, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read back observation %d: %v", len(out)+1, err)
		}
		if err := o.Normalize(); err != nil {
			t.Fatalf("observation %d read back does not normalise: %v", len(out)+1, err)
		}
		out = append(out, o)
	}
}

// TestGenRoundTrip writes one world in both formats, reads each back with
// Portolan's own reader and compares with what the generator produced: the
// same observations, field by field, in the same order.
func TestGenRoundTrip(t *testing.T) {
	cfg := gen.Config{Seed: 11, Hosts: 400, Rescans: 3, Probe: probe}
	want := observations(gen.New(cfg))
	services := map[string]*gen.Service{}
	g := gen.New(cfg)
	for hs := g.NextScan(); hs != nil; hs = g.NextScan() {
		for _, p := range hs.Ports {
			o := p.Observation
			services[fmt.Sprint(o.Host, o.Port, o.SeenAt.Unix())] = p.Service
		}
	}
	for _, o := range want {
		if err := o.Normalize(); err != nil {
			t.Fatalf("generated observation does not normalise: %v (%+v)", err, o)
		}
	}
	for _, format := range gen.Formats {
		t.Run(format, func(t *testing.T) {
			data, st := write(t, cfg, format)
			var got []*portolan.Observation
			if format == gen.FormatNative {
				if !native.Sniff(data) {
					t.Fatal("the native reader does not recognise the output")
				}
				got = readAll(t, native.NewReader(bytes.NewReader(data), 0))
			} else {
				if !nmap.Sniff(data) {
					t.Fatal("the nmap reader does not recognise the output")
				}
				got = readAll(t, nmap.NewReader(bytes.NewReader(data)))
			}
			if len(got) != len(want) || st.Observations != len(want) {
				t.Fatalf("read back %d observations, Stats says %d, generated %d", len(got), st.Observations, len(want))
			}
			var banners, certs, open, components int
			for i, o := range got {
				w := want[i]
				if o.Host != w.Host || o.Port != w.Port || o.Protocol != w.Protocol || o.Status != w.Status ||
					!o.SeenAt.Equal(w.SeenAt) || !o.ScannedAt.Equal(w.ScannedAt) || o.Banner != w.Banner ||
					!bytes.Equal(o.Certificate, w.Certificate) || !slices.Equal(o.Hostnames, w.Hostnames) {
					t.Fatalf("observation %d:\n got %+v\nwant %+v", i, o, w)
				}
				if o.Status == portolan.StatusOpen {
					open++
					if o.ScanProtocol != w.ScanProtocol {
						t.Errorf("observation %d: scanProtocol %q, want %q", i, o.ScanProtocol, w.ScanProtocol)
					}
				}
				if o.Banner != "" {
					banners++
				}
				if len(o.Certificate) > 0 {
					certs++
				}
				// nmap -sV names the product and its upstream version.
				if format == gen.FormatNmap {
					if s := services[fmt.Sprint(w.Host, w.Port, w.SeenAt.Unix())]; s != nil && s.Product != "" {
						if len(o.Components) == 0 || o.Components[0].Name != s.Product || !strings.HasPrefix(s.Version, o.Components[0].Version) {
							t.Errorf("observation %d: components %+v, want %s %s first", i, o.Components, s.Product, s.Version)
						}
						components++
					}
				}
			}
			if banners != st.Banners || certs != st.Certificates || open != st.Open {
				t.Errorf("read back %d open, %d banners, %d certificates; Stats says %d, %d, %d", open, banners, certs, st.Open, st.Banners, st.Certificates)
			}
			if banners == 0 || certs == 0 || (format == gen.FormatNmap && components == 0) {
				t.Errorf("nothing to compare: %d banners, %d certificates, %d components", banners, certs, components)
			}
		})
	}
}

// TestGenRealisticShares checks the mix the ingest benchmark relies on
// (issue 2: 30% banners, 5% certificates) and the shape of the world.
func TestGenRealisticShares(t *testing.T) {
	g := gen.New(gen.Config{Seed: 1, Hosts: 6000, Rescans: 5})
	var obs, open, banners, certs int
	hosts, v6, named := map[string]bool{}, 0, 0
	ports := map[int]int{}
	certDigests := map[string]bool{}
	for o := g.Next(); o != nil; o = g.Next() {
		if err := o.Normalize(); err != nil {
			t.Fatalf("observation does not normalise: %v", err)
		}
		obs++
		ports[o.Port]++
		if !hosts[o.Host] {
			hosts[o.Host] = true
			if strings.Contains(o.Host, ":") {
				v6++
			}
			if len(o.Hostnames) > 0 {
				named++
			}
		}
		if o.Status != portolan.StatusOpen {
			continue
		}
		open++
		if o.Banner != "" {
			banners++
		}
		if len(o.Certificate) > 0 {
			certs++
			d := portolan.CertificateDigest(o.Certificate)
			if !certDigests[d] {
				certDigests[d] = true
				if _, err := portolan.ParseCertificate(o.Certificate); err != nil {
					t.Fatalf("certificate does not parse: %v", err)
				}
			}
		}
	}
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s: %.3f, want %.3f ± %.3f", what, got, want, tol)
		} else {
			t.Logf("%s: %.3f", what, got)
		}
	}
	if len(hosts) != 6000 {
		t.Errorf("%d distinct hosts, want 6000 (addresses must not collide)", len(hosts))
	}
	near("banners per open observation", float64(banners)/float64(open), 0.30, 0.03)
	near("certificates per open observation", float64(certs)/float64(open), 0.05, 0.015)
	near("open share", float64(open)/float64(obs), 0.90, 0.05)
	near("IPv6 hosts", float64(v6)/float64(len(hosts)), 0.10, 0.02)
	near("named hosts", float64(named)/float64(len(hosts)), 0.20, 0.03)
	near("ports per host", float64(obs)/5/float64(len(hosts)), 2.85, 0.25)
	if ports[80] < ports[22] || ports[443] < ports[22] || ports[22] < ports[21] {
		t.Errorf("port frequencies 80:%d 443:%d 22:%d 21:%d, want 80, 443 > 22 > 21", ports[80], ports[443], ports[22], ports[21])
	}
	if len(ports) < 500 {
		t.Errorf("%d distinct ports, want a long tail", len(ports))
	}
}

// TestGenChangesOverRescans checks what makes rescans realistic: ports open
// and close, software is upgraded, certificates rotate, and banners carry
// volatile parts that Portolan's normalisation removes.
func TestGenChangesOverRescans(t *testing.T) {
	type key struct {
		host string
		port int
	}
	type last struct {
		status  portolan.HostPortStatus
		version string
		cert    string
		banner  string
	}
	prev := map[key]last{}
	var opened, closed, upgraded, rotated, volatile, stable int
	g := gen.New(gen.Config{Seed: 3, Hosts: 1500, Rescans: 40})
	for hs := g.NextScan(); hs != nil; hs = g.NextScan() {
		for _, p := range hs.Ports {
			o := p.Observation
			k := key{o.Host, o.Port}
			cur := last{status: o.Status, banner: o.Banner}
			if p.Service != nil {
				cur.version = p.Service.Version
			}
			if len(o.Certificate) > 0 {
				cur.cert = portolan.CertificateDigest(o.Certificate)
			}
			before, seen := prev[k]
			if seen {
				switch {
				case before.status != portolan.StatusOpen && o.Status == portolan.StatusOpen:
					opened++
				case before.status == portolan.StatusOpen && o.Status != portolan.StatusOpen:
					closed++
				}
				if before.version != "" && cur.version != "" && before.version != cur.version {
					upgraded++
				}
				if before.cert != "" && cur.cert != "" && before.cert != cur.cert {
					rotated++
				}
				if strings.HasPrefix(before.banner, "HTTP/") && strings.HasPrefix(cur.banner, "HTTP/") && before.version == cur.version {
					if before.banner != cur.banner {
						volatile++
					}
					if merge.NormalizeBanner(before.banner) == merge.NormalizeBanner(cur.banner) {
						stable++
					}
				}
			}
			if o.Status == portolan.StatusOpen || !seen {
				prev[k] = cur
			} else {
				before.status = o.Status
				prev[k] = before
			}
		}
	}
	t.Logf("opened %d, closed %d, upgraded %d, rotated %d, volatile HTTP banners %d (%d equal once normalised)", opened, closed, upgraded, rotated, volatile, stable)
	if opened == 0 || closed == 0 || upgraded == 0 || rotated == 0 || volatile == 0 {
		t.Errorf("some change never happens")
	}
	if stable < volatile*9/10 {
		t.Errorf("only %d of %d rescans of one HTTP release give the same normalised banner", stable, volatile)
	}
}

// HostsFor sizes a one-scan world by the hostPort records it creates: the
// ports seen open.
func TestGenHostsFor(t *testing.T) {
	const want = 20000
	g := gen.New(gen.Config{Seed: 9, Hosts: gen.HostsFor(want)})
	open := 0
	for o := g.Next(); o != nil; o = g.Next() {
		if o.Status == portolan.StatusOpen {
			open++
		}
	}
	if got := float64(open) / want; got < 0.95 || got > 1.05 {
		t.Errorf("HostsFor(%d) gives %d open ports", want, open)
	}
}

// PortsPerHost gives every host that many ports, open in every scan, with
// a banner when the service sends one and a certificate on every TLS port;
// the addresses and hostnames stay those of the usual world.
func TestGenPortsPerHost(t *testing.T) {
	const perHost = 11
	cfg := gen.Config{Seed: 5, Hosts: 300, Rescans: 2}
	usual := gen.New(cfg)
	cfg.PortsPerHost = perHost
	g := gen.New(cfg)
	tls := map[int]bool{443: true, 465: true, 993: true, 995: true, 8443: true, 10443: true}
	scans, certs, banners, open := 0, 0, 0, 0
	for hs := g.NextScan(); hs != nil; hs = g.NextScan() {
		scans++
		u := usual.NextScan()
		if u == nil || u.Addr != hs.Addr || fmt.Sprint(u.Hostnames) != fmt.Sprint(hs.Hostnames) {
			t.Fatalf("scan %d: host %s %v, the usual world's %+v", scans, hs.Addr, hs.Hostnames, u)
		}
		ports := map[int]bool{}
		for _, p := range hs.Ports {
			o := p.Observation
			ports[o.Port] = true
			if o.Status != portolan.StatusOpen {
				t.Errorf("%s:%d is %s, want open", o.Host, o.Port, o.Status)
			}
			open++
			if tls[o.Port] {
				if len(o.Certificate) == 0 || !strings.HasPrefix(o.ScanProtocol, "ssl/") {
					t.Errorf("%s:%d (TLS) has no certificate", o.Host, o.Port)
				}
			}
			if len(o.Certificate) > 0 {
				certs++
			}
			if o.Banner != "" {
				banners++
			}
		}
		if len(hs.Ports) != perHost || len(ports) != perHost {
			t.Errorf("%s has %d ports (%d distinct), want %d", hs.Addr, len(hs.Ports), len(ports), perHost)
		}
	}
	if scans != 600 || certs == 0 || float64(banners) < 0.5*float64(open) {
		t.Errorf("%d host scans, %d certificates, %d banners of %d open ports", scans, certs, banners, open)
	}
	if n := gen.New(cfg).Total(); n != 600*perHost {
		t.Errorf("Total() = %d, want %d", n, 600*perHost)
	}
	// The nmap file says how it was made.
	data, _ := write(t, gen.Config{Seed: 5, Hosts: 3, PortsPerHost: perHost}, gen.FormatNmap)
	if !bytes.Contains(data, []byte("-&#45;ports-per-host 11")) {
		t.Errorf("the nmap args do not name --ports-per-host")
	}
}
