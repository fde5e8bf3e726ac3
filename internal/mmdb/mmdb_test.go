// SPDX-License-Identifier: Apache-2.0

package mmdb_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/mmdb"
	"portolan/internal/mmdb/mmdbtest"
	"portolan/internal/mock"
)

func host(id string) *portolan.Host { return &portolan.Host{ID: id, Kind: portolan.HostKindOf(id)} }

func TestEnrich(t *testing.T) {
	geo := mmdbtest.Write(t, "GeoLite2-Country",
		mmdbtest.Network{CIDR: "192.0.2.0/24", Record: mmdbtest.Country("DE")},
		mmdbtest.Network{CIDR: "2001:db8::/32", Record: mmdbtest.Country("FR")})
	asn := mmdbtest.Write(t, "GeoLite2-ASN",
		mmdbtest.Network{CIDR: "192.0.2.0/25", Record: mmdbtest.ASN(64500, "Example Carrier")},
		mmdbtest.Network{CIDR: "198.51.100.0/24", Record: mmdbtest.ASN(64501, "Other Net")})
	db, err := mmdb.Open(geo, asn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		id   string
		want *portolan.Host
	}{
		{"192.0.2.10", &portolan.Host{ID: "192.0.2.10", Kind: portolan.KindIPAddress, CountryOrRegion: "DE", Netblock: "192.0.2.0/25",
			AutonomousSystem: &portolan.AutonomousSystem{Name: "Example Carrier", Number: 64500, Organization: "Example Carrier", Value: "AS64500"}}},
		// Known to the country database only: its network is the netblock.
		{"192.0.2.200", &portolan.Host{ID: "192.0.2.200", Kind: portolan.KindIPAddress, CountryOrRegion: "DE", Netblock: "192.0.2.0/24"}},
		// Known to the AS database only.
		{"198.51.100.7", &portolan.Host{ID: "198.51.100.7", Kind: portolan.KindIPAddress, Netblock: "198.51.100.0/24",
			AutonomousSystem: &portolan.AutonomousSystem{Name: "Other Net", Number: 64501, Organization: "Other Net", Value: "AS64501"}}},
		{"2001:db8::1", &portolan.Host{ID: "2001:db8::1", Kind: portolan.KindIPAddress, CountryOrRegion: "FR", Netblock: "2001:db8::/32"}},
		// Unknown addresses and hostnames stay as they were: null in Graph.
		{"203.0.113.1", host("203.0.113.1")},
		{"www.example.test", host("www.example.test")},
	} {
		h := host(tc.id)
		got := db.Enrich(h)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.id, diff)
		}
		if h.CountryOrRegion != "" || h.AutonomousSystem != nil {
			t.Errorf("%s: Enrich modified its argument", tc.id)
		}
	}
}

