// SPDX-License-Identifier: Apache-2.0

// Package mmdb adds to ipAddress hosts what MaxMind-format address
// databases say about them: countryOrRegion, autonomousSystem, netblock and,
// where the database marks the network as hosting, hostingProvider. It reads
// the files with github.com/oschwald/maxminddb-golang/v2, so any database in
// that format works; the shapes of GeoLite2 and GeoIP2 (Country, City, ASN,
// ISP, Enterprise, Anonymous IP), DB-IP Lite (Country, ASN) and IPinfo Lite
// are known.
//
// # Where enrichment happens
//
// At read time, in serve: the stores keep no address facts, and the API
// server's host services are wrapped (Wrap) so that every host they return
// (hosts/{id}, hostPorts/{id}/host, relatedHosts, the hosts collection and
// its delta) carries the facts of the databases serve opened. This needs no
// schema change, keeps the observation log the only stored truth, and makes
// a newer database file take effect when serve restarts, without a rebuild
// or a re-ingest; the price is a lookup per host served, in a memory-mapped
// file (BenchmarkEnrich). The facts cannot be filtered on ($filter on
// countryOrRegion is refused as before), which storing them would allow.
package mmdb

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"

	"portolan"
)

// DB holds the databases serve was given. The zero of either is allowed; a
// nil *DB enriches nothing.
type DB struct {
	geo *maxminddb.Reader // --geoip-db: countries first
	asn *maxminddb.Reader // --asn-db: autonomous systems and netblocks first
}

// Open opens the country database at geoPath and the autonomous-system
// database at asnPath; either may be "" for none, and with both "" Open
// returns nil. A file that is not a MaxMind DB is an EINVALID error naming
// the flag.
func Open(geoPath, asnPath string) (*DB, error) {
	if geoPath == "" && asnPath == "" {
		return nil, nil
	}
	db := &DB{}
	var err error
	if geoPath != "" {
		if db.geo, err = open("--geoip-db", geoPath); err != nil {
			return nil, err
		}
	}
	if asnPath != "" {
		if db.asn, err = open("--asn-db", asnPath); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

func open(flag, path string) (*maxminddb.Reader, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, &portolan.Error{Code: portolan.EINVALID,
			Message: fmt.Sprintf("%s %s: not a readable MaxMind DB file (GeoLite2, DB-IP Lite and IPinfo Lite .mmdb files are)", flag, path), Err: err}
	}
	return r, nil
}

// Describe names the databases for serve's start-up line, e.g.
// "GeoLite2-Country built 2026-11-28, GeoLite2-ASN built 2026-11-28".
func (db *DB) Describe() string {
	if db == nil {
		return ""
	}
	var parts []string
	for _, r := range []*maxminddb.Reader{db.geo, db.asn} {
		if r != nil {
			parts = append(parts, r.Metadata.DatabaseType+" built "+r.Metadata.BuildTime().UTC().Format("2006-01-02"))
		}
	}
	return strings.Join(parts, ", ")
}

// Close releases the files.
func (db *DB) Close() error {
	if db == nil {
		return nil
	}
	var errs []error
	for _, r := range []*maxminddb.Reader{db.geo, db.asn} {
		if r != nil {
			errs = append(errs, r.Close())
		}
	}
	return errors.Join(errs...)
}

// facts is what one database record says, whatever its shape.
type facts struct {
	country        string
	asNumber       int
	asName, asOrg  string
	hosting        bool
	hostingName    string
	network        netip.Prefix
	haveAS, nonNil bool
}

// lookup reads the record of addr in r; the zero facts when r does not
// know it. A record that does not decode counts as unknown: one damaged
// entry must not fail the request of a host.
func lookup(r *maxminddb.Reader, addr netip.Addr) facts {
	if r == nil {
		return facts{}
	}
	res := r.Lookup(addr)
	if !res.Found() {
		return facts{}
	}
	var rec map[string]any
	if err := res.Decode(&rec); err != nil {
		return facts{}
	}
	f := facts{network: res.Prefix(), nonNil: true}
	traits, _ := rec["traits"].(map[string]any)
	// Country: GeoLite2, GeoIP2 and DB-IP write {"country": {"iso_code"}};
	// IPinfo Lite writes "country_code" (and "country" as a name). The
	// registered country stands in when the located one is missing (an
	// anycast or satellite network).
	f.country = str(path(rec, "country", "iso_code"))
	if f.country == "" {
		f.country = str(rec["country_code"])
	}
	if f.country == "" {
		f.country = str(path(rec, "registered_country", "iso_code"))
	}
	// Autonomous system: GeoLite2-ASN and DB-IP ASN at the top, GeoIP2
	// ISP/City under traits, IPinfo as "asn": "AS15169" with "as_name".
	num, numOK := number(rec["autonomous_system_number"])
	org := str(rec["autonomous_system_organization"])
	if !numOK {
		num, numOK = number(traits["autonomous_system_number"])
		org = str(traits["autonomous_system_organization"])
	}
	if !numOK {
		if s := str(rec["asn"]); s != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(strings.ToUpper(s), "AS"))
			num, numOK = n, err == nil && n >= 0
		}
	}
	if numOK {
		f.haveAS, f.asNumber, f.asOrg = true, num, org
		f.asName = str(rec["as_name"])
		if f.asOrg == "" {
			f.asOrg = f.asName
		}
		if f.asName == "" {
			f.asName = f.asOrg
		}
	}
	// Hosting: GeoIP2 Enterprise says traits.user_type "hosting", the
	// Anonymous IP database is_hosting_provider, IPinfo's privacy data
	// "hosting". The provider is the ISP or organization the record names,
	// else the AS organization.
	f.hosting = str(traits["user_type"]) == "hosting" || truth(traits["is_hosting_provider"]) ||
		truth(rec["is_hosting_provider"]) || truth(rec["hosting"])
	if f.hosting {
		for _, v := range []any{traits["isp"], traits["organization"], rec["isp"], rec["organization"]} {
			if s := str(v); s != "" {
				f.hostingName = s
				break
			}
		}
	}
	return f
}

