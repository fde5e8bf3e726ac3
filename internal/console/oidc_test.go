// SPDX-License-Identifier: Apache-2.0

package console_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"portolan"
	"portolan/internal/auth"
	"portolan/internal/console"
)

// fakeIdP is an OpenID Connect provider on 127.0.0.1 that runs the
// authorization-code flow with PKCE and checks what the console sends.
type fakeIdP struct {
	t      *testing.T
	srv    *httptest.Server
	issuer *auth.LocalIssuer
	// scopes go into the access token; wrongNonce answers with another
	// nonce than the one asked for.
	scopes     []string
	wrongNonce bool

	mu    sync.Mutex
	codes map[string]authRequest
}

type authRequest struct {
	challenge, nonce, redirectURI string
}

func newFakeIdP(t *testing.T) *fakeIdP {
	t.Helper()
	l, err := auth.OpenLocalIssuer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeIdP{t: t, issuer: l, scopes: []string{portolan.PermissionThreatIntelligenceRead}, codes: map[string]authRequest{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": f.srv.URL, "authorization_endpoint": f.srv.URL + "/authorize", "token_endpoint": f.srv.URL + "/token"})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("response_type") != "code" || q.Get("client_id") != "portolan-console" || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" || !strings.Contains(q.Get("scope"), "openid") {
			t.Errorf("authorize request %v", q)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		code := "code-" + q.Get("state")[:8]
		f.mu.Lock()
		f.codes[code] = authRequest{q.Get("code_challenge"), q.Get("nonce"), q.Get("redirect_uri")}
		f.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		req, ok := f.codes[r.PostFormValue("code")]
		delete(f.codes, r.PostFormValue("code"))
		f.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		switch {
		case !ok, r.PostFormValue("grant_type") != "authorization_code", r.PostFormValue("redirect_uri") != req.redirectURI,
			r.PostFormValue("client_secret") != "s3cret":
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		case base64.RawURLEncoding.EncodeToString(sum[:]) != req.challenge:
			t.Errorf("the code verifier does not hash to the challenge")
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		access, err := f.issuer.Mint(auth.Claims{Scopes: f.scopes, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		nonce := req.nonce
		if f.wrongNonce {
			nonce = "another"
		}
		claims, _ := json.Marshal(map[string]any{"iss": f.srv.URL, "aud": "portolan-console", "nonce": nonce, "sub": "analyst"})
		idToken := "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(claims) + ".c2ln"
		json.NewEncoder(w).Encode(map[string]string{"access_token": access, "id_token": idToken, "token_type": "Bearer"})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func oidcFixture(t *testing.T) (*fixture, *fakeIdP) {
	t.Helper()
	idp := newFakeIdP(t)
	f := newFixture(t, openSQLite, func(c *console.Config) {
		c.Links = false
		c.OIDC = &console.OIDCConfig{Issuer: idp.srv.URL, ClientID: "portolan-console", ClientSecret: "s3cret"}
		c.Verifier = idp.issuer.Verifier(auth.Options{})
		c.Now = nil // the tokens are minted on the real clock
	})
	return f, idp
}

// signInWithIdP runs the flow as a browser would and returns the callback's
// response.
func signInWithIdP(t *testing.T, f *fixture, c *http.Client, next string) (*http.Response, string) {
	t.Helper()
	resp, _ := get(t, c, f.srv.URL+"/signin/oidc?next="+url.QueryEscape(next))
	authorize := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || authorize == "" {
		t.Fatalf("start: %d %q", resp.StatusCode, authorize)
	}
	resp, _ = get(t, c, authorize)
	callback := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(callback, f.srv.URL+"/signin/callback?") {
		t.Fatalf("authorize: %d %q", resp.StatusCode, callback)
	}
	return get(t, c, callback)
}

func TestOIDCSignInWithPKCE(t *testing.T) {
	f, _ := oidcFixture(t)
	c := f.client(t)
	if _, body := get(t, c, f.srv.URL+"/signin"); !strings.Contains(body, `href="/signin/oidc?next=`) {
		t.Fatal("the sign-in page offers no identity provider")
	}
	resp, body := signInWithIdP(t, f, c, "/hosts/192.0.2.10")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `content="0;url=/hosts/192.0.2.10"`) {
		t.Fatalf("callback: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := get(t, c, f.srv.URL+"/hosts/192.0.2.10"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "portolan-local") {
		t.Errorf("after the flow: %d (want the token's subject shown)", resp.StatusCode)
	}
	// The flow cookie is spent: replaying the callback fails.
	_, _ = get(t, c, f.srv.URL+"/signin/callback?code=code-x&state=x")
	if resp, _ := get(t, c, f.srv.URL+"/signin/callback?code=code-x&state=x"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a callback without a flow: %d", resp.StatusCode)
	}
}

func TestOIDCRefusesAForeignStateAWrongNonceAndATokenWithoutThePermission(t *testing.T) {
	f, idp := oidcFixture(t)
	// State: a callback whose state is not the browser's own.
	c := f.client(t)
	resp, _ := get(t, c, f.srv.URL+"/signin/oidc")
	resp, _ = get(t, c, resp.Header.Get("Location"))
	u, _ := url.Parse(resp.Header.Get("Location"))
	q := u.Query()
	q.Set("state", "forged")
	if resp, _ := get(t, c, f.srv.URL+"/signin/callback?"+q.Encode()); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged state: %d", resp.StatusCode)
	}
	idp.wrongNonce = true
	if resp, _ := signInWithIdP(t, f, f.client(t), "/search"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong nonce: %d", resp.StatusCode)
	}
	idp.wrongNonce = false
	idp.scopes = []string{"User.Read"}
	if resp, body := signInWithIdP(t, f, f.client(t), "/search"); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, portolan.PermissionThreatIntelligenceRead) {
		t.Errorf("a token without the permission: %d", resp.StatusCode)
	}
}
