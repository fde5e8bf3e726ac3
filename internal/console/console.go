// SPDX-License-Identifier: Apache-2.0

// Package console is the web console of `portolan serve`: server-rendered
// pages (search, host with its timeline, certificate, changes) over the same
// services as the Graph API, for a person rather than a script.
//
// Everything a page shows may come from a scanned host, which an attacker
// controls, so every page goes through html/template's contextual escaping,
// every response carries a Content-Security-Policy without 'unsafe-inline'
// (the pages need no script at all), and nothing outside the sign-in
// exchanges changes state on a GET. Assets are embedded: the console loads
// nothing from another origin.
package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"portolan"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// MinSessionKeyLen is the shortest HMAC key accepted for session cookies.
const MinSessionKeyLen = 32

// Config is what a Console needs. HostPorts, Hosts, Certificates, Search,
// ParseSearch and SessionKey are required.
type Config struct {
	HostPorts    portolan.HostPortService
	Hosts        portolan.HostService
	Certificates portolan.SSLCertificateService
	Search       portolan.SearchService
	// Changes answers the changes page and marks the host page's
	// timeline; nil shows recently first-seen ports instead, and marks
	// only where banners, components and certificates were first seen.
	Changes portolan.ChangeService
	// ChangeRetention is how long the store keeps its change record
	// (serve --change-retention; 0: for ever), which the host page says
	// under its timeline.
	ChangeRetention time.Duration

	// ParseSearch turns the text of the search box and a $orderby into a
	// checked query exactly as the API parses a request's (the command
	// passes httpapi.ParseHostPortSearch): one grammar, one set of error
	// messages. Its errors are EINVALID with the API's positioned message.
	ParseSearch func(filter, orderBy string) (portolan.SearchQuery, error)

	// SessionKey signs session cookies, CSRF tokens and page cursors; keep
	// it secret and stable (a file of mode 0600 in the data directory), at
	// least MinSessionKeyLen bytes.
	SessionKey []byte
	// SessionTTL is how long a session lasts; zero means DefaultSessionTTL.
	SessionTTL time.Duration
	// TrustForwardedProto takes a request whose X-Forwarded-Proto is https
	// as an https one (Secure cookies, https callback): set it only behind
	// a reverse proxy that sets that header itself, as the API's option.
	TrustForwardedProto bool
	// Secure marks cookies Secure: set it when the listener speaks TLS.
	Secure bool

	// OIDC, when set, signs people in with the authorization-code flow of
	// an OpenID Connect issuer. Verifier checks the tokens it returns and
	// those pasted into the sign-in page (the API's verifier, so the
	// permission check is the API's); nil turns the token form off.
	OIDC     *OIDCConfig
	Verifier portolan.TokenVerifier
	// Links says that the server hands out one-time sign-in links
	// (NewSignInLink), which the sign-in page then explains.
	Links bool

	// Logger receives one line per request; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultSessionTTL is the life of a session when Config.SessionTTL is zero:
// a working day, after which the cookie is worthless.
const DefaultSessionTTL = 8 * time.Hour

// SignInLinkTTL is how long a one-time sign-in link stays valid.
const SignInLinkTTL = 10 * time.Minute

// Console is the web console as an http.Handler.
type Console struct {
	cfg      Config
	logger   *slog.Logger
	now      func() time.Time
	mux      *http.ServeMux
	pages    map[string]*template.Template
	sessions *sessionKeeper
	oidc     *oidcClient
}

// New returns a Console for cfg, or an error naming what is missing.
func New(cfg Config) (*Console, error) {
	switch {
	case cfg.HostPorts == nil || cfg.Hosts == nil || cfg.Certificates == nil || cfg.Search == nil:
		return nil, errors.New("console: the HostPorts, Hosts, Certificates and Search services are required")
	case cfg.ParseSearch == nil:
		return nil, errors.New("console: ParseSearch is required")
	case len(cfg.SessionKey) < MinSessionKeyLen:
		return nil, errors.New("console: the session key must have at least 32 bytes")
	case cfg.OIDC != nil && cfg.Verifier == nil:
		return nil, errors.New("console: OIDC sign-in needs the token verifier")
	}
	c := &Console{cfg: cfg, logger: cfg.Logger, now: cfg.Now}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.cfg.SessionTTL <= 0 {
		c.cfg.SessionTTL = DefaultSessionTTL
	}
	var err error
	if c.pages, err = parsePages(c.now); err != nil {
		return nil, err
	}
	c.sessions = newSessionKeeper(cfg.SessionKey, c.now)
	if cfg.OIDC != nil {
		c.oidc = newOIDCClient(*cfg.OIDC)
	}
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(static)))
	m.Handle("GET /{$}", http.RedirectHandler("/search", http.StatusSeeOther))
	m.Handle("GET /signin", c.handle(c.serveSignIn))
	m.Handle("POST /signin", c.handle(c.serveTokenSignIn))
	m.Handle("GET /signin/link", c.handle(c.serveSignInLink))
	m.Handle("GET /signin/oidc", c.handle(c.serveOIDCStart))
	m.Handle("GET /signin/callback", c.handle(c.serveOIDCCallback))
	m.Handle("POST /signout", c.handle(c.requireSession(c.serveSignOut)))
	m.Handle("GET /search", c.handle(c.requireSession(c.serveSearch)))
	m.Handle("GET /search.csv", c.handle(c.requireSession(c.serveSearchCSV)))
	m.Handle("GET /hosts/{id}", c.handle(c.requireSession(c.serveHost)))
	m.Handle("GET /certificates/{id}", c.handle(c.requireSession(c.serveCertificate)))
	m.Handle("GET /changes", c.handle(c.requireSession(c.serveChanges)))
	m.Handle("/", c.handle(func(w http.ResponseWriter, r *http.Request) error {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return portolan.Errorf(portolan.ENOTALLOWED, "The method %s is not allowed here.", r.Method)
		}
		return portolan.Errorf(portolan.ENOTFOUND, "There is no page at this address.")
	}))
	c.mux = m
}

