// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"portolan/internal/bus/bustest"
	"portolan/internal/gen"
	"portolan/internal/postgres"
	"portolan/internal/storetest"
)

// e2eProc is a long-running child of the real binary.
type e2eProc struct {
	cmd    *exec.Cmd
	out    *e2eBuffer
	exited chan struct{}
	err    error
}

// e2eStartProc starts the binary with args; it is killed at cleanup and its
// output logged if the test failed.
func e2eStartProc(t *testing.T, args ...string) *e2eProc {
	t.Helper()
	p := &e2eProc{out: &e2eBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(binary(t), args...)
	p.cmd.Env = e2eEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("portolan %s:\n%s", strings.Join(args, " "), p.out.String())
		}
	})
	return p
}

// pgSchema creates a schema dropped at cleanup and returns the URL that
// selects it.
func pgSchema(t *testing.T, base, prefix string) string {
	t.Helper()
	ctx := context.Background()
	schema := fmt.Sprintf("t_%s_%d", prefix, rand.Uint64())
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), base); err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func pgCount(t *testing.T, store, query string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), query).Scan(&n); err != nil {
		return -1 // the table may not exist yet
	}
	return n
}

// pgDump dumps the records of hosts. While workers still merge, a dump is
// no snapshot: an item may go between being listed and being read (a
// versionless component replaced by a versioned one), or a host's ports
// arrive between the read of the host and of its ports. That dump is nil,
// not settled yet; the reason is logged, for a store that never settles.
func pgDump(t *testing.T, store string, hosts []string) []byte {
	t.Helper()
	db, err := postgres.Open(context.Background(), store, postgres.Options{Recognizer: recognizer()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b, err := storetest.Dump(context.Background(), db, hosts)
	if err != nil {
		t.Logf("dump not settled: %v", err)
		return nil
	}
	return b
}

// writeScanFiles writes n native files of generated scans (whole hosts
// per file) and returns their paths and the host ids.
func writeScanFiles(t *testing.T, dir string, n, hosts int) ([]string, []string) {
	t.Helper()
	g := gen.New(gen.Config{Seed: 16, Hosts: hosts, Rescans: 3})
	bufs := make([]bytes.Buffer, n)
	seen := map[string]int{}
	var ids []string
	for o := g.Next(); o != nil; o = g.Next() {
		i, ok := seen[o.Host]
		if !ok {
			i = len(seen) % n
			seen[o.Host] = i
			ids = append(ids, o.Host)
		}
		json.NewEncoder(&bufs[i]).Encode(o)
	}
	var paths []string
	for i := range bufs {
		p := filepath.Join(dir, fmt.Sprintf("scan%d.ndjson", i))
		if err := os.WriteFile(p, bufs[i].Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths, ids
}

// TestScaleOutOnNATSAndPostgres is issue 16's end-to-end test with the real
// binary, a real NATS server (embedded in the test, restarted mid-run) and
// PostgreSQL: a worker is SIGKILLed while it holds unacknowledged messages
// (frozen with SIGSTOP long enough to read that from the consumers), three
// workers take over, NATS restarts while `ingest --bus` is held back by the
// full stream, and the records end equal to those of one `ingest --store`
// of the same files. Two serve
// replicas share the database: one takes HTTP imports onto the bus, and the
// other's response cache drops what it cached within moments of the
// workers' commit (LISTEN/NOTIFY); then, both holding an answer in their
// caches, both serve a direct `ingest --store`'s new port within a second
// of its commit.
func TestScaleOutOnNATSAndPostgres(t *testing.T) {
	base := os.Getenv("PORTOLAN_TEST_POSTGRES")
	if base == "" {
		t.Skip("set PORTOLAN_TEST_POSTGRES (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the scale-out test")
	}
	tmp := t.TempDir()
	files, hosts := writeScanFiles(t, tmp, 3, 2000)
	want, got := pgSchema(t, base, "want"), pgSchema(t, base, "got")
	nats := bustest.Start(t)
	stream, prefix := bustest.UniqueNames()
	// A stream of 1 MB holds a fraction of the files: the publisher is
	// held back by the workers (back-pressure), so the ingest runs while
	// they merge, and the kill and the restart below hit both.
	busArgs := []string{"--bus", nats.URL, "--bus-stream", stream, "--bus-subject", prefix, "--bus-partitions", "8", "--bus-max-bytes", "1000000"}

	// The reference: one process, straight into the store.
	ref := e2eRunBinary(t, append([]string{"ingest", "--store", want, "--no-progress"}, files...)...)

	workerArgs := append([]string{"worker", "--store", got, "--bus-ack-wait", "2s", "--max-transaction-observations", "2000"}, busArgs...)
	// One worker first, alone: it is the one killed, and while it is the
	// only consumer whatever the stream has unacknowledged is its own.
	first := e2eStartProc(t, workerArgs...)
	waitOutput(t, first, "worker started", 30*time.Second)
	if !strings.Contains(first.out.String(), "max ack pending 1") || !strings.Contains(first.out.String(), "stream "+stream) {
		t.Errorf("the worker printed no stream and consumer configuration:\n%s", first.out.String())
	}

	ingest := e2eStartProc(t, append(append([]string{"ingest", "--no-progress"}, busArgs...), files...)...)
	// Kill it once merging has begun, at a moment it holds messages
	// (fetched, in its transaction, not acknowledged).
	deadline := time.Now().Add(60 * time.Second)
	for pgCount(t, got, "SELECT count(*) FROM observation_log") <= 0 {
		if time.Now().After(deadline) {
			t.Fatal("the worker merged nothing within 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var held int
	for deadline := time.Now().Add(10 * time.Second); held == 0 && time.Now().Before(deadline); {
		first.cmd.Process.Signal(syscall.SIGSTOP) // freeze it to read what it holds
		held = ackPending(t, nats.URL, stream)
		if held == 0 {
			first.cmd.Process.Signal(syscall.SIGCONT)
			time.Sleep(time.Millisecond)
		}
	}
	if held == 0 {
		t.Fatal("never caught the worker holding a message")
	}
	first.cmd.Process.Signal(syscall.SIGKILL)
	<-first.exited
	t.Logf("worker SIGKILLed holding %d unacknowledged messages", held)
	// Three workers go on: the killed one restarted, as an operator
	// would, and two more.
	var workers []*e2eProc
	for range 3 {
		workers = append(workers, e2eStartProc(t, workerArgs...))
	}
	for _, w := range workers {
		waitOutput(t, w, "worker started", 30*time.Second)
	}
	select {
	case <-ingest.exited:
		t.Error("the ingest had finished publishing before NATS restarted: nothing held it back")
	default:
	}
	nats.Restart() // while the ingest publishes and the workers fetch
	select {
	case <-ingest.exited:
	case <-time.After(120 * time.Second):
		t.Fatal("ingest --bus did not finish within 120s")
	}
	if ingest.err != nil {
		t.Fatalf("ingest --bus: %v\n%s", ingest.err, ingest.out.String())
	}
	t.Logf("ingest --bus across the NATS restart: %s (%d publish retries)", e2eSummaryLine.FindString(ingest.out.String()), strings.Count(ingest.out.String(), "retrying"))
	refLine, busLine := e2eSummaryLine.FindString(ref), e2eSummaryLine.FindString(ingest.out.String())
	if obs := strings.SplitN(refLine, ",", 3)[:2]; !strings.HasPrefix(busLine, strings.Join(obs, ",")+",") {
		t.Errorf("ingest --bus summary %q, the direct ingest's %q", busLine, refLine)
	}
	wantDump := pgDump(t, want, hosts)
	deadline = time.Now().Add(90 * time.Second)
	for !bytes.Equal(pgDump(t, got, hosts), wantDump) {
		if time.Now().After(deadline) {
			t.Fatalf("the records merged by the workers differ from one direct ingest's: %s", firstDifference(wantDump, pgDump(t, got, hosts)))
		}
		time.Sleep(250 * time.Millisecond)
	}
	if a, b := pgCount(t, got, "SELECT count(*) FROM observation_log"), pgCount(t, want, "SELECT count(*) FROM observation_log"); a != b {
		t.Errorf("observation log: %d rows from the bus, %d from the direct ingest", a, b)
	}

	// Two serve replicas on the merged database: A publishes HTTP imports
	// to the bus, B only reads (and caches).
	data := filepath.Join(tmp, "data")
	a := e2eStartServe(t, nil, append([]string{"--store", got, "--data", data, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"}, busArgs...)...)
	b := e2eStartServe(t, nil, "--store", got, "--data", data, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	client := &http.Client{Timeout: 10 * time.Second}
	a.waitHealthy(t, client)
	b.waitHealthy(t, client)
	for _, s := range []*e2eServer{a, b} {
		if resp, err := client.Get(s.URL + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("%s/readyz: %v %v", s.URL, resp, err)
		}
	}
	readToken := strings.TrimSpace(e2eRunBinary(t, "token", "--data", data))
	ingestToken := strings.TrimSpace(e2eRunBinary(t, "token", "--data", data, "--roles", "Portolan.Ingest"))
	host := hosts[0]
	portsURL := b.URL + "/beta/security/threatIntelligence/hosts/" + host + "/ports?$top=1000"
	var before struct {
		Value []struct{ Port int } `json:"value"`
	}
	e2eGetJSON(t, client, portsURL, readToken, &before)
	// B's cache is on (PostgreSQL): the same GET again is a hit. The
	// import below must still show on B, through NOTIFY.
	servedFromCache(t, client, b, portsURL, readToken)
	line := fmt.Sprintf(`{"host":%q,"port":65000,"status":"open","scannedAt":"2026-12-03T00:00:00Z","source":"e2e"}`+"\n", host)
	published := time.Now()
	status, v := e2ePost(t, a.URL+"/portolan/v1/imports?format=native", ingestToken, strings.NewReader(line))
	if status != http.StatusOK || v["published"] != true || v["observations"] != 1.0 {
		t.Fatalf("import through serve --bus: %d %v", status, v)
	}
	for {
		var after struct {
			Value []struct{ Port int } `json:"value"`
		}
		e2eGetJSON(t, client, portsURL, readToken, &after)
		if len(after.Value) == len(before.Value)+1 {
			t.Logf("published on replica A, visible on replica B after %s", time.Since(published).Round(time.Millisecond))
			break
		}
		if time.Since(published) > 10*time.Second {
			t.Fatalf("the port imported through replica A is not served by replica B after 10s (%d ports, %d before)", len(after.Value), len(before.Value))
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Issue 16 item 3: every replica drops what it cached within a second
	// of an import's commit. Both replicas hold the current answer in
	// their caches, each proven by a hit on its own metrics, then a
	// direct `ingest --store` (another process again) adds a port.
	path := "/beta/security/threatIntelligence/hosts/" + host + "/ports?$top=1000"
	replicas := []*e2eServer{a, b}
	cached := make([]int, len(replicas))
	for i, s := range replicas {
		cached[i] = servedFromCache(t, client, s, s.URL+path, readToken)
	}
	if cached[0] != cached[1] {
		t.Fatalf("the replicas cache different answers: %d and %d ports", cached[0], cached[1])
	}
	newFile := filepath.Join(tmp, "one-more-port.ndjson")
	os.WriteFile(newFile, fmt.Appendf(nil, `{"host":%q,"port":65001,"status":"open","scannedAt":"2026-12-04T00:00:00Z","source":"e2e"}`+"\n", host), 0o644)
	direct := e2eStartProc(t, "ingest", "--store", got, "--no-progress", newFile)
	// The commit instant: ingest prints its summary line after the last
	// batch of the file committed, so the moment this loop sees the line
	// (it looks every millisecond) is after the commit, by the time it
	// takes to print and be seen. The bound is therefore measured from a
	// moment slightly after the commit, not before it: the true
	// commit-to-visible time exceeds the measured one by those few
	// milliseconds, while it includes every step on the replicas' side
	// (NOTIFY delivery, LISTEN connection, cache generation, the GET).
	var committed time.Time
	for deadline := time.Now().Add(60 * time.Second); committed.IsZero(); time.Sleep(time.Millisecond) {
		if e2eSummaryLine.MatchString(direct.out.String()) {
			committed = time.Now()
			break
		}
		select {
		case <-direct.exited:
			if !e2eSummaryLine.MatchString(direct.out.String()) {
				t.Fatalf("ingest --store exited (%v) without a summary:\n%s", direct.err, direct.out.String())
			}
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("ingest --store of one observation printed no summary within 60s")
		}
	}
	if !regexp.MustCompile(`(?m)^ingested: .*\b1 records? created`).MatchString(direct.out.String()) {
		t.Fatalf("ingest --store did not create the new port:\n%s", direct.out.String())
	}
	seen := make([]time.Duration, len(replicas))
	for pending := len(replicas); pending > 0; time.Sleep(5 * time.Millisecond) {
		for i, s := range replicas {
			if seen[i] != 0 {
				continue
			}
			var now struct {
				Value []struct{ Port int } `json:"value"`
			}
			e2eGetJSON(t, client, s.URL+path, readToken, &now)
			if len(now.Value) == cached[i]+1 {
				seen[i] = max(time.Since(committed), time.Nanosecond)
				pending--
			}
		}
		if time.Since(committed) > time.Second {
			break
		}
	}
	for i, name := range []string{"A", "B"} {
		if seen[i] == 0 {
			t.Errorf("replica %s still serves its cached answer (%d ports) more than 1s after the commit of an import", name, cached[i])
		} else {
			t.Logf("replica %s served the new port %s after the commit", name, seen[i].Round(time.Millisecond))
		}
	}
}

// metricsHit is the response cache's hit count in serve's metrics.
var metricsHit = regexp.MustCompile(`(?m)^portolan_response_cache_lookups_total\{result="hit"\} (\d+)`)

// servedFromCache GETs u on s until one GET is answered from s's response
// cache (its hit count moves over that GET alone) and returns the number
// of items of that answer. s must have --metrics-addr.
func servedFromCache(t *testing.T, client *http.Client, s *e2eServer, u, token string) int {
	t.Helper()
	// serve's log is buffered (flushed every moment): wait for the line.
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil; time.Sleep(20 * time.Millisecond) {
		m = regexp.MustCompile(`msg=metrics url=(\S+)`).FindStringSubmatch(s.stderr.String())
		if m == nil && time.Now().After(deadline) {
			t.Fatalf("%s logged no metrics URL", s.URL)
		}
	}
	hits := func() (int, string) {
		resp, err := client.Get(m[1])
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		n := -1
		if h := metricsHit.FindSubmatch(metrics); h != nil {
			n, _ = strconv.Atoi(string(h[1]))
		}
		return n, string(metrics)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		before, _ := hits()
		var v struct {
			Value []json.RawMessage `json:"value"`
		}
		e2eGetJSON(t, client, u, token, &v)
		after, metrics := hits()
		if before >= 0 && after == before+1 {
			return len(v.Value)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s on PostgreSQL served %s from its cache within 5s:\n%s", s.URL, u, grepLines(metrics, "cache"))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// firstDifference shows where two dumps part.
func firstDifference(want, got []byte) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-200)
	return fmt.Sprintf("at byte %d:\nwant …%s…\ngot  …%s…", i, want[from:min(len(want), i+200)], got[from:min(len(got), i+200)])
}

// waitOutput waits until p printed s.
func waitOutput(t *testing.T, p *e2eProc, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.out.String(), s) {
		select {
		case <-p.exited:
			t.Fatalf("exited (%v) before printing %q:\n%s", p.err, s, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("printed no %q within %s:\n%s", s, timeout, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ackPending sums the messages of stream delivered to a worker and not yet
// acknowledged, over its partition consumers.
func ackPending(t *testing.T, url, stream string) int {
	t.Helper()
	st, done := openStream(t, url, stream)
	defer done()
	n := 0
	for c := range st.ListConsumers(context.Background()).Info() {
		n += c.NumAckPending
	}
	return n
}

// openStream connects to the NATS server at url and returns its stream
// name; done closes the connection.
func openStream(t *testing.T, url, name string) (st jetstream.Stream, done func()) {
	t.Helper()
	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	if st, err = js.Stream(context.Background(), name); err != nil {
		nc.Close()
		t.Fatal(err)
	}
	return st, nc.Close
}
