// SPDX-License-Identifier: Apache-2.0

// Package notify delivers Graph change notifications
// (search-and-changes.md §5): it follows the change record of the store and
// POSTs, for each subscription, the hostPort changes it asked for to its
// webhook, and it checks webhook URLs (guard.go).
//
// The outbox is durable without costing an import anything: it is the
// change record each import already writes in its own transaction, plus
// one cursor per subscription, which moves only after the receiver
// answered 2xx (at-least-once). A crash or a restart of serve resumes
// every subscription from its cursor, in the middle of a transaction's
// changes if need be, with its retry state.
//
// Each subscription has its own goroutine, so a slow or dead receiver
// delays no other; the change ranges they read are shared through a small
// cache, so a thousand subscriptions that stand at the same place read the
// record once.
package notify

import (
	"cmp"
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"portolan"
)

// Defaults of §5.
const (
	// DeliveryTimeout bounds a POST (validation, notification, lifecycle).
	DeliveryTimeout = 10 * time.Second
	// DefaultRetryWindow is how long a failing batch is retried.
	DefaultRetryWindow = 4 * time.Hour
	// DefaultBackoffMin and DefaultBackoffMax bound the pause between
	// attempts, which doubles from the first to the second.
	DefaultBackoffMin = time.Second
	DefaultBackoffMax = 10 * time.Minute
	// DefaultPoll is how often the change watermark is read.
	DefaultPoll = 200 * time.Millisecond
	// DefaultReload is how often the subscriptions are read again (new
	// ones start, renewed ones get their expiration, deleted and expired
	// ones stop).
	DefaultReload = time.Second
	// MaxBatch is the most notifications one POST carries.
	MaxBatch = 100
)

// Store is what the dispatcher reads and writes.
type Store interface {
	portolan.ChangeService
	portolan.SubscriptionService
}

// Config configures a Dispatcher. Store, Guard and ParseFilter are
// required; zero durations take the defaults.
type Config struct {
	Store Store
	Guard *Guard
	// ParseFilter turns a subscription's stored $filter text into the
	// expression the store answers (httpapi.ParseHostPortFilter: the same
	// rule that checked it at creation).
	ParseFilter func(string) (portolan.Expr, error)
	Logger      *slog.Logger
	Poll        time.Duration
	Reload      time.Duration
	Timeout     time.Duration
	RetryWindow time.Duration
	BackoffMin  time.Duration
	BackoffMax  time.Duration
	// Now is the clock of expiry and retries (nil: time.Now).
	Now func() time.Time
	// LeaseTTL is how long the lease of delivery lasts unless renewed
	// (DefaultLeaseTTL); it is taken or renewed every third of it. Of the
	// serve processes sharing a store, only the lease's holder delivers.
	LeaseTTL time.Duration
}

// DefaultLeaseTTL bounds how long notifications pause when the serve
// process that delivers them dies: another takes over within it (plus a
// third of it).
const DefaultLeaseTTL = 15 * time.Second

// Dispatcher delivers the notifications of every active subscription.
type Dispatcher struct {
	cfg    Config
	client *http.Client
	cache  *rangeCache
	// watermark is the last change watermark read: the workers read the
	// record up to it.
	watermark atomic.Int64

	workers map[string]*worker // by subscription id; Run's goroutine only
	wg      sync.WaitGroup

	// holder names this dispatcher in the lease of delivery; leading says
	// it holds the lease (Run's goroutine only).
	holder  string
	leading bool
	tried   time.Time // when the lease was last asked for

	// states are the delivery states the workers changed since the last
	// save: saveStates writes them in one transaction every poll.
	statesMu sync.Mutex
	states   map[string]portolan.DeliveryState
}