// securityHeaders are sent with every response of the console. The pages use
// no script, no inline style and no frame; images are the embedded ones.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Content-Type-Options":       "nosniff",
	"Referrer-Policy":              "no-referrer",
	"X-Frame-Options":              "DENY",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"Permissions-Policy":           "camera=(), microphone=(), geolocation=()",
}

// ServeHTTP sets the security headers, recovers from panics and logs one
// line per request (the path only: a query may hold a sign-in code).
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := c.now()
	h := w.Header()
	for k, v := range securityHeaders {
		h.Set(k, v)
	}
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			c.logger.LogAttrs(r.Context(), slog.LevelError, "console panic", slog.String("path", r.URL.Path),
				slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			if sw.status == 0 {
				c.writeError(sw, r, errors.New("panic"))
			}
		}
		c.logger.LogAttrs(r.Context(), slog.LevelInfo, "console request", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", sw.status), slog.Duration("duration", c.now().Sub(start)))
	}()
	c.mux.ServeHTTP(sw, r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// handle adapts a handler that returns an error: nil means it wrote the
// response, an error becomes the error page.
func (c *Console) handle(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			c.writeError(w, r, err)
		}
	})
}

// statusByCode maps the domain's error codes to HTTP status, as the API does.
var statusByCode = map[string]int{
	portolan.EINVALID:      http.StatusBadRequest,
	portolan.EUNAUTHORIZED: http.StatusUnauthorized,
	portolan.EFORBIDDEN:    http.StatusForbidden,
	portolan.ENOTFOUND:     http.StatusNotFound,
	portolan.ENOTALLOWED:   http.StatusMethodNotAllowed,
	portolan.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// writeError renders the error page: the domain error's client-safe message,
// or "Internal error." with the cause in the log only.
func (c *Console) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	code := portolan.ErrorCode(err)
	status, ok := statusByCode[code]
	msg := portolan.ErrorMessage(err)
	if !ok {
		status, msg = http.StatusInternalServerError, "Internal error."
		c.logger.LogAttrs(r.Context(), slog.LevelError, "console error", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	}
	c.render(w, r, status, "error", &errorPage{page: c.pageFor(r, "Error"), Status: status, Message: msg})
}

type errorPage struct {
	page
	Status  int
	Message string
}

// page is what the layout of every page needs.
type page struct {
	Title string
	// Nav is the name of the navigation entry to mark current.
	Nav string
	// Signed is the signed-in person's subject; empty on the sign-in page.
	Signed string
	// CSRF is the sign-out form's token.
	CSRF string
}

func (c *Console) pageFor(r *http.Request, title string) page {
	p := page{Title: title}
	if s := sessionFrom(r.Context()); s != nil {
		p.Signed, p.CSRF = s.Subject, c.sessions.csrfToken(s)
	}
	return p
}

// render executes a page template into a buffer first, so that a failure
// half-way never sends half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		c.logger.LogAttrs(r.Context(), slog.LevelError, "console template", slog.String("page", name), slog.String("error", err.Error()))
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// staticHandler serves the embedded assets with a long-lived cache: they
// change only with the binary.
func staticHandler(files fs.FS) http.Handler {
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
}

// secure reports whether the browser reached r over https: the listener's
// TLS, or a TLS-terminating proxy trusted to say so. Cookies are then
// Secure, so a session never travels in clear.
func (c *Console) secure(r *http.Request) bool {
	return c.cfg.Secure || r.TLS != nil || (c.cfg.TrustForwardedProto && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}
