// SPDX-License-Identifier: Apache-2.0

package auth_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"portolan"
	"portolan/internal/auth"
)

const (
	msgEmpty     = "Access token is empty."
	msgCompact   = "CompactToken parsing failed with error code: 80049217"
	msgInvalid   = "Access token validation failure."
	msgForbidden = "Insufficient privileges to complete the operation."
)

// TestVerifyTokenMatrix presents forged, broken and valid tokens to one
// verifier and checks the code and the client message of each answer. The
// message must never say more than Graph's sentence; the reason is in the
// wrapped cause.
func TestVerifyTokenMatrix(t *testing.T) {
	rsaKey := newRSAKey(t, "rsa-1", 2048)
	ecKey := newECKey(t, "ec-1")
	edKey := newEdKey(t, "ed-1")
	rs256Only := newRSAKey(t, "rsa-rs256", 2048)
	if err := rs256Only.public.Set("alg", "RS256"); err != nil {
		t.Fatal(err)
	}
	encKey := newRSAKey(t, "rsa-enc", 2048)
	if err := encKey.public.Set("use", "enc"); err != nil {
		t.Fatal(err)
	}
	// The attacker's keys: same kid as a trusted key, different material.
	evil := newRSAKey(t, "rsa-1", 2048)
	evilEC := newECKey(t, "ec-1")

	// An attacker's JWKS server, to prove jku is never fetched.
	var jkuHits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jkuHits.Add(1)
		w.Write(jwksJSON(t, evil))
	}))
	defer attacker.Close()

	v := mustVerifier(t, mustStatic(t, rsaKey, ecKey, edKey, rs256Only, encKey), auth.Options{ClockSkew: time.Minute})

	valid := rsaKey.token(t, validClaims())
	vh, vp, vs := segments(valid)
	rsaPublicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t, rsaKey)})
	ecPublicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t, ecKey)})
	var evilJWK map[string]any
	if err := json.Unmarshal(mustJSON(t, evil.public), &evilJWK); err != nil {
		t.Fatal(err)
	}
	hdr := func(changes map[string]any) map[string]any {
		return with(map[string]any{"alg": "RS256", "typ": "JWT", "kid": "rsa-1"}, changes)
	}
	second := time.Second

	okPrincipal := &portolan.Principal{Subject: testSubject, TenantID: testTenant, Scopes: []string{portolan.PermissionThreatIntelligenceRead}}
	tests := []struct {
		name    string
		token   string
		code    string // "" for success
		message string
		want    *portolan.Principal
	}{
		// Accepted.
		{name: "valid RS256", token: valid, want: okPrincipal},
		{name: "valid PS256 with an RSA key without alg", token: rsaKey.tokenAlg(t, "PS256", validClaims()), want: okPrincipal},
		{name: "valid ES256", token: ecKey.token(t, validClaims()), want: okPrincipal},
		{name: "valid EdDSA", token: edKey.token(t, validClaims()), want: okPrincipal},
		{name: "typ at+jwt (RFC 9068)", token: forge(t, hdr(map[string]any{"typ": "at+jwt"}), validClaims(), rsaKey.signer), want: okPrincipal},
		{name: "aud list containing ours", token: rsaKey.token(t, with(validClaims(), map[string]any{"aud": []string{"other", testAudience}})), want: okPrincipal},
		{name: "exp inside the skew", token: rsaKey.token(t, with(validClaims(), map[string]any{"exp": testNow.Add(-time.Minute + second).Unix()})), want: okPrincipal},
		{name: "nbf inside the skew", token: rsaKey.token(t, with(validClaims(), map[string]any{"nbf": testNow.Add(time.Minute - second).Unix(), "iat": testNow.Unix()})), want: okPrincipal},
		{name: "roles with the permission", token: rsaKey.token(t, with(validClaims(), map[string]any{"scp": nil, "roles": []string{"Other.Read", portolan.PermissionThreatIntelligenceRead}})),
			want: &portolan.Principal{Subject: testSubject, TenantID: testTenant, Roles: []string{"Other.Read", portolan.PermissionThreatIntelligenceRead}}},
		{name: "scp with the permission among others", token: rsaKey.token(t, with(validClaims(), map[string]any{"scp": "User.Read  ThreatIntelligence.Read.All openid"})),
			want: &portolan.Principal{Subject: testSubject, TenantID: testTenant, Scopes: []string{"User.Read", portolan.PermissionThreatIntelligenceRead, "openid"}}},
		{name: "scp as an array (Okta)", token: rsaKey.token(t, with(validClaims(), map[string]any{"scp": []string{portolan.PermissionThreatIntelligenceRead}})), want: okPrincipal},
		{name: "scope instead of scp (RFC 9068)", token: rsaKey.token(t, with(validClaims(), map[string]any{"scp": nil, "scope": "openid " + portolan.PermissionThreatIntelligenceRead})),
			want: &portolan.Principal{Subject: testSubject, TenantID: testTenant, Scopes: []string{"openid", portolan.PermissionThreatIntelligenceRead}}},
		{name: "oid when sub is missing", token: rsaKey.token(t, with(validClaims(), map[string]any{"sub": nil})),
			want: &portolan.Principal{Subject: "oid-1", TenantID: testTenant, Scopes: []string{portolan.PermissionThreatIntelligenceRead}}},

		// Not a token at all.
		{name: "missing", token: "", code: portolan.EUNAUTHORIZED, message: msgEmpty},
		{name: "malformed text", token: "hello", code: portolan.EUNAUTHORIZED, message: msgCompact},
		{name: "two segments", token: vh + "." + vp, code: portolan.EUNAUTHORIZED, message: msgCompact},
		{name: "four segments", token: valid + ".AAAA", code: portolan.EUNAUTHORIZED, message: msgCompact},
		{name: "JWE (five segments)", token: vh + ".." + vp + "." + vs + ".AAAA", code: portolan.EUNAUTHORIZED, message: msgCompact},
		{name: "bad base64 in header", token: "eyJ!!!." + vp + "." + vs, code: portolan.EUNAUTHORIZED, message: msgCompact},
		{name: "bad base64 in payload", token: vh + ".e$$$." + vs, code: portolan.EUNAUTHORIZED, message: msgCompact},
		{name: "padded base64", token: vh + "=." + vp + "." + vs, code: portolan.EUNAUTHORIZED, message: msgCompact},
		{name: "Bearer prefix left in", token: "Bearer " + valid, code: portolan.EUNAUTHORIZED, message: msgCompact},
		{name: "trailing newline", token: valid + "\n", code: portolan.EUNAUTHORIZED, message: msgCompact},
		{name: "JSON serialization", token: `{"payload":"` + vp + `","signatures":[]}`, code: portolan.EUNAUTHORIZED, message: msgCompact},
		{name: "empty header segment", token: "." + vp + "." + vs, code: portolan.EUNAUTHORIZED, message: msgCompact},
		{name: "100 KB token", token: strings.Repeat("A", 100<<10), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "100 KB token with a valid prefix", token: valid + strings.Repeat("A", 100<<10), code: portolan.EUNAUTHORIZED, message: msgInvalid},

		// Broken or forged.
		{name: "truncated", token: valid[:len(valid)-5], code: portolan.EUNAUTHORIZED, message: msgCompact},
		{name: "truncated at a segment end", token: vh + "." + vp + ".", code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "signature one byte short", token: vh + "." + vp + "." + b64(mustUnb64(t, vs)[1:]), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "signature bit flipped", token: vh + "." + vp + "." + b64(flip(mustUnb64(t, vs))), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "CR inside a segment", token: vh[:5] + "\r" + vh[5:] + "." + vp + "." + vs, code: portolan.EUNAUTHORIZED, message: msgCompact},
		{name: "header not JSON", token: b64([]byte("not json")) + "." + vp + "." + vs, code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "header without alg", token: forge(t, map[string]any{"kid": "rsa-1"}, validClaims(), nil), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "duplicate alg in header", token: b64([]byte(`{"alg":"RS256","alg":"none","kid":"rsa-1"}`)) + "." + vp + "." + vs, code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "payload swapped under a valid signature", token: vh + "." + b64JSON(t, with(validClaims(), map[string]any{"roles": []string{"x"}})) + "." + vs, code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "wrong signature (attacker key, same kid)", token: evil.token(t, validClaims()), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "wrong signature (attacker EC key, same kid)", token: evilEC.token(t, validClaims()), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "expired", token: rsaKey.token(t, with(validClaims(), map[string]any{"exp": testNow.Add(-2 * time.Minute).Unix()})), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "exp just outside the skew", token: rsaKey.token(t, with(validClaims(), map[string]any{"exp": testNow.Add(-time.Minute - second).Unix()})), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "exp exactly at the skew", token: rsaKey.token(t, with(validClaims(), map[string]any{"exp": testNow.Add(-time.Minute).Unix()})), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "not yet valid", token: rsaKey.token(t, with(validClaims(), map[string]any{"nbf": testNow.Add(time.Hour).Unix()})), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "nbf just outside the skew", token: rsaKey.token(t, with(validClaims(), map[string]any{"nbf": testNow.Add(time.Minute + second).Unix(), "iat": testNow.Unix()})), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "issued in the future", token: rsaKey.token(t, with(validClaims(), map[string]any{"iat": testNow.Add(time.Hour).Unix()})), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "no exp", token: rsaKey.token(t, with(validClaims(), map[string]any{"exp": nil})), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "exp not a number", token: rsaKey.token(t, with(validClaims(), map[string]any{"exp": "tomorrow"})), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "wrong issuer", token: rsaKey.token(t, with(validClaims(), map[string]any{"iss": "https://evil.test/"})), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "issuer differing by a slash", token: rsaKey.token(t, with(validClaims(), map[string]any{"iss": testIssuer + "/"})), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "no issuer", token: rsaKey.token(t, with(validClaims(), map[string]any{"iss": nil})), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "wrong audience", token: rsaKey.token(t, with(validClaims(), map[string]any{"aud": "https://graph.microsoft.com"})), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "no audience", token: rsaKey.token(t, with(validClaims(), map[string]any{"aud": nil})), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "alg none, no signature", token: forge(t, hdr(map[string]any{"alg": "none"}), validClaims(), nil), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "alg None with the valid signature", token: b64JSON(t, hdr(map[string]any{"alg": "None"})) + "." + vp + "." + vs, code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "HS256 signed with the RSA public key PEM", token: forge(t, hdr(map[string]any{"alg": "HS256"}), validClaims(), rsaPublicPEM), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "HS256 signed with the EC public key PEM", token: forge(t, hdr(map[string]any{"alg": "HS256", "kid": "ec-1"}), validClaims(), ecPublicPEM), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "RS256 header over an EC key", token: forge(t, hdr(map[string]any{"kid": "ec-1"}), validClaims(), rsaKey.signer), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "PS256 against a key pinned to RS256", token: rs256Only.tokenAlg(t, "PS256", validClaims()), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "key marked use enc", token: encKey.token(t, validClaims()), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "unknown kid", token: forge(t, hdr(map[string]any{"kid": "nobody"}), validClaims(), rsaKey.signer), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "no kid with several keys", token: forge(t, hdr(map[string]any{"kid": nil}), validClaims(), rsaKey.signer), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "kid path traversal", token: forge(t, hdr(map[string]any{"kid": "../../etc/passwd"}), validClaims(), rsaKey.signer), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "kid SQL injection", token: forge(t, hdr(map[string]any{"kid": "' OR 1=1 --"}), validClaims(), rsaKey.signer), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "kid not a string", token: forge(t, hdr(map[string]any{"kid": 7}), validClaims(), rsaKey.signer), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "embedded jwk (attacker key)", token: forge(t, hdr(map[string]any{"jwk": evilJWK}), validClaims(), evil.signer), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "jku at an attacker server", token: forge(t, hdr(map[string]any{"jku": attacker.URL}), validClaims(), evil.signer), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "x5u at an attacker server", token: forge(t, hdr(map[string]any{"x5u": attacker.URL}), validClaims(), evil.signer), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "x5c chain in the header", token: forge(t, hdr(map[string]any{"x5c": []string{"MIIB"}}), validClaims(), evil.signer), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "unknown crit extension", token: forge(t, hdr(map[string]any{"crit": []string{"exp"}, "exp": 1}), validClaims(), rsaKey.signer), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "nested token (cty JWT)", token: forge(t, hdr(map[string]any{"cty": "JWT"}), validClaims(), rsaKey.signer), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "typ of a logout token", token: forge(t, hdr(map[string]any{"typ": "logout+jwt"}), validClaims(), rsaKey.signer), code: portolan.EUNAUTHORIZED, message: msgInvalid},
		{name: "signed payload that is not JSON", token: func() string {
			input := b64JSON(t, hdr(nil)) + "." + b64([]byte("hello"))
			return input + "." + sign(t, "RS256", rsaKey.signer, input)
		}(), code: portolan.EUNAUTHORIZED, message: msgInvalid},

		// Valid, but not allowed.
		{name: "scp without the permission", token: rsaKey.token(t, with(validClaims(), map[string]any{"scp": "User.Read ThreatIntelligence.Read"})), code: portolan.EFORBIDDEN, message: msgForbidden},
		{name: "permission in another case", token: rsaKey.token(t, with(validClaims(), map[string]any{"scp": "threatintelligence.read.all"})), code: portolan.EFORBIDDEN, message: msgForbidden},
		{name: "no scp and no roles", token: rsaKey.token(t, with(validClaims(), map[string]any{"scp": nil})), code: portolan.EFORBIDDEN, message: msgForbidden},
		{name: "roles without the permission", token: rsaKey.token(t, with(validClaims(), map[string]any{"scp": nil, "roles": []string{"Directory.Read.All"}})), code: portolan.EFORBIDDEN, message: msgForbidden},
		{name: "personal-account tenant", token: rsaKey.token(t, with(validClaims(), map[string]any{"tid": auth.PersonalAccountTenant})), code: portolan.EFORBIDDEN, message: msgForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.VerifyToken(context.Background(), tt.token)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("VerifyToken: %v", err)
				}
				if diff := cmp.Diff(tt.want, p); diff != "" {
					t.Errorf("principal (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("VerifyToken accepted the token: %+v", p)
			}
			if p != nil {
				t.Errorf("VerifyToken returned a principal with its error: %+v", p)
			}
			code, msg := codeOf(err)
			if code != tt.code || msg != tt.message {
				t.Errorf("got %s %q, want %s %q (cause: %v)", code, msg, tt.code, tt.message, errors.Unwrap(err))
			}
			if errors.Unwrap(err) == nil {
				t.Errorf("no cause for the log: %v", err)
			}
		})
	}
	if n := jkuHits.Load(); n != 0 {
		t.Errorf("the attacker's jku/x5u server was contacted %d times", n)
	}
	if len(tests) < 20 {
		t.Errorf("only %d cases", len(tests))
	}
}

