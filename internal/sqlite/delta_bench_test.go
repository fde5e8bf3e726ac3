// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"portolan"
	"portolan/internal/sqlite"
)

// BenchmarkDeltaPage measures one delta page (100 items, and 1,000 as the
// notification dispatcher reads them; no filter) after 1% of the records
// changed: PORTOLAN_BENCH_RECORDS records (default 100000) are created, 1%
// of them rescanned with a new banner, and each iteration reads the first
// page of the round from before the rescan.
func BenchmarkDeltaPage(b *testing.B) {
	ctx := context.Background()
	records := 100000
	if n, err := strconv.Atoi(os.Getenv("PORTOLAN_BENCH_RECORDS")); err == nil && n > 0 {
		records = n
	}
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "delta.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	obs := func(i int, at time.Time, banner string) *portolan.Observation {
		o := &portolan.Observation{Host: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Port: 443, Status: portolan.StatusOpen,
			ScannedAt: at, Source: "bench", Banner: banner, ScanProtocol: "http"}
		o.Normalize()
		return o
	}
	for i := 0; i < records; i += 20000 {
		var batch []*portolan.Observation
		for j := i; j < min(i+20000, records); j++ {
			batch = append(batch, obs(j, t0, "HTTP/1.1 200 OK"))
		}
		if _, err := db.ImportObservations(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	wm, err := db.ChangeWatermark(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var batch []*portolan.Observation
	for j := 0; j < records; j += 100 {
		batch = append(batch, obs(j, t0.Add(24*time.Hour), "HTTP/1.1 302 Found"))
	}
	if _, err := db.ImportObservations(ctx, batch); err != nil {
		b.Fatal(err)
	}
	until, err := db.ChangeWatermark(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, top := range []int{100, 1000} {
		b.Run(fmt.Sprintf("top=%d", top), func(b *testing.B) {
			for b.Loop() {
				page, err := db.HostPortChanges(ctx, portolan.DeltaQuery{Since: wm.Position, Until: until.Position, Top: top})
				if err != nil || len(page.Entries) != top {
					b.Fatalf("%d entries: %v", len(page.Entries), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
		})
	}
}
