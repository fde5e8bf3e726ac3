// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"portolan"
)

// Limits protect the service from one caller and from too much expensive
// work at once. The zero value limits nothing.
type Limits struct {
	// RequestsPerSecond is each principal's sustained request rate; 0
	// turns the per-principal limit off.
	RequestsPerSecond float64
	// Burst is how many requests a principal may make at once above the
	// rate (at least 1 when the rate is set).
	Burst int
	// Expensive is how many searches and delta queries may run at once
	// (estate-wide collections, $filter, $orderby, delta); 0 is no cap.
	Expensive int
	// ExpensiveWait is how long such a query waits for its turn before it
	// is refused with 429.
	ExpensiveWait time.Duration
}

// DefaultLimits are on by default, at levels one analyst (or one Graph SDK
// paging a collection) never meets, so that a runaway script of one
// principal slows down alone.
var DefaultLimits = Limits{RequestsPerSecond: 100, Burst: 400, Expensive: 8, ExpensiveWait: 5 * time.Second}

// limiter holds the state of Limits.
type limiter struct {
	cfg Limits
	// expensive holds one token per running expensive query.
	expensive chan struct{}

	mu         sync.Mutex
	principals map[string]*rate.Limiter
	swept      time.Time
}

func newLimiter(cfg Limits) *limiter {
	l := &limiter{cfg: cfg, principals: map[string]*rate.Limiter{}}
	if l.cfg.RequestsPerSecond > 0 && l.cfg.Burst < 1 {
		l.cfg.Burst = 1
	}
	if cfg.Expensive > 0 {
		l.expensive = make(chan struct{}, cfg.Expensive)
	}
	return l
}

// sweepEvery bounds how often idle principals are forgotten.
const sweepEvery = time.Minute

// allow takes one request of p's budget. When none is left it sets
// Retry-After to the seconds until one is, and returns ETOOMANY.
func (l *limiter) allow(w http.ResponseWriter, p *portolan.Principal, now time.Time) error {
	if l.cfg.RequestsPerSecond <= 0 {
		return nil
	}
	key := p.TenantID + "\x00" + p.Subject
	l.mu.Lock()
	if now.Sub(l.swept) > sweepEvery {
		l.sweep(now)
	}
	lim := l.principals[key]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(l.cfg.RequestsPerSecond), l.cfg.Burst)
		l.principals[key] = lim
	}
	r := lim.ReserveN(now, 1)
	l.mu.Unlock()
	delay := r.DelayFrom(now)
	if delay == 0 {
		return nil
	}
	// Not taken: a refused request costs the caller nothing.
	r.CancelAt(now)
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(delay.Seconds()))))
	return portolan.Errorf(portolan.ETOOMANY, "Too many requests from this caller; retry after the number of seconds in the Retry-After header.")
}

// sweep forgets the principals whose budget is full again: a new limiter
// would behave the same, so the map stays as small as the active callers.
// l.mu is held.
func (l *limiter) sweep(now time.Time) {
	l.swept = now
	for key, lim := range l.principals {
		if lim.TokensAt(now) >= float64(l.cfg.Burst) {
			delete(l.principals, key)
		}
	}
}

// acquireExpensive waits up to ExpensiveWait for a slot of the expensive
// queries; the caller must call the returned release. Past the wait it is
// ETOOMANY with Retry-After, since the service is busy, not broken.
func (l *limiter) acquireExpensive(ctx context.Context, w http.ResponseWriter) (release func(), err error) {
	if l.expensive == nil {
		return func() {}, nil
	}
	select {
	case l.expensive <- struct{}{}:
		return l.releaseExpensive, nil
	default:
	}
	wait := time.NewTimer(l.cfg.ExpensiveWait)
	defer wait.Stop()
	select {
	case l.expensive <- struct{}{}:
		return l.releaseExpensive, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-wait.C:
		w.Header().Set("Retry-After", "1")
		return nil, portolan.Errorf(portolan.ETOOMANY, "Too many searches and delta queries are running; retry after the number of seconds in the Retry-After header.")
	}
}

func (l *limiter) releaseExpensive() { <-l.expensive }

// expensive reports whether a request of route kind k with the query rawQuery
// may scan much of the store: the estate-wide collections, delta queries,
// and any $filter or $orderby. A host's ports without options are not.
func expensive(k routeKind, rawQuery string) bool {
	switch k {
	case routeHostPortsAll, routeHostPortsAllCount, routeHostsAll, routeHostsAllCount,
		routeSSLCertsCount, routeComponentsAll, routeComponentsAllCount,
		routeHostCertsAll, routeHostCertsAllCount,
		routeHostPortsDelta, routeHostsDelta, routeSSLCertsDelta:
		return true
	}
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		name, _, _ := strings.Cut(pair, "=")
		if strings.Contains(name, "%") {
			name, _ = url.QueryUnescape(name)
		}
		switch strings.ToLower(strings.TrimPrefix(name, "$")) {
		case "filter", "orderby", "search":
			return true
		}
	}
	return false
}

// maxLoggedPath is how much of a request path a log line keeps.
const maxLoggedPath = 512

// loggedPath cuts a very long path for the log line, saying how long it was,
// so that one request cannot fill the log.
func loggedPath(p string) string {
	if len(p) <= maxLoggedPath {
		return p
	}
	cut := maxLoggedPath
	for cut > 0 && p[cut]&0xC0 == 0x80 {
		cut-- // not inside a UTF-8 sequence
	}
	return p[:cut] + "…(" + strconv.Itoa(len(p)) + " bytes)"
}
