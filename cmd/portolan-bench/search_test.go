// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"portolan/internal/cli"
)

// runSearchSection runs `portolan-bench search` with the real binaries and
// returns its standard output and error.
func runSearchSection(t *testing.T, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binaries(t), "portolan-bench"), append([]string{"search"}, args...)...)
	cmd.Env = append(os.Environ(), "PORTOLAN_STORE=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	return string(out), stderr.String()
}

// TestBenchSearchSmoke runs the search section, tiny, with the real
// binaries, twice in one --dir: the second run reuses the store.
func TestBenchSearchSmoke(t *testing.T) {
	dir := t.TempDir()
	out, stderr := runSearchSection(t, "--search-scale", "1k,2k", "--search-runs", "3", "--dir", dir)
	for _, want := range []string{
		"./portolan-bench search --search-runs=3 --search-scale=1k,2k",
		"**Search: embedded store (SQLite)",
		"| Query ", "Matches at 1k", "Page of 100 at 2k", "$count at 2k", "p50 2k ÷ 1k",
		"| product and version ", "| port ", "| address range ", "| certificate expiry ", "| banner contains ",
		"`$filter=port eq 3389`", "Goal (issue 11)", "Load average",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Every search is measured, or said to be unsupported.
	row := regexp.MustCompile(`(?m)^\| (product and version|port|address range|certificate expiry|banner contains) +\|(.*)$`)
	rows := row.FindAllStringSubmatch(out, -1)
	if len(rows) != 5 {
		t.Fatalf("%d rows of searches:\n%s", len(rows), out)
	}
	cell := regexp.MustCompile(`^ *([\d.,]+ ms / [\d.,]+ ms|not supported yet|[\d,]+ \([\d.e+-]+%\)|–|[\d.]+×) *$`)
	for _, r := range rows {
		for _, c := range strings.Split(strings.TrimSuffix(r[2], "|"), "|") {
			if !cell.MatchString(c) {
				t.Errorf("%s: cell %q", r[1], c)
			}
		}
	}
	if strings.Contains(stderr, "reusing") {
		t.Errorf("the first run reused a store:\n%s", stderr)
	}
	_, stderr = runSearchSection(t, "--search-scale", "1k", "--search-runs", "1", "--dir", dir)
	if !strings.Contains(stderr, "reusing the embedded store of about 1,000 hostPorts") {
		t.Errorf("the second run did not reuse the store:\n%s", stderr)
	}
}

// TestBenchSearchPostgres runs the search section on PostgreSQL, in a
// schema of its own that it drops.
func TestBenchSearchPostgres(t *testing.T) {
	base := os.Getenv("PORTOLAN_TEST_POSTGRES")
	if base == "" {
		t.Skip("set PORTOLAN_TEST_POSTGRES=postgres://... to run the search section on PostgreSQL")
	}
	out, stderr := runSearchSection(t, "--search-scale", "1k", "--search-runs", "2", "--store", base)
	for _, want := range []string{"**Search: embedded store (SQLite)", "**Search: PostgreSQL", "fresh schema"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`\(schema (portolan_bench_search_\w+)\)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no schema named:\n%s", stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", m[1]).Scan(&n); err != nil || n != 0 {
		t.Errorf("schema %s left behind (%d, %v)", m[1], n, err)
	}
}

func TestBenchSearchFlags(t *testing.T) {
	for _, args := range [][]string{
		{"search", "--search-scale", ""},
		{"search", "--search-scale", "x"},
		{"search", "--search-runs", "0"},
		{"search", "--search-time", "-1s"},
	} {
		if _, _, err := run(t, nil, args...); cli.ExitCode(err) != 2 {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}

func TestBenchSearchFormatting(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{formatScale(100000), "100k"},
		{formatScale(1000000), "1M"},
		{formatScale(1500000), "1.5M"},
		{formatScale(2500), "2.5k"},
		{formatScale(640), "640"},
		{joinAnd([]string{"a"}), "a"},
		{joinAnd([]string{"a", "b", "c"}), "a, b and c"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	ms := func(n ...int) []time.Duration {
		var d []time.Duration
		for _, v := range n {
			d = append(d, time.Duration(v)*time.Millisecond)
		}
		return d
	}
	fifty := make([]int, 50)
	for i := range fifty {
		fifty[i] = 50 - i
	}
	for _, c := range []struct {
		d       []time.Duration
		p       int
		want    time.Duration
		comment string
	}{
		{ms(3, 1, 2), 50, 2 * time.Millisecond, "median of three"},
		{ms(4, 1, 3, 2), 50, 2 * time.Millisecond, "nearest rank, lower of the middle two"},
		{ms(fifty...), 99, 50 * time.Millisecond, "p99 of 50 is the slowest"},
		{ms(fifty...), 50, 25 * time.Millisecond, "p50 of 50"},
		{ms(7), 99, 7 * time.Millisecond, "one run"},
		{nil, 50, 0, "no runs"},
	} {
		if got := percentile(c.d, c.p); got != c.want {
			t.Errorf("%s: percentile = %v, want %v", c.comment, got, c.want)
		}
	}
}
