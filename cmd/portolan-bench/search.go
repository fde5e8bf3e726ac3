// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/fingerprint"
	"portolan/internal/gen"
	"portolan/internal/httpapi"
	"portolan/internal/postgres"
	"portolan/internal/sqlite"
)

// The search section measures estate-wide search (issue 11) where its cost
// lies, in the store: each store is built by the real `portolan ingest`
// from generated data, as the other sections build theirs, then opened
// in-process and asked the questions of gen.Searches through
// portolan.SearchService, parsed by the API's own parser. No HTTP and no
// response cache stand between the clock and the store.

// searchPageSize is the page the search section asks for, Graph's default.
const searchPageSize = 100

// searchGoal is issue 11's goal for the selective and indexed searches on
// the embedded store: p50 under this at the largest store ...
const searchGoal = 20 * time.Millisecond

// ... and at most this many times the smallest store's p50.
const searchGoalGrowth = 2.0

// searchNoGoal are the searches the goal does not cover, and why.
var searchNoGoal = map[string]string{
	"banner contains": "a substring of any banner, which no B-tree index answers: every banner is read",
}

// searchStore is one kind of store the section measures.
type searchStore struct {
	name string
	url  string // PostgreSQL; "" for the embedded store
}

// searchCell is what one measurement found: the matches and the latency of
// one search (page or count) on one store of one size.
type searchCell struct {
	matches     int
	p50, p99    time.Duration
	runs        int
	unsupported string // the store's message when it cannot answer
	failed      string // the error of a search that failed otherwise
}

// skipped reports whether the cell holds no figures.
func (c searchCell) skipped() bool { return c.unsupported != "" || c.failed != "" }

// searchScale is a store of one size, built and measured.
type searchScale struct {
	target    int
	hostPorts int
	note      string // how it was built
	page      []searchCell
	count     []searchCell
}

// search builds the stores of --search-scale, on the embedded store and on
// PostgreSQL with --store, and measures gen.Searches on each: one table
// per kind of store.
func (b *bench) search(ctx context.Context) ([]*table, error) {
	// The literals are the same for every size of the world (the address
	// range is that of its first hosts), so that sizes compare.
	searches := gen.Searches(gen.Config{Seed: b.o.seed, Hosts: gen.HostsFor(b.o.searchScale[0]), Rescans: 1})
	queries := make([]portolan.SearchQuery, len(searches))
	for i, s := range searches {
		q, err := httpapi.ParseHostPortSearch(s.Filter, s.OrderBy)
		if err != nil {
			return nil, fmt.Errorf("bench: search %q: %s: %w", s.Name, s.Filter, err)
		}
		queries[i] = q
	}
	stores := []searchStore{{name: "embedded store (SQLite)"}}
	if b.o.store != "" {
		stores = append(stores, searchStore{name: "PostgreSQL", url: b.o.store})
	}
	var tables []*table
	for _, st := range stores {
		var scales []*searchScale
		for _, target := range b.o.searchScale {
			sc, err := b.searchScale(ctx, st, target, searches, queries)
			if err != nil {
				return nil, err
			}
			scales = append(scales, sc)
		}
		tables = append(tables, searchTable(st, searches, scales, b.o.searchRuns))
	}
	return tables, nil
}

// searchScale builds (or reuses) a store of about target hostPorts and
// measures every search on it.
func (b *bench) searchScale(ctx context.Context, st searchStore, target int, searches []gen.Search, queries []portolan.SearchQuery) (*searchScale, error) {
	cfg := gen.Config{Seed: b.o.seed, Hosts: gen.HostsFor(target), Rescans: 1}
	sc := &searchScale{target: target}
	var store interface {
		portolan.SearchService
		Close() error
	}
	if st.url == "" {
		data, note, err := b.searchData(ctx, cfg, target)
		if err != nil {
			return nil, err
		}
		sc.note = note
		db, err := sqlite.OpenDir(ctx, data, sqlite.Options{Recognizer: fingerprint.Default()})
		if err != nil {
			return nil, err
		}
		store = db
	} else {
		u, note, drop, err := b.searchPostgres(ctx, st.url, cfg, target)
		if err != nil {
			return nil, err
		}
		defer drop()
		sc.note = note
		db, err := postgres.Open(ctx, u, postgres.Options{Recognizer: fingerprint.Default()})
		if err != nil {
			return nil, err
		}
		store = db
	}
	defer store.Close()

	all, err := store.SearchHostPorts(ctx, portolan.SearchQuery{Count: true, Top: -1})
	if err != nil {
		return nil, err
	}
	sc.hostPorts = all.Total
	for i, s := range searches {
		page := queries[i]
		page.Top = searchPageSize
		b.logf("%s, %s hostPorts: %s, first page", st.name, formatCount(sc.hostPorts), s.Name)
		pc, err := b.measureSearch(ctx, func() (int, error) {
			p, err := store.SearchHostPorts(ctx, page)
			return len(p.Items), err
		})
		if err != nil {
			return nil, err
		}
		// The count is what hostPorts/$count asks: the filter alone.
		count := portolan.SearchQuery{Filter: queries[i].Filter, Count: true, Top: -1}
		b.logf("%s, %s hostPorts: %s, $count", st.name, formatCount(sc.hostPorts), s.Name)
		cc, err := b.measureSearch(ctx, func() (int, error) {
			p, err := store.SearchHostPorts(ctx, count)
			return p.Total, err
		})
		if err != nil {
			return nil, err
		}
		pc.matches = cc.matches // a page holds at most 100
		for _, c := range []searchCell{pc, cc} {
			if c.failed != "" {
				b.failed++
				b.logf("%s, %s hostPorts: %s failed: %s", st.name, formatCount(sc.hostPorts), s.Name, c.failed)
			}
		}
		sc.page, sc.count = append(sc.page, pc), append(sc.count, cc)
	}
	return sc, nil
}

