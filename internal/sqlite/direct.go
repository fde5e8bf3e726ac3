// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"

	"portolan/internal/sqlstore"
)

// directReads runs the reads both stores share (readDialect.Each: a
// host's ports, certificates) on read-only connections of its own,
// opened through SQLite's C API (modernc.org/sqlite/lib, the code the
// driver itself calls) rather than through database/sql and the driver.
//
// A host's page is a handful of rows, so what a read costs beside
// SQLite's own work is what each statement and each column costs on the
// way: database/sql's locks and conversions, the driver's column names
// and declared types fetched for every statement, a C string allocated
// for every argument, a boxed value for every column, and the
// connection's mutex taken for every call, inside SQLite as well (the
// driver opens connections in serialized mode). That was about a third
// of reading a random host of a million-hostPort store
// (BenchmarkFindHostPortsOfAStore). Here a connection is used by one
// goroutine at a time, so it is opened without its mutex; a statement is
// prepared once a connection and kept; columns are read by type straight
// into the caller's variables.
//
// The connections are set up as the read pool's are (a 64 MB page cache,
// the database mapped into memory, query_only), and every read is its own
// read transaction, as a statement on the read pool is. The Go functions
// registered with the driver (search.go, instants.go) do not exist on
// these connections: Each's statements do not call them.
type directReads struct {
	path string
	max  int32
	open atomic.Int32
	idle chan *directConn

	// closeMu orders returning a connection against closing the pool,
	// so that a connection in use when the store closes is closed when
	// it comes back rather than left idle; closed ends the waits for one.
	closeMu sync.Mutex
	closed  chan struct{}
}

func newDirectReads(path string, max int) *directReads {
	return &directReads{path: path, max: int32(max), idle: make(chan *directConn, max), closed: make(chan struct{})}
}

var errStoreClosed = errors.New("the store is closed")

func (p *directReads) isClosed() bool {
	select {
	case <-p.closed:
		return true
	default:
		return false
	}
}

// get returns an idle connection, opens one while fewer than max are
// open, or waits for one to come back.
func (p *directReads) get(ctx context.Context) (*directConn, error) {
	select {
	case c := <-p.idle:
		return c, nil
	default:
	}
	if p.isClosed() {
		return nil, errStoreClosed
	}
	if p.open.Add(1) <= p.max {
		c, err := openDirect(p.path)
		if err != nil {
			p.open.Add(-1)
			return nil, err
		}
		return c, nil
	}
	p.open.Add(-1)
	select {
	case c := <-p.idle:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.closed:
		return nil, errStoreClosed
	}
}

func (p *directReads) put(c *directConn) {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if p.isClosed() {
		p.discard(c)
		return
	}
	p.idle <- c
}

func (p *directReads) discard(c *directConn) {
	c.close()
	p.open.Add(-1)
}

func (p *directReads) close() {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if !p.isClosed() {
		close(p.closed)
	}
	for {
		select {
		case c := <-p.idle:
			p.discard(c)
		default:
			return
		}
	}
}

// each runs q with args, scans every row into dest and calls fn after
// each (sqlstore.Dialect.Each). A context that can be cancelled
// interrupts the statement when it is.
func (p *directReads) each(ctx context.Context, q string, args []any, dest []any, fn func() error) error {
	c, err := p.get(ctx)
	if err != nil {
		return err
	}
	defer p.put(c)
	stmt, kept, err := c.prepare(q, true)
	if err != nil {
		return err
	}
	defer c.release(stmt, kept)
	if err := c.bind(stmt, args); err != nil {
		return err
	}
	if n := int(sqlite3.Xsqlite3_column_count(c.tls, stmt)); n != len(dest) {
		return fmt.Errorf("%d columns into %d destinations", n, len(dest))
	}
	return c.step(ctx, stmt, func() error {
		if err := c.scan(stmt, dest); err != nil {
			return err
		}
		if fn != nil {
			return fn()
		}
		return nil
	})
}

