// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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

// TestServeImportsIntoPostgreSQL runs the real binary: `serve --store
// postgres://…` takes a file of several batches through POST
// /portolan/v1/imports, storing two batches at once, and ends with the
// records and the log of a one-batch-at-a-time `ingest --store` of the same
// file, and its counts.
func TestServeImportsIntoPostgreSQL(t *testing.T) {
	base := os.Getenv("PORTOLAN_TEST_POSTGRES")
	if base == "" {
		t.Skip("set PORTOLAN_TEST_POSTGRES (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the import into PostgreSQL")
	}
	tmp := t.TempDir()
	files, hosts := writeScanFiles(t, tmp, 1, 1500) // about 13,000 observations: two batches
	want, got := pgSchema(t, base, "want"), pgSchema(t, base, "got")
	ref := e2eRunBinary(t, "ingest", "--store", want, "--concurrency", "1", "--no-progress", files[0])
	refCounts := regexp.MustCompile(`ingested: 1 file, (\d+) observations, (\d+) records created`).FindStringSubmatch(ref)
	if refCounts == nil {
		t.Fatalf("reference ingest: %s", ref)
	}
	data := filepath.Join(tmp, "data")
	s := e2eStartServe(t, nil, "--store", got, "--data", data, "--addr", "127.0.0.1:0")
	s.waitHealthy(t, &http.Client{Timeout: 10 * time.Second})
	token := strings.TrimSpace(e2eRunBinary(t, "token", "--store", got, "--data", data, "--roles", "Portolan.Ingest"))
	body, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	status, v := e2ePost(t, s.URL+"/portolan/v1/imports", token, body)
	if status != http.StatusOK || fmt.Sprint(v["observations"]) != refCounts[1] || fmt.Sprint(v["created"]) != refCounts[2] || fmt.Sprint(v["rejected"]) != "0" {
		t.Fatalf("import: %d %v; the reference ingested %s observations, created %s records", status, v, refCounts[1], refCounts[2])
	}
	if !bytes.Equal(pgDump(t, want, hosts), pgDump(t, got, hosts)) {
		t.Errorf("the records of the HTTP import differ from one ingest's: %s", firstDifference(pgDump(t, want, hosts), pgDump(t, got, hosts)))
	}
	if a, b := pgCount(t, got, "SELECT count(*) FROM observation_log"), pgCount(t, want, "SELECT count(*) FROM observation_log"); a != b {
		t.Errorf("observation log: %d rows from the import, %d from the ingest", a, b)
	}
}
