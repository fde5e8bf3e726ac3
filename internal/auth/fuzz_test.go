// SPDX-License-Identifier: Apache-2.0

package auth_test

import (
	"context"
	"strings"
	"testing"

	"portolan"
	"portolan/internal/auth"
)

// FuzzVerifyToken checks that no input panics, that every refusal is a 401
// or a 403 with one of Graph's sentences, and that nothing but a token of
// the trusted key is accepted.
func FuzzVerifyToken(f *testing.F) {
	key := newECKey(f, "ec-1")
	rsaKey := newRSAKey(f, "rsa-1", 2048)
	v := mustVerifier(f, mustStatic(f, key, rsaKey), auth.Options{})

	valid := key.token(f, validClaims())
	h, p, s := segments(valid)
	for _, seed := range []string{
		"", "x", "..", "a.b.c", valid, rsaKey.token(f, validClaims()),
		valid[:len(valid)-5], h + "." + p + ".", h + ".." + s,
		forge(f, map[string]any{"alg": "none"}, validClaims(), nil),
		forge(f, map[string]any{"alg": "HS256", "kid": "ec-1"}, validClaims(), []byte("k")),
		forge(f, map[string]any{"alg": "ES256", "kid": "../../etc/passwd"}, validClaims(), key.signer),
		forge(f, map[string]any{"alg": "ES256", "jku": "http://127.0.0.1:1/"}, validClaims(), key.signer),
		b64([]byte(`{"alg":"ES256","alg":"none"}`)) + "." + p + "." + s,
		b64([]byte(`{"alg":"ES256","crit":["b64"],"b64":false}`)) + "." + p + "." + s,
		b64([]byte(`{"alg":"ES256"}`)) + "." + b64([]byte(`{"exp":1e400}`)) + "." + s,
		b64([]byte(`{"alg":"ES256"}`)) + "." + b64([]byte(`[]`)) + "." + s,
		strings.Repeat("A", auth.MaxTokenSize) + "..",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := v.VerifyToken(context.Background(), tok)
		if err != nil {
			code, msg := codeOf(err)
			if code != portolan.EUNAUTHORIZED && code != portolan.EFORBIDDEN {
				t.Fatalf("code %s for %q: %v", code, tok, err)
			}
			if !clientMessages[msg] {
				t.Fatalf("message %q", msg)
			}
			return
		}
		if got == nil || !got.HasPermission(portolan.PermissionThreatIntelligenceRead) {
			t.Fatalf("accepted %q as %+v", tok, got)
		}
	})
}
