// SPDX-License-Identifier: Apache-2.0

package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"portolan"
	"portolan/internal/auth"
)

// Test identities: an issuer, an audience and a fixed clock, so that the
// skew edges are exact.
const (
	testIssuer   = "https://issuer.test/tenant/v2.0"
	testAudience = "api://portolan"
	testTenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testSubject  = "user-1"
)

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// testKey is a signing key of a test issuer, with its public JWK.
type testKey struct {
	kid    string
	alg    string
	signer any // *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey
	public jwk.Key
}

func newRSAKey(t testing.TB, kid string, bits int) *testKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return mustTestKey(t, kid, "RS256", k, &k.PublicKey)
}

func newECKey(t testing.TB, kid string) *testKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return mustTestKey(t, kid, "ES256", k, &k.PublicKey)
}

func newEdKey(t testing.TB, kid string) *testKey {
	t.Helper()
	pub, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return mustTestKey(t, kid, "EdDSA", k, pub)
}

func mustTestKey(t testing.TB, kid, alg string, signer, pub any) *testKey {
	t.Helper()
	j, err := jwk.Import(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Set(jwk.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	return &testKey{kid: kid, alg: alg, signer: signer, public: j}
}

// keySet returns a JWKS of the public keys.
func keySet(t testing.TB, keys ...*testKey) jwk.Set {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		if err := set.AddKey(k.public); err != nil {
			t.Fatal(err)
		}
	}
	return set
}

func jwksJSON(t testing.TB, keys ...*testKey) []byte {
	t.Helper()
	b, err := json.Marshal(keySet(t, keys...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// validClaims are claims the test verifier accepts.
func validClaims() map[string]any {
	return map[string]any{
		"iss": testIssuer,
		"aud": testAudience,
		"sub": testSubject,
		"oid": "oid-1",
		"tid": testTenant,
		"scp": portolan.PermissionThreatIntelligenceRead,
		"iat": testNow.Add(-time.Minute).Unix(),
		"nbf": testNow.Add(-time.Minute).Unix(),
		"exp": testNow.Add(time.Hour).Unix(),
	}
}

// with returns a copy of m with the changes applied; a nil value deletes.
func with(m map[string]any, changes map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

// sign signs the JWS signing input with k under the algorithm alg, by hand,
// so that tests control every header byte.
func sign(t testing.TB, alg string, k any, input string) string {
	t.Helper()
	h := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	switch alg {
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.(*rsa.PrivateKey), crypto.SHA256, h[:])
	case "PS256":
		sig, err = rsa.SignPSS(rand.Reader, k.(*rsa.PrivateKey), crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES256":
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k.(*ecdsa.PrivateKey), h[:])
		if err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	case "EdDSA":
		sig = ed25519.Sign(k.(ed25519.PrivateKey), []byte(input))
	case "HS256":
		m := hmac.New(sha256.New, k.([]byte))
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case "none", "":
		sig = nil
	default:
		err = errors.New("unknown test algorithm " + alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b64(sig)
}

// forge builds a compact JWS from a header and claims, signed with signer
// under the header's alg.
func forge(t testing.TB, header, claims map[string]any, signer any) string {
	t.Helper()
	input := b64JSON(t, header) + "." + b64JSON(t, claims)
	alg, _ := header["alg"].(string)
	return input + "." + sign(t, alg, signer, input)
}

// token is a well-formed token of k with claims.
func (k *testKey) token(t testing.TB, claims map[string]any) string {
	t.Helper()
	return forge(t, map[string]any{"alg": k.alg, "typ": "JWT", "kid": k.kid}, claims, k.signer)
}

// tokenAlg is like token with another algorithm in the header (and the
// signature made with it, where the key allows).
func (k *testKey) tokenAlg(t testing.TB, alg string, claims map[string]any) string {
	t.Helper()
	return forge(t, map[string]any{"alg": alg, "typ": "JWT", "kid": k.kid}, claims, k.signer)
}

// codeOf returns the portolan error code and message of err.
func codeOf(err error) (string, string) {
	return portolan.ErrorCode(err), portolan.ErrorMessage(err)
}

// clientMessages are the only messages a client may see.
var clientMessages = map[string]bool{
	"Access token is empty.":                                true,
	"Access token validation failure.":                      true,
	"CompactToken parsing failed with error code: 80049217": true,
	"Insufficient privileges to complete the operation.":    true,
}

// mustVerifier returns a verifier of the test issuer over keys.
func mustVerifier(t testing.TB, keys auth.KeySet, opts auth.Options) *auth.Verifier {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	v, err := auth.NewVerifier(keys, testIssuer, []string{testAudience}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustStatic(t testing.TB, keys ...*testKey) *auth.StaticKeySet {
	t.Helper()
	s, err := auth.NewStaticKeySet(keySet(t, keys...))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// segments splits a compact token.
func segments(tok string) (string, string, string) {
	p := strings.SplitN(tok, ".", 3)
	return p[0], p[1], p[2]
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustOct returns a symmetric JWK.
func mustOct(t testing.TB) jwk.Key {
	t.Helper()
	k, err := jwk.Import([]byte("a shared secret of thirty-two by"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustUnb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// flip returns b with its last bit inverted.
func flip(b []byte) []byte {
	out := append([]byte(nil), b...)
	out[len(out)-1] ^= 1
	return out
}
