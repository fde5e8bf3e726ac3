// SPDX-License-Identifier: Apache-2.0

package merge

import (
	"context"

	"portolan"
)

// The hostname-alias rule (intelligence.md §7): hostnames a scanner
// associated with an address are aliases, and the ports of a hostname are
// its own and those of every address it was seen with. Delta.Add records
// the (name, address) pairs as Aliases; the stores answer "which hosts does
// this host id cover" in SQL, by hostMembers in internal/sqlite/hostport.go
// and internal/postgres/hostport.go (the id itself, UNION the addresses of
// host_aliases named by it), which FindHostPorts, FindHostComponents and
// FindHostSSLCertificates use. storetest.RunRules proves that a name lists
// exactly its addresses' ports.

// PortOfHost reports whether hp is one of the ports of host, as
// hosts/{host}/ports/{id} requires: hp's own host, or, for a hostname, one
// of the addresses it aliases. It asks ports for the host's list from just
// before hp's position (the list is ordered by port, protocol, host), so it
// costs one lookup. It does no I/O of its own.
func PortOfHost(ctx context.Context, ports portolan.HostPortService, host string, hp *portolan.HostPort) (bool, error) {
	if hp.Host == host {
		return true, nil
	}
	if portolan.HostKindOf(host) != portolan.KindHostname {
		return false, nil
	}
	// Starting after (port, protocol, "") puts hp's own port first.
	after := portolan.HostPortKey{Port: hp.Port, Protocol: hp.Protocol}
	const batch = 100
	for {
		page, _, err := ports.FindHostPorts(ctx, portolan.HostPortFilter{Host: host, After: &after, Limit: batch})
		if err != nil {
			return false, err
		}
		for _, p := range page {
			if p.ID == hp.ID {
				return true, nil
			}
			if p.Port != hp.Port || p.Protocol != hp.Protocol {
				return false, nil
			}
		}
		if len(page) < batch {
			return false, nil
		}
		after = page[len(page)-1].Key()
	}
}