// step runs stmt to its end, calling onRow on each row. A context that
// can be cancelled interrupts the statement when it is.
func (c *directConn) step(ctx context.Context, stmt uintptr, onRow func() error) error {
	if ctx.Done() != nil {
		// The interrupt must not outlive the statement: once stop fails,
		// the function runs or has run, and the connection is used again
		// only after it is done.
		interrupted := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			defer close(interrupted)
			tls := libc.NewTLS()
			defer tls.Close()
			sqlite3.Xsqlite3_interrupt(tls, c.db)
		})
		defer func() {
			if !stop() {
				<-interrupted
			}
		}()
	}
	for {
		switch rc := sqlite3.Xsqlite3_step(c.tls, stmt); rc {
		case sqlite3.SQLITE_ROW:
			if err := onRow(); err != nil {
				return err
			}
		case sqlite3.SQLITE_DONE:
			return nil
		default:
			if err := ctx.Err(); err != nil {
				return err
			}
			return c.error(rc)
		}
	}
}

// directConn is one connection of directReads, used by one goroutine at a
// time.
type directConn struct {
	tls   *libc.TLS
	db    uintptr
	stmts map[string]uintptr
	// args holds the text and blob arguments of the read in progress
	// (bind), argCap bytes of C memory.
	args   uintptr
	argCap int
	// borrowed: db is the driver's connection, closed by the driver.
	borrowed bool
}

// maxDirectStmts bounds the statements a connection keeps prepared (each
// holds its compiled program); past it a statement is finalized
// after its read. The shapes Each runs are few: a host's page, a page of
// a name's addresses or of keys (one shape a count), certificates.
const maxDirectStmts = 128

// directPragmas set a connection up as the read pool's are (sqlite.go).
const directPragmas = "PRAGMA cache_size=-65536; PRAGMA mmap_size=2147418112; PRAGMA query_only=1; PRAGMA temp_store=MEMORY"

func openDirect(path string) (_ *directConn, err error) {
	c := &directConn{tls: libc.NewTLS(), stmts: map[string]uintptr{}}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	name, err := libc.CString(path)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, name)
	out := c.tls.Alloc(pointerSize)
	defer c.tls.Free(pointerSize)
	rc := sqlite3.Xsqlite3_open_v2(c.tls, name, out, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	// SQLite returns a handle, to be closed, even when the open fails.
	c.db = pointerAt(out)
	if rc != sqlite3.SQLITE_OK {
		return nil, c.error(rc)
	}
	sqlite3.Xsqlite3_extended_result_codes(c.tls, c.db, 1)
	sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, 30000)
	pragmas, err := libc.CString(directPragmas)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, pragmas)
	if rc := sqlite3.Xsqlite3_exec(c.tls, c.db, pragmas, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		return nil, c.error(rc)
	}
	return c, nil
}

func (c *directConn) close() {
	if c.tls == nil {
		return
	}
	for _, stmt := range c.stmts {
		sqlite3.Xsqlite3_finalize(c.tls, stmt)
	}
	c.stmts = nil
	if c.db != 0 && !c.borrowed {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
		c.db = 0
	}
	if c.args != 0 {
		libc.Xfree(c.tls, c.args)
		c.args, c.argCap = 0, 0
	}
	c.tls.Close()
	c.tls = nil
}

// prepare returns q's statement and whether it is kept: prepared once
// and, when keep is set, kept while there is room (SQLite prepares it
// again by itself when the schema changes).
func (c *directConn) prepare(q string, keep bool) (stmt uintptr, kept bool, err error) {
	if stmt, ok := c.stmts[q]; ok {
		return stmt, true, nil
	}
	text, err := libc.CString(q)
	if err != nil {
		return 0, false, err
	}
	defer libc.Xfree(c.tls, text)
	out := c.tls.Alloc(pointerSize)
	defer c.tls.Free(pointerSize)
	var flags uint32
	if keep && len(c.stmts) < maxDirectStmts {
		flags = sqlite3.SQLITE_PREPARE_PERSISTENT
	}
	if rc := sqlite3.Xsqlite3_prepare_v3(c.tls, c.db, text, -1, flags, out, 0); rc != sqlite3.SQLITE_OK {
		return 0, false, c.error(rc)
	}
	if stmt = pointerAt(out); stmt == 0 {
		return 0, false, errors.New("the statement is empty")
	}
	if flags != 0 {
		c.stmts[q] = stmt
	}
	return stmt, flags != 0, nil
}