// TestEnrichOtherShapes: IPinfo Lite (country and AS in one file, given to
// either flag) and a GeoIP2-Enterprise record of a hosting network.
func TestEnrichOtherShapes(t *testing.T) {
	ipinfo := mmdbtest.Write(t, "ipinfo lite.mmdb",
		mmdbtest.Network{CIDR: "192.0.2.0/24", Record: mmdbtest.IPinfoLite("AS64502", "Example Hosting GmbH", "NL")})
	for _, paths := range [][2]string{{ipinfo, ""}, {"", ipinfo}} {
		db, err := mmdb.Open(paths[0], paths[1])
		if err != nil {
			t.Fatal(err)
		}
		got := db.Enrich(host("192.0.2.1"))
		want := &portolan.Host{ID: "192.0.2.1", Kind: portolan.KindIPAddress, CountryOrRegion: "NL", Netblock: "192.0.2.0/24",
			AutonomousSystem: &portolan.AutonomousSystem{Name: "Example Hosting GmbH", Number: 64502, Organization: "Example Hosting GmbH", Value: "AS64502"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("IPinfo Lite as %q (-want +got):\n%s", paths, diff)
		}
		db.Close()
	}
	isp := mmdbtest.Write(t, "GeoIP2-Enterprise",
		mmdbtest.Network{CIDR: "198.51.100.0/24", Record: mmdbtest.HostingEnterprise(64503, "Cloud AS", "Example Cloud", "IE")},
		mmdbtest.Network{CIDR: "203.0.113.0/24", Record: mmdbtest.ASN(64504, "Home ISP")})
	db, err := mmdb.Open("", isp)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if h := db.Enrich(host("198.51.100.9")); h.HostingProvider != "Example Cloud" || h.AutonomousSystem.Number != 64503 || h.CountryOrRegion != "IE" {
		t.Errorf("hosting network: %+v", h)
	}
	if h := db.Enrich(host("203.0.113.9")); h.HostingProvider != "" {
		t.Errorf("a network not marked as hosting has hostingProvider %q", h.HostingProvider)
	}
}

func TestOpen(t *testing.T) {
	if db, err := mmdb.Open("", ""); db != nil || err != nil {
		t.Errorf("no databases: %v %v, want nil, nil", db, err)
	}
	var none *mmdb.DB
	if h := host("192.0.2.1"); none.Enrich(h) != h || none.Close() != nil {
		t.Error("a nil DB must enrich nothing")
	}
	bad := filepath.Join(t.TempDir(), "country.mmdb")
	if err := os.WriteFile(bad, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := mmdb.Open(bad, "")
	if portolan.ErrorCode(err) != portolan.EINVALID || portolan.ErrorMessage(err) != "--geoip-db "+bad+": not a readable MaxMind DB file (GeoLite2, DB-IP Lite and IPinfo Lite .mmdb files are)" {
		t.Errorf("a file that is not a database: %v", err)
	}
	if _, err := mmdb.Open("", filepath.Join(t.TempDir(), "missing.mmdb")); portolan.ErrorCode(err) != portolan.EINVALID {
		t.Errorf("a missing file: %v", err)
	}
}

// TestWrapEnrichesEveryHostRead: each service method that returns hosts
// returns them enriched.
func TestWrapEnrichesEveryHostRead(t *testing.T) {
	db, err := mmdb.Open(mmdbtest.Write(t, "GeoLite2-Country", mmdbtest.Network{CIDR: "192.0.2.0/24", Record: mmdbtest.Country("DE")}), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := &searchingStore{Store: &mock.Store{
		HostService: mock.HostService{FindHostByIDFn: func(context.Context, string) (*portolan.Host, error) { return host("192.0.2.1"), nil }},
		SSLCertificateService: mock.SSLCertificateService{FindRelatedHostsFn: func(context.Context, string, portolan.ListFilter) ([]*portolan.Host, int, error) {
			return []*portolan.Host{host("192.0.2.2")}, 1, nil
		}},
	}}
	s := mmdb.Wrap(store, db)
	ctx := context.Background()
	var got []*portolan.Host
	h, _ := s.Hosts.FindHostByID(ctx, "x")
	got = append(got, h)
	related, _, _ := s.Certificates.FindRelatedHosts(ctx, "x", portolan.ListFilter{})
	got = append(got, related...)
	page, _ := s.Search.SearchHosts(ctx, portolan.SearchQuery{})
	got = append(got, page.Items...)
	delta, _ := s.Changes.HostChanges(ctx, portolan.DeltaQuery{})
	got = append(got, delta.Entries[0].Item)
	if len(got) != 4 {
		t.Fatalf("%d hosts", len(got))
	}
	for _, h := range got {
		if h.CountryOrRegion != "DE" {
			t.Errorf("%s was not enriched", h.ID)
		}
	}
	if delta.Entries[1].Item != nil {
		t.Error("a gone entry got an item")
	}
	if plain := mmdb.Wrap(store, nil); plain.Hosts != portolan.HostService(store) || plain.Search != portolan.SearchService(store) {
		t.Error("without databases the store's own services are used")
	}
}

// searchingStore is a store that also searches and tracks changes, each
// answering one host (the mocks have no such services).
type searchingStore struct {
	*mock.Store
	portolan.SearchService
	portolan.ChangeService
}

func (searchingStore) SearchHosts(context.Context, portolan.SearchQuery) (portolan.Page[*portolan.Host], error) {
	return portolan.Page[*portolan.Host]{Items: []*portolan.Host{host("192.0.2.3")}}, nil
}

func (searchingStore) HostChanges(context.Context, portolan.DeltaQuery) (portolan.DeltaPage[*portolan.Host], error) {
	return portolan.DeltaPage[*portolan.Host]{Entries: []portolan.DeltaEntry[*portolan.Host]{{Item: host("192.0.2.4")}, {ID: "192.0.2.5", Gone: true}}}, nil
}

// TestWriterStaysOutOfTheBinary: MaxMind's writer is for tests only.
func TestWriterStaysOutOfTheBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "portolan/cmd/portolan").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if strings.Contains(string(out), "mmdbwriter") || !strings.Contains(string(out), "maxminddb-golang") {
		t.Error("the portolan binary must read databases with maxminddb-golang and never link the writer")
	}
}

// BenchmarkEnrich measures the cost serve adds to each host it reads.
func BenchmarkEnrich(b *testing.B) {
	geo := mmdbtest.Write(b, "GeoLite2-Country", mmdbtest.Network{CIDR: "192.0.2.0/24", Record: mmdbtest.Country("DE")})
	asn := mmdbtest.Write(b, "GeoLite2-ASN", mmdbtest.Network{CIDR: "192.0.2.0/25", Record: mmdbtest.ASN(64500, "Example Carrier")})
	db, err := mmdb.Open(geo, asn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	h := host("192.0.2.10")
	b.ReportAllocs()
	for b.Loop() {
		if db.Enrich(h).AutonomousSystem == nil {
			b.Fatal("not enriched")
		}
	}
}
