// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"portolan"
	"portolan/internal/odata"
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
	if _, err := raw.Exec(`UPDATE certificates SET not_before = NULL, not_after = NULL; DELETE FROM certificate_fields`); err != nil {
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