// measureSearch runs one search until --search-runs runs after a warm-up
// (or, for a slow one, until --search-time is spent and 10 ran) and returns
// p50 and p99 and what the last run returned. A search the store answers
// with EINVALID "Unsupported query" is not supported yet: that is a
// finding, not a failure. Another error of the store fails the search, not
// the run: the other searches are still measured, the table says which
// failed, and the command fails once the tables are printed.
func (b *bench) measureSearch(ctx context.Context, run func() (int, error)) (searchCell, error) {
	var c searchCell
	// Warm-up: the store's page cache and the heap, as a busy server has
	// them; one run is enough for a search that takes a second.
	for i := 0; i < 3; i++ {
		start := time.Now()
		n, err := run()
		if err != nil {
			if msg := portolan.ErrorMessage(err); portolan.ErrorCode(err) == portolan.EINVALID && strings.HasPrefix(msg, "Unsupported query") {
				c.unsupported = msg
				return c, nil
			}
			if ctx.Err() != nil {
				return c, ctx.Err()
			}
			c.failed = err.Error()
			return c, nil
		}
		c.matches = n
		if time.Since(start) > time.Second {
			break
		}
	}
	var took []time.Duration
	began := time.Now()
	for len(took) < b.o.searchRuns {
		if b.o.searchTime > 0 && time.Since(began) > b.o.searchTime && len(took) >= 10 {
			break
		}
		if err := ctx.Err(); err != nil {
			return c, err
		}
		start := time.Now()
		n, err := run()
		took = append(took, time.Since(start))
		if err != nil {
			if ctx.Err() != nil {
				return c, ctx.Err()
			}
			c.failed = err.Error()
			return c, nil
		}
		if n != c.matches {
			c.failed = fmt.Sprintf("a run returned %d items, an earlier one %d", n, c.matches)
			return c, nil
		}
	}
	c.runs = len(took)
	c.p50, c.p99 = percentile(took, 50), percentile(took, 99)
	return c, nil
}

// percentile is the nearest-rank percentile p of d: the smallest value
// that at least p% of d do not exceed. With 50 runs, p99 is the slowest.
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := (p*len(s) + 99) / 100 // ceil(p/100 × n)
	return s[max(rank, 1)-1]
}

// searchData returns the data directory of an embedded store of cfg's
// world. With --dir it is kept there, under a name that says what it holds,
// and reused by a later run with the same seed, size and portolan binary:
// a store of a million hostPorts takes minutes to build. A store is only
// reused once its build completed.
func (b *bench) searchData(ctx context.Context, cfg gen.Config, target int) (string, string, error) {
	data := filepath.Join(b.dir, fmt.Sprintf("search-%s-seed%d", formatScale(target), cfg.Seed))
	marker := filepath.Join(data, "portolan-bench.key")
	// The binary's digest, not only its version: a build of a working
	// tree says "dev" whatever its code.
	exe, err := os.ReadFile(b.exe)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(exe)
	key := fmt.Sprintf("seed %d, %d hosts, 1 scan, native NDJSON, ingested by %s (sha256 %x)\n", cfg.Seed, cfg.Hosts, b.version, sum[:8])
	if have, err := os.ReadFile(marker); err == nil && string(have) == key {
		b.logf("reusing the embedded store of about %s hostPorts in %s", formatCount(target), data)
		return data, "reused from an earlier run (--dir)", nil
	}
	if err := os.RemoveAll(data); err != nil {
		return "", "", err
	}
	start := time.Now()
	file := filepath.Join(b.dir, fmt.Sprintf("search-%s.ndjson", formatScale(target)))
	if _, err := b.writeGenerated(ctx, file, cfg, gen.FormatNative); err != nil {
		return "", "", err
	}
	defer os.Remove(file)
	b.logf("ingesting a store of about %s hostPorts into the embedded store", formatCount(target))
	loaded, err := b.ingestAs(ctx, file, gen.FormatNative, "--store=", "--data", data, "--cache-mb", b.fixtureCacheMB())
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(marker, []byte(key), 0o644); err != nil {
		return "", "", err
	}
	return data, fmt.Sprintf("generated and ingested in %s (%s observations/s)", time.Since(start).Round(100*time.Millisecond), formatCount(int(loaded.rate()))), nil
}