// New returns a Dispatcher for cfg.
func New(cfg Config) *Dispatcher {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Poll, DefaultPoll)
	def(&cfg.Reload, DefaultReload)
	def(&cfg.Timeout, DeliveryTimeout)
	def(&cfg.RetryWindow, DefaultRetryWindow)
	def(&cfg.BackoffMin, DefaultBackoffMin)
	def(&cfg.BackoffMax, DefaultBackoffMax)
	def(&cfg.LeaseTTL, DefaultLeaseTTL)
	var id [12]byte
	_, _ = cryptorand.Read(id[:]) // never fails (Go 1.24+)
	return &Dispatcher{cfg: cfg, client: cfg.Guard.client(cfg.Timeout), cache: newRangeCache(cfg.Store), workers: map[string]*worker{},
		holder: hex.EncodeToString(id[:])}
}

// Run delivers until ctx is done, then stops every worker (a POST in
// flight is abandoned; its batch is delivered again after a restart), saves
// what they acknowledged, and returns, so the store can be closed after it.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	var r roundState
	for {
		d.saveStates(ctx)
		d.round(ctx, &r)
		select {
		case <-ctx.Done():
			for _, w := range d.workers {
				w.cancel()
			}
			d.wg.Wait()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			d.saveStates(sctx)
			if d.leading {
				// Given up, so that a process started next takes over at
				// once rather than when the lease runs out.
				_, _ = d.cfg.Store.LeaseDelivery(sctx, d.holder, d.cfg.Now(), -time.Millisecond)
			}
			return
		case <-t.C:
		}
	}
}

// keepState queues a worker's new delivery state for the next save. The
// cursor is saved up to one poll after the receiver acknowledged: a crash
// in between delivers those notifications again (at least once), and a
// thousand subscriptions that acknowledge one import cost one write
// transaction instead of a thousand, which would queue behind (and hold
// up) the imports on SQLite's one writer.
func (d *Dispatcher) keepState(s portolan.DeliveryState) {
	d.statesMu.Lock()
	defer d.statesMu.Unlock()
	if d.states == nil {
		d.states = map[string]portolan.DeliveryState{}
	}
	d.states[s.ID] = s
}

// saveStates writes the queued delivery states; on failure they are
// queued again unless a worker queued a newer one meanwhile.
func (d *Dispatcher) saveStates(ctx context.Context) {
	d.statesMu.Lock()
	pending := d.states
	d.states = nil
	d.statesMu.Unlock()
	if len(pending) == 0 {
		return
	}
	states := make([]portolan.DeliveryState, 0, len(pending))
	for _, s := range pending {
		states = append(states, s)
	}
	if err := d.cfg.Store.SaveDeliveryStates(ctx, states); err != nil {
		if ctx.Err() == nil {
			d.cfg.Logger.Warn("notify: save delivery states", "subscriptions", len(states), "error", err)
		}
		d.statesMu.Lock()
		for id, s := range pending {
			if _, newer := d.states[id]; !newer {
				if d.states == nil {
					d.states = map[string]portolan.DeliveryState{}
				}
				d.states[id] = s
			}
		}
		d.statesMu.Unlock()
	}
}

// roundState is what Run's rounds remember.
type roundState struct {
	// reloaded is when the subscriptions were last read.
	reloaded time.Time
}