// Enrich returns h with the facts of the databases, or h itself when it is
// not an address host, or nothing is known. h is not modified: stores may
// hand out hosts they keep.
func (db *DB) Enrich(h *portolan.Host) *portolan.Host {
	if db == nil || h == nil {
		return h
	}
	kind := h.Kind
	if kind == "" {
		kind = portolan.HostKindOf(h.ID)
	}
	if kind != portolan.KindIPAddress {
		return h
	}
	addr, err := netip.ParseAddr(h.ID)
	if err != nil {
		return h
	}
	geo, asn := lookup(db.geo, addr), lookup(db.asn, addr)
	if !geo.nonNil && !asn.nonNil {
		return h
	}
	// Each database answers first for what its flag names, the other
	// fills the gaps (an IPinfo Lite file holds both).
	e := *h
	e.CountryOrRegion = first(geo.country, asn.country)
	as := asn
	if !as.haveAS {
		as = geo
	}
	if as.haveAS {
		e.AutonomousSystem = &portolan.AutonomousSystem{Name: as.asName, Number: as.asNumber, Organization: as.asOrg,
			Value: "AS" + strconv.Itoa(as.asNumber)}
	}
	switch {
	case asn.nonNil:
		e.Netblock = asn.network.Masked().String()
	case geo.nonNil:
		e.Netblock = geo.network.Masked().String()
	}
	for _, f := range []facts{asn, geo} {
		if f.hosting && e.HostingProvider == "" {
			e.HostingProvider = first(f.hostingName, as.asOrg)
		}
	}
	return &e
}

func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func str(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

func truth(v any) bool {
	b, _ := v.(bool)
	return b
}

// number reads an AS number, which MaxMind DB files store as uint32 and
// others may store in any integer type; it must fit Graph's Int32.
func number(v any) (int, bool) {
	var n uint64
	switch x := v.(type) {
	case uint64:
		n = x
	case uint32:
		n = uint64(x)
	case uint16:
		n = uint64(x)
	case int:
		if x < 0 {
			return 0, false
		}
		n = uint64(x)
	case int32:
		if x < 0 {
			return 0, false
		}
		n = uint64(x)
	default:
		return 0, false
	}
	if n > 1<<31-1 {
		return 0, false
	}
	return int(n), true
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
