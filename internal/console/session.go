// SPDX-License-Identifier: Apache-2.0

package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"portolan"
)

// A session is a cookie holding who signed in, with what permissions, until
// when, and a random id, signed with HMAC-SHA256 under the server's key. It
// needs no server-side store, and a stolen copy is worthless after its
// expiry: the server checks the signature and the expiry on every request.
// Signing out revokes the id in memory until the expiry, so that a copy
// taken before the sign-out stops working too (until a restart forgets it).

// Cookie names. The session cookie is HttpOnly and SameSite=Strict; the
// OIDC flow cookie must be Lax, since the identity provider's redirect back
// is a cross-site navigation that a Strict cookie would not follow.
const (
	sessionCookie = "portolan_session"
	flowCookie    = "portolan_oidc"
)

// session is the signed content of the session cookie.
type session struct {
	ID      string   `json:"sid"`
	Subject string   `json:"sub"`
	Scopes  []string `json:"scp,omitempty"`
	Roles   []string `json:"roles,omitempty"`
	Expires int64    `json:"exp"`
}

func (s *session) principal() *portolan.Principal {
	return &portolan.Principal{Subject: s.Subject, Scopes: s.Scopes, Roles: s.Roles}
}

// sessionKeeper signs and checks sessions, and holds the one-time sign-in
// links and the revoked session ids.
type sessionKeeper struct {
	key []byte
	now func() time.Time

	mu      sync.Mutex
	links   map[[32]byte]linkGrant // by SHA-256 of the code
	revoked map[string]int64       // session id -> expiry (unix)
}

// linkGrant is what a one-time sign-in link signs in as.
type linkGrant struct {
	principal portolan.Principal
	expires   time.Time
}

func newSessionKeeper(key []byte, now func() time.Time) *sessionKeeper {
	return &sessionKeeper{key: append([]byte(nil), key...), now: now,
		links: map[[32]byte]linkGrant{}, revoked: map[string]int64{}}
}

// mac is HMAC-SHA256 of msg under the key, for one purpose: the purpose is
// part of the message, so that a signature of one kind never passes as
// another (a cursor as a session, say).
func (k *sessionKeeper) mac(purpose string, msg []byte) []byte {
	h := hmac.New(sha256.New, k.key)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write(msg)
	return h.Sum(nil)
}

var b64 = base64.RawURLEncoding

// sign returns payload.signature, both base64url.
func (k *sessionKeeper) sign(purpose string, payload []byte) string {
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(k.mac(purpose, payload))
}

// open checks a value made by sign and returns its payload.
func (k *sessionKeeper) open(purpose, value string) ([]byte, bool) {
	p, s, ok := strings.Cut(value, ".")
	if !ok {
		return nil, false
	}
	payload, err1 := b64.DecodeString(p)
	sig, err2 := b64.DecodeString(s)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, k.mac(purpose, payload)) {
		return nil, false
	}
	return payload, true
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b64.EncodeToString(b)
}

// newSession makes the cookie value of a new session of p, valid for ttl.
// It keeps of the principal's permissions only the one the console checks,
// so that a token with hundreds of roles still fits in a cookie.
func (k *sessionKeeper) newSession(p *portolan.Principal, ttl time.Duration) (string, *session) {
	keep := func(perms []string) []string {
		for _, perm := range perms {
			if perm == portolan.PermissionThreatIntelligenceRead {
				return []string{perm}
			}
		}
		return nil
	}
	s := &session{ID: randomToken(16), Subject: clip(p.Subject, 200), Scopes: keep(p.Scopes), Roles: keep(p.Roles), Expires: k.now().Add(ttl).Unix()}
	payload, _ := json.Marshal(s)
	return k.sign("session", payload), s
}

// checkSession returns the session of a cookie value, or nil when it is
// forged, expired or revoked.
func (k *sessionKeeper) checkSession(value string) *session {
	payload, ok := k.open("session", value)
	if !ok {
		return nil
	}
	var s session
	if json.Unmarshal(payload, &s) != nil || s.ID == "" || k.now().Unix() >= s.Expires {
		return nil
	}
	k.mu.Lock()
	_, revoked := k.revoked[s.ID]
	k.mu.Unlock()
	if revoked {
		return nil
	}
	return &s
}