// round reads the watermark and wakes the workers when it moved; every
// Reload it also deletes the expired subscriptions, reads the others,
// starts and stops workers, and wakes them all (a worker whose read
// failed tries again then). An idle dispatcher thus costs one watermark
// read a poll, whatever the number of subscriptions.
func (d *Dispatcher) round(ctx context.Context, r *roundState) {
	leading, took := d.lead(ctx)
	if !leading {
		return
	}
	if took {
		r.reloaded = time.Time{} // read the subscriptions at once
	}
	wm, err := d.cfg.Store.ChangeWatermark(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Logger.Warn("notify: read change watermark", "error", err)
		}
		return
	}
	moved := d.watermark.Swap(wm.Position) != wm.Position
	now := d.cfg.Now()
	if now.Sub(r.reloaded) < d.cfg.Reload {
		if moved {
			d.wakeAll()
		}
		return
	}
	r.reloaded = now
	if n, err := d.cfg.Store.DeleteExpiredSubscriptions(ctx, now); err != nil && ctx.Err() == nil {
		d.cfg.Logger.Warn("notify: delete expired subscriptions", "error", err)
	} else if n > 0 {
		d.cfg.Logger.Info("notify: expired subscriptions deleted", "count", n)
	}
	subs, err := d.cfg.Store.ActiveSubscriptions(ctx, now)
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Logger.Warn("notify: read subscriptions", "error", err)
		}
		return
	}
	live := make(map[string]bool, len(subs))
	for _, s := range subs {
		live[s.ID] = true
		if w := d.workers[s.ID]; w != nil {
			w.settings.Store(s)
			continue
		}
		d.start(ctx, s)
	}
	for id, w := range d.workers {
		if !live[id] {
			w.cancel() // deleted or expired
			delete(d.workers, id)
		}
	}
	d.wakeAll()
}

// lead takes or renews the lease of delivery every third of its TTL and
// reports whether this dispatcher holds it, and whether it just took it.
// Without it (another process delivers, or the store cannot say) every
// worker stops: a batch in flight is abandoned and delivered again by the
// holder from the saved cursor (at least once). A holder stops as soon as
// a renewal fails, well before its lease runs out, so two processes never
// deliver at once unless one stalls for longer than the lease.
func (d *Dispatcher) lead(ctx context.Context) (leading, took bool) {
	now := d.cfg.Now()
	if now.Sub(d.tried) < d.cfg.LeaseTTL/3 {
		return d.leading, false // asked lately: one write per third of the TTL, holder or not
	}
	d.tried = now
	if !d.anySubscription(ctx) {
		// Nothing to deliver: no lease, so that a server without
		// subscriptions never writes. Every write empties the page cache
		// of every SQLite reader (they cannot tell which pages changed),
		// which a lease renewed every few seconds made a fifth of the CPU
		// of reading hosts at random from a large store.
		d.stopLeading("notify: no subscriptions left; this serve process stops holding the lease of delivery")
		return false, false
	}
	held, err := d.cfg.Store.LeaseDelivery(ctx, d.holder, now, d.cfg.LeaseTTL)
	if err != nil && ctx.Err() == nil {
		d.cfg.Logger.Warn("notify: lease of delivery", "error", err)
	}
	if err != nil || !held {
		d.stopLeading("notify: another serve process delivers the notifications now; stopping")
		return false, false
	}
	took = !d.leading
	if took {
		d.cfg.Logger.Info("notify: this serve process delivers the notifications")
	}
	d.leading = true
	return true, took
}

// stopLeading stops every worker if this dispatcher was delivering, saying
// why once.
func (d *Dispatcher) stopLeading(why string) {
	if d.leading {
		d.cfg.Logger.Info(why)
		for id, w := range d.workers {
			w.cancel()
			delete(d.workers, id)
		}
	}
	d.leading = false
}

// anySubscription reports whether the store holds a subscription, expired
// ones included (the holder of the lease deletes those). A failed read
// counts as yes: the lease then decides, as it did before this check.
func (d *Dispatcher) anySubscription(ctx context.Context) bool {
	subs, err := d.cfg.Store.ActiveSubscriptions(ctx, time.Time{})
	return err != nil || len(subs) > 0
}

