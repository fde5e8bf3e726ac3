// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/httprc/v3/errsink"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// DefaultMinRefreshInterval is the least time between two JWKS refreshes
// that unknown kids trigger. Issuers publish a new key well before they sign
// with it, so one refresh per interval finds it, while a flood of tokens
// with invented kids costs the issuer at most one request per interval.
const DefaultMinRefreshInterval = 30 * time.Second

const (
	// fetchTimeout bounds discovery, the first JWKS fetch and each refresh.
	fetchTimeout = 30 * time.Second
	// maxDiscoverySize bounds the discovery document we read.
	maxDiscoverySize = 1 << 20
	// maxKeyAge is the longest a JWKS is cached without a refresh, whatever
	// its Cache-Control says, so that a withdrawn key stops verifying.
	maxKeyAge = 24 * time.Hour
)

// NewOIDCVerifier returns a Verifier for the OpenID Connect issuer: it reads
// {issuer}/.well-known/openid-configuration, checks that the document names
// exactly issuer, and verifies tokens against the keys at its jwks_uri,
// cached and refreshed. It works with Microsoft Entra ID (issuer
// https://login.microsoftonline.com/{tid}/v2.0 for v2 tokens,
// https://sts.windows.net/{tid}/ for v1 tokens), Keycloak
// (https://host/realms/{realm}) and Dex.
//
// Entra ID signs the tokens it issues for Microsoft Graph itself (aud
// https://graph.microsoft.com) with a nonce header that only Graph can
// verify, so with Entra, register an application for Portolan, expose
// ThreatIntelligence.Read.All as its scope and app role, and pass its
// Application ID URI or client ID as the audience.
//
// ctx bounds the life of the key cache's background goroutines: pass a
// context that lives as long as the server.
func NewOIDCVerifier(ctx context.Context, issuer string, audiences []string, opts Options) (*Verifier, error) {
	doc, err := discover(ctx, issuer, opts.httpClient())
	if err != nil {
		return nil, err
	}
	keys, err := NewRemoteKeySet(ctx, doc.JWKSURI, opts)
	if err != nil {
		return nil, err
	}
	return NewVerifier(keys, issuer, audiences, opts)
}

// discoveryDocument mirrors the two members of OpenID Connect Discovery 1.0
// §3 that a resource server needs.
type discoveryDocument struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// discover fetches and checks the issuer's discovery document.
func discover(ctx context.Context, issuer string, client *http.Client) (*discoveryDocument, error) {
	iu, err := url.Parse(issuer)
	if err != nil || (iu.Scheme != "https" && iu.Scheme != "http") || iu.Host == "" || iu.RawQuery != "" || iu.Fragment != "" {
		return nil, fmt.Errorf("auth: OIDC issuer %q is not an http(s) URL without query or fragment", issuer)
	}
	// Discovery §4: the path is appended to the issuer, after removing a
	// trailing slash (Entra v1's https://sts.windows.net/{tid}/ has one).
	docURL := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"

	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, docURL, nil)
	if err != nil {
		return nil, fmt.Errorf("auth: OIDC discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("auth: OIDC discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("auth: OIDC discovery: GET %s: %s", docURL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoverySize+1))
	if err != nil {
		return nil, fmt.Errorf("auth: OIDC discovery: GET %s: %w", docURL, err)
	}
	if len(body) > maxDiscoverySize {
		return nil, fmt.Errorf("auth: OIDC discovery: GET %s: document over %d bytes", docURL, maxDiscoverySize)
	}
	var doc discoveryDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("auth: OIDC discovery: GET %s: %w", docURL, err)
	}
	// Discovery §4.3: the document must name the issuer it was fetched for,
	// exactly; a mismatch means a misconfiguration or an impostor.
	if doc.Issuer != issuer {
		return nil, fmt.Errorf("auth: OIDC discovery: %s names issuer %q, not the configured %q (configure the issuer exactly as the document spells it)", docURL, doc.Issuer, issuer)
	}
	ju, err := url.Parse(doc.JWKSURI)
	if err != nil || ju.Host == "" || (ju.Scheme != "https" && ju.Scheme != "http") {
		return nil, fmt.Errorf("auth: OIDC discovery: %s has no usable jwks_uri (%q)", docURL, doc.JWKSURI)
	}
	// Keys fetched over plain HTTP from an HTTPS issuer could be swapped in
	// transit; only a plain-HTTP issuer (a lab Keycloak) may use one.
	if iu.Scheme == "https" && ju.Scheme != "https" {
		return nil, fmt.Errorf("auth: OIDC discovery: jwks_uri %q is not https", doc.JWKSURI)
	}
	return &doc, nil
}

func (o Options) httpClient() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	// jwx's default: a timeout and no redirect from https to http.
	return jwk.DefaultHTTPClient()
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

