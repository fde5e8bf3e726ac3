// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/obslog"
)

// copyRows is the rows of one staging table in PostgreSQL's binary COPY
// format, encoded as they are staged. Staging rows as []any made an import
// box every value (an allocation per time, per port number above 255, per
// string) and then had pgx look up an encoder for each: a fifth of the
// client's CPU, in allocation, collection and encoding, went to rows that
// live for one COPY. The writers below know each column's type and append
// its bytes: the staging tables hold text, bytea, integer, smallint and
// timestamptz only.
//
// The format (the COPY documentation's "Binary Format"): a signature and two
// 32-bit words, then per row a 16-bit field count and per field a 32-bit
// length (-1 for NULL) and the value in the type's binary send format, then
// a 16-bit -1.
type copyRows struct {
	buf  []byte // the header and the rows, without the trailer
	rows int
}

// copySignature is the 11-byte signature, the flags (no OIDs) and the
// header extension's length (none).
const copySignature = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

// copyTrailer ends the data: a field count of -1.
const copyTrailer = "\xff\xff"

// postgresEpoch is 2000-01-01 00:00:00 UTC in Unix seconds: timestamptz's
// binary form counts microseconds from it.
const postgresEpoch = 946684800

// row begins a row of fields values.
func (c *copyRows) row(fields int) {
	if len(c.buf) == 0 {
		c.buf = append(c.buf, copySignature...)
	}
	c.buf = binary.BigEndian.AppendUint16(c.buf, uint16(fields))
	c.rows++
}

func (c *copyRows) length(n int) { c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(n)) }

// null is a NULL field.
func (c *copyRows) null() { c.buf = append(c.buf, 0xff, 0xff, 0xff, 0xff) }

func (c *copyRows) text(s string) {
	c.length(len(s))
	c.buf = append(c.buf, s...)
}

// textOrNull is NULL for "".
func (c *copyRows) textOrNull(s string) {
	if s == "" {
		c.null()
		return
	}
	c.text(s)
}

func (c *copyRows) bytea(b []byte) {
	c.length(len(b))
	c.buf = append(c.buf, b...)
}

// int4 is an integer column (a port number).
func (c *copyRows) int4(v int) {
	c.length(4)
	c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(int32(v)))
}

// int2 is a smallint column (a status rank).
func (c *copyRows) int2(v int) {
	c.length(2)
	c.buf = binary.BigEndian.AppendUint16(c.buf, uint16(int16(v)))
}

// timestamptz is t, to the microsecond as PostgreSQL keeps it.
func (c *copyRows) timestamptz(t time.Time) {
	c.unixMicro(t.UnixMicro())
}

// unixSeconds is the timestamptz of a Unix time in seconds.
func (c *copyRows) unixSeconds(s int64) { c.unixMicro(s * 1e6) }

func (c *copyRows) unixMicro(us int64) {
	c.length(8)
	c.buf = binary.BigEndian.AppendUint64(c.buf, uint64(us-postgresEpoch*1e6))
}

// timestamptzOrNull is NULL for the zero time ("never").
func (c *copyRows) timestamptzOrNull(t time.Time) {
	if t.IsZero() {
		c.null()
		return
	}
	c.timestamptz(t)
}

// grow makes room for n more bytes.
func (c *copyRows) grow(n int) {
	if len(c.buf) == 0 {
		n += len(copySignature)
	}
	c.buf = slices.Grow(c.buf, n)
}

// logRow is o's row of stage_observations: its host, its identity and its
// log entry as obslog.Encode writes it, encoded in place.
func (c *copyRows) logRow(o *portolan.Observation, id [16]byte) {
	one := [1]*portolan.Observation{o}
	c.row(3)
	c.text(o.Host)
	c.bytea(id[:])
	// The entry's length goes before it: written once the entry is, rather
	// than measured first (the batch's buffer was sized by logRowSize).
	at := len(c.buf)
	c.length(0)
	c.buf = obslog.Append(c.buf, one[:])
	binary.BigEndian.PutUint32(c.buf[at:], uint32(len(c.buf)-at-4))
}

// logRowSize is the length of o's logRow.
func logRowSize(o *portolan.Observation) int {
	return 2 + 4 + len(o.Host) + 4 + 16 + 4 + obslog.Size([]*portolan.Observation{o})
}

// copyIn COPYs rows into the named columns of a temporary table (nothing
// for no rows). The rows are read, not consumed: a retried transaction
// sends them again.
func copyIn(ctx context.Context, tx pgx.Tx, table string, columns []string, rows *copyRows) error {
	if rows == nil || rows.rows == 0 {
		return nil
	}
	sql := "COPY pg_temp." + table + " (" + strings.Join(columns, ", ") + ") FROM STDIN (FORMAT binary)"
	_, err := tx.Conn().PgConn().CopyFrom(ctx, io.MultiReader(bytes.NewReader(rows.buf), strings.NewReader(copyTrailer)), sql)
	return err
}