func (d *Dispatcher) wakeAll() {
	for _, w := range d.workers {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (d *Dispatcher) start(ctx context.Context, s *portolan.Subscription) {
	wctx, cancel := context.WithCancel(ctx)
	w := &worker{d: d, id: s.ID, cursor: s.Cursor, retry: s.Retry, wake: make(chan struct{}, 1), cancel: cancel}
	w.settings.Store(s)
	d.workers[s.ID] = w
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		w.run(wctx)
	}()
}

// worker delivers one subscription's notifications; only its goroutine
// touches cursor and retry.
type worker struct {
	d  *Dispatcher
	id string
	// settings is the subscription as last read (expiration renewed, …).
	settings atomic.Pointer[portolan.Subscription]
	cursor   portolan.SubscriptionCursor
	retry    portolan.DeliveryRetry
	filter   portolan.Expr
	filterOf string
	wake     chan struct{}
	cancel   context.CancelFunc
}

func (w *worker) run(ctx context.Context) {
	for {
		w.deliver(ctx)
		var retry <-chan time.Time
		var t *time.Timer
		if !w.retry.NextAttempt.IsZero() {
			t = time.NewTimer(w.retry.NextAttempt.Sub(w.d.cfg.Now()))
			retry = t.C
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-retry:
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// notification is one pending notification and the cursor after it.
type notification struct {
	change portolan.SubscriptionChange
	names  []string
	id     string
	after  portolan.SubscriptionCursor
}

// deliver sends batches until the subscription is caught up with the
// watermark or a batch fails.
func (w *worker) deliver(ctx context.Context) {
	d := w.d
	for ctx.Err() == nil {
		s := w.settings.Load()
		now := d.cfg.Now()
		if !s.Expiration.After(now) {
			return // the dispatcher deletes it
		}
		if !w.retry.NextAttempt.IsZero() && now.Before(w.retry.NextAttempt) {
			return
		}
		until := d.watermark.Load()
		if w.cursor.Position >= until {
			return
		}
		batch, more, err := w.pending(ctx, s, until, MaxBatch)
		if err != nil {
			if ctx.Err() == nil {
				d.cfg.Logger.Warn("notify: read changes", "subscription", w.id, "error", err)
			}
			return
		}
		if len(batch) == 0 {
			w.advance(portolan.SubscriptionCursor{Position: until})
			return
		}
		// After the last batch of the range the cursor moves to its end,
		// past the changes that notify nothing.
		next := portolan.SubscriptionCursor{Position: until}
		if more {
			next = batch[len(batch)-1].after
		}
		err = w.post(ctx, s, batch)
		if err == nil {
			w.advance(next)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if !w.failed(ctx, s, err, len(batch)) {
			return
		}
		// Given up: the batch is dropped and the next one goes at once.
		w.advance(next)
	}
}

// pending returns the first notifications (at most limit) of the changes
// after the cursor, up to until, that the subscription asked for, and
// whether more follow. It stops there: a thousand workers each building
// every notification of a large import, once per batch, was most of the
// dispatcher's work (BenchmarkIngestWithSubscriptions).
func (w *worker) pending(ctx context.Context, s *portolan.Subscription, until int64, limit int) (out []notification, more bool, err error) {
	changes, err := w.d.cache.changes(ctx, w.cursor.Position, until)
	if err != nil {
		return nil, false, err
	}
	var matches map[string]bool
	if s.Filter != "" {
		if w.filterOf != s.Filter || w.filter == nil {
			if w.filter, err = w.d.cfg.ParseFilter(s.Filter); err != nil {
				return nil, false, err
			}
			w.filterOf = s.Filter
		}
		if matches, err = w.d.cache.matches(ctx, s.Filter, w.filter, w.cursor.Position, until); err != nil {
			return nil, false, err
		}
	}
	// The changes are in cursor order (position, collection, id): the
	// first one past the cursor is found by binary search, not by a scan.
	start, _ := slices.BinarySearchFunc(changes, w.cursor, func(c portolan.Change, cur portolan.SubscriptionCursor) int {
		switch {
		case c.Position != cur.Position:
			return cmp.Compare(c.Position, cur.Position)
		case c.Collection != portolan.ChangedHostPorts:
			return 1 // hosts and certificates sort after hostPorts
		case c.ID <= cur.AfterID:
			return -1 // delivered
		}
		return 1
	})
	for _, c := range changes[start:] {
		if c.Collection != portolan.ChangedHostPorts {
			continue
		}
		if c.Position == w.cursor.Position && c.ID <= w.cursor.AfterID {
			continue // delivered before a restart or a full batch
		}
		change, names, ok := portolan.NotificationOf(c.Kinds)
		if !ok || s.Change&change == 0 || (matches != nil && !matches[c.ID]) {
			continue
		}
		if len(out) == limit {
			return out, true, nil
		}
		out = append(out, notification{change: change, names: names, id: c.ID, after: portolan.SubscriptionCursor{Position: c.Position, AfterID: c.ID}})
	}
	return out, false, nil
}

// advance moves the cursor past what was acknowledged (or given up, or
// notifies nothing) and clears the retry state.
func (w *worker) advance(c portolan.SubscriptionCursor) {
	w.cursor = c
	w.retry = portolan.DeliveryRetry{}
	w.d.keepState(portolan.DeliveryState{ID: w.id, Cursor: c})
}

// failed records a failed attempt and reports whether the batch is given
// up (its retry window is over).
func (w *worker) failed(ctx context.Context, s *portolan.Subscription, cause error, n int) bool {
	d := w.d
	now := d.cfg.Now()
	if w.retry.FirstFailure.IsZero() {
		w.retry.FirstFailure = now
	}
	w.retry.Attempts++
	host := hostOf(s.NotificationURL)
	if now.Sub(w.retry.FirstFailure) >= d.cfg.RetryWindow {
		d.cfg.Logger.Error("notify: notifications dropped after the retry window", "subscription", w.id, "host", host,
			"notifications", n, "attempts", w.retry.Attempts, "since", w.retry.FirstFailure, "error", cause)
		w.missed(ctx, s)
		return true
	}
	// Exponential backoff with full jitter over its upper half, never past
	// the end of the window (the last attempt decides).
	pause := d.cfg.BackoffMin << min(w.retry.Attempts-1, 30)
	if pause > d.cfg.BackoffMax || pause <= 0 {
		pause = d.cfg.BackoffMax
	}
	pause = pause/2 + rand.N(pause/2+1)
	next := now.Add(pause)
	if end := w.retry.FirstFailure.Add(d.cfg.RetryWindow); next.After(end) {
		next = end
	}
	w.retry.NextAttempt = next
	d.cfg.Logger.Warn("notify: delivery failed", "subscription", w.id, "host", host, "attempt", w.retry.Attempts,
		"retry_in", next.Sub(now).Round(time.Millisecond), "error", cause)
	d.keepState(portolan.DeliveryState{ID: w.id, Cursor: w.cursor, Retry: w.retry})
	return false
}

// post sends one batch; any 2xx is delivered.
func (w *worker) post(ctx context.Context, s *portolan.Subscription, batch []notification) error {
	u, err := url.Parse(s.NotificationURL)
	if err != nil {
		return err
	}
	status, _, _, err := w.d.cfg.Guard.post(ctx, w.d.client, u, "application/json", appendPayload(nil, s, batch), 0)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return &statusError{status}
	}
	return nil
}

// missed tells the lifecycle URL, when there is one, that notifications
// were dropped: one attempt, no retry (a receiver that misses this one
// finds out from the gap anyway, by a delta query).
func (w *worker) missed(ctx context.Context, s *portolan.Subscription) {
	if s.LifecycleNotificationURL == "" {
		return
	}
	u, err := url.Parse(s.LifecycleNotificationURL)
	if err == nil {
		var status int
		status, _, _, err = w.d.cfg.Guard.post(ctx, w.d.client, u, "application/json", appendLifecycle(nil, s, "missed"), 0)
		if err == nil && (status < 200 || status > 299) {
			err = &statusError{status}
		}
	}
	if err != nil && ctx.Err() == nil {
		w.d.cfg.Logger.Warn("notify: lifecycle notification failed", "subscription", w.id, "host", hostOf(s.LifecycleNotificationURL), "error", err)
	}
}

type statusError struct{ status int }

func (e *statusError) Error() string { return "notify: receiver answered " + strconv.Itoa(e.status) }

// hostOf is what the log says of a webhook: its host, not its path or
// query, which may hold a secret.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Host
}

// appendPayload writes the notification body of §5. What is the same for
// every notification of the batch (the subscription's id, expiry, client
// state and tenant) is written once and copied, and nothing is allocated
// per notification: with a thousand subscriptions, each receiving every
// change, building the bodies was a third of the dispatcher's CPU.
func appendPayload(b []byte, s *portolan.Subscription, batch []notification) []byte {
	head := make([]byte, 0, 128)
	head = append(head, `{"subscriptionId":`...)
	head = appendJSONString(head, s.ID)
	head = append(head, `,"subscriptionExpirationDateTime":"`...)
	head = s.Expiration.UTC().AppendFormat(head, graphTime)
	head = append(head, `","changeType":`...)
	tail := make([]byte, 0, 64+len(s.ClientState)+len(s.Owner.TenantID))
	tail = append(tail, `]},"clientState":`...)
	tail = appendOptional(tail, s.ClientState)
	tail = append(tail, `,"tenantId":`...)
	tail = appendOptional(tail, s.Owner.TenantID)
	tail = append(tail, '}')
	b = slices.Grow(b, 16+len(batch)*(len(head)+len(tail)+200))
	b = append(b, `{"value":[`...)
	for i, n := range batch {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, head...)
		b = appendJSONString(b, n.change.String())
		b = append(b, `,"resource":`...)
		b = appendResource(b, n.id)
		b = append(b, `,"resourceData":{"@odata.type":"#microsoft.graph.security.hostPort","@odata.id":`...)
		b = appendResource(b, n.id)
		b = append(b, `,"id":`...)
		b = appendJSONString(b, n.id)
		b = append(b, `,"changes":[`...)
		for j, name := range n.names {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, name)
		}
		b = append(b, tail...)
	}
	return append(b, "]}"...)
}

// appendResource writes the resource path of a hostPort as a JSON string:
// hostPorts('{id}').
func appendResource(b []byte, id string) []byte {
	b = append(b, '"')
	b = appendJSONText(b, portolan.SubscriptionResourceHostPorts+"('")
	b = appendJSONText(b, id)
	return append(b, `')"`...)
}

// appendLifecycle writes a lifecycle notification (Graph's shape).
func appendLifecycle(b []byte, s *portolan.Subscription, event string) []byte {
	b = append(b, `{"value":[{"subscriptionId":`...)
	b = appendJSONString(b, s.ID)
	b = append(b, `,"subscriptionExpirationDateTime":`...)
	b = appendJSONString(b, formatTime(s.Expiration))
	b = append(b, `,"tenantId":`...)
	b = appendOptional(b, s.Owner.TenantID)
	b = append(b, `,"clientState":`...)
	b = appendOptional(b, s.ClientState)
	b = append(b, `,"lifecycleEvent":`...)
	b = appendJSONString(b, event)
	return append(b, "}]}"...)
}

// graphTime is the layout of Graph's DateTimeOffset, in UTC.
const graphTime = "2006-01-02T15:04:05.000Z"

// formatTime is Graph's DateTimeOffset, in UTC.
func formatTime(t time.Time) string { return t.UTC().Format(graphTime) }

func appendOptional(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, s)
}

// appendJSONString writes s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONText(b, s)
	return append(b, '"')
}

// appendJSONText writes s escaped for the inside of a JSON string: quotes,
// backslashes, control characters and U+2028/U+2029 (which JavaScript
// parsers take for line ends) escaped, bytes that are not UTF-8 replaced by
// U+FFFD, the rest copied in runs.
func appendJSONText(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			if c == '"' || c == '\\' {
				b = append(b, '\\', c)
			} else {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = utf8.AppendRune(b, utf8.RuneError)
		case r == 0x2028 || r == 0x2029:
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}