// revoke forgets a session before its expiry.
func (k *sessionKeeper) revoke(s *session) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now().Unix()
	for id, exp := range k.revoked {
		if exp <= now {
			delete(k.revoked, id)
		}
	}
	k.revoked[s.ID] = s.Expires
}

// csrfToken is the token the sign-out form carries: bound to the session,
// so that another site, which cannot read the page, cannot forge it.
func (k *sessionKeeper) csrfToken(s *session) string {
	return b64.EncodeToString(k.mac("csrf", []byte(s.ID)))
}

func (k *sessionKeeper) checkCSRF(s *session, token string) bool {
	return subtle.ConstantTimeCompare([]byte(token), []byte(k.csrfToken(s))) == 1
}

// newLink registers a one-time sign-in code for p and returns it.
func (k *sessionKeeper) newLink(p portolan.Principal, ttl time.Duration) string {
	code := randomToken(32)
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	for h, g := range k.links {
		if !now.Before(g.expires) {
			delete(k.links, h)
		}
	}
	k.links[sha256.Sum256([]byte(code))] = linkGrant{principal: p, expires: now.Add(ttl)}
	return code
}

// useLink consumes a sign-in code: it works once, before its expiry.
func (k *sessionKeeper) useLink(code string) (*portolan.Principal, bool) {
	h := sha256.Sum256([]byte(code))
	k.mu.Lock()
	defer k.mu.Unlock()
	g, ok := k.links[h]
	delete(k.links, h)
	if !ok || !k.now().Before(g.expires) {
		return nil, false
	}
	return &g.principal, true
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// NewSignInLink returns a one-time link (single use, valid SignInLinkTTL)
// that signs its visitor in as the local operator with the API's read
// permission; base is the server's scheme://host:port. serve prints it next
// to the demo token, for the local issuer.
func (c *Console) NewSignInLink(base string) string {
	p := portolan.Principal{Subject: "local operator", Scopes: []string{portolan.PermissionThreatIntelligenceRead}}
	return strings.TrimSuffix(base, "/") + "/signin/link?code=" + url.QueryEscape(c.sessions.newLink(p, SignInLinkTTL))
}

// requireSession lets a request through only with a valid session whose
// principal has the API's permission; without one, a GET is sent to the
// sign-in page (remembering where it was going), anything else refused.
func (c *Console) requireSession(next func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var s *session
		if ck, err := r.Cookie(sessionCookie); err == nil {
			s = c.sessions.checkSession(ck.Value)
		}
		if s == nil {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				return portolan.Errorf(portolan.EUNAUTHORIZED, "Your session has ended; sign in again.")
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil
		}
		if !s.principal().HasPermission(portolan.PermissionThreatIntelligenceRead) {
			return portolan.Errorf(portolan.EFORBIDDEN, "You are signed in as %s, without the %s permission the console needs.",
				s.Subject, portolan.PermissionThreatIntelligenceRead)
		}
		return next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	}
}

// setSession starts a session of p: the cookie, then a page that moves on to
// next. The page (rather than a redirect) makes the move a same-site
// navigation, so that the Strict cookie is sent even when the sign-in came
// from another site (the identity provider). A session made from a token
// ends when the token does (notAfter), if that is sooner than the TTL.
func (c *Console) setSession(w http.ResponseWriter, r *http.Request, p *portolan.Principal, next string, notAfter time.Time) error {
	if !p.HasPermission(portolan.PermissionThreatIntelligenceRead) {
		return portolan.Errorf(portolan.EFORBIDDEN, "%s lacks the %s permission the console needs.", p.Subject, portolan.PermissionThreatIntelligenceRead)
	}
	ttl := c.cfg.SessionTTL
	if left := notAfter.Sub(c.now()); !notAfter.IsZero() && left < ttl {
		ttl = left
	}
	value, s := c.sessions.newSession(p, ttl)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: c.secure(r),
		SameSite: http.SameSiteStrictMode, Expires: time.Unix(s.Expires, 0)})
	c.render(w, r, http.StatusOK, "moving", &movingPage{page: page{Title: "Signed in"}, Next: safeNext(next)})
	return nil
}

type movingPage struct {
	page
	Next string
}

// safeNext keeps a post-sign-in destination on this site: a path of the
// console, never another origin ("//evil", "/\evil", "https://…").
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/search"
	}
	return next
}

type signInPage struct {
	page
	Next    string
	OIDC    bool
	Links   bool
	Tokens  bool
	Message string
	Error   string
}