// release readies a kept statement for its next read, or finalizes one
// that is not kept.
//
// Its bindings stay until the next read binds every parameter again (bind
// checks their number). Clearing them would cost a whole new prepare:
// sqlite3_clear_bindings marks a statement whose plan may depend on its
// parameters' values (SQLite's STAT4, which this build has, does so for
// any parameter compared with an indexed column) as expired, and its next
// step prepares it again, which made a host's page seven times slower to
// read.
func (c *directConn) release(stmt uintptr, kept bool) {
	if !kept {
		sqlite3.Xsqlite3_finalize(c.tls, stmt)
		return
	}
	sqlite3.Xsqlite3_reset(c.tls, stmt)
}

const pointerSize = int(unsafe.Sizeof(uintptr(0)))

// pointerAt reads the pointer SQLite wrote at p, memory of the C side
// (an out parameter).
func pointerAt(p uintptr) uintptr {
	return *(*uintptr)(unsafe.Pointer(unsafe.SliceData(libc.GoBytes(p, pointerSize))))
}

// bind binds args to stmt's parameters in order. Text and blobs are
// copied into the connection's argument buffer, C memory that SQLite reads
// in place (SQLITE_STATIC) until the next read binds again: SQLite's code
// must not be handed Go memory, which the Go runtime may move or free
// behind its back (the race detector's pointer checks stop it).
func (c *directConn) bind(stmt uintptr, args []any) error {
	if n := int(sqlite3.Xsqlite3_bind_parameter_count(c.tls, stmt)); n != len(args) {
		return fmt.Errorf("%d arguments for %d parameters", len(args), n)
	}
	size := 0
	for _, arg := range args {
		switch v := arg.(type) {
		case string:
			size += len(v) + 1
		case sql.NullString:
			size += len(v.String) + 1
		case []byte:
			size += len(v) + 1
		}
	}
	if size > c.argCap {
		if c.args != 0 {
			libc.Xfree(c.tls, c.args)
		}
		c.argCap = max(size, 256)
		if c.args = libc.Xmalloc(c.tls, types.Size_t(c.argCap)); c.args == 0 {
			c.argCap = 0
			return fmt.Errorf("cannot allocate %d bytes for the arguments", size)
		}
	}
	var buf []byte
	if c.argCap > 0 {
		buf = libc.GoBytes(c.args, c.argCap)
	}
	at := 0
	// text copies b into the buffer and returns where it is; an empty value
	// points at a byte of the buffer too, since SQLite binds a nil pointer
	// as NULL.
	text := func(b string) uintptr {
		p := c.args + uintptr(at)
		at += copy(buf[at:], b) + 1
		return p
	}
	for i, arg := range args {
		param := int32(i + 1)
		var rc int32
		switch v := arg.(type) {
		case nil:
			rc = sqlite3.Xsqlite3_bind_null(c.tls, stmt, param)
		case sql.NullInt64:
			if !v.Valid {
				rc = sqlite3.Xsqlite3_bind_null(c.tls, stmt, param)
				break
			}
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, stmt, param, v.Int64)
		case sql.NullString:
			if !v.Valid {
				rc = sqlite3.Xsqlite3_bind_null(c.tls, stmt, param)
				break
			}
			rc = sqlite3.Xsqlite3_bind_text(c.tls, stmt, param, text(v.String), int32(len(v.String)), sqlite3.SQLITE_STATIC)
		case string:
			rc = sqlite3.Xsqlite3_bind_text(c.tls, stmt, param, text(v), int32(len(v)), sqlite3.SQLITE_STATIC)
		case []byte:
			if v == nil {
				rc = sqlite3.Xsqlite3_bind_null(c.tls, stmt, param)
				break
			}
			rc = sqlite3.Xsqlite3_bind_blob(c.tls, stmt, param, text(string(v)), int32(len(v)), sqlite3.SQLITE_STATIC)
		case int:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, stmt, param, int64(v))
		case int64:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, stmt, param, v)
		case int32:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, stmt, param, int64(v))
		case bool:
			var b int64
			if v {
				b = 1
			}
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, stmt, param, b)
		case float64:
			rc = sqlite3.Xsqlite3_bind_double(c.tls, stmt, param, v)
		default:
			return fmt.Errorf("argument %d: cannot bind a %T", i+1, arg)
		}
		if rc != sqlite3.SQLITE_OK {
			return c.error(rc)
		}
	}
	return nil
}

