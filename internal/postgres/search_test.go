// SPDX-License-Identifier: Apache-2.0

package postgres_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/postgres"
	"portolan/internal/storetest"
)

func TestSearch(t *testing.T) {
	base := testURL(t)
	storetest.RunSearch(t, func(t testing.TB, r portolan.Recognizer) portolan.Store {
		db, err := postgres.Open(context.Background(), newSchema(t, base), postgres.Options{Recognizer: r})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return db
	})
}

func TestSearchWhileImporting(t *testing.T) {
	base := testURL(t)
	storetest.RunSearchWhileImporting(t, func(t testing.TB, r portolan.Recognizer) portolan.Store {
		db, err := postgres.Open(context.Background(), newSchema(t, base), postgres.Options{Recognizer: r})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return db
	})
}

// TestSearchUnderALinguisticCollation runs the search property test in a
// database whose default collation is ICU's en-US, where text sorts as
// people read it ('a' < 'B' < 'b'): ids and hosts must still page in byte
// order, as the Go evaluator orders them.
func TestSearchUnderALinguisticCollation(t *testing.T) {
	base := testURL(t)
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		t.Skip("PORTOLAN_TEST_POSTGRES is not a URL; cannot name another database")
	}
	const name = "portolan_test_icu"
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"); err != nil {
			conn.Close(ctx)
			t.Skipf("this server cannot create an ICU database: %v", err)
		}
	}
	conn.Close(ctx)
	u.Path = "/" + name
	storetest.RunSearch(t, func(t testing.TB, r portolan.Recognizer) portolan.Store {
		db, err := postgres.Open(context.Background(), newSchema(t, u.String()), postgres.Options{Recognizer: r})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return db
	})
}
