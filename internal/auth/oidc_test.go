// SPDX-License-Identifier: Apache-2.0

package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"portolan"
	"portolan/internal/auth"
)

// fakeIssuer is an OpenID Connect issuer in the test: discovery and a JWKS
// whose keys the test changes, counting the JWKS fetches.
type fakeIssuer struct {
	srv       *httptest.Server
	issuer    string // what discovery says; defaults to the server URL + path
	jwksHits  atomic.Int64
	jwksFails atomic.Bool

	mu   sync.Mutex
	keys []*testKey
}

// newFakeIssuer starts an issuer whose identifier is the server URL plus
// path (e.g. "/tenant/v2.0", or "/tenant/" as Entra v1 spells it).
func newFakeIssuer(t *testing.T, path string, keys ...*testKey) *fakeIssuer {
	t.Helper()
	f := &fakeIssuer{keys: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+strings.TrimSuffix(path, "/")+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                f.issuer,
			"jwks_uri":                              f.srv.URL + "/discovery/keys",
			"authorization_endpoint":                f.srv.URL + "/authorize",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /discovery/keys", func(w http.ResponseWriter, r *http.Request) {
		f.jwksHits.Add(1)
		if f.jwksFails.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwksJSON(t, f.keys...))
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.issuer = f.srv.URL + path
	return f
}

func (f *fakeIssuer) publish(keys ...*testKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = keys
}

// fakeClock is a clock the test advances.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// issuerToken is a token of the fake issuer signed by k.
func issuerToken(t *testing.T, f *fakeIssuer, k *testKey) string {
	t.Helper()
	return k.token(t, with(validClaims(), map[string]any{"iss": f.issuer}))
}

func TestOIDCVerifier(t *testing.T) {
	k1 := newRSAKey(t, "k1", 2048)
	f := newFakeIssuer(t, "/tenant/v2.0", k1)
	clock := &fakeClock{now: testNow}
	v, err := auth.NewOIDCVerifier(t.Context(), f.issuer, []string{testAudience}, auth.Options{Now: clock.Now, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.VerifyToken(context.Background(), issuerToken(t, f, k1))
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != testSubject || !p.HasPermission(portolan.PermissionThreatIntelligenceRead) {
		t.Errorf("principal %+v", p)
	}
	// The discovery issuer, not the test's default, is the one trusted.
	if _, err := v.VerifyToken(context.Background(), k1.token(t, validClaims())); portolan.ErrorCode(err) != portolan.EUNAUTHORIZED {
		t.Errorf("token of another issuer: %v", err)
	}
}

// TestOIDCKeyRotation: a key published after the verifier started is
// accepted without a restart, and refreshes are rate-limited.
func TestOIDCKeyRotation(t *testing.T) {
	k1 := newRSAKey(t, "k1", 2048)
	k2 := newECKey(t, "k2")
	f := newFakeIssuer(t, "/tenant/v2.0", k1)
	clock := &fakeClock{now: testNow}
	v, err := auth.NewOIDCVerifier(t.Context(), f.issuer, []string{testAudience}, auth.Options{
		Now: clock.Now, MinRefreshInterval: 30 * time.Second, Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(tok string) error {
		_, err := v.VerifyToken(context.Background(), tok)
		return err
	}
	if n := f.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times at start, want 1", n)
	}

	// The issuer rotates: k2 appears and k1 stays for a while.
	f.publish(k1, k2)
	// Just after the start fetch, the refresh budget is spent: refused,
	// and the issuer is not asked.
	if err := verify(issuerToken(t, f, k2)); !errors.Is(err, auth.ErrUnknownKey) {
		t.Fatalf("k2 before the refresh interval: %v", err)
	}
	if n := f.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1 (rate limit)", n)
	}

	clock.Advance(31 * time.Second)
	if err := verify(issuerToken(t, f, k2)); err != nil {
		t.Fatalf("k2 after the rotation: %v", err)
	}
	if n := f.jwksHits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", n)
	}
	// Known keys need no fetch.
	for range 5 {
		if err := verify(issuerToken(t, f, k1)); err != nil {
			t.Fatal(err)
		}
	}

	// A flood of invented kids right after a refresh costs nothing...
	forged := newRSAKey(t, "k3", 2048)
	for range 20 {
		if err := verify(issuerToken(t, f, forged)); portolan.ErrorCode(err) != portolan.EUNAUTHORIZED {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := f.jwksHits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times after a flood of unknown kids, want 2", n)
	}
	// ...and, once the interval has passed, concurrent ones cost one fetch.
	clock.Advance(31 * time.Second)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { verify(issuerToken(t, f, forged)) })
	}
	wg.Wait()
	if n := f.jwksHits.Load(); n != 3 {
		t.Fatalf("JWKS fetched %d times after concurrent unknown kids, want 3", n)
	}

	// k1 withdrawn at the issuer: gone after the next refresh.
	f.publish(k2)
	clock.Advance(31 * time.Second)
	if err := verify(issuerToken(t, f, forged)); err == nil {
		t.Fatal("forged key accepted")
	}
	if err := verify(issuerToken(t, f, k1)); !errors.Is(err, auth.ErrUnknownKey) {
		t.Errorf("withdrawn k1: %v", err)
	}
}

