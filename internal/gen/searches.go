// SPDX-License-Identifier: Apache-2.0

package gen

import (
	"net/netip"
	"time"

	"portolan"
)

// Search is an analyst's question of the estate (issue 11) as a $filter and
// $orderby of hostPorts, with literals that a generated world answers.
type Search struct {
	// Name says what it asks, for tables and benchmark names.
	Name    string
	Filter  string
	OrderBy string
}

// Searches returns the questions of issue 11 asked of the world of cfg,
// each matching a realistic, non-empty share of its hostPort records once
// the world holds some thousands of them. The literals are what this
// package generates, as a store holding it names them:
//
//   - product and version: the HTTP banners of Apache httpd carry
//     Apache/2.4.41 to 2.4.62 (services.go), which the fingerprint rules
//     name "Apache" with the upstream version; below 2.4.60 are three of
//     its four releases (about 2.5% of the records).
//   - port: 3389 (RDP) is one of the common ports (about 4%).
//   - address range: the /16 of the first IPv4 host with a port open in
//     the first scan. Addresses are spread over all of IPv4 (address), so
//     a /16 holds that host and about one more per 65,536 hosts: a
//     selective range, as a subnet of a real estate is.
//   - certificate expiry: certificates expire within a year of Start
//     (certs.go), a 90-day one within 90 days; a month's window holds about
//     a quarter of them (about 1% of the records, which carry one in 5%).
//   - banner contains: vsftpd greets with "220 (vsFTPd 3.0.x)", and
//     contains ignores ASCII case (about 0.5%).
func Searches(cfg Config) []Search {
	cfg = cfg.withDefaults()
	return []Search{
		{Name: "product and version", Filter: "services/any(s: s/component/name eq 'Apache' and s/component/version lt '2.4.60')"},
		{Name: "port", Filter: "port eq 3389"},
		{Name: "address range", Filter: "portolan.inSubnet(host/id, '" + firstSubnet(cfg).String() + "')"},
		{Name: "certificate expiry", Filter: "mostRecentSslCertificate/expirationDateTime lt " + cfg.Start.AddDate(0, 1, 0).UTC().Format(time.RFC3339),
			OrderBy: "mostRecentSslCertificate/expirationDateTime"},
		{Name: "banner contains", Filter: "banners/any(b: contains(b/banner, 'vsftpd'))"},
	}
}

// firstSubnet is the /16 of the first IPv4 host (the probe aside) with a
// port open in the first scan; 10.0.0.0/16 when there is none.
func firstSubnet(cfg Config) netip.Prefix {
	cfg.Rescans = 1
	g := New(cfg)
	for hs := g.NextScan(); hs != nil; hs = g.NextScan() {
		addr, err := netip.ParseAddr(hs.Addr)
		if err != nil || !addr.Is4() || hs.Addr == cfg.Probe {
			continue
		}
		for _, p := range hs.Ports {
			if p.Observation.Status == portolan.StatusOpen {
				return netip.PrefixFrom(addr, 16).Masked()
			}
		}
	}
	return netip.MustParsePrefix("10.0.0.0/16")
}
