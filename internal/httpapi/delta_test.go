// SPDX-License-Identifier: Apache-2.0

package httpapi_test

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/httpapi"
	"portolan/internal/sqlite"
	"portolan/internal/storetest"
)

// deltaServer is a Server over a real SQLite store, which the test imports
// into between requests.
func deltaServer(t *testing.T) (*testServer, *sqlite.DB) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "delta.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return newServer(t, newFixture(), func(c *httpapi.Config) {
		c.HostPorts, c.Hosts, c.Certificates = db, db, db
	}), db
}

var deltaDay = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func importObs(t *testing.T, db *sqlite.DB, obs ...*portolan.Observation) {
	t.Helper()
	for _, o := range obs {
		if err := o.Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ImportObservations(context.Background(), obs); err != nil {
		t.Fatal(err)
	}
}

func openObs(host string, port int, day int, extra ...func(*portolan.Observation)) *portolan.Observation {
	o := &portolan.Observation{Host: host, Port: port, Status: portolan.StatusOpen, ScannedAt: deltaDay.AddDate(0, 0, day), Source: "nmap"}
	for _, f := range extra {
		f(o)
	}
	return o
}

// deltaPage is a page of a delta response.
type deltaPage struct {
	Value     []map[string]any `json:"value"`
	NextLink  string           `json:"@odata.nextLink"`
	DeltaLink string           `json:"@odata.deltaLink"`
}

// walkDelta follows nextLinks from target and returns every entry and the
// deltaLink of the last page.
func walkDelta(t *testing.T, s *testServer, target string, header ...string) ([]map[string]any, string) {
	t.Helper()
	var all []map[string]any
	for pages := 0; ; pages++ {
		w := s.get(t, target, header...)
		wantStatus(t, w, 200)
		var p deltaPage
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatalf("%v\n%s", err, w.Body)
		}
		all = append(all, p.Value...)
		if (p.NextLink == "") == (p.DeltaLink == "") {
			t.Fatalf("page %d has nextLink %q and deltaLink %q", pages, p.NextLink, p.DeltaLink)
		}
		if p.DeltaLink != "" {
			return all, p.DeltaLink
		}
		if pages > 100 {
			t.Fatal("too many pages")
		}
		target = p.NextLink
	}
}

