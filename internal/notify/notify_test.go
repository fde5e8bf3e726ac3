// SPDX-License-Identifier: Apache-2.0

package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"portolan"
	"portolan/internal/httpapi"
	"portolan/internal/notify"
	"portolan/internal/postgres"
	"portolan/internal/sqlite"
)

// receiver is a webhook on 127.0.0.1 that records every notification it
// accepted and answers with status (200 unless set).
type receiver struct {
	*httptest.Server
	status atomic.Int32
	// hang makes the receiver hold every request until the test ends.
	hang     atomic.Bool
	mu       sync.Mutex
	got      []notification
	bodies   int
	released chan struct{}
}

// notification is one entry of a payload's value, as received.
type notification = notify.Received

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{released: make(chan struct{})}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, tok)
			return
		}
		if rc.hang.Load() {
			select {
			case <-rc.released:
			case <-r.Context().Done():
			}
			return
		}
		if s := rc.status.Load(); s != 0 && s != http.StatusOK {
			w.WriteHeader(int(s))
			return
		}
		var body struct{ Value []notification }
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if r.Header.Get("Content-Type") != "application/json" || dec.Decode(&body) != nil {
			t.Errorf("receiver: a body that is not the payload (Content-Type %q)", r.Header.Get("Content-Type"))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if len(body.Value) > notify.MaxBatch {
			t.Errorf("receiver: %d notifications in one POST", len(body.Value))
		}
		rc.mu.Lock()
		rc.got = append(rc.got, body.Value...)
		rc.bodies++
		rc.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(func() {
		close(rc.released)
		rc.Close()
	})
	return rc
}

func (rc *receiver) received() []notification {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]notification(nil), rc.got...)
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// store is what the tests need of a store: both stores are one.
type store interface {
	notify.Store
	portolan.ObservationService
	Close() error
}

type env struct {
	t   *testing.T
	db  store
	log *bytes.Buffer
	mu  *sync.Mutex
}