// RemoteKeySet is a KeySet fetched from a JWKS URL. jwx's jwk.Cache keeps it
// and refreshes it in the background (as the response's Cache-Control says,
// at least daily); a kid it does not know triggers an immediate refresh, at
// most one per MinRefreshInterval, so that a rotated key is accepted without
// a restart.
type RemoteKeySet struct {
	url         string
	cache       *jwk.Cache
	resource    *httprc.ResourceBase[jwk.Set]
	minInterval time.Duration
	now         func() time.Time

	// refreshing holds a token while a refresh runs, so that refreshes are
	// serialised and a waiting request can still give up with its context.
	refreshing  chan struct{}
	lastRefresh time.Time // guarded by refreshing
}

var _ KeySet = (*RemoteKeySet)(nil)

// NewRemoteKeySet fetches the JWKS at jwksURL and returns it as a cached
// KeySet. It fails when the first fetch fails, so that a wrong URL is
// reported at start rather than as 401s. ctx bounds the life of the cache's
// background goroutines.
func NewRemoteKeySet(ctx context.Context, jwksURL string, opts Options) (*RemoteKeySet, error) {
	logger := opts.logger()
	// The first fetch failure ends the wait below with its real cause;
	// later failures (background refreshes) are only logged, and the last
	// good key set stays in use.
	firstErr := make(chan error, 1)
	sink := errsink.NewFunc(func(_ context.Context, err error) {
		select {
		case firstErr <- err:
		default:
		}
		logger.Warn("auth: JWKS fetch failed; the cached keys stay in use", "url", jwksURL, "error", err)
	})
	cache, err := jwk.NewCache(ctx, httprc.NewClient(httprc.WithWorkers(2), httprc.WithErrorSink(sink)))
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS cache: %w", err)
	}
	fail := func(err error) (*RemoteKeySet, error) {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = cache.Shutdown(sctx)
		return nil, err
	}
	if err := cache.Register(ctx, jwksURL,
		jwk.WithHTTPClient(opts.httpClient()),
		jwk.WithMaxInterval(maxKeyAge),
		jwk.WithWaitReady(false),
	); err != nil {
		return fail(fmt.Errorf("auth: JWKS %s: %w", jwksURL, err))
	}
	res, err := cache.LookupResource(ctx, jwksURL)
	if err != nil {
		return fail(fmt.Errorf("auth: JWKS %s: %w", jwksURL, err))
	}
	wctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	ready := make(chan error, 1)
	go func() { ready <- res.Ready(wctx) }()
	select {
	case err := <-firstErr:
		return fail(fmt.Errorf("auth: JWKS %s: %w", jwksURL, err))
	case err := <-ready:
		if err != nil {
			return fail(fmt.Errorf("auth: JWKS %s: no key set after %s: %w", jwksURL, fetchTimeout, err))
		}
	}
	if res.Resource() == nil || res.Resource().Len() == 0 {
		return fail(fmt.Errorf("auth: JWKS %s holds no keys", jwksURL))
	}
	interval := opts.MinRefreshInterval
	if interval <= 0 {
		interval = DefaultMinRefreshInterval
	}
	r := &RemoteKeySet{url: jwksURL, cache: cache, resource: res, minInterval: interval, now: opts.now, refreshing: make(chan struct{}, 1)}
	r.lastRefresh = r.now()
	return r, nil
}

// URL is the JWKS URL.
func (r *RemoteKeySet) URL() string { return r.url }

// Close stops the cache's background refresh.
func (r *RemoteKeySet) Close(ctx context.Context) error { return r.cache.Shutdown(ctx) }

// Key implements KeySet. An unknown kid triggers a refresh unless one
// happened within the minimum interval.
func (r *RemoteKeySet) Key(ctx context.Context, kid string) (jwk.Key, error) {
	k, err := lookupKey(r.resource.Resource(), kid)
	if err == nil || kid == "" {
		// A token without kid cannot name a rotated key; refreshing for
		// it would only let such tokens spend the refresh budget.
		return k, err
	}
	select {
	case r.refreshing <- struct{}{}:
		defer func() { <-r.refreshing }()
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: kid %q; gave up waiting for a JWKS refresh: %w", ErrUnknownKey, clip(kid), ctx.Err())
	}
	// Another request may have refreshed while this one waited.
	if k, err := lookupKey(r.resource.Resource(), kid); err == nil {
		return k, nil
	}
	now := r.now()
	if since := now.Sub(r.lastRefresh); since < r.minInterval {
		return nil, fmt.Errorf("%w: kid %q; the JWKS was refreshed %s ago, at most once per %s", ErrUnknownKey, clip(kid), since.Round(time.Millisecond), r.minInterval)
	}
	r.lastRefresh = now
	rctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	set, err := r.cache.Refresh(rctx, r.url)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%w: kid %q", ErrUnknownKey, clip(kid)), fmt.Errorf("auth: refreshing JWKS %s: %w", r.url, err))
	}
	return lookupKey(set, kid)
}
