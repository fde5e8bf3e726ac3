// SPDX-License-Identifier: Apache-2.0

// Package httpapi serves Portolan's records through the Microsoft Graph beta
// threat-intelligence API (spec/graph-api.md), so that Graph SDKs and curl
// work against it unchanged: the paths under /beta and /v1.0, Graph's JSON
// shapes and error envelope, the OData query options, server-driven paging
// with a signed $skiptoken, bearer-token authentication, gzip and ETags.
//
// Handlers return errors; one adapter (handle, writeError) turns them into
// responses through the single statusByCode table.
package httpapi

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"time"

	"portolan"
)

// MinSkipTokenKeyLen is the shortest HMAC key accepted for $skiptoken.
const MinSkipTokenKeyLen = 32

// Config is what a Server needs. Every field except Logger, Now and
// TrustForwardedProto is required.
type Config struct {
	// HostPorts, Hosts and Certificates answer the reads; a portolan.Store
	// implements all three.
	HostPorts    portolan.HostPortService
	Hosts        portolan.HostService
	Certificates portolan.SSLCertificateService
	// Search answers the estate-wide collections and $filter; when nil,
	// HostPorts is used if it implements portolan.SearchService (a store
	// does), and otherwise those collections are not served.
	Search portolan.SearchService
	// Changes answers the delta queries; when nil, HostPorts is used if it
	// implements portolan.ChangeService (a store does).
	Changes portolan.ChangeService

	// Subscriptions keeps the subscriptions of change notifications
	// (search-and-changes.md §5) and Endpoints checks their webhooks;
	// {root}/subscriptions is served when both are set (Subscriptions
	// defaults to HostPorts when it implements the interface).
	Subscriptions portolan.SubscriptionService
	Endpoints     portolan.EndpointChecker

	// Verifier checks the bearer token of every API request.
	Verifier portolan.TokenVerifier

	// SkipTokenKey is the HMAC-SHA256 key that makes $skiptoken values
	// tamper-evident. Keep it stable across restarts so that next links
	// survive them; at least MinSkipTokenKeyLen bytes.
	SkipTokenKey []byte

	// TrustForwardedProto makes absolute URLs (@odata.nextLink,
	// @odata.context) use the scheme of the X-Forwarded-Proto header. Set it
	// only behind a reverse proxy that overwrites that header: otherwise any
	// client could make the server hand out http links for an https service.
	TrustForwardedProto bool

	// Logger receives one line per request and the details of failures;
	// nil discards them.
	Logger *slog.Logger

	// Now is the clock of error dates; nil means time.Now.
	Now func() time.Time

	// Generation, when set, returns a number that changes whenever the
	// records may have changed; successful responses are then cached while
	// it stays the same (cache.go). Stores that can tell cheaply implement
	// portolan.ChangeTracker.
	Generation func(context.Context) (uint64, error)

	// TokenHint, when set, is logged with every refused token that was
	// sent: what the operator should check first (for the local issuer,
	// which data directory's key signs the tokens it accepts).
	TokenHint string

	// CORSOrigins are the origins of browser applications allowed to call
	// the API ("*" for any); empty turns CORS off (cors.go).
	CORSOrigins []string

	// Limits bound each principal's request rate and the expensive
	// queries running at once (limit.go); the zero value limits nothing,
	// DefaultLimits is what serve uses unless told otherwise.
	Limits Limits

	// Ready, when set, reports whether what the server depends on (the
	// store, the bus) is reachable; /readyz answers 503 while it fails.
	// Nil: /readyz answers as /healthz does.
	Ready func(context.Context) error

	// Observer is told of every request, cache lookup and refused token,
	// for metrics; nil observes nothing.
	Observer Observer
}

// Server is the Graph-compatible API as an http.Handler.
type Server struct {
	hostPorts    portolan.HostPortService
	hosts        portolan.HostService
	certificates portolan.SSLCertificateService
	search       portolan.SearchService
	changes      portolan.ChangeService
	// subscriptions and endpoints serve {root}/subscriptions.
	subscriptions portolan.SubscriptionService
	endpoints     portolan.EndpointChecker
	verifier      portolan.TokenVerifier
	tokenKey      []byte
	trustProto    bool
	logger        *slog.Logger
	now           func() time.Time
	mux           *http.ServeMux
	metadata      []byte
	generation    func(context.Context) (uint64, error)
	responses     responseCache
	corsOrigins   []string
	tokenHint     string
	limits        *limiter
	observer      Observer
	ready         func(context.Context) error
}

