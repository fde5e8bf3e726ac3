// SPDX-License-Identifier: Apache-2.0

package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/postgres"
)

// envURL names the variable that enables the tests against PostgreSQL.
const envURL = "PORTOLAN_TEST_POSTGRES"

// testURL returns the URL of the test server, or skips the test.
func testURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		tb.Skip("set " + envURL + " to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL store's tests")
	}
	return u
}

// withSearchPath returns base with search_path set to schema. pgx passes
// URL parameters it does not know to the server as run-time parameters
// (ConnConfig.RuntimeParams), so every connection of the pool uses the
// schema.
func withSearchPath(tb testing.TB, base, schema string) string {
	tb.Helper()
	if !strings.Contains(base, "://") {
		return base + " search_path=" + schema
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", envURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// mustExec runs statements on a connection of its own.
func mustExec(tb testing.TB, base string, sql string, args ...any) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// newSchema creates an empty schema, dropped at cleanup, so that tests run
// in parallel on one database, and returns a URL that selects it.
func newSchema(tb testing.TB, base string) string {
	tb.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	mustExec(tb, base, "CREATE SCHEMA "+name)
	tb.Cleanup(func() { mustExec(tb, base, "DROP SCHEMA "+name+" CASCADE") })
	return withSearchPath(tb, base, name)
}

// mustOpen opens a store at u, closed at cleanup.
func mustOpen(tb testing.TB, u string, r portolan.Recognizer) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), u, postgres.Options{Recognizer: r})
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// queryInt runs a query returning one integer.
func queryInt(tb testing.TB, u, sql string) int {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return n
}