func openStore(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newEnv(t *testing.T) *env {
	db := openStore(t, filepath.Join(t.TempDir(), "notify.db"))
	t.Cleanup(func() { db.Close() })
	return &env{t: t, db: db, log: &bytes.Buffer{}, mu: &sync.Mutex{}}
}

// newPostgresEnv is newEnv on PostgreSQL, in a schema of its own, or
// skips the test without PORTOLAN_TEST_POSTGRES.
func newPostgresEnv(t *testing.T) *env {
	base := os.Getenv("PORTOLAN_TEST_POSTGRES")
	if base == "" {
		t.Skip("set PORTOLAN_TEST_POSTGRES to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run this test on PostgreSQL")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("t_notify_%d", time.Now().UnixNano())
	exec := func(sql string) {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec("CREATE SCHEMA " + schema)
	t.Cleanup(func() { exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := postgres.Open(ctx, u.String(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &env{t: t, db: db, log: &bytes.Buffer{}, mu: &sync.Mutex{}}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (e *env) logged() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.log.String()
}

// fastConfig is a dispatcher configuration whose delays suit a test.
func (e *env) fastConfig(g *notify.Guard) notify.Config {
	return notify.Config{
		Store:       e.db,
		Guard:       g,
		ParseFilter: httpapi.ParseHostPortFilter,
		Logger:      slog.New(slog.NewTextHandler(lockedWriter{e.mu, e.log}, nil)),
		Poll:        20 * time.Millisecond,
		Reload:      50 * time.Millisecond,
		BackoffMin:  20 * time.Millisecond,
		BackoffMax:  100 * time.Millisecond,
		RetryWindow: time.Hour,
	}
}

// run starts a dispatcher; the returned function stops it and waits.
func (e *env) run(cfg notify.Config) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		notify.New(cfg).Run(ctx)
	}()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	e.t.Cleanup(stop)
	return stop
}

var day0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func (e *env) importObs(obs ...*portolan.Observation) {
	e.t.Helper()
	for _, o := range obs {
		if err := o.Normalize(); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := e.db.ImportObservations(context.Background(), obs); err != nil {
		e.t.Fatal(err)
	}
}

// settle waits until the watermark has passed every recorded change. On
// PostgreSQL a transaction of another test holds it back; a subscription
// created meanwhile starts before the changes of transactions that ended
// after that one began (at least once: it may notify them).
func (e *env) settle() {
	e.t.Helper()
	ctx := context.Background()
	changes, err := e.db.Changes(ctx, 0, math.MaxInt64)
	if err != nil {
		e.t.Fatal(err)
	}
	var last int64
	for _, c := range changes {
		last = max(last, c.Position)
	}
	waitFor(e.t, 30*time.Second, "the watermark past the last change", func() bool {
		wm, err := e.db.ChangeWatermark(ctx)
		return err == nil && wm.Position > last
	})
}

func open(host string, port, day int, banner string) *portolan.Observation {
	return &portolan.Observation{Host: host, Port: port, Status: portolan.StatusOpen, ScannedAt: day0.AddDate(0, 0, day), Source: "nmap", Banner: banner}
}

var owner = portolan.SubscriptionOwner{TenantID: "tenant-1", CreatorID: "alice", ApplicationID: "app-1"}

func (e *env) subscribe(id int, url, filter, lifecycle string) *portolan.Subscription {
	e.t.Helper()
	resource := portolan.SubscriptionResourceHostPorts
	if filter != "" {
		resource += "?$filter=" + filter
	}
	s := &portolan.Subscription{
		ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", id), Owner: owner,
		Change:          portolan.SubscriptionCreated | portolan.SubscriptionUpdated,
		NotificationURL: url, LifecycleNotificationURL: lifecycle, Resource: resource, Filter: filter,
		ClientState: "state-" + fmt.Sprint(id), Expiration: time.Now().Add(time.Hour), Created: time.Now(),
	}
	if err := e.db.CreateSubscription(context.Background(), s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

func ids(ns []notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.ChangeType+" "+n.ResourceData.ID+" "+strings.Join(n.ResourceData.Changes, ","))
	}
	return out
}

func TestDeliveryPayload(t *testing.T) { testDeliveryPayload(t, newEnv(t)) }

func TestDeliveryPayloadOnPostgreSQL(t *testing.T) { testDeliveryPayload(t, newPostgresEnv(t)) }

func testDeliveryPayload(t *testing.T, e *env) {
	rc := newReceiver(t)
	e.importObs(open("192.0.2.1", 22, 0, "")) // before the subscription: not notified
	e.settle()
	sub := e.subscribe(1, rc.URL+"/hook", "port eq 22", "")
	e.run(e.fastConfig(notify.NewGuard(nil, nil)))

	e.importObs(open("192.0.2.2", 22, 1, ""), open("192.0.2.2", 80, 1, "")) // 80 does not match the filter
	e.importObs(open("192.0.2.1", 22, 2, "SSH-2.0-OpenSSH_9.6"))            // a new banner
	e.importObs(open("192.0.2.1", 22, 3, "SSH-2.0-OpenSSH_9.6"))            // counters only
	e.importObs(open("192.0.2.9", 22, 3, ""))                               // the last one
	id1, id2 := portolan.HostPortID("192.0.2.1", portolan.TCP, 22), portolan.HostPortID("192.0.2.2", portolan.TCP, 22)
	id9 := portolan.HostPortID("192.0.2.9", portolan.TCP, 22)
	want := []string{"created " + id2 + " created", "updated " + id1 + " banners", "created " + id9 + " created"}
	waitFor(t, 5*time.Second, "three notifications", func() bool { return len(rc.received()) >= 3 })
	time.Sleep(100 * time.Millisecond)
	got := rc.received()
	if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
		t.Fatalf("notifications %q, want %q", ids(got), want)
	}
	n := got[1]
	resource := "security/threatIntelligence/hostPorts('" + id1 + "')"
	if n.SubscriptionID != sub.ID || n.SubscriptionExpirationDateTime != sub.Expiration.UTC().Format("2006-01-02T15:04:05.000Z") ||
		n.Resource != resource || n.ResourceData.ODataID != resource || n.ResourceData.Type != "#microsoft.graph.security.hostPort" ||
		n.ClientState == nil || *n.ClientState != "state-1" || n.TenantID == nil || *n.TenantID != "tenant-1" {
		t.Fatalf("notification %+v", n)
	}
	if strings.Contains(e.logged(), "state-1") {
		t.Fatalf("the log shows the clientState:\n%s", e.logged())
	}
}

func TestReceiverDownThenBack(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	rc.status.Store(http.StatusServiceUnavailable)
	sub := e.subscribe(1, rc.URL, "", "")
	e.run(e.fastConfig(notify.NewGuard(nil, nil)))
	for i := range 5 {
		e.importObs(open("192.0.2.1", 1000+i, i, ""))
	}
	// Failing: the retry state is persisted.
	waitFor(t, 5*time.Second, "a recorded failure", func() bool {
		s, err := e.db.FindSubscriptionByID(context.Background(), owner, sub.ID)
		return err == nil && s.Retry.Attempts >= 3
	})
	if len(rc.received()) != 0 {
		t.Fatal("notifications accepted while the receiver was down")
	}
	rc.status.Store(http.StatusOK)
	waitFor(t, 5*time.Second, "five notifications", func() bool { return len(rc.received()) >= 5 })
	seen := map[string]bool{}
	for _, n := range rc.received() {
		seen[n.ResourceData.ID] = true
	}
	for i := range 5 {
		if !seen[portolan.HostPortID("192.0.2.1", portolan.TCP, 1000+i)] {
			t.Fatalf("port %d never notified: %q", 1000+i, ids(rc.received()))
		}
	}
	waitFor(t, 2*time.Second, "the retry state cleared", func() bool {
		s, err := e.db.FindSubscriptionByID(context.Background(), owner, sub.ID)
		return err == nil && s.Retry.Attempts == 0
	})
}

func TestHungReceiverDelaysNoOther(t *testing.T) {
	e := newEnv(t)
	hung, fine := newReceiver(t), newReceiver(t)
	hung.hang.Store(true)
	e.subscribe(1, hung.URL, "", "")
	e.subscribe(2, fine.URL, "", "")
	e.run(e.fastConfig(notify.NewGuard(nil, nil)))
	for i := range 3 {
		e.importObs(open("192.0.2.1", 2000+i, i, ""))
		start := time.Now()
		waitFor(t, 2*time.Second, "the healthy receiver's notification", func() bool { return len(fine.received()) == i+1 })
		if d := time.Since(start); d > time.Second {
			t.Errorf("import %d reached the healthy receiver after %s", i, d)
		}
	}
}

func TestGiveUpAfterRetryWindow(t *testing.T) {
	e := newEnv(t)
	rc, lifecycle := newReceiver(t), newReceiver(t)
	rc.status.Store(http.StatusInternalServerError)
	e.subscribe(1, rc.URL, "", lifecycle.URL+"/lifecycle")
	cfg := e.fastConfig(notify.NewGuard(nil, nil))
	cfg.RetryWindow = 400 * time.Millisecond
	e.run(cfg)
	e.importObs(open("192.0.2.1", 3000, 0, ""))
	waitFor(t, 5*time.Second, "the missed lifecycle notification", func() bool { return len(lifecycle.received()) == 1 })
	if n := lifecycle.received()[0]; n.LifecycleEvent != "missed" || n.SubscriptionID == "" || n.ClientState == nil || *n.ClientState != "state-1" {
		t.Fatalf("lifecycle notification %+v", n)
	}
	if !strings.Contains(e.logged(), "notifications dropped after the retry window") {
		t.Fatalf("no log line for the dropped batch:\n%s", e.logged())
	}
	// The dropped batch stays dropped; the next change is delivered.
	rc.status.Store(http.StatusOK)
	e.importObs(open("192.0.2.1", 3001, 1, ""))
	waitFor(t, 5*time.Second, "the next notification", func() bool { return len(rc.received()) == 1 })
	if got := rc.received()[0].ResourceData.ID; got != portolan.HostPortID("192.0.2.1", portolan.TCP, 3001) {
		t.Fatalf("delivered %s after the drop", got)
	}
}

// A transaction with more changes than one POST holds resumes in the middle
// after a restart, from the persisted cursor.
func TestResumeMidTransaction(t *testing.T) { testResumeMidTransaction(t, newEnv(t)) }

func TestResumeMidTransactionOnPostgreSQL(t *testing.T) {
	testResumeMidTransaction(t, newPostgresEnv(t))
}

func testResumeMidTransaction(t *testing.T, e *env) {
	rc := newReceiver(t)
	sub := e.subscribe(1, rc.URL, "", "")
	var posts atomic.Int32
	// The receiver takes the first POST and then goes down.
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if posts.Add(1) > 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		rc.Config.Handler.ServeHTTP(w, r)
	}))
	defer gate.Close()
	if err := e.db.DeleteSubscription(context.Background(), owner, sub.ID); err != nil {
		t.Fatal(err)
	}
	sub = e.subscribe(2, gate.URL, "", "")
	var obs []*portolan.Observation
	for i := range 250 {
		obs = append(obs, open("192.0.2.1", 4000+i, 0, ""))
	}
	stop := e.run(e.fastConfig(notify.NewGuard(nil, nil)))
	e.importObs(obs...)
	waitFor(t, 5*time.Second, "a failed second POST", func() bool { return posts.Load() >= 2 })
	stop()
	stored, err := e.db.FindSubscriptionByID(context.Background(), owner, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.received()) != notify.MaxBatch || stored.Cursor.AfterID != rc.received()[notify.MaxBatch-1].ResourceData.ID {
		t.Fatalf("after one POST: %d received, cursor %+v", len(rc.received()), stored.Cursor)
	}

	// Restart against the healthy receiver: the other 150, none twice.
	if _, err := e.db.RenewSubscription(context.Background(), owner, sub.ID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	posts.Store(-1000)
	e.run(e.fastConfig(notify.NewGuard(nil, nil)))
	waitFor(t, 5*time.Second, "250 notifications", func() bool { return len(rc.received()) >= 250 })
	time.Sleep(100 * time.Millisecond)
	seen := map[string]int{}
	for _, n := range rc.received() {
		seen[n.ResourceData.ID]++
	}
	if len(seen) != 250 || len(rc.received()) != 250 {
		t.Fatalf("%d notifications of %d ports, want 250 of 250", len(rc.received()), len(seen))
	}
}

func TestExpiredSubscriptionIsDeleted(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	sub := e.subscribe(1, rc.URL, "", "")
	if _, err := e.db.RenewSubscription(context.Background(), owner, sub.ID, time.Now().Add(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	e.run(e.fastConfig(notify.NewGuard(nil, nil)))
	waitFor(t, 5*time.Second, "the expired subscription deleted", func() bool {
		_, err := e.db.FindSubscriptionByID(context.Background(), owner, sub.ID)
		return portolan.ErrorCode(err) == portolan.ENOTFOUND
	})
	e.importObs(open("192.0.2.1", 5000, 0, ""))
	time.Sleep(200 * time.Millisecond)
	if len(rc.received()) != 0 {
		t.Fatalf("an expired subscription notified %q", ids(rc.received()))
	}
}

// switchResolver answers a name with whatever addresses it holds now.
type switchResolver struct {
	mu    sync.Mutex
	addrs []netip.Addr
}

func (r *switchResolver) set(addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addrs = nil
	for _, a := range addrs {
		r.addrs = append(r.addrs, netip.MustParseAddr(a))
	}
}

func (r *switchResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if host != "hook.test" {
		return nil, fmt.Errorf("no such host %s", host)
	}
	return append([]netip.Addr(nil), r.addrs...), nil
}

// DNS rebinding: a name that resolved to loopback at creation resolves to
// the metadata service's link-local address at delivery; nothing is sent.
func TestRebindingRefusedAtDelivery(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	res := &switchResolver{}
	res.set("127.0.0.1")
	g := notify.NewGuard(nil, res)
	_, port, _ := strings.Cut(strings.TrimPrefix(rc.URL, "http://"), ":")
	url := "http://hook.test:" + port + "/hook"
	if err := g.ValidateEndpoint(context.Background(), url); err != nil {
		t.Fatalf("validation through the resolver: %v", err)
	}
	e.subscribe(1, url, "", "")
	e.run(e.fastConfig(g))
	e.importObs(open("192.0.2.1", 6000, 0, ""))
	waitFor(t, 5*time.Second, "delivery through the checked address", func() bool { return len(rc.received()) == 1 })

	res.set("169.254.169.254")
	e.importObs(open("192.0.2.1", 6001, 1, ""))
	waitFor(t, 5*time.Second, "the refusal in the log", func() bool { return strings.Contains(e.logged(), "link-local") })
	// A name that resolves to a loopback and a link-local address is
	// refused as a whole.
	res.set("127.0.0.1", "fe80::1")
	time.Sleep(300 * time.Millisecond)
	if n := len(rc.received()); n != 1 {
		t.Fatalf("%d notifications reached the receiver after the name moved to link-local", n)
	}
	res.set("127.0.0.1")
	waitFor(t, 5*time.Second, "delivery once the name is back", func() bool { return len(rc.received()) == 2 })
}

func TestRedirectIsAFailure(t *testing.T) {
	e := newEnv(t)
	target := newReceiver(t)
	redirect := httptest.NewServer(http.RedirectHandler(target.URL+"/elsewhere", http.StatusTemporaryRedirect))
	defer redirect.Close()
	sub := e.subscribe(1, redirect.URL, "", "")
	e.run(e.fastConfig(notify.NewGuard(nil, nil)))
	e.importObs(open("192.0.2.1", 7000, 0, ""))
	waitFor(t, 5*time.Second, "a failure recorded", func() bool {
		s, err := e.db.FindSubscriptionByID(context.Background(), owner, sub.ID)
		return err == nil && s.Retry.Attempts >= 2
	})
	if len(target.received()) != 0 {
		t.Fatal("the redirect was followed")
	}
}

func TestURLRules(t *testing.T) {
	ctx := context.Background()
	allow, err := notify.ParseAllow("10.0.0.0/8, 192.168.7.7")
	if err != nil {
		t.Fatal(err)
	}
	strict, open := notify.NewGuard(nil, nil), notify.NewGuard(allow, nil)
	cases := []struct {
		url         string
		strict, oph bool // accepted without and with --notify-allow
	}{
		{"https://169.254.169.254/latest", false, false},
		{"https://[fe80::1]/x", false, false},
		{"https://224.0.0.1/x", false, false},
		{"https://[ff02::1]/x", false, false},
		{"https://0.0.0.0/x", false, false},
		{"https://[::]/x", false, false},
		{"https://[::ffff:169.254.169.254]/x", false, false},
		{"https://10.1.2.3/x", false, true},
		{"https://192.168.7.7/x", false, true},
		{"https://192.168.7.8/x", false, false},
		{"https://172.16.0.1/x", false, false},
		{"https://100.64.0.1/x", false, false},
		{"https://[fd00::1]/x", false, false},
		{"http://10.1.2.3/x", false, false},
		{"http://203.0.113.5/x", false, false},
		{"https://203.0.113.5/x", true, true},
		{"http://127.0.0.1:9/x", true, true},
		{"http://[::1]:9/x", true, true},
		{"ftp://203.0.113.5/x", false, false},
		{"https://user:pw@203.0.113.5/x", false, false},
		{"/relative", false, false},
	}
	for _, c := range cases {
		for _, g := range []struct {
			name  string
			guard *notify.Guard
			want  bool
		}{{"strict", strict, c.strict}, {"allowed", open, c.oph}} {
			_, err := g.guard.CheckURL(ctx, c.url)
			if (err == nil) != g.want {
				t.Errorf("%s %s: error %v, want accepted %v", g.name, c.url, err, g.want)
			}
			if err != nil && portolan.ErrorCode(err) != portolan.EINVALID {
				t.Errorf("%s %s: code %s", g.name, c.url, portolan.ErrorCode(err))
			}
		}
	}
	if _, err := notify.ParseAllow("10.0.0.0/33"); err == nil {
		t.Error("ParseAllow accepted 10.0.0.0/33")
	}
	// A resolver answer with one refused address refuses the name.
	mixed := &switchResolver{}
	mixed.set("203.0.113.5", "10.0.0.1")
	if _, err := notify.NewGuard(nil, mixed).CheckURL(ctx, "https://hook.test/x"); err == nil {
		t.Error("a name resolving to a public and a private address was accepted")
	}
}

func TestTwoDispatchersDeliverEachChangeOnce(t *testing.T) {
	testTwoDispatchersDeliverEachChangeOnce(t, newEnv(t))
}

func TestTwoDispatchersDeliverEachChangeOnceOnPostgreSQL(t *testing.T) {
	testTwoDispatchersDeliverEachChangeOnce(t, newPostgresEnv(t))
}

// testTwoDispatchersDeliverEachChangeOnce runs two dispatchers on one store,
// as two serve replicas do: the lease lets one deliver, so every change is
// notified once, and when that one stops the other takes over.
func testTwoDispatchersDeliverEachChangeOnce(t *testing.T, e *env) {
	rc := newReceiver(t)
	e.settle()
	e.subscribe(1, rc.URL, "", "")
	cfg := e.fastConfig(notify.NewGuard(nil, nil))
	cfg.LeaseTTL = 300 * time.Millisecond
	stopA := e.run(cfg)
	stopB := e.run(cfg)
	var want []string
	importPorts := func(from, n int) {
		for p := from; p < from+n; p += 10 {
			var obs []*portolan.Observation
			for q := p; q < p+10; q++ {
				obs = append(obs, open("192.0.2.7", q, 0, ""))
				want = append(want, portolan.HostPortID("192.0.2.7", portolan.TCP, q))
			}
			e.importObs(obs...)
		}
	}
	once := func(what string) {
		t.Helper()
		waitFor(t, 10*time.Second, what, func() bool { return len(rc.received()) >= len(want) })
		time.Sleep(4 * cfg.LeaseTTL) // time for a second delivery, were there one
		seen := map[string]int{}
		for _, n := range rc.received() {
			seen[n.ResourceData.ID]++
		}
		for _, id := range want {
			if seen[id] != 1 {
				t.Errorf("%s: hostPort %s notified %d times, want once", what, id, seen[id])
			}
		}
		if len(rc.received()) != len(want) {
			t.Errorf("%s: %d notifications for %d hostPorts", what, len(rc.received()), len(want))
		}
	}
	importPorts(1000, 50)
	once("the first 50 hostPorts")
	// Whichever delivered, stop one; the other delivers what follows.
	stopA()
	importPorts(2000, 30)
	once("30 more after one dispatcher stopped")
	stopB()
}

// leaseCounter counts the dispatcher's requests for the lease of delivery,
// each of which is a write to the store.
type leaseCounter struct {
	notify.Store
	leases atomic.Int32
}

func (c *leaseCounter) LeaseDelivery(ctx context.Context, holder string, now time.Time, ttl time.Duration) (bool, error) {
	c.leases.Add(1)
	return c.Store.LeaseDelivery(ctx, holder, now, ttl)
}

// TestNoSubscriptionNoWrite: a dispatcher with nothing to deliver never
// writes (on SQLite every write empties every reader's page cache); it
// takes the lease when a subscription appears, and lets it go when the
// last one is deleted.
func TestNoSubscriptionNoWrite(t *testing.T) {
	e := newEnv(t)
	counter := &leaseCounter{Store: e.db}
	cfg := e.fastConfig(notify.NewGuard(nil, nil))
	cfg.Store = counter
	cfg.LeaseTTL = 60 * time.Millisecond
	e.run(cfg)
	time.Sleep(20 * cfg.LeaseTTL)
	if n := counter.leases.Load(); n != 0 {
		t.Fatalf("%d lease requests (writes) without any subscription", n)
	}
	rc := newReceiver(t)
	s := e.subscribe(1, rc.URL, "", "")
	e.importObs(open("192.0.2.9", 443, 0, ""))
	waitFor(t, 10*time.Second, "the notification", func() bool { return len(rc.received()) > 0 })
	if counter.leases.Load() == 0 {
		t.Fatal("delivered without the lease")
	}
	if err := e.db.DeleteSubscription(context.Background(), owner, s.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * cfg.LeaseTTL)
	before := counter.leases.Load()
	time.Sleep(20 * cfg.LeaseTTL)
	if after := counter.leases.Load(); after != before {
		t.Errorf("%d lease requests after the last subscription was deleted", after-before)
	}
}