// scan reads the row stmt is on into dest, a pointer a column, as
// database/sql's Scan does for the destinations the shared reads use
// (int, int64, bool, string, []byte, float64, sqlstore.Instant without
// boxing, any sql.Scanner); another is an error naming it.
func (c *directConn) scan(stmt uintptr, dest []any) error {
	for i, d := range dest {
		col := int32(i)
		var err error
		switch sqlite3.Xsqlite3_column_type(c.tls, stmt, col) {
		case sqlite3.SQLITE_NULL:
			err = scanNull(d)
		case sqlite3.SQLITE_INTEGER:
			err = scanInt(d, sqlite3.Xsqlite3_column_int64(c.tls, stmt, col))
		case sqlite3.SQLITE_FLOAT:
			err = scanValue(d, sqlite3.Xsqlite3_column_double(c.tls, stmt, col))
		case sqlite3.SQLITE_TEXT:
			p := sqlite3.Xsqlite3_column_text(c.tls, stmt, col)
			err = scanText(d, libc.GoBytes(p, int(sqlite3.Xsqlite3_column_bytes(c.tls, stmt, col))))
		default: // SQLITE_BLOB
			p := sqlite3.Xsqlite3_column_blob(c.tls, stmt, col)
			err = scanBlob(d, libc.GoBytes(p, int(sqlite3.Xsqlite3_column_bytes(c.tls, stmt, col))))
		}
		if err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	return nil
}

func scanNull(dest any) error {
	switch d := dest.(type) {
	case *sql.NullInt64:
		*d = sql.NullInt64{}
		return nil
	case *sql.NullString:
		*d = sql.NullString{}
		return nil
	case *[]byte:
		*d = nil
		return nil
	case sql.Scanner:
		return d.Scan(nil)
	}
	return fmt.Errorf("cannot store NULL in a %T", dest)
}

func scanInt(dest any, v int64) error {
	switch d := dest.(type) {
	case *int:
		*d = int(v)
	case *int64:
		*d = v
	case *sql.NullInt64:
		*d = sql.NullInt64{Int64: v, Valid: true}
	case *bool:
		if v != 0 && v != 1 {
			return fmt.Errorf("cannot store %d in a *bool", v)
		}
		*d = v == 1
	case *sqlstore.Instant:
		d.ScanUnix(v)
	default:
		return scanValue(dest, v)
	}
	return nil
}

// scanText copies b, SQLite's memory, into the destination.
func scanText(dest any, b []byte) error {
	switch d := dest.(type) {
	case *string:
		*d = string(b)
	case *sql.NullString:
		*d = sql.NullString{String: string(b), Valid: true}
	case *[]byte:
		*d = append(make([]byte, 0, len(b)), b...)
	default:
		return scanValue(dest, string(b))
	}
	return nil
}

// scanBlob copies b, SQLite's memory, into the destination; an empty
// blob is a nil slice, as the driver has it.
func scanBlob(dest any, b []byte) error {
	switch d := dest.(type) {
	case *[]byte:
		*d = nil
		if len(b) > 0 {
			*d = append(make([]byte, 0, len(b)), b...)
		}
	case *string:
		*d = string(b)
	default:
		return scanValue(dest, append(make([]byte, 0, len(b)), b...))
	}
	return nil
}

// scanValue stores v through a Scanner, or a float into a *float64;
// other destinations are the caller's mistake.
func scanValue(dest, v any) error {
	switch d := dest.(type) {
	case *float64:
		if f, ok := v.(float64); ok {
			*d = f
			return nil
		}
	case sql.Scanner:
		return d.Scan(v)
	}
	return fmt.Errorf("cannot store a %T in a %T", v, dest)
}

// directError is an error of SQLite's C API, with its result code as the
// driver's *sqlite.Error carries it (storeError reads both).
type directError struct {
	code int
	msg  string
}

func (e *directError) Error() string { return e.msg }

// error describes rc with the connection's message.
func (c *directConn) error(rc int32) error {
	msg := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	if c.db != 0 {
		if detail := libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db)); detail != msg {
			msg += ": " + detail
		}
	}
	return &directError{code: int(rc), msg: fmt.Sprintf("%s (%d)", msg, rc)}
}
