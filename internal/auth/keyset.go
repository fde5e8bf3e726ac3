// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// KeySet finds the trusted public key that a token names.
type KeySet interface {
	// Key returns the key whose kid is kid; for a token without kid, the
	// only key of a one-key set. The error wraps ErrUnknownKey when no
	// trusted key matches.
	Key(ctx context.Context, kid string) (jwk.Key, error)
}

// ErrUnknownKey is the cause when a token's kid names no trusted key.
var ErrUnknownKey = errors.New("auth: unknown signing key")

// minRSABits is the smallest RSA modulus trusted; Entra, Keycloak and Dex
// all use 2048 bits or more.
const minRSABits = 2048

// StaticKeySet is a KeySet that never changes: a JWKS file, or the local
// issuer's one key.
type StaticKeySet struct {
	set jwk.Set
}

var _ KeySet = (*StaticKeySet)(nil)

// NewStaticKeySet returns a KeySet of the public halves of set's keys. It
// refuses an empty set and a set with a symmetric key, which would be a
// shared secret, not a public key.
func NewStaticKeySet(set jwk.Set) (*StaticKeySet, error) {
	if set == nil || set.Len() == 0 {
		return nil, errors.New("auth: the key set is empty")
	}
	// PublicSetOf strips private material, so a JWKS file that holds a
	// private key by mistake still only verifies; it refuses oct keys.
	pub, err := jwk.PublicSetOf(set)
	if err != nil {
		return nil, fmt.Errorf("auth: key set: %w", err)
	}
	return &StaticKeySet{set: pub}, nil
}

// Key implements KeySet.
func (s *StaticKeySet) Key(_ context.Context, kid string) (jwk.Key, error) {
	return lookupKey(s.set, kid)
}

// Set returns the public keys, for serving or printing them.
func (s *StaticKeySet) Set() jwk.Set { return s.set }

func lookupKey(set jwk.Set, kid string) (jwk.Key, error) {
	if set == nil {
		return nil, fmt.Errorf("%w: no keys loaded", ErrUnknownKey)
	}
	if kid == "" {
		// Without a kid the token can only be meant for a set of one;
		// guessing among several keys would invite trying them all.
		if set.Len() == 1 {
			k, _ := set.Key(0)
			return k, nil
		}
		return nil, fmt.Errorf("%w: the token has no kid and the set holds %d keys", ErrUnknownKey, set.Len())
	}
	if k, ok := set.LookupKeyID(kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, clip(kid))
}

// keyProvider is the jws.KeyProvider of a Verifier: it takes the key from
// the trusted KeySet by kid and never from the token (jwk, jku, x5u, x5c),
// and hands jws the key together with an algorithm that key allows.
type keyProvider struct {
	keys KeySet
}

// FetchKeys implements jws.KeyProvider.
func (p keyProvider) FetchKeys(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	h := sig.ProtectedHeaders()
	alg, ok := h.Algorithm()
	if !ok {
		return errors.New(`auth: no "alg" in the protected header`)
	}
	kid, _ := h.KeyID()
	key, err := p.keys.Key(ctx, kid)
	if err != nil {
		return err
	}
	raw, err := verificationKey(key, alg)
	if err != nil {
		return err
	}
	sink.Key(alg, raw)
	return nil
}

// verificationKey returns the raw public key of key if key may verify
// signatures made with alg. The algorithm is checked against the allow-list
// and against the key itself: its alg member when present, else its type
// and size (RSA ≥ 2048 bits → RS256 or PS256, P-256 → ES256, Ed25519 →
// EdDSA). So a header cannot turn an RSA public key into an HMAC secret.
func verificationKey(key jwk.Key, alg jwa.SignatureAlgorithm) (any, error) {
	if !allowed(alg) {
		return nil, fmt.Errorf("auth: algorithm %q is not allowed", alg)
	}
	kid, _ := key.KeyID()
	if use, ok := key.KeyUsage(); ok && use != "" && use != jwk.ForSignature.String() {
		return nil, fmt.Errorf("auth: key %q is for %q, not signatures", kid, use)
	}
	if ka, ok := key.Algorithm(); ok && ka.String() != "" && ka.String() != alg.String() {
		return nil, fmt.Errorf("auth: key %q is for %s, the token says %s", kid, ka, alg)
	}
	pub, err := jwk.PublicKeyOf(key)
	if err != nil {
		return nil, fmt.Errorf("auth: key %q: %w", kid, err)
	}
	var raw any
	if err := jwk.Export(pub, &raw); err != nil {
		return nil, fmt.Errorf("auth: key %q: %w", kid, err)
	}
	var fits bool
	switch k := raw.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("auth: key %q is RSA-%d, under %d bits", kid, k.N.BitLen(), minRSABits)
		}
		fits = alg.String() == jwa.RS256().String() || alg.String() == jwa.PS256().String()
	case *ecdsa.PublicKey:
		fits = alg.String() == jwa.ES256().String() && k.Curve == elliptic.P256()
	case ed25519.PublicKey:
		fits = alg.String() == jwa.EdDSA().String()
	default:
		return nil, fmt.Errorf("auth: key %q is a %T, which no allowed algorithm uses", kid, raw)
	}
	if !fits {
		return nil, fmt.Errorf("auth: key %q (%s) cannot verify %s", kid, key.KeyType(), alg)
	}
	return raw, nil
}

func allowed(alg jwa.SignatureAlgorithm) bool {
	for _, a := range allowedAlgorithms {
		if a.String() == alg.String() {
			return true
		}
	}
	return false
}