func mustPKIX(t *testing.T, k *testKey) []byte {
	t.Helper()
	var raw any
	if err := jwk.Export(k.public, &raw); err != nil {
		t.Fatal(err)
	}
	b, err := x509.MarshalPKIXPublicKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyTokenCauses checks that the log gets the precise reason the
// client does not.
func TestVerifyTokenCauses(t *testing.T) {
	key := newRSAKey(t, "rsa-1", 2048)
	v := mustVerifier(t, mustStatic(t, key), auth.Options{})
	tests := []struct {
		name, token, cause string
	}{
		{"audience", key.token(t, with(validClaims(), map[string]any{"aud": "other"})), "audience"},
		{"issuer", key.token(t, with(validClaims(), map[string]any{"iss": "other"})), "iss"},
		{"expired", key.token(t, with(validClaims(), map[string]any{"exp": testNow.Add(-time.Hour).Unix()})), "exp"},
		{"algorithm", forge(t, map[string]any{"alg": "none"}, validClaims(), nil), `algorithm "none"`},
		{"kid", forge(t, map[string]any{"alg": "RS256", "kid": "../../etc/passwd"}, validClaims(), key.signer), "unknown signing key"},
		{"size", strings.Repeat("A", auth.MaxTokenSize+1), "limit"},
		{"permission", key.token(t, with(validClaims(), map[string]any{"scp": "User.Read"})), "lacks ThreatIntelligence.Read.All"},
		{"tenant", key.token(t, with(validClaims(), map[string]any{"tid": auth.PersonalAccountTenant})), "personal Microsoft account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.VerifyToken(context.Background(), tt.token)
			if err == nil {
				t.Fatal("accepted")
			}
			if cause := errors.Unwrap(err); cause == nil || !strings.Contains(cause.Error(), tt.cause) {
				t.Errorf("cause %v does not mention %q", cause, tt.cause)
			}
			if _, msg := codeOf(err); strings.Contains(msg, tt.cause) || !clientMessages[msg] {
				t.Errorf("client message %q says too much", msg)
			}
		})
	}
}