// New returns a Server for cfg. It fails when a required field is missing,
// so that a wiring mistake never yields an unauthenticated server.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.HostPorts == nil || cfg.Hosts == nil || cfg.Certificates == nil:
		return nil, errors.New("httpapi: the HostPorts, Hosts and Certificates services are required")
	case cfg.Verifier == nil:
		return nil, errors.New("httpapi: a token verifier is required")
	case len(cfg.SkipTokenKey) < MinSkipTokenKeyLen:
		return nil, errors.New("httpapi: the skip token key must have at least 32 bytes")
	}
	s := &Server{
		hostPorts:    cfg.HostPorts,
		hosts:        cfg.Hosts,
		certificates: cfg.Certificates,
		verifier:     cfg.Verifier,
		tokenHint:    cfg.TokenHint,
		tokenKey:     append([]byte(nil), cfg.SkipTokenKey...),
		trustProto:   cfg.TrustForwardedProto,
		logger:       cfg.Logger,
		now:          cfg.Now,
		metadata:     metadataDocument(),
		generation:   cfg.Generation,
		search:       cfg.Search,
		endpoints:    cfg.Endpoints,
		corsOrigins:  slices.Clone(cfg.CORSOrigins),
		limits:       newLimiter(cfg.Limits),
		observer:     cfg.Observer,
		ready:        cfg.Ready,
	}
	if s.observer == nil {
		s.observer = nopObserver{}
	}
	if s.search == nil {
		s.search, _ = cfg.HostPorts.(portolan.SearchService)
	}
	if s.changes = cfg.Changes; s.changes == nil {
		s.changes, _ = cfg.HostPorts.(portolan.ChangeService)
	}
	if s.subscriptions = cfg.Subscriptions; s.subscriptions == nil {
		s.subscriptions, _ = cfg.HostPorts.(portolan.SubscriptionService)
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	api := s.authenticate(s.cacheResponses(s.handle(s.serveAPI)))
	metadata := s.handle(s.serveMetadata)
	s.mux = http.NewServeMux()
	for _, root := range serviceRoots {
		// Each root is one catch-all: OData keys such as hosts('8.8.8.8')
		// cannot be mux wildcards, so router.go splits the path. $metadata
		// is registered apart because it is open without a token.
		s.mux.Handle("/"+root+"/", api)
		s.mux.Handle("/"+root+"/$metadata", metadata)
	}
	s.mux.Handle("/healthz", s.handle(s.serveHealth))
	s.mux.Handle("/readyz", s.handle(s.serveReady))
	s.mux.Handle("/", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return portolan.Errorf(portolan.ENOTFOUND, "Resource not found for the segment '%s'.", firstSegment(r.URL.Path))
	}))
	return s, nil
}

// serviceRoots are the Graph versions served; both serve the same paths.
var serviceRoots = []string{"beta", "v1.0"}

// requestState is what the outer middleware and the inner handlers share
// about one request: its ids for headers and error bodies, and what the log
// line needs.
type requestState struct {
	id       string
	clientID string
	subject  string
}

type stateKey struct{}

// stateOf returns the request's state; a zero state outside ServeHTTP (a
// handler called directly in a test) keeps writeError working.
func stateOf(ctx context.Context) *requestState {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return st
	}
	return &requestState{}
}

// statusWriter records the status for the log line and whether the header
// went out (a panic after that cannot be answered any more).
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the first status written.
func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write records the implicit 200 of a body written without a header.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestFrame is what ServeHTTP keeps for a request, allocated in one
// piece: its state, the writer that records its status, and the values of
// its two id headers.
type requestFrame struct {
	state  requestState
	writer statusWriter
	ids    [2]string
}

// ServeHTTP is the outermost middleware: request ids, panic recovery and the
// one log line per request, around the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	f := &requestFrame{}
	st := &f.state
	st.id = newUUID()
	st.clientID = clientRequestID(r.Header.Get("Client-Request-Id"), st.id) // canonical: Get then allocates nothing
	f.ids = [2]string{st.id, st.clientID}
	h := w.Header()
	h["Request-Id"] = f.ids[0:1:1]
	h["Client-Request-Id"] = f.ids[1:2:2]
	sw := &f.writer
	sw.ResponseWriter = w
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.LogAttrs(r.Context(), slog.LevelError, "panic",
				slog.String("request-id", st.id), slog.String("method", r.Method),
				slog.String("path", loggedPath(r.URL.Path)), slog.Any("panic", v),
				slog.String("stack", string(debug.Stack())))
			if sw.status == 0 {
				// errors.New is no domain error: the body says only
				// "Internal error.", the detail stays in the log above.
				s.writeError(sw, r, errors.New("panic"))
			}
		}
		if _, nop := s.observer.(nopObserver); !nop {
			s.observer.Request(routeLabel(r.URL.EscapedPath()), sw.status, time.Since(start))
		}
		// The record goes to the handler directly, without the caller's
		// program counter that Logger.LogAttrs looks up on every call:
		// the source of this line is always this line.
		if h := s.logger.Handler(); h.Enabled(r.Context(), slog.LevelInfo) {
			now := time.Now()
			rec := slog.NewRecord(now, slog.LevelInfo, "request", 0)
			rec.AddAttrs(slog.String("request-id", st.id), slog.String("method", r.Method),
				slog.String("path", loggedPath(r.URL.Path)), slog.Int("status", sw.status),
				slog.Duration("duration", now.Sub(start)), slog.String("subject", st.subject))
			_ = h.Handle(r.Context(), rec)
		}
	}()
	s.edge(sw, r)
}

// newUUID returns a random (version 4) UUID from crypto/rand.
func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go 1.24+)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var out [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hexDigits[c>>4], hexDigits[c&0xF]
		j += 2
	}
	return string(out[:])
}

// clientRequestID echoes the caller's client-request-id when it is a
// reasonable token (Graph echoes it; SDKs send a UUID), else the request id.
// Odd values are not echoed so the header cannot be abused to smuggle bytes
// into logs or other clients' caches.
func clientRequestID(v, requestID string) string {
	if v == "" || len(v) > 128 {
		return requestID
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return requestID
		}
	}
	return v
}

// serveHealth answers /healthz, open without a token, for load balancers.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) error {
	if err := checkMethod(r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
	return nil
}

// checkMethod refuses everything but GET and HEAD: the API is read-only.
func checkMethod(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	return portolan.Errorf(portolan.ENOTALLOWED, "The method '%s' is not allowed on this resource; only GET is.", r.Method)
}

// firstSegment is for the 404 message of paths outside the service roots.
func firstSegment(path string) string {
	for len(path) > 0 && path[0] == '/' {
		path = path[1:]
	}
	for i := 0; i < len(path); i++ {
		if path[i] == '/' {
			return path[:i]
		}
	}
	return path
}