// searchPostgres builds a store of cfg's world in a fresh schema of the
// PostgreSQL database at base and returns its URL and a function that drops
// the schema (unless --keep).
func (b *bench) searchPostgres(ctx context.Context, base string, cfg gen.Config, target int) (string, string, func(), error) {
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", "", nil, err
	}
	schema := fmt.Sprintf("portolan_bench_search_%s_%s", strings.ToLower(formatScale(target)), hex.EncodeToString(suffix[:]))
	u, err := withSearchPath(base, schema)
	if err != nil {
		return "", "", nil, err
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", "", nil, fmt.Errorf("bench: --store: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", "", nil, fmt.Errorf("bench: create schema %s: %w", schema, err)
	}
	drop := func() {
		if b.o.keep {
			b.logf("schema %s kept", schema)
			return
		}
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			_, err = c.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			c.Close(context.Background())
		}
		if err != nil {
			b.logf("dropping schema %s: %v", schema, err)
		}
	}
	start := time.Now()
	file := filepath.Join(b.dir, fmt.Sprintf("search-%s.ndjson", formatScale(target)))
	if _, err := b.writeGenerated(ctx, file, cfg, gen.FormatNative); err != nil {
		drop()
		return "", "", nil, err
	}
	defer os.Remove(file)
	b.logf("ingesting a store of about %s hostPorts into PostgreSQL (schema %s)", formatCount(target), schema)
	loaded, err := b.ingestAs(ctx, file, gen.FormatNative, "--store", u, "--data", filepath.Join(b.dir, "search-pg-data"))
	if err != nil {
		drop()
		return "", "", nil, err
	}
	note := fmt.Sprintf("generated and ingested in %s (%s observations/s), fresh schema", time.Since(start).Round(100*time.Millisecond), formatCount(int(loaded.rate())))
	return u, note, drop, nil
}