// serveSignIn is the sign-in page: how to get a link, or the OIDC button.
func (c *Console) serveSignIn(w http.ResponseWriter, r *http.Request) error {
	p := &signInPage{page: page{Title: "Sign in"}, Next: safeNext(r.URL.Query().Get("next")), OIDC: c.oidc != nil, Links: c.cfg.Links, Tokens: c.cfg.Verifier != nil}
	if r.URL.Query().Get("ended") != "" {
		p.Message = "You are signed out."
	}
	c.render(w, r, http.StatusOK, "signin", p)
	return nil
}

// serveSignInLink exchanges a one-time code for a session. It is a GET that
// changes state, as an OAuth callback is: the code is a single-use
// credential, and a second visit (a link preview, a reload) finds it used.
func (c *Console) serveSignInLink(w http.ResponseWriter, r *http.Request) error {
	p, ok := c.sessions.useLink(r.URL.Query().Get("code"))
	if !ok {
		return portolan.Errorf(portolan.EUNAUTHORIZED, "This sign-in link is unknown, used or expired: links work once, for %d minutes. Sign in with a token from `portolan token`, or restart serve for a new link.", int(SignInLinkTTL.Minutes()))
	}
	return c.setSession(w, r, p, "/search", time.Time{})
}

// serveTokenSignIn exchanges a bearer token (from `portolan token`, or the
// identity provider's) for a session: the API's verifier and permission
// check decide, and the session ends no later than the token.
func (c *Console) serveTokenSignIn(w http.ResponseWriter, r *http.Request) error {
	if c.cfg.Verifier == nil {
		return portolan.Errorf(portolan.ENOTFOUND, "This server does not take tokens on its sign-in page.")
	}
	if err := checkOrigin(r); err != nil {
		return err
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	p, err := c.cfg.Verifier.VerifyToken(r.Context(), token)
	if err != nil {
		// The API's client-safe sentence; the cause stays out of the page.
		msg := "The token was not accepted: it is malformed, expired, or of another issuer."
		status := http.StatusUnauthorized
		if portolan.ErrorCode(err) == portolan.EFORBIDDEN {
			msg, status = "The token lacks the "+portolan.PermissionThreatIntelligenceRead+" permission the console needs.", http.StatusForbidden
		} else if portolan.ErrorCode(err) != portolan.EUNAUTHORIZED {
			return err
		}
		page := &signInPage{page: page{Title: "Sign in"}, Next: safeNext(r.PostFormValue("next")), OIDC: c.oidc != nil, Links: c.cfg.Links,
			Tokens: true, Error: msg}
		c.render(w, r, status, "signin", page)
		return nil
	}
	return c.setSession(w, r, p, r.PostFormValue("next"), tokenExpiry(token))
}

// checkOrigin refuses a form posted from another site (a login or logout
// CSRF). Browsers say where a request comes from in Sec-Fetch-Site; older
// ones only in Origin, which they send as "null" under this site's
// Referrer-Policy, so a "null" Origin alone proves nothing either way.
// Clients that send neither are not browsers.
func checkOrigin(r *http.Request) error {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return portolan.Errorf(portolan.EFORBIDDEN, "This form was sent from another site.")
	}
	if origin := r.Header.Get("Origin"); origin != "" && origin != "null" {
		if u, err := url.Parse(origin); err != nil || u.Host != r.Host {
			return portolan.Errorf(portolan.EFORBIDDEN, "This form was sent from another site.")
		}
	}
	return nil
}

// tokenExpiry reads the exp claim of a compact JWT that the verifier has
// accepted; zero when it has none.
func tokenExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := b64.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == 0 {
		return time.Time{}
	}
	return time.Unix(claims.Exp, 0)
}

// serveSignOut ends the session: POST with the CSRF token of the page.
func (c *Console) serveSignOut(w http.ResponseWriter, r *http.Request) error {
	s := sessionFrom(r.Context())
	if err := checkOrigin(r); err != nil {
		return err
	}
	if !c.sessions.checkCSRF(s, r.PostFormValue("csrf")) {
		return portolan.Errorf(portolan.EFORBIDDEN, "The sign-out form is stale or forged; reload the page and try again.")
	}
	c.sessions.revoke(s)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: c.secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/signin?ended=1", http.StatusSeeOther)
	return nil
}
