// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"portolan"
)

// The records change only when observations are imported or rebuilt, and
// the API's main request, the ports of a host, is asked again and again
// (dashboards, SIEM polls, paging clients), so pages of ports are cached in
// memory and served while the database has not changed.
//
// Changes made through this DB bump a generation at once. Changes by other
// processes (a `portolan ingest` next to `portolan serve`) are noticed with
// SQLite's PRAGMA data_version, which a connection sees change when any
// other connection commits; it is asked at most every versionCheckInterval,
// so another process's import shows within that interval.
//
// The cache is bounded by pages and by an estimate of their size in memory
// (pageBytes), as the server's response cache is by bytes: 4,096 pages of a
// thousand records with their banners could otherwise hold gigabytes.
const (
	versionCheckInterval = 100 * time.Millisecond
	maxCachedPages       = 4096
	maxCachedPageBytes   = 32 << 20 // one page larger than this is not kept
	maxCachedTotalBytes  = 64 << 20
)

type cachedPage struct {
	generation uint64
	ports      []*portolan.HostPort
	total      int
	bytes      int // pageBytes of ports
}

// Fixed costs of pageBytes: a record with its id and slices, a banner, a
// service, as Go lays them out (64-bit), rounded up.
const (
	recordBytes  = 400
	bannerBytes  = 120
	serviceBytes = 160
)

// pageBytes estimates the memory a page of records holds: the structs and
// the strings they own. Strings shared between records (a host id) are
// counted each time; the estimate errs high.
func pageBytes(ports []*portolan.HostPort) int {
	n := 0
	for _, hp := range ports {
		n += recordBytes + len(hp.ID) + len(hp.Host) + len(hp.MostRecentSSLCertificateID)
		for _, b := range hp.Banners {
			n += bannerBytes + len(b.Banner) + len(b.ScanProtocol)
		}
		for _, c := range hp.Services {
			n += serviceBytes + len(c.ComponentID) + len(c.Component.Name) + len(c.Component.Version) + len(c.Component.Category)
		}
	}
	return n
}

type readCache struct {
	generation atomic.Uint64

	versionMu   sync.Mutex
	versionConn *sql.Conn     // the connection data_version is asked on
	checkEvery  time.Duration // 0: versionCheckInterval (tests set it)
	version     int64
	checkedAt   atomic.Int64 // Unix nanoseconds of the last check

	mu    sync.Mutex
	pages map[string]cachedPage
	bytes int // the sum of the pages' bytes
}

// currentGeneration returns the generation of the data, asking SQLite
// whether another process committed when the last check is old enough.
func (db *DB) currentGeneration(ctx context.Context) (uint64, error) {
	c := &db.cache
	now := time.Now().UnixNano()
	every := int64(cmp.Or(c.checkEvery, versionCheckInterval))
	if now-c.checkedAt.Load() >= every {
		c.versionMu.Lock()
		defer c.versionMu.Unlock()
		if now-c.checkedAt.Load() >= every {
			if c.versionConn == nil {
				conn, err := db.read.Conn(ctx)
				if err != nil {
					return 0, db.storeError("open version connection", err)
				}
				c.versionConn = conn
			}
			var v int64
			if err := c.versionConn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
				c.versionConn.Close()
				c.versionConn = nil
				return 0, db.storeError("read data version", err)
			}
			if v != c.version {
				c.version = v
				c.generation.Add(1)
			}
			c.checkedAt.Store(now)
		}
	}
	return c.generation.Load(), nil
}

// changed records that this DB committed a change.
func (db *DB) changed() { db.changedWriting(-1) }

// changedWriting is changed for a commit that wrote pages pages to the
// WAL (-1: not known).
func (db *DB) changedWriting(pages int) {
	db.cache.generation.Add(1)
	db.checkpoints.written(pages)
}

func pageKey(f portolan.HostPortFilter) string {
	var b strings.Builder
	b.WriteString(f.Host)
	b.WriteByte(0)
	if f.After != nil {
		b.WriteString(strconv.Itoa(f.After.Port))
		b.WriteByte('/')
		b.WriteString(string(f.After.Protocol))
		b.WriteByte('/')
		b.WriteString(f.After.Host)
	}
	b.WriteByte(0)
	b.WriteString(strconv.Itoa(f.Offset))
	b.WriteByte(0)
	b.WriteString(strconv.Itoa(f.Limit))
	if f.Count {
		b.WriteString("c")
	}
	return b.String()
}

func (c *readCache) get(key string, generation uint64) (cachedPage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pages[key]
	return p, ok && p.generation == generation
}

func (c *readCache) put(key string, p cachedPage) {
	p.bytes = pageBytes(p.ports)
	if p.bytes > maxCachedPageBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pages == nil || len(c.pages) >= maxCachedPages || c.bytes+p.bytes > maxCachedTotalBytes {
		// Dropping everything is cheaper than tracking use, and a full
		// cache of one generation refills from the most asked pages.
		c.pages = make(map[string]cachedPage)
		c.bytes = 0
	}
	if old, ok := c.pages[key]; ok {
		c.bytes -= old.bytes
	}
	c.pages[key] = p
	c.bytes += p.bytes
}

func (c *readCache) close() {
	c.versionMu.Lock()
	defer c.versionMu.Unlock()
	if c.versionConn != nil {
		c.versionConn.Close()
		c.versionConn = nil
	}
}

// Generation implements portolan.ChangeTracker.
func (db *DB) Generation(ctx context.Context) (uint64, error) { return db.currentGeneration(ctx) }

var _ portolan.ChangeTracker = (*DB)(nil)
