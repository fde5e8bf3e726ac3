// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/obslog"
)

// TestCopyRowsMatchPgx: the staging rows' own binary encoding gives the
// rows pgx's COPY gives for the same values, edge values included (NULLs,
// empty text and bytea, negative and extreme numbers, times before 2000
// and with microseconds, the zero time, text beyond ASCII), and a log
// row takes the bytes foreseen and stores obslog.Encode's entry.
func TestCopyRowsMatchPgx(t *testing.T) {
	u := os.Getenv("PORTOLAN_TEST_POSTGRES")
	if u == "" {
		t.Skip("set PORTOLAN_TEST_POSTGRES to a PostgreSQL URL to run the PostgreSQL store's tests")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const columns = `t text COLLATE "C", tn text COLLATE "C", b bytea, i integer, s smallint, ts timestamptz, tsn timestamptz, u timestamptz`
	names := []string{"t", "tn", "b", "i", "s", "ts", "tsn", "u"}
	for _, table := range []string{"copy_ours", "copy_pgx"} {
		if _, err := conn.Exec(ctx, "CREATE TEMP TABLE "+table+" ("+columns+")"); err != nil {
			t.Fatal(err)
		}
	}
	type row struct {
		text, textOrNull string
		bytes            []byte
		i4, i2           int
		at, atOrNull     time.Time
		unix             int64
	}
	rows := []row{
		{"192.0.2.1", "", []byte{}, 0, 0, time.Unix(0, 0).UTC(), time.Time{}, 0},
		{"2001:db8::1", "sha1", []byte{0, 1, 0xff}, 65535, 32767, time.Date(2026, 12, 5, 21, 4, 5, 123456000, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC), 1764968645},
		{"ünïcödé → 日本", "x", []byte("bytes"), -2147483648, -32768, time.Date(1970, 1, 1, 0, 0, 1, 0, time.FixedZone("CET", 3600)), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), 946684800},
		{"", "y", nil, 2147483647, 1, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2106, 2, 7, 6, 28, 15, 0, time.UTC), -1},
	}
	var ours copyRows
	var theirs [][]any
	for _, r := range rows {
		ours.row(8)
		ours.text(r.text)
		ours.textOrNull(r.textOrNull)
		ours.bytea(r.bytes)
		ours.int4(r.i4)
		ours.int2(r.i2)
		ours.timestamptz(r.at)
		ours.timestamptzOrNull(r.atOrNull)
		ours.unixSeconds(r.unix)
		var tn, tsn any
		if r.textOrNull != "" {
			tn = r.textOrNull
		}
		if !r.atOrNull.IsZero() {
			tsn = r.atOrNull
		}
		b := r.bytes
		if b == nil {
			b = []byte{} // ours writes an empty bytea; pgx writes nil as NULL
		}
		theirs = append(theirs, []any{r.text, tn, b, int32(r.i4), int16(r.i2), r.at, tsn, time.Unix(r.unix, 0).UTC()})
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := copyIn(ctx, tx, "copy_ours", names, &ours); err != nil {
		t.Fatalf("our COPY: %v", err)
	}
	if err := copyIn(ctx, tx, "copy_ours", names, &copyRows{}); err != nil {
		t.Fatalf("no rows: %v", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", "copy_pgx"}, names, pgx.CopyFromRows(theirs)); err != nil {
		t.Fatalf("pgx's COPY: %v", err)
	}
	var n, onlyOurs, onlyTheirs int
	if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM copy_ours),
		(SELECT count(*) FROM (SELECT * FROM copy_ours EXCEPT ALL SELECT * FROM copy_pgx) d),
		(SELECT count(*) FROM (SELECT * FROM copy_pgx EXCEPT ALL SELECT * FROM copy_ours) d)`).Scan(&n, &onlyOurs, &onlyTheirs); err != nil {
		t.Fatal(err)
	}
	if n != len(rows) || onlyOurs != 0 || onlyTheirs != 0 {
		t.Fatalf("%d rows copied (want %d); %d only in ours, %d only in pgx's", n, len(rows), onlyOurs, onlyTheirs)
	}

	// A log row: host, identity, the entry.
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE copy_log (host text, identity bytea, data bytea)`); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	o := &portolan.Observation{Host: "192.0.2.9", Port: 443, Protocol: portolan.TCP, Status: portolan.StatusOpen, Source: "native",
		ScannedAt: at, SeenAt: at, Banner: "SSH-2.0-OpenSSH_9.2p1", ScanProtocol: "ssh"}
	id := o.Identity()
	var log copyRows
	log.grow(logRowSize(o))
	room := cap(log.buf)
	log.logRow(o, id)
	if n := len(log.buf) - len(copySignature); n != logRowSize(o) || cap(log.buf) != room {
		t.Errorf("a log row of %d bytes, %d foreseen; capacity %d, then %d", n, logRowSize(o), room, cap(log.buf))
	}
	if err := copyIn(ctx, tx, "copy_log", []string{"host", "identity", "data"}, &log); err != nil {
		t.Fatal(err)
	}
	var data []byte
	if err := tx.QueryRow(ctx, `SELECT data FROM copy_log WHERE host = $1 AND identity = $2`, o.Host, id[:]).Scan(&data); err != nil {
		t.Fatal(err)
	}
	if want := obslog.Encode([]*portolan.Observation{o}); string(data) != string(want) {
		t.Fatalf("log entry %x, want obslog.Encode's %x", data, want)
	}
}
