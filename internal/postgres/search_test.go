// SPDX-License-Identifier: Apache-2.0

package postgres_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/postgres"
	"portolan/internal/sqlfilter"
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

// TestExpiryOrderCanWalkAnIndex holds "certificates expiring soonest" to a
// plan that takes its order from host_ports_cert_not_after: with sorting
// made prohibitively expensive, the planner must find the order in the
// index, at least its leading key (an index declared in another NULLS order
// than $orderby's gives none, and the page then sorts every match).
func TestExpiryOrderCanWalkAnIndex(t *testing.T) {
	ctx := context.Background()
	u := newSchema(t, testURL(t))
	mustOpen(t, u, nil)
	expiry := portolan.Path{Name: "mostRecentSslCertificate/expirationDateTime", Kind: portolan.ValueTime}
	for _, desc := range []bool{false, true} {
		plan, err := sqlfilter.NewPlan(postgres.Dialect(), sqlfilter.HostPortSchema(postgres.Tables()), "host_ports hp", "hp.first_seen IS NOT NULL",
			portolan.SearchQuery{Top: 100, OrderBy: []portolan.OrderKey{{Path: expiry, Desc: desc}},
				Filter: &portolan.Compare{Op: portolan.OpLt, Path: expiry, Value: portolan.Value{Kind: portolan.ValueTime, Time: storetest.Base}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "SET enable_sort = off; SET enable_seqscan = off"); err != nil {
			t.Fatal(err)
		}
		rows, _ := conn.Query(ctx, "EXPLAIN "+plan.PageSQL, plan.PageArgs...)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(lines, "\n")
		sorts := false
		for _, l := range lines {
			// An Incremental Sort of the tiebreak within one expiry (the
			// descending order) stops with the page; a Sort reads every
			// match first.
			sorts = sorts || strings.HasPrefix(strings.TrimLeft(l, " ->"), "Sort  (")
		}
		if !strings.Contains(all, "host_ports_cert_not_after") || sorts {
			t.Errorf("the plan of the expiry order (desc %v):\n%s\n%s", desc, all, plan.PageSQL)
		}
	}
}

// TestFillCertificateFields opens a store whose certificates lack what
// migration 0002 added (validity, fields) and whose records lack their
// certificate's expiry (migration 0007): the fill at open restores both,
// so that searches by expiry find them.
func TestFillCertificateFields(t *testing.T) {
	ctx := context.Background()
	u := newSchema(t, testURL(t))
	db, err := postgres.Open(ctx, u, postgres.Options{})
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
	mustExec(t, u, `UPDATE certificates SET not_before = NULL, not_after = NULL`)
	mustExec(t, u, `UPDATE host_ports SET cert_not_after = NULL`)
	mustExec(t, u, `DELETE FROM certificate_fields`)

	db = mustOpen(t, u, nil)
	certs, err := db.FilterSSLCertificates(ctx, portolan.SearchQuery{Count: true, Top: 10, Filter: &portolan.Compare{Op: portolan.OpEq,
		Path: portolan.Path{Name: "subject/commonName", Kind: portolan.ValueString}, Value: portolan.Value{Kind: portolan.ValueString, Str: "svc1.example.test"}}})
	if err != nil {
		t.Fatal(err)
	}
	if certs.Total != 1 || len(certs.Items) != 1 {
		t.Fatalf("after the fill: %d certificates (%+v)", certs.Total, certs.Items)
	}
	expiry := certs.Items[0].ExpirationDateTime
	ports, err := db.SearchHostPorts(ctx, portolan.SearchQuery{Count: true, Top: 10, Filter: &portolan.Compare{Op: portolan.OpEq,
		Path: portolan.Path{Name: "mostRecentSslCertificate/expirationDateTime", Kind: portolan.ValueTime}, Value: portolan.Value{Kind: portolan.ValueTime, Time: expiry}}})
	if err != nil {
		t.Fatal(err)
	}
	if ports.Total != 1 || len(ports.Items) != 1 || ports.Items[0].Port != 443 {
		t.Fatalf("hostPorts whose certificate expires at %v after the fill: %d (%+v)", expiry, ports.Total, ports.Items)
	}
}
