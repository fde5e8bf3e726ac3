// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/postgres"
)

// TestCommandsOnPostgreSQL runs ingest and rebuild with --store and with
// PORTOLAN_STORE against the PostgreSQL server named by
// PORTOLAN_TEST_POSTGRES, in a schema of its own.
func TestCommandsOnPostgreSQL(t *testing.T) {
	base := os.Getenv("PORTOLAN_TEST_POSTGRES")
	if base == "" {
		t.Skip("set PORTOLAN_TEST_POSTGRES (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the commands against PostgreSQL")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("t_cmd_%d", rand.Uint64())
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	store := u.String()

	out, errOut, err := run(t, nil, "ingest", "--store", store, samples+"nmap_sV_scripts_5ports.xml", samples+"nmap_sV_scripts_5ports_rescan_18080_closed.xml")
	if err != nil || !strings.Contains(out, "2 files, 10 observations, 5 records created") {
		t.Fatalf("ingest --store: %v %q %s", err, out, errOut)
	}
	out, _, err = run(t, map[string]string{"PORTOLAN_STORE": store}, "rebuild")
	if err != nil || !strings.HasPrefix(out, "rebuilt: 10 observations replayed") {
		t.Fatalf("rebuild with PORTOLAN_STORE: %v %q", err, out)
	}
	db, err := postgres.Open(ctx, store, postgres.Options{Recognizer: recognizer()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hp, err := db.FindHostPortByID(ctx, portolan.HostPortID("127.0.0.1", portolan.TCP, 18080))
	if err != nil || hp.Status != portolan.StatusClosed || hp.TimesObserved != 1 {
		t.Fatalf("18080 in PostgreSQL after the rescan: %+v, %v", hp, err)
	}
}