// TestClockSkew checks the configured skew and its default.
func TestClockSkew(t *testing.T) {
	key := newRSAKey(t, "rsa-1", 2048)
	expiredBy := func(d time.Duration) string {
		return key.token(t, with(validClaims(), map[string]any{"exp": testNow.Add(-d).Unix()}))
	}
	tests := []struct {
		name  string
		skew  time.Duration
		token string
		ok    bool
	}{
		{"default skew keeps 59s", 0, expiredBy(59 * time.Second), true},
		{"default skew drops 61s", 0, expiredBy(61 * time.Second), false},
		{"5m skew keeps 4m", 5 * time.Minute, expiredBy(4 * time.Minute), true},
		{"5m skew drops 6m", 5 * time.Minute, expiredBy(6 * time.Minute), false},
		{"no skew drops 1s", -1, expiredBy(time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mustVerifier(t, mustStatic(t, key), auth.Options{ClockSkew: tt.skew})
			_, err := v.VerifyToken(context.Background(), tt.token)
			if (err == nil) != tt.ok {
				t.Errorf("VerifyToken: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestNewVerifierRefusesMissingChecks(t *testing.T) {
	keys := mustStatic(t, newECKey(t, "ec"))
	if _, err := auth.NewVerifier(keys, "", []string{"a"}, auth.Options{}); err == nil {
		t.Error("no issuer accepted")
	}
	if _, err := auth.NewVerifier(keys, "iss", []string{""}, auth.Options{}); err == nil {
		t.Error("no audience accepted")
	}
	if _, err := auth.NewVerifier(nil, "iss", []string{"a"}, auth.Options{}); err == nil {
		t.Error("no keys accepted")
	}
}

func TestStaticKeySetRefusesSymmetricKeys(t *testing.T) {
	set := keySet(t, newECKey(t, "ec"))
	if _, err := auth.NewStaticKeySet(set); err != nil {
		t.Fatal(err)
	}
	oct := mustOct(t)
	set.AddKey(oct)
	if _, err := auth.NewStaticKeySet(set); err == nil {
		t.Error("a set with a symmetric key was accepted")
	}
}

func TestWWWAuthenticate(t *testing.T) {
	key := newRSAKey(t, "rsa-1", 2048)
	v := mustVerifier(t, mustStatic(t, key), auth.Options{})
	errOf := func(tok string) error {
		_, err := v.VerifyToken(context.Background(), tok)
		return err
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"missing", errOf(""), `Bearer`},
		{"malformed", errOf("x"), `Bearer error="invalid_token", error_description="CompactToken parsing failed with error code: 80049217"`},
		{"invalid", errOf(key.token(t, with(validClaims(), map[string]any{"aud": "x"}))), `Bearer error="invalid_token", error_description="Access token validation failure."`},
		{"forbidden", errOf(key.token(t, with(validClaims(), map[string]any{"scp": "x"}))), `Bearer error="insufficient_scope", error_description="Insufficient privileges to complete the operation.", scope="ThreatIntelligence.Read.All"`},
		{"other", errors.New("boom"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := auth.WWWAuthenticate(tt.err); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestVerifyTokenConcurrent runs the verifier from many goroutines, for the
// race detector.
func TestVerifyTokenConcurrent(t *testing.T) {
	key := newECKey(t, "ec-1")
	v := mustVerifier(t, mustStatic(t, key), auth.Options{})
	tok := key.token(t, validClaims())
	done := make(chan error)
	for range 8 {
		go func() {
			var err error
			for range 20 {
				if _, e := v.VerifyToken(context.Background(), tok); e != nil {
					err = e
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
