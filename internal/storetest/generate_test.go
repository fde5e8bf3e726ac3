// SPDX-License-Identifier: Apache-2.0

package storetest_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/storetest"
)

// TestRandomHistoriesHoldEveryCase checks that one oracle-sized history
// holds each case the oracle is meant to exercise, so that a change to the
// generator cannot quietly make the oracle test less.
func TestRandomHistoriesHoldEveryCase(t *testing.T) {
	obs := storetest.RandomObservations(rand.New(rand.NewPCG(1, 2026)), storetest.OracleObservations)
	type key struct {
		host  string
		proto portolan.Protocol
		port  int
	}
	byKey := map[key][]*portolan.Observation{}
	for _, o := range obs {
		k := key{o.Host, o.Protocol, o.Port}
		byKey[k] = append(byKey[k], o)
	}
	found := map[string]bool{}
	for _, list := range byKey {
		var firstOpen time.Time
		certs, banners := map[string]bool{}, map[string]bool{}
		for _, o := range list {
			if o.Status == portolan.StatusOpen && (firstOpen.IsZero() || o.SeenAt.Before(firstOpen)) {
				firstOpen = o.SeenAt
			}
			if o.Status == portolan.StatusOpen && len(o.Certificate) > 0 {
				certs[portolan.CertificateDigest(o.Certificate)] = true
			}
			if o.Status == portolan.StatusOpen && strings.TrimSpace(o.Banner) != "" {
				banners[o.ScanProtocol+o.Banner] = true
			}
		}
		for i, a := range list {
			if a.Status != portolan.StatusOpen && !firstOpen.IsZero() && a.ScannedAt.Before(firstOpen) {
				found["closed or filtered before the first open"] = true
			}
			for _, b := range list[i+1:] {
				if a.ScannedAt.Equal(b.ScannedAt) && a.Status != b.Status {
					found["status tie on scannedAt"] = true
				}
				if a.SeenAt.Equal(b.SeenAt) && a.Status == portolan.StatusOpen && b.Status == portolan.StatusOpen {
					found["open observations at one instant"] = true
					if len(a.Certificate) > 0 && len(b.Certificate) > 0 && !slices.Equal(a.Certificate, b.Certificate) {
						found["certificate tie on seenAt"] = true
					}
				}
			}
		}
		if len(certs) > 1 {
			found["certificate rotation"] = true
		}
		if len(banners) > 1 {
			found["banner change"] = true
		}
		if firstOpen.IsZero() {
			found["port never open"] = true
		}
	}
	for _, o := range obs {
		if len(o.Hostnames) > 1 {
			found["several hostnames"] = true
		}
		if slices.Contains(o.Hostnames, "closed.example.test") {
			found["alias seen closed"] = true
			if o.Status == portolan.StatusOpen {
				t.Errorf("closed.example.test named by an open observation: %+v", o)
			}
		}
		if slices.Contains(o.Hostnames, "scan.example.test") {
			found["alias that is a scanned host"] = true
		}
		if o.Banner != "" && strings.TrimSpace(o.Banner) == "" {
			found["blank banner"] = true
		}
		if strings.Contains(o.Banner, `\xff`) {
			found["banner bytes escaped"] = true
		}
		if o.Protocol == portolan.UDP && len(o.Certificate) > 0 {
			found["certificate on udp"] = true
		}
		if o.Host == "203.0.113.9" && o.Status == portolan.StatusOpen {
			t.Errorf("the quiet host is open: %+v", o)
		}
	}
	for _, want := range []string{
		"closed or filtered before the first open", "status tie on scannedAt", "open observations at one instant",
		"certificate tie on seenAt", "certificate rotation", "banner change", "port never open", "several hostnames",
		"alias seen closed", "alias that is a scanned host", "blank banner", "banner bytes escaped", "certificate on udp",
	} {
		if !found[want] {
			t.Errorf("no %s in a history of %d observations", want, len(obs))
		}
	}
}