// TestOIDCRefreshFailureKeepsKeys: a failed refresh keeps the cached keys.
func TestOIDCRefreshFailureKeepsKeys(t *testing.T) {
	k1 := newRSAKey(t, "k1", 2048)
	f := newFakeIssuer(t, "/tenant/v2.0", k1)
	clock := &fakeClock{now: testNow}
	v, err := auth.NewOIDCVerifier(t.Context(), f.issuer, []string{testAudience}, auth.Options{Now: clock.Now, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	f.jwksFails.Store(true)
	clock.Advance(time.Minute)
	if _, err := v.VerifyToken(context.Background(), issuerToken(t, f, newRSAKey(t, "k2", 2048))); portolan.ErrorCode(err) != portolan.EUNAUTHORIZED {
		t.Fatalf("unknown kid while the issuer is down: %v", err)
	}
	if _, err := v.VerifyToken(context.Background(), issuerToken(t, f, k1)); err != nil {
		t.Errorf("cached key after a failed refresh: %v", err)
	}
}

// TestOIDCEntraV1Issuer: an issuer with a trailing slash, as Entra v1
// tokens spell it, is discovered under the trimmed path and matched exactly.
func TestOIDCEntraV1Issuer(t *testing.T) {
	k1 := newRSAKey(t, "k1", 2048)
	f := newFakeIssuer(t, "/"+testTenant+"/", k1)
	v, err := auth.NewOIDCVerifier(t.Context(), f.issuer, []string{auth.GraphApplicationID}, auth.Options{Now: func() time.Time { return testNow }, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	tok := k1.token(t, with(validClaims(), map[string]any{"iss": f.issuer, "aud": auth.GraphApplicationID}))
	if _, err := v.VerifyToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	tok = k1.token(t, with(validClaims(), map[string]any{"iss": strings.TrimSuffix(f.issuer, "/"), "aud": auth.GraphApplicationID}))
	if _, err := v.VerifyToken(context.Background(), tok); portolan.ErrorCode(err) != portolan.EUNAUTHORIZED {
		t.Errorf("issuer without the slash: %v", err)
	}
}

func TestOIDCStartupErrors(t *testing.T) {
	k1 := newRSAKey(t, "k1", 2048)
	opts := auth.Options{Logger: quietLogger()}

	t.Run("issuer mismatch", func(t *testing.T) {
		f := newFakeIssuer(t, "/a", k1)
		f.issuer = "https://login.microsoftonline.com/common/v2.0"
		_, err := auth.NewOIDCVerifier(t.Context(), f.srv.URL+"/a", []string{testAudience}, opts)
		if err == nil || !strings.Contains(err.Error(), "names issuer") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("no discovery", func(t *testing.T) {
		f := newFakeIssuer(t, "/a", k1)
		_, err := auth.NewOIDCVerifier(t.Context(), f.srv.URL+"/b", []string{testAudience}, opts)
		if err == nil || !strings.Contains(err.Error(), "404") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("JWKS down", func(t *testing.T) {
		f := newFakeIssuer(t, "/a", k1)
		f.jwksFails.Store(true)
		start := time.Now()
		_, err := auth.NewOIDCVerifier(t.Context(), f.issuer, []string{testAudience}, opts)
		if err == nil || !strings.Contains(err.Error(), "500") {
			t.Errorf("got %v", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %s to report the failure", d)
		}
	})
	t.Run("not a URL", func(t *testing.T) {
		if _, err := auth.NewOIDCVerifier(t.Context(), "issuer.example", []string{testAudience}, opts); err == nil {
			t.Error("accepted")
		}
	})
}

func TestJWKSFileVerifier(t *testing.T) {
	k1 := newEdKey(t, "ed-1")
	k2 := newRSAKey(t, "rsa-1", 2048)
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwksJSON(t, k1, k2), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewJWKSFileVerifier(path, testIssuer, []string{testAudience}, auth.Options{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*testKey{k1, k2} {
		if _, err := v.VerifyToken(context.Background(), k.token(t, validClaims())); err != nil {
			t.Errorf("%s: %v", k.kid, err)
		}
	}
	if _, err := v.VerifyToken(context.Background(), newEdKey(t, "ed-1").token(t, validClaims())); portolan.ErrorCode(err) != portolan.EUNAUTHORIZED {
		t.Errorf("foreign key: %v", err)
	}

	t.Run("symmetric key refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "jwks.json")
		os.WriteFile(path, []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0","kid":"h"}]}`), 0o644)
		if _, err := auth.NewJWKSFileVerifier(path, testIssuer, []string{testAudience}, auth.Options{}); err == nil {
			t.Error("accepted")
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, err := auth.NewJWKSFileVerifier(filepath.Join(t.TempDir(), "nope.json"), testIssuer, []string{testAudience}, auth.Options{}); err == nil {
			t.Error("accepted")
		}
	})
}
