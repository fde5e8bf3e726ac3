// SPDX-License-Identifier: Apache-2.0

package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portolan/internal/mmdb/mmdbtest"
)

// TestServeEnrichesHostsFromAddressDatabases runs the real binary with
// --geoip-db and --asn-db, MaxMind DB files written here in the shapes of
// GeoLite2-Country and GeoLite2-ASN: the ipAddress host carries their facts;
// without them the same host has nulls, as before.
func TestServeEnrichesHostsFromAddressDatabases(t *testing.T) {
	data, token := e2eIngestedDataDir(t)
	geo := mmdbtest.Write(t, "GeoLite2-Country", mmdbtest.Network{CIDR: "127.0.0.0/8", Record: mmdbtest.Country("ZZ")})
	asn := mmdbtest.Write(t, "GeoLite2-ASN", mmdbtest.Network{CIDR: "127.0.0.0/16", Record: mmdbtest.ASN(64512, "Loopback Networks")})
	client := &http.Client{Timeout: 10 * time.Second}
	const path = "/beta/security/threatIntelligence/hosts/127.0.0.1"
	type asJSON struct {
		Name         string `json:"name"`
		Number       int    `json:"number"`
		Organization string `json:"organization"`
		Value        string `json:"value"`
	}
	type hostJSON struct {
		CountryOrRegion  *string `json:"countryOrRegion"`
		Netblock         *string `json:"netblock"`
		AutonomousSystem *asJSON `json:"autonomousSystem"`
		HostingProvider  *string `json:"hostingProvider"`
	}

	s := e2eStartServe(t, nil, "--data", data, "--addr", "127.0.0.1:0", "--geoip-db", geo, "--asn-db", asn)
	s.waitHealthy(t, client)
	var h hostJSON
	if resp := e2eGetJSON(t, client, s.URL+path, token, &h); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if h.CountryOrRegion == nil || *h.CountryOrRegion != "ZZ" || h.Netblock == nil || *h.Netblock != "127.0.0.0/16" ||
		h.AutonomousSystem == nil || *h.AutonomousSystem != (asJSON{"Loopback Networks", 64512, "Loopback Networks", "AS64512"}) || h.HostingProvider != nil {
		t.Errorf("host with databases: %+v %+v", h, h.AutonomousSystem)
	}
	s.stop(t) // the log is buffered until then
	if !strings.Contains(s.stderr.String(), "GeoLite2-Country built 2026-11-27, GeoLite2-ASN built 2026-11-27") {
		t.Errorf("serve's log does not name the databases:\n%s", s.stderr.String())
	}

	s = e2eStartServe(t, nil, "--data", data, "--addr", "127.0.0.1:0")
	s.waitHealthy(t, client)
	h = hostJSON{}
	e2eGetJSON(t, client, s.URL+path, token, &h)
	if h.CountryOrRegion != nil || h.Netblock != nil || h.AutonomousSystem != nil || h.HostingProvider != nil {
		t.Errorf("host without databases: %+v", h)
	}
	s.stop(t)
}

// TestIngestChecksAndShowsAddressDatabases: ingest opens the databases
// before reading a file (a bad one stops it with the flag's name), and
// --dry-run shows what serve will say of each address; nothing is stored.
func TestIngestChecksAndShowsAddressDatabases(t *testing.T) {
	geo := mmdbtest.Write(t, "GeoLite2-Country", mmdbtest.Network{CIDR: "127.0.0.0/8", Record: mmdbtest.Country("ZZ")})
	asn := mmdbtest.Write(t, "GeoLite2-ASN", mmdbtest.Network{CIDR: "127.0.0.0/16", Record: mmdbtest.ASN(64512, "Loopback Networks")})
	out, _, err := run(t, nil, "ingest", "--dry-run", "--geoip-db", geo, "--asn-db", asn, samples+"nmap_sV_scripts_5ports.xml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "  127.0.0.1: countryOrRegion ZZ, autonomousSystem AS64512 Loopback Networks, netblock 127.0.0.0/16\n") {
		t.Errorf("dry run output:\n%s", out)
	}
	data := filepath.Join(t.TempDir(), "d")
	_, _, err = run(t, nil, "ingest", "--data", data, "--asn-db", samples+"nmap_sV_scripts_5ports.xml", samples+"nmap_sV_scripts_5ports.xml")
	if err == nil || !strings.Contains(err.Error(), "--asn-db ") || !strings.Contains(err.Error(), "not a readable MaxMind DB file") {
		t.Errorf("a file that is not a database: %v", err)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("ingest wrote before checking the database: %v", err)
	}
}

// TestServeRefusesABadAddressDatabase: serve stops before opening the store,
// naming the flag.
func TestServeRefusesABadAddressDatabase(t *testing.T) {
	data := filepath.Join(t.TempDir(), "d")
	_, _, err := run(t, nil, "serve", "--data", data, "--addr", "127.0.0.1:0", "--geoip-db", filepath.Join(t.TempDir(), "GeoLite2-Country.mmdb"))
	if err == nil || !strings.Contains(err.Error(), "--geoip-db ") || !strings.Contains(err.Error(), "not a readable MaxMind DB file") {
		t.Fatalf("serve with a missing database: %v", err)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("serve created the data directory before checking the database: %v", err)
	}
}
