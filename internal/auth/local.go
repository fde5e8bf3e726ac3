// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"portolan"
)

// LocalIssuerName is the iss of the local issuer's tokens. It is a fixed
// name rather than a URL because nothing is served there: trust comes from
// the key in the data directory, and two data directories already differ by
// key. A fixed name keeps tokens readable and the log's "wrong issuer" clear
// when a token of another trust source is presented.
const LocalIssuerName = "portolan-local"

// SigningKeyFile is where the local issuer keeps its private key, relative
// to the data directory.
const SigningKeyFile = "auth/signing-key.pem"

// Defaults and limits of minted tokens.
const (
	// DefaultTokenTTL is the lifetime of a token when Claims.TTL is zero.
	DefaultTokenTTL = time.Hour
	// MaxTokenTTL caps a token's lifetime: a local token cannot be revoked
	// short of replacing the key, so it must expire some day.
	MaxTokenTTL = 366 * 24 * time.Hour
	// DefaultSubject is the sub of a token when Claims.Subject is empty.
	DefaultSubject = "portolan-local"
)

// keyPEMType is the PEM type of a new key: PKCS #8, as openssl genpkey
// writes it, so that an operator can also bring their own.
const keyPEMType = "PRIVATE KEY"

// LocalIssuer is Portolan's own token issuer, the default trust source: an
// ES256 key created on first use in the data directory, readable only by
// its owner. An Ed25519 key placed there instead is used as EdDSA.
type LocalIssuer struct {
	// Now returns the current time for minted tokens; nil means time.Now.
	Now func() time.Time

	path string
	key  jwk.Key // private, with kid
	alg  jwa.SignatureAlgorithm
	keys *StaticKeySet
}

// OpenLocalIssuer opens the local issuer of dataDir, creating its signing
// key (file mode 0600, directory 0700) on first use. It refuses a key file
// that group or others may read or write, since anyone who can read it can
// mint tokens.
func OpenLocalIssuer(dataDir string) (*LocalIssuer, error) {
	path := filepath.Join(dataDir, filepath.FromSlash(SigningKeyFile))
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	} else if checkModes() && fi.Mode().Perm()&0o022 != 0 {
		// Whoever can write the directory can swap the key for their own.
		return nil, fmt.Errorf("auth: local issuer: directory %s has mode %04o and is writable by group or others; run chmod 700 %s", dir, fi.Mode().Perm(), dir)
	}
	pemBytes, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		pemBytes, err = createKeyFile(path)
	}
	if err != nil {
		return nil, err
	}
	return newLocalIssuer(path, pemBytes)
}

// checkModes reports whether Unix permission bits mean anything here.
func checkModes() bool { return runtime.GOOS != "windows" }

// readKeyFile reads the key file, checking its mode on the open descriptor
// so that the file checked is the file read.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("auth: local issuer: signing key %s is not a regular file", path)
	}
	if checkModes() && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("auth: local issuer: signing key %s has mode %04o and is accessible to group or others; run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	const maxKeyFile = 64 << 10 // a PEM key is a few hundred bytes
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("auth: local issuer: signing key %s is over %d bytes, not a PEM key", path, maxKeyFile)
	}
	return b, nil
}

// createKeyFile writes a new P-256 key. It writes a temporary file and links
// it into place, so that two processes starting together (serve and token)
// never see a half-written key and end up with the same one.
func createKeyFile(path string) ([]byte, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("auth: local issuer: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: keyPEMType, Bytes: der})

	tmp, err := os.CreateTemp(filepath.Dir(path), ".signing-key-*.tmp") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(pemBytes); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		// Another process won the race; use its key.
		return readKeyFile(path)
	} else if err != nil {
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	return pemBytes, nil
}

func newLocalIssuer(path string, pemBytes []byte) (*LocalIssuer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("auth: local issuer: %s holds no PEM block", path)
	}
	var priv any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		priv, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		err = fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: local issuer: %s: %w", path, err)
	}
	var alg jwa.SignatureAlgorithm
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("auth: local issuer: %s: EC key on %s; ES256 needs P-256", path, k.Curve.Params().Name)
		}
		alg = jwa.ES256()
	case ed25519.PrivateKey:
		alg = jwa.EdDSA()
	default:
		return nil, fmt.Errorf("auth: local issuer: %s: a %T key; use P-256 (ES256) or Ed25519 (EdDSA)", path, priv)
	}
	key, err := jwk.Import(priv)
	if err != nil {
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	// The kid is the RFC 7638 thumbprint: stable for the key, and a token
	// of another data directory names a kid this one does not know.
	if err := jwk.AssignKeyID(key); err != nil {
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	if err := key.Set(jwk.AlgorithmKey, alg); err != nil {
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	if err := key.Set(jwk.KeyUsageKey, jwk.ForSignature); err != nil {
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(key); err != nil {
		return nil, fmt.Errorf("auth: local issuer: %w", err)
	}
	keys, err := NewStaticKeySet(set) // public halves only
	if err != nil {
		return nil, err
	}
	return &LocalIssuer{path: path, key: key, alg: alg, keys: keys}, nil
}

// Path is the signing key file.
func (l *LocalIssuer) Path() string { return l.path }

// KeyID is the kid of the signing key.
func (l *LocalIssuer) KeyID() string {
	kid, _ := l.key.KeyID()
	return kid
}

// Keys is the issuer's public key set (one key).
func (l *LocalIssuer) Keys() *StaticKeySet { return l.keys }

// Verifier returns a Verifier for the issuer's tokens: iss LocalIssuerName,
// aud GraphAudience or GraphApplicationID, as Graph accepts both.
func (l *LocalIssuer) Verifier(opts Options) *Verifier {
	v, _ := NewVerifier(l.keys, LocalIssuerName, []string{GraphAudience, GraphApplicationID}, opts)
	return v
}

// Claims describe a token to mint. Zero fields take the defaults.
type Claims struct {
	Subject  string   // sub; DefaultSubject when empty
	TenantID string   // tid; omitted when empty
	Audience string   // aud; GraphAudience when empty
	Scopes   []string // scp, written space-separated as Entra does
	Roles    []string // roles, an array as Entra writes it
	// TTL is the lifetime, up to MaxTokenTTL; DefaultTokenTTL when zero.
	TTL time.Duration
}

// Mint returns a signed token of the local issuer.
func (l *LocalIssuer) Mint(c Claims) (string, error) {
	if c.TTL == 0 {
		c.TTL = DefaultTokenTTL
	}
	if c.TTL < 0 || c.TTL > MaxTokenTTL {
		return "", portolan.Errorf(portolan.EINVALID, "The token lifetime must be between 1s and %s.", MaxTokenTTL)
	}
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if c.Audience == "" {
		c.Audience = GraphAudience
	}
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	now = now.Truncate(time.Second)
	b := jwt.NewBuilder().
		Issuer(LocalIssuerName).
		Subject(c.Subject).
		Audience([]string{c.Audience}).
		IssuedAt(now).
		NotBefore(now).
		Expiration(now.Add(c.TTL)).
		JwtID(rand.Text())
	if c.TenantID != "" {
		b = b.Claim("tid", c.TenantID)
	}
	if scp := strings.Join(c.Scopes, " "); scp != "" {
		b = b.Claim("scp", scp)
	}
	if len(c.Roles) > 0 {
		b = b.Claim("roles", c.Roles)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	h := jws.NewHeaders()
	if err := h.Set(jws.KeyIDKey, l.KeyID()); err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	if err := h.Set(jws.TypeKey, "JWT"); err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(l.alg, l.key, jws.WithProtectedHeaders(h)))
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	return string(signed), nil
}
