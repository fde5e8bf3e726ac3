// SPDX-License-Identifier: Apache-2.0

package merge

import (
	"slices"
	"sort"
	"strings"

	"portolan"
)

// The ordering rules (intelligence.md §8).
//
// The ports of a host are listed by port ascending, tcp before udp, then by
// host id (a hostname lists the ports of several addresses). The keyset
// cursor type carries that order, portolan.HostPortKey.Less, because paging
// compares positions with it; the stores restate it as
// "ORDER BY port, protocol, host" with the keyset condition
// "(port, protocol, host) > (…)" in internal/sqlstore's FindHostPorts, for
// both databases (their columns sort bytewise: "tcp" < "udp").
//
// Inside a record, banners and services are newest first: SortBanners and
// SortServices, which Finish applies for every store, so no SQL restates
// them.
//
// Every other list (hostComponents, sslCertificates, hostSslCertificates, a
// certificate's related hosts) is in id order, bytewise: SortByID. The
// stores restate it as "ORDER BY id" where they page in SQL (the
// certificates of internal/sqlstore, whose id column holds the entity id) and as "ORDER BY host" for related hosts, whose id
// is the host; where an id is computed after the read (base64 of a
// hostComponent or hostSslCertificate key, whose order is not the key's)
// they call SortByID.

// SortBanners orders banners newest first: lastSeenDateTime descending, ties
// by banner text, then scan protocol, ascending.
func SortBanners(b []portolan.HostPortBanner) {
	sort.Slice(b, func(i, j int) bool {
		if !b[i].LastSeenDateTime.Equal(b[j].LastSeenDateTime) {
			return b[i].LastSeenDateTime.After(b[j].LastSeenDateTime)
		}
		if b[i].Banner != b[j].Banner {
			return b[i].Banner < b[j].Banner
		}
		return b[i].ScanProtocol < b[j].ScanProtocol
	})
}

// SortServices orders services newest first: lastSeenDateTime descending,
// ties by component name, version, category ascending (portolan.Component.Less).
func SortServices(s []portolan.HostPortComponent) {
	sort.Slice(s, func(i, j int) bool {
		if !s[i].LastSeenDateTime.Equal(s[j].LastSeenDateTime) {
			return s[i].LastSeenDateTime.After(s[j].LastSeenDateTime)
		}
		return s[i].Component.Less(s[j].Component)
	})
}

// SortByID orders items by id ascending, comparing bytes: the order of the
// paging cursor, which compares ids with Go's <, and of "ORDER BY id" on
// both schemas' text columns (SQLite's BINARY, PostgreSQL's COLLATE "C").
func SortByID[T any](items []T, id func(T) string) {
	slices.SortFunc(items, func(a, b T) int { return strings.Compare(id(a), id(b)) })
}
