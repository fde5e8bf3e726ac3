// SPDX-License-Identifier: Apache-2.0

package merge_test

import (
	"context"
	"testing"
	"time"

	"portolan"
	"portolan/internal/merge"
	"portolan/internal/storetest"
)

func TestHostPortIDReproducesTheDocumentedSampleKey(t *testing.T) {
	if got := portolan.HostPortID("85.13.139.18", portolan.TCP, 21); got != "ODUuMTMuMTM5LjE4JCQyMQ==" {
		t.Errorf("got %s", got)
	}
	if got := portolan.HostComponentID("85.13.139.18", portolan.Component{Name: "OpenSSH", Version: "8.2p1", Category: "Remote Access"}); got != "T3BlblNTSCQkOC4ycDEkJFJlbW90ZSBBY2Nlc3MkJDg1LjEzLjEzOS4xOA==" {
		t.Errorf("component id %s", got)
	}
}

// TestSeedIsRecent checks the isRecent rule against the seed example:
// banners last seen 15:31:57; a component seen 22:13:54 is recent, one seen
// 00:54:13 is not.
func TestSeedIsRecent(t *testing.T) {
	day := func(h, m, s int) time.Time { return time.Date(2023, 7, 18, h, m, s, 0, time.UTC) }
	store := storetest.NewMemoryStore(nil)
	obs := []*portolan.Observation{
		{Host: "85.13.139.18", Port: 443, Status: portolan.StatusOpen, SeenAt: day(15, 31, 57), ScannedAt: day(15, 32, 10), Source: "native", ScanProtocol: "http_raw", Banner: "HTTP/1.1 302 Found\r\n"},
		{Host: "85.13.139.18", Port: 443, Status: portolan.StatusOpen, SeenAt: day(22, 13, 54), ScannedAt: day(22, 14, 0), Source: "native", Components: []portolan.Component{{Name: "scaffolding on HTTPServer2", Category: "Server"}}},
		{Host: "85.13.139.18", Port: 443, Status: portolan.StatusOpen, SeenAt: day(0, 54, 13), ScannedAt: day(0, 55, 0), Source: "native", Components: []portolan.Component{{Name: "nginx", Version: "1.18.0", Category: "Server"}}},
	}
	for _, o := range obs {
		if err := o.Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.ImportObservations(context.Background(), obs); err != nil {
		t.Fatal(err)
	}
	hp, err := store.FindHostPortByID(context.Background(), portolan.HostPortID("85.13.139.18", portolan.TCP, 443))
	if err != nil {
		t.Fatal(err)
	}
	if len(hp.Services) != 2 {
		t.Fatalf("%d services", len(hp.Services))
	}
	// Newest first: scaffolding (22:13:54) then nginx (00:54:13).
	if s := hp.Services[0]; s.Component.Name != "scaffolding on HTTPServer2" || !s.IsRecent {
		t.Errorf("first service %+v, want scaffolding recent", s)
	}
	if s := hp.Services[1]; s.Component.Name != "nginx" || s.IsRecent {
		t.Errorf("second service %+v, want nginx not recent", s)
	}
}

func TestIsRecentWithoutBanners(t *testing.T) {
	scan := time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		seen time.Time
		want bool
	}{
		{scan, true},
		{scan.Add(-48 * time.Hour), true},
		{scan.Add(-48*time.Hour - time.Second), false},
	}
	for _, c := range cases {
		if got := merge.IsRecent(c.seen, time.Time{}, scan); got != c.want {
			t.Errorf("seen %v, last scan %v: got %v", c.seen, scan, got)
		}
	}
}

func TestMostRecentCertificateTieTakesTheGreaterSHA1(t *testing.T) {
	a := &merge.PortDelta{CertSeen: time.Unix(100, 0), CertSHA1: "aa"}
	b := &merge.PortDelta{CertSeen: time.Unix(100, 0), CertSHA1: "bb"}
	a.Merge(b)
	if a.CertSHA1 != "bb" {
		t.Errorf("tie kept %s", a.CertSHA1)
	}
	c := &merge.PortDelta{CertSeen: time.Unix(50, 0), CertSHA1: "ff"}
	a.Merge(c)
	if a.CertSHA1 != "bb" {
		t.Errorf("an older certificate replaced the newer: %s", a.CertSHA1)
	}
}
