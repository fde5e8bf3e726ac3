// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"portolan"
	"portolan/internal/sqlite"
)

// TestPartsOfAnObservationThatChangesNothingElse checks that a port's
// first banner and service are read when the observation bringing them
// changes none of the port's own figures (the same instant and scan as
// one stored before): the port's row must still record that it has
// parts, or its reads would not look for them (migration 0009).
func TestPartsOfAnObservationThatChangesNothingElse(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "parts.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	bare := &portolan.Observation{Host: "192.0.2.10", Port: 80, Protocol: portolan.TCP, Status: portolan.StatusOpen, Source: "masscan", ScannedAt: at, SeenAt: at}
	rich := *bare
	rich.Source, rich.Banner, rich.ScanProtocol = "nmap", "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1", "http"
	rich.Components = []portolan.Component{{Name: "nginx", Version: "1.22.1"}}
	for _, o := range []*portolan.Observation{bare, &rich} {
		if err := o.Normalize(); err != nil {
			t.Fatal(err)
		}
		res, err := db.ImportObservations(ctx, []*portolan.Observation{o})
		if err != nil || res.Duplicates != 0 {
			t.Fatalf("import from %s: %+v, %v", o.Source, res, err)
		}
	}
	ports, _, err := db.FindHostPorts(portolan.NewContextFreshRead(ctx), portolan.HostPortFilter{Host: "192.0.2.10"})
	if err != nil || len(ports) != 1 {
		t.Fatalf("%d ports, %v", len(ports), err)
	}
	hp := ports[0]
	if hp.TimesObserved != 1 {
		t.Errorf("timesObserved %d, want 1 (one instant)", hp.TimesObserved)
	}
	if len(hp.Banners) != 1 || len(hp.Services) != 1 {
		t.Errorf("banners %+v, services %+v; want the second observation's one each", hp.Banners, hp.Services)
	}
}
