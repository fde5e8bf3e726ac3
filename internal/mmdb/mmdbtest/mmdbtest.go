// SPDX-License-Identifier: Apache-2.0

// Package mmdbtest writes small MaxMind DB files for tests with MaxMind's
// own writer (github.com/maxmind/mmdbwriter), in the shapes of the real
// databases, so that no test downloads one. Only tests import it, so the
// writer is not part of the portolan binary.
package mmdbtest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Network is one network of a database and its record.
type Network struct {
	CIDR   string
	Record mmdbtype.Map
}

// Write writes a database of type databaseType (as its metadata names it,
// "GeoLite2-Country") holding networks to a file in t's temporary
// directory and returns its path. Reserved networks (127.0.0.0/8, the
// documentation ranges) are allowed, since tests use nothing else.
func Write(t testing.TB, databaseType string, networks ...Network) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: databaseType, IncludeReservedNetworks: true, BuildEpoch: 1795737600})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range networks {
		_, ipnet, err := net.ParseCIDR(n.CIDR)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(ipnet, n.Record); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), databaseType+".mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return path
}

// Country is a GeoLite2-Country (and DB-IP Lite country) record.
func Country(iso string) mmdbtype.Map {
	return mmdbtype.Map{
		"country":            mmdbtype.Map{"iso_code": mmdbtype.String(iso), "names": mmdbtype.Map{"en": mmdbtype.String(iso + " (name)")}},
		"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String(iso)},
	}
}

// ASN is a GeoLite2-ASN (and DB-IP ASN Lite) record.
func ASN(number uint32, organization string) mmdbtype.Map {
	return mmdbtype.Map{
		"autonomous_system_number":       mmdbtype.Uint32(number),
		"autonomous_system_organization": mmdbtype.String(organization),
	}
}

// IPinfoLite is a record of IPinfo's free "Lite" database, which holds
// both the country and the AS.
func IPinfoLite(asn, asName, countryCode string) mmdbtype.Map {
	return mmdbtype.Map{
		"asn": mmdbtype.String(asn), "as_name": mmdbtype.String(asName), "as_domain": mmdbtype.String("example.test"),
		"country_code": mmdbtype.String(countryCode), "country": mmdbtype.String("(name)"),
		"continent_code": mmdbtype.String("EU"), "continent": mmdbtype.String("Europe"),
	}
}

// HostingEnterprise is a GeoIP2-Enterprise record of a network its owner
// marks as hosting: the AS and the ISP under "traits", with user_type
// "hosting".
func HostingEnterprise(number uint32, organization, isp, country string) mmdbtype.Map {
	return mmdbtype.Map{
		"country": mmdbtype.Map{"iso_code": mmdbtype.String(country)},
		"traits": mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(number),
			"autonomous_system_organization": mmdbtype.String(organization),
			"isp":                            mmdbtype.String(isp),
			"organization":                   mmdbtype.String(isp),
			"user_type":                      mmdbtype.String("hosting"),
		},
	}
}