func entryIDs(entries []map[string]any) []string {
	var ids []string
	for _, e := range entries {
		id, _ := e["id"].(string)
		if _, removed := e["@removed"]; removed {
			id = "-" + id
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func TestDeltaHostPorts(t *testing.T) {
	s, db := deltaServer(t)
	importObs(t, db, openObs("10.0.0.1", 22, 0), openObs("10.0.0.1", 80, 0), openObs("10.0.0.2", 443, 0),
		openObs("10.0.0.3", 25, 0), openObs("10.0.0.4", 53, 0, func(o *portolan.Observation) { o.Protocol = portolan.UDP }))
	id := func(host string, port int) string { return portolan.HostPortID(host, portolan.TCP, port) }

	// The first request lists everything, paged as Prefer asks.
	w := s.get(t, "hostPorts/delta", "Prefer", "odata.maxpagesize=2")
	wantStatus(t, w, 200)
	if got := w.Header().Get("Preference-Applied"); got != "odata.maxpagesize=2" {
		t.Fatalf("Preference-Applied = %q", got)
	}
	all, deltaLink := walkDelta(t, s, "hostPorts/delta", "Prefer", "odata.maxpagesize=2")
	if len(all) != 5 {
		t.Fatalf("the first round has %d items, want 5", len(all))
	}
	if !strings.Contains(deltaLink, "/beta/security/threatIntelligence/hostPorts/delta?$deltatoken=") {
		t.Fatalf("deltaLink %s", deltaLink)
	}

	// Nothing changed: an empty round and a new link.
	entries, next := walkDelta(t, s, deltaLink)
	if len(entries) != 0 {
		t.Fatalf("an unchanged estate gave %d entries", len(entries))
	}

	// A rescan that moves counters, a closed port, a new port, a new
	// banner: each changed item once, in its current state.
	importObs(t, db, openObs("10.0.0.1", 22, 1), openObs("10.0.0.1", 22, 1, func(o *portolan.Observation) { o.Source = "masscan" }),
		&portolan.Observation{Host: "10.0.0.1", Port: 80, Status: portolan.StatusClosed, ScannedAt: deltaDay.AddDate(0, 0, 1), Source: "nmap"},
		openObs("10.0.0.9", 8080, 1), openObs("10.0.0.2", 443, 0, func(o *portolan.Observation) {
			o.Banner, o.ScanProtocol, o.Source = "HTTP/1.1 200 OK", "http", "zgrab2"
		}))
	entries, next2 := walkDelta(t, s, next, "Prefer", "odata.maxpagesize=1")
	want := []string{id("10.0.0.1", 22), id("10.0.0.1", 80), id("10.0.0.2", 443), id("10.0.0.9", 8080)}
	slices.Sort(want)
	if got := entryIDs(entries); !slices.Equal(got, want) {
		t.Fatalf("changed items %v, want %v", got, want)
	}
	for _, e := range entries {
		if e["id"] == id("10.0.0.1", 80) && e["status"] != "closed" {
			t.Fatalf("the closed port comes back as %v", e)
		}
	}
	// The same link again gives the same round (tokens are stateless).
	again, _ := walkDelta(t, s, next)
	if !slices.Equal(entryIDs(again), want) {
		t.Fatalf("following the link twice gave %v then %v", want, entryIDs(again))
	}

	// $deltatoken=latest: no items, a link from now.
	w = s.get(t, "hostPorts/delta?$deltatoken=latest")
	wantStatus(t, w, 200)
	var latest deltaPage
	json.Unmarshal(w.Body.Bytes(), &latest)
	if len(latest.Value) != 0 || latest.DeltaLink == "" {
		t.Fatalf("latest: %s", w.Body)
	}
	if entries, _ := walkDelta(t, s, latest.DeltaLink); len(entries) != 0 {
		t.Fatalf("a link from latest returned %d entries", len(entries))
	}

	// Tokens are signed for their collection and query.
	u, _ := url.Parse(next2)
	token := u.Query().Get("$deltatoken")
	wantError(t, s.get(t, "hostPorts/delta?$deltatoken="+token[:len(token)-2]+"AA"), 400, "BadRequest", "The $deltatoken is not valid for this request; follow @odata.deltaLink as returned.")
	wantError(t, s.get(t, "hosts/delta?$deltatoken="+token), 400, "BadRequest", "The $deltatoken is not valid for this request; follow @odata.deltaLink as returned.")
	wantError(t, s.get(t, "hostPorts/delta?$filter=port%20eq%2022&$deltatoken="+token), 400, "BadRequest", "The $deltatoken is not valid for this request; follow @odata.deltaLink as returned.")
	wantStatus(t, s.get(t, "hostPorts/delta?$orderby=port"), 400)

	// A token older than the history kept is 410.
	if _, err := db.PruneChanges(context.Background(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantError(t, s.get(t, next), 410, "syncStateNotFound", "The delta token is older than the change history kept (resync required): start again without a token.")
	wantStatus(t, s.get(t, next2), 200)
}

func TestDeltaFilterSelect(t *testing.T) {
	s, db := deltaServer(t)
	importObs(t, db, openObs("10.0.0.1", 22, 0), openObs("10.0.0.1", 80, 0), openObs("10.0.0.2", 443, 0))
	all, link := walkDelta(t, s, "hostPorts/delta?$filter=status%20eq%20'open'%20and%20port%20ne%20443&$select=port,status")
	if len(all) != 2 {
		t.Fatalf("the filtered first round has %d items", len(all))
	}
	for _, e := range all {
		if len(e) != 3 || e["id"] == nil || e["port"] == nil || e["status"] == nil {
			t.Fatalf("a selected item has members %v", e)
		}
	}
	if !strings.Contains(link, "$filter=status%20eq%20'open'%20and%20port%20ne%20443&$select=port,status&$deltatoken=") {
		t.Fatalf("the deltaLink does not carry the query: %s", link)
	}
	importObs(t, db, &portolan.Observation{Host: "10.0.0.1", Port: 80, Status: portolan.StatusClosed, ScannedAt: deltaDay.AddDate(0, 0, 1), Source: "nmap"},
		openObs("10.0.0.1", 22, 2))
	entries, _ := walkDelta(t, s, link)
	want := []string{"-" + portolan.HostPortID("10.0.0.1", portolan.TCP, 80), portolan.HostPortID("10.0.0.1", portolan.TCP, 22)}
	slices.Sort(want)
	if got := entryIDs(entries); !slices.Equal(got, want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
	for _, e := range entries {
		if r, ok := e["@removed"].(map[string]any); ok && (r["reason"] != "changed" || len(e) != 2) {
			t.Fatalf("removed entry %v", e)
		}
	}
}

func TestDeltaHostsAndCertificates(t *testing.T) {
	s, db := deltaServer(t)
	importObs(t, db, openObs("10.0.0.1", 443, 0, func(o *portolan.Observation) { o.Certificate = storetest.TestCertificates()[0] }))
	hosts, hostLink := walkDelta(t, s, "hosts/delta")
	certs, certLink := walkDelta(t, s, "sslCertificates/delta")
	if len(hosts) != 1 || len(certs) != 1 {
		t.Fatalf("first rounds: %d hosts, %d certificates", len(hosts), len(certs))
	}
	importObs(t, db, openObs("10.0.0.2", 443, 1, func(o *portolan.Observation) { o.Certificate = storetest.TestCertificates()[0] }))
	hosts, _ = walkDelta(t, s, hostLink)
	certs, _ = walkDelta(t, s, certLink)
	if got := entryIDs(hosts); !slices.Equal(got, []string{"10.0.0.2"}) {
		t.Fatalf("changed hosts %v", got)
	}
	if len(certs) != 1 || certs[0]["lastSeenDateTime"] != "2026-11-02T12:00:00Z" {
		t.Fatalf("changed certificates %v", certs)
	}
}
