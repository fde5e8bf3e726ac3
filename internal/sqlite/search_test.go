// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"portolan"
	"portolan/internal/odata"
	"portolan/internal/sqlfilter"
	"portolan/internal/sqlite"
	"portolan/internal/storetest"
)

func TestSearch(t *testing.T) {
	storetest.RunSearch(t, func(t testing.TB, r portolan.Recognizer) portolan.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlite.Options{Recognizer: r})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return db
	})
}

// TestFillCertificateFields: a store of an older schema holds certificates
// without their validity and fields; opening it fills them, so that
// $filter finds them.
func TestFillCertificateFields(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := &portolan.Observation{Host: "192.0.2.1", Port: 443, Status: portolan.StatusOpen, ScannedAt: storetest.Base,
		Source: "nmap", Certificate: storetest.TestCertificates()[1]}
	if err := o.Normalize(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportObservations(ctx, []*portolan.Observation{o}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// What a schema before migration 0002 left: no validity, no fields.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE certificates SET not_before = NULL, not_after = NULL; UPDATE host_ports SET cert_not_after = NULL; DELETE FROM certificate_fields`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	filter, err := odata.ParseFilter("expirationDateTime gt 2027-01-01T00:00:00Z and subject/commonName eq 'SVC1.example.test'", certificateType)
	if err != nil {
		t.Fatal(err)
	}
	page, err := db.FilterSSLCertificates(ctx, portolan.SearchQuery{Filter: filter, Count: true, Top: 10})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 1 || len(page.Items) != 1 || page.Items[0].Subject.CommonName != "svc1.example.test" {
		t.Fatalf("after the fill: %d certificates (%+v)", page.Total, page.Items)
	}
	// The record's copy of the expiry is filled too.
	expiry := page.Items[0].ExpirationDateTime
	ports, err := db.SearchHostPorts(ctx, portolan.SearchQuery{Count: true, Top: 10, Filter: &portolan.Compare{Op: portolan.OpEq,
		Path: portolan.Path{Name: "mostRecentSslCertificate/expirationDateTime", Kind: portolan.ValueTime}, Value: portolan.Value{Kind: portolan.ValueTime, Time: expiry}}})
	if err != nil {
		t.Fatal(err)
	}
	if ports.Total != 1 || len(ports.Items) != 1 || ports.Items[0].Port != 443 {
		t.Fatalf("hostPorts whose certificate expires at %v after the fill: %d (%+v)", expiry, ports.Total, ports.Items)
	}
}

// TestExpiryOrderWalksAnIndex holds the plan of "certificates expiring
// soonest" to a walk of host_ports_cert_not_after that stops after the
// page: sorting every match (USE TEMP B-TREE) made it grow with the store.
func TestExpiryOrderWalksAnIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	expiry := portolan.Path{Name: "mostRecentSslCertificate/expirationDateTime", Kind: portolan.ValueTime}
	plan, err := sqlfilter.NewPlan(sqlite.Dialect(), sqlfilter.HostPortSchema(sqlite.Tables()), "host_ports hp", "hp.first_seen IS NOT NULL",
		portolan.SearchQuery{Top: 100, OrderBy: []portolan.OrderKey{{Path: expiry}},
			Filter: &portolan.Compare{Op: portolan.OpLt, Path: expiry, Value: portolan.Value{Kind: portolan.ValueTime, Time: storetest.Base}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := raw.Query("EXPLAIN QUERY PLAN "+plan.PageSQL, plan.PageArgs...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	all := strings.Join(steps, "; ")
	t.Log(all)
	if !strings.Contains(all, "host_ports_cert_not_after") || strings.Contains(all, "TEMP B-TREE") {
		t.Fatalf("the plan of the expiry order: %s\n%s", all, plan.PageSQL)
	}
}

// certificateType is as much of sslCertificate as the fill test filters on.
var certificateType = &odata.EntityType{Name: "microsoft.graph.security.sslCertificate", Properties: []odata.Property{
	{Name: "expirationDateTime", Kind: odata.KindDateTime, Filterable: true, Sortable: true},
	{Name: "subject", Kind: odata.KindComplex, Filterable: true, Type: &odata.EntityType{Name: "microsoft.graph.security.sslCertificateEntity", Properties: []odata.Property{
		{Name: "commonName", Kind: odata.KindString, Filterable: true, Sortable: true},
	}}},
}}

func TestSearchWhileImporting(t *testing.T) {
	storetest.RunSearchWhileImporting(t, func(t testing.TB, r portolan.Recognizer) portolan.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlite.Options{Recognizer: r})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return db
	})
}
