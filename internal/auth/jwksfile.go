// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"fmt"
	"io"
	"os"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// maxJWKSFileSize bounds the JWKS file read; real key sets are a few KB.
const maxJWKSFileSize = 1 << 20

// NewJWKSFileVerifier returns a Verifier that trusts the keys of the JWKS
// file at path (a key set, or one JWK) for tokens of issuer and audiences.
// It is for hosts that cannot reach the issuer: nothing is fetched, so keys
// rotated at the issuer must be copied into the file and the server
// restarted.
func NewJWKSFileVerifier(path, issuer string, audiences []string, opts Options) (*Verifier, error) {
	keys, err := ReadJWKSFile(path)
	if err != nil {
		return nil, err
	}
	return NewVerifier(keys, issuer, audiences, opts)
}

// ReadJWKSFile reads a JWKS file into a StaticKeySet.
func ReadJWKSFile(path string) (*StaticKeySet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS file: %w", err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxJWKSFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS file %s: %w", path, err)
	}
	if len(buf) > maxJWKSFileSize {
		return nil, fmt.Errorf("auth: JWKS file %s is over %d bytes", path, maxJWKSFileSize)
	}
	set, err := jwk.Parse(buf)
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS file %s: %w", path, err)
	}
	keys, err := NewStaticKeySet(set)
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS file %s: %w", path, err)
	}
	return keys, nil
}
