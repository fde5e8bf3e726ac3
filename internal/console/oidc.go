// SPDX-License-Identifier: Apache-2.0

package console

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"portolan"
)

// OIDCConfig is the console's OpenID Connect client: the authorization-code
// flow with PKCE (S256), state and nonce.
type OIDCConfig struct {
	// Issuer is the issuer identifier; its discovery document names the
	// authorization and token endpoints.
	Issuer string
	// ClientID and ClientSecret identify the console at the issuer; the
	// secret is empty for a public client.
	ClientID     string
	ClientSecret string
	// Scopes are requested besides openid; they should make the issuer put
	// ThreatIntelligence.Read.All (as scp or roles) into the access token.
	Scopes []string
	// HTTPClient reaches the issuer; nil means a client with a timeout.
	HTTPClient *http.Client
}

// flowTTL bounds how long a person may take at the identity provider.
const flowTTL = 10 * time.Minute

type oidcClient struct {
	cfg    OIDCConfig
	client *http.Client

	mu        sync.Mutex
	endpoints *oidcEndpoints
}

type oidcEndpoints struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
}

func newOIDCClient(cfg OIDCConfig) *oidcClient {
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &oidcClient{cfg: cfg, client: client}
}

// discover reads the issuer's discovery document once; a failure is tried
// again on the next sign-in.
func (o *oidcClient) discover(ctx context.Context) (*oidcEndpoints, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.endpoints != nil {
		return o.endpoints, nil
	}
	u := strings.TrimSuffix(o.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	var doc oidcEndpoints
	if err := o.getJSON(ctx, http.MethodGet, u, nil, &doc); err != nil {
		return nil, err
	}
	if doc.Issuer != o.cfg.Issuer || doc.AuthorizationEndpoint == "" || doc.TokenEndpoint == "" {
		return nil, fmt.Errorf("console: discovery of %s names issuer %q and endpoints %q, %q", o.cfg.Issuer, doc.Issuer, doc.AuthorizationEndpoint, doc.TokenEndpoint)
	}
	o.endpoints = &doc
	return &doc, nil
}

func (o *oidcClient) getJSON(ctx context.Context, method, u string, form url.Values, v any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := o.client.Do(req)
	if err != nil {
		return fmt.Errorf("console: %s: %w", u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("console: %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("console: %s answered %s: %.200s", u, resp.Status, data)
	}
	return json.Unmarshal(data, v)
}

// flowState is the signed content of the flow cookie: what the callback
// checks (state, nonce) and needs (the PKCE verifier, where to go next).
type flowState struct {
	State    string `json:"state"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	Next     string `json:"next"`
	Expires  int64  `json:"exp"`
}

// redirectURI is the callback address on the host the browser used.
func (c *Console) redirectURI(r *http.Request) string {
	scheme := "http"
	if c.secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/signin/callback"
}

// serveOIDCStart sends the browser to the identity provider.
func (c *Console) serveOIDCStart(w http.ResponseWriter, r *http.Request) error {
	if c.oidc == nil {
		return portolan.Errorf(portolan.ENOTFOUND, "This server signs in with one-time links, not with an identity provider.")
	}
	ep, err := c.oidc.discover(r.Context())
	if err != nil {
		c.logger.Error("console: OIDC discovery", "error", err.Error())
		return portolan.Errorf(portolan.EUNAVAILABLE, "The identity provider cannot be reached; try again later.")
	}
	fs := flowState{State: randomToken(24), Nonce: randomToken(24), Verifier: randomToken(48),
		Next: safeNext(r.URL.Query().Get("next")), Expires: c.now().Add(flowTTL).Unix()}
	payload, _ := json.Marshal(fs)
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: c.sessions.sign("oidc-flow", payload), Path: "/signin/callback",
		HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: int(flowTTL.Seconds())})
	challenge := sha256.Sum256([]byte(fs.Verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.oidc.cfg.ClientID},
		"redirect_uri":          {c.redirectURI(r)},
		"scope":                 {strings.Join(append([]string{"openid"}, c.oidc.cfg.Scopes...), " ")},
		"state":                 {fs.State},
		"nonce":                 {fs.Nonce},
		"code_challenge":        {b64.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
	}
	sep := "?"
	if strings.Contains(ep.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	http.Redirect(w, r, ep.AuthorizationEndpoint+sep+q.Encode(), http.StatusSeeOther)
	return nil
}

// serveOIDCCallback checks state, exchanges the code (with the PKCE
// verifier), checks the ID token's nonce and verifies the access token with
// the API's verifier, whose principal the session then carries.
func (c *Console) serveOIDCCallback(w http.ResponseWriter, r *http.Request) error {
	if c.oidc == nil {
		return portolan.Errorf(portolan.ENOTFOUND, "This server signs in with one-time links, not with an identity provider.")
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return portolan.Errorf(portolan.EUNAUTHORIZED, "The identity provider refused the sign-in (%s).", clip(e, 100))
	}
	var fs flowState
	ck, err := r.Cookie(flowCookie)
	if err == nil {
		payload, ok := c.sessions.open("oidc-flow", ck.Value)
		if !ok || json.Unmarshal(payload, &fs) != nil {
			fs = flowState{}
		}
	}
	// The flow cookie is spent whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: "", Path: "/signin/callback", HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	if fs.State == "" || c.now().Unix() >= fs.Expires || q.Get("state") != fs.State || q.Get("code") == "" {
		return portolan.Errorf(portolan.EUNAUTHORIZED, "This sign-in is stale or was not started here; sign in again.")
	}
	ep, err := c.oidc.discover(r.Context())
	if err != nil {
		return portolan.Errorf(portolan.EUNAVAILABLE, "The identity provider cannot be reached; try again later.")
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {q.Get("code")},
		"redirect_uri":  {c.redirectURI(r)},
		"client_id":     {c.oidc.cfg.ClientID},
		"code_verifier": {fs.Verifier},
	}
	if c.oidc.cfg.ClientSecret != "" {
		form.Set("client_secret", c.oidc.cfg.ClientSecret)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	if err := c.oidc.getJSON(r.Context(), http.MethodPost, ep.TokenEndpoint, form, &tok); err != nil {
		c.logger.Warn("console: OIDC code exchange", "error", err.Error())
		return portolan.Errorf(portolan.EUNAUTHORIZED, "The identity provider did not accept the sign-in; sign in again.")
	}
	// The ID token came straight from the token endpoint over the
	// connection checked above (OpenID Connect Core 3.1.3.7 allows its
	// TLS in place of the signature); what matters here is that it is the
	// answer to this browser's request: its nonce.
	if nonce, err := idTokenNonce(tok.IDToken); err != nil || nonce != fs.Nonce {
		c.logger.Warn("console: OIDC ID token nonce does not match")
		return portolan.Errorf(portolan.EUNAUTHORIZED, "The sign-in answer does not belong to this browser; sign in again.")
	}
	p, err := c.cfg.Verifier.VerifyToken(r.Context(), tok.AccessToken)
	if err != nil {
		c.logger.Warn("console: OIDC access token refused", "error", err.Error())
		if portolan.ErrorCode(err) == portolan.EFORBIDDEN {
			return portolan.Errorf(portolan.EFORBIDDEN, "Your account lacks the %s permission the console needs.", portolan.PermissionThreatIntelligenceRead)
		}
		return portolan.Errorf(portolan.EUNAUTHORIZED, "The identity provider's token was not accepted; sign in again.")
	}
	return c.setSession(w, r, p, fs.Next, tokenExpiry(tok.AccessToken))
}

// idTokenNonce reads the nonce claim of a compact JWT's payload.
func idTokenNonce(idToken string) (string, error) {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("console: the ID token is not a compact JWT")
	}
	payload, err := b64.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", err
	}
	var claims struct {
		Nonce string `json:"nonce"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", err
	}
	return claims.Nonce, nil
}

// clip shortens s to about n bytes, on a character boundary, for a
// message or a tooltip.
func clip(s string, n int) string {
	if len(s) > n {
		return portolan.CleanText(s, n) + "…"
	}
	return s
}