// withSearchPath returns the postgres:// URL base with search_path set to
// schema, which pgx passes to the server as a run-time parameter.
func withSearchPath(base, schema string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("bench: --store %q is not a postgres:// URL", base)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// searchTable writes the measurements of one kind of store: a row per
// search, the sizes side by side.
func searchTable(st searchStore, searches []gen.Search, scales []*searchScale, runs int) *table {
	sizes := make([]string, len(scales))
	for i, sc := range scales {
		sizes[i] = formatCount(sc.hostPorts)
	}
	t := &table{
		title: fmt.Sprintf("Search: %s, %s hostPorts; the store read in-process (no HTTP, no response cache); p50 / p99 of %d runs after a warm-up",
			st.name, joinAnd(sizes), runs),
		head: []string{"Query"},
	}
	for _, sc := range scales {
		t.head = append(t.head, "Matches at "+formatScale(sc.target))
	}
	grow := len(scales) > 1
	first, last := scales[0], scales[len(scales)-1]
	ratioHead := fmt.Sprintf("p50 %s ÷ %s", formatScale(last.target), formatScale(first.target))
	for _, sc := range scales {
		t.head = append(t.head, fmt.Sprintf("Page of %d at %s", searchPageSize, formatScale(sc.target)))
	}
	if grow {
		t.head = append(t.head, ratioHead)
	}
	for _, sc := range scales {
		t.head = append(t.head, "$count at "+formatScale(sc.target))
	}
	if grow {
		t.head = append(t.head, ratioHead)
	}
	fewer := false
	for i, s := range searches {
		row := []string{s.Name}
		for _, sc := range scales {
			row = append(row, formatMatches(sc.page[i], sc.hostPorts))
		}
		cells := func(pick func(*searchScale) searchCell) {
			for _, sc := range scales {
				c := pick(sc)
				row = append(row, formatSearchCell(c, runs))
				fewer = fewer || !c.skipped() && c.runs < runs
			}
			if grow {
				a, z := pick(first), pick(last)
				if a.skipped() || z.skipped() {
					row = append(row, "–")
				} else {
					row = append(row, formatRatio(float64(z.p50), float64(a.p50)))
				}
			}
		}
		cells(func(sc *searchScale) searchCell { return sc.page[i] })
		cells(func(sc *searchScale) searchCell { return sc.count[i] })
		t.add(row...)
	}

	for i, s := range searches {
		q := "`$filter=" + s.Filter + "`"
		if s.OrderBy != "" {
			q += " `$orderby=" + s.OrderBy + "`"
		}
		t.notes = append(t.notes, s.Name+": "+q)
		if msg := scales[0].page[i].unsupported; msg != "" {
			t.notes = append(t.notes, fmt.Sprintf("%s is not supported by the store yet: %q", s.Name, msg))
		}
		for _, sc := range scales {
			for _, m := range []struct {
				what string
				c    searchCell
			}{{"page", sc.page[i]}, {"$count", sc.count[i]}} {
				if m.c.failed != "" {
					t.notes = append(t.notes, fmt.Sprintf("%s (%s) failed at %s: %s", s.Name, m.what, formatScale(sc.target), m.c.failed))
				}
			}
		}
	}
	if st.url == "" {
		t.notes = append(t.notes, goalNotes(searches, first, last)...)
	}
	for _, sc := range scales {
		t.notes = append(t.notes, fmt.Sprintf("The store of %s hostPorts (one scan of %s hosts): %s.", formatCount(sc.hostPorts), formatCount(gen.HostsFor(sc.target)), sc.note))
	}
	t.notes = append(t.notes,
		fmt.Sprintf("Each cell is p50 / p99 of the latency of portolan.SearchService.SearchHostPorts, one call at a time: the first page (Top %d, its records loaded) or the count alone (Count, Top -1, as hostPorts/$count asks). p99 is the nearest rank: with up to 100 runs, the slowest.", searchPageSize),
		"Matches are the $count of the filter and its share of the store's hostPorts.")
	if fewer {
		t.notes = append(t.notes, "(n runs): a slow search stopped after --search-time with the runs shown (at least 10).")
	}
	return t
}

// goalNotes says which searches meet issue 11's goal on the embedded store.
func goalNotes(searches []gen.Search, first, last *searchScale) []string {
	var met, missed []string
	for i, s := range searches {
		if _, ok := searchNoGoal[s.Name]; ok {
			continue
		}
		for _, m := range []struct {
			what string
			a, z searchCell
		}{{"page", first.page[i], last.page[i]}, {"$count", first.count[i], last.count[i]}} {
			name := s.Name + " (" + m.what + ")"
			switch {
			case m.z.unsupported != "":
				missed = append(missed, name+": not supported yet")
			case m.a.failed != "" || m.z.failed != "":
				missed = append(missed, name+": failed")
			case m.z.p50 >= searchGoal:
				missed = append(missed, fmt.Sprintf("%s: p50 %s at %s", name, formatLatency(m.z.p50), formatScale(last.target)))
			case first != last && float64(m.z.p50) > searchGoalGrowth*float64(m.a.p50):
				missed = append(missed, fmt.Sprintf("%s: %s the p50 at %s", name, formatRatio(float64(m.z.p50), float64(m.a.p50)), formatScale(first.target)))
			default:
				met = append(met, name)
			}
		}
	}
	goal := fmt.Sprintf("Goal (issue 11) for the selective and indexed searches on the embedded store: p50 under %s at %s hostPorts", formatLatency(searchGoal), formatCount(last.hostPorts))
	if first != last {
		goal += fmt.Sprintf(", within %.0f× of the p50 at %s", searchGoalGrowth, formatCount(first.hostPorts))
	}
	notes := []string{goal + "."}
	if len(met) > 0 {
		notes = append(notes, "Met by: "+strings.Join(met, "; ")+".")
	}
	if len(missed) > 0 {
		notes = append(notes, "Missed by: "+strings.Join(missed, "; ")+".")
	}
	for _, s := range searches {
		if why, ok := searchNoGoal[s.Name]; ok {
			notes = append(notes, "Not covered by the goal: "+s.Name+", "+why+".")
		}
	}
	return notes
}

func formatSearchCell(c searchCell, runs int) string {
	switch {
	case c.unsupported != "":
		return "not supported yet"
	case c.failed != "":
		return "failed"
	}
	s := formatLatency(c.p50) + " / " + formatLatency(c.p99)
	if c.runs < runs {
		s += fmt.Sprintf(" (%d runs)", c.runs)
	}
	return s
}

func formatMatches(c searchCell, of int) string {
	if c.skipped() {
		return "–"
	}
	if p := pct(c.matches, of); p > 0 && p < 0.01 {
		return formatCount(c.matches) + " (<0.01%)"
	}
	return fmt.Sprintf("%s (%.2g%%)", formatCount(c.matches), pct(c.matches, of))
}

// formatScale writes a store size as --search-scale takes it: 100k, 1M.
func formatScale(n int) string {
	switch {
	case n >= 1000000 && n%100000 == 0:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1e6), ".0") + "M"
	case n >= 1000 && n%100 == 0:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1e3), ".0") + "k"
	}
	return formatCount(n)
}

// joinAnd writes a list as a sentence does: a, b and c.
func joinAnd(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
