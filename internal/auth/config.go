// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"context"
	"log/slog"
	"net/url"
	"time"

	"portolan"
)

// Source is where the trust in bearer tokens comes from. Its value is the
// phrase the log uses.
type Source string

// The trust sources, one per way of configuring a server.
const (
	// SourceLocal is the local issuer of the data directory, the default:
	// `portolan token` mints its tokens.
	SourceLocal Source = "local issuer"
	// SourceOIDC is an OpenID Connect issuer whose keys are discovered and
	// fetched (NewOIDCVerifier).
	SourceOIDC Source = "OpenID Connect issuer"
	// SourceJWKSFile is a static JWKS file, for hosts that cannot reach
	// the issuer (NewJWKSFileVerifier).
	SourceJWKSFile Source = "JWKS file"
	// SourceNone accepts every request without a token (InsecureVerifier).
	SourceNone Source = "none"
)

// MaxClockSkew bounds Config.ClockSkew: Entra's own libraries allow 5
// minutes, and more than that mostly keeps expired tokens alive.
const MaxClockSkew = 10 * time.Minute

// ConfigError is a Config that names no coherent trust source: a mistake
// of whoever configured the server, which the command line reports as a
// usage error. Its message names the serve flags, the spelling a user knows.
type ConfigError struct {
	Msg string
}

// Error returns the message.
func (e *ConfigError) Error() string { return e.Msg }

// Config chooses the trust source of bearer tokens and tunes it. It is the
// one value that serve's flags and environment map to; Source says which
// source its fields select, and Open builds the verifier.
type Config struct {
	// OIDCIssuer (--oidc-issuer) trusts the tokens of this OpenID Connect
	// issuer, spelled exactly as its discovery document does. With
	// JWKSFile it is only the expected iss.
	OIDCIssuer string
	// Audiences (--audience) are the accepted aud values of OIDCIssuer's
	// tokens. Empty means GraphAudience and GraphApplicationID. The local
	// issuer's audience is fixed, so they need OIDCIssuer or JWKSFile.
	Audiences []string
	// JWKSFile (--jwks-file) trusts the keys of this file instead of
	// fetching them; it needs OIDCIssuer for the expected iss.
	JWKSFile string
	// InsecureNoAuth (--insecure-no-auth) accepts every request without a
	// token, for local experiments; Open refuses it unless ListenAddr is a
	// loopback address.
	InsecureNoAuth bool
	// DataDir is the data directory whose local issuer is the default
	// source.
	DataDir string
	// ClockSkew (--clock-skew) is the tolerance on exp and nbf, from 0
	// (none) to MaxClockSkew. Unlike Options.ClockSkew, zero means none:
	// the configured value is taken literally.
	ClockSkew time.Duration
	// ListenAddr is the address the server is bound to, for the loopback
	// check of InsecureNoAuth. Pass the bound address, not the configured
	// one: a name is checked by what it is, not what it resolves to.
	ListenAddr string
	// Logger gets which source is in use and the OIDC key cache's refresh
	// failures; nil means slog.Default().
	Logger *slog.Logger
}

// Source returns the trust source c selects: none with InsecureNoAuth, a
// JWKS file or an OIDC issuer when named, else the local issuer.
func (c Config) Source() Source {
	switch {
	case c.InsecureNoAuth:
		return SourceNone
	case c.JWKSFile != "":
		return SourceJWKSFile
	case c.OIDCIssuer != "":
		return SourceOIDC
	}
	return SourceLocal
}

// Validate returns a *ConfigError when c does not name one coherent trust
// source. It needs nothing but c, so a server can check its configuration
// before it opens anything.
func (c Config) Validate() error {
	if c.ClockSkew < 0 || c.ClockSkew > MaxClockSkew {
		return &ConfigError{"--clock-skew " + c.ClockSkew.String() + ": must be between 0 and " + MaxClockSkew.String()}
	}
	if c.InsecureNoAuth && (c.OIDCIssuer != "" || c.JWKSFile != "") {
		return &ConfigError{"--insecure-no-auth cannot be combined with --oidc-issuer or --jwks-file"}
	}
	if c.Source() == SourceLocal && len(c.Audiences) > 0 {
		// Most likely a forgotten --oidc-issuer: say so instead of
		// quietly trusting the local issuer.
		return &ConfigError{"--audience applies to --oidc-issuer or --jwks-file; the local issuer's audience is " + GraphAudience}
	}
	if c.JWKSFile != "" && c.OIDCIssuer == "" {
		return &ConfigError{"--jwks-file needs --oidc-issuer, the iss its tokens carry"}
	}
	return nil
}

// Open validates c and builds the verifier of its trust source, logging
// which source is in use so that an operator can tell from the log whose
// tokens the server accepts.
//
// ctx bounds the life of the OIDC key cache, which refreshes in the
// background: pass the server's context, not a start-up timeout.
func Open(ctx context.Context, c Config) (portolan.TokenVerifier, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	logger := c.Logger
	if logger == nil {
		logger = slog.Default()
	}
	opts := Options{ClockSkew: c.ClockSkew, Logger: logger}
	if c.ClockSkew == 0 {
		opts.ClockSkew = -1 // Options reads zero as "the default"
	}
	audiences := c.Audiences
	if len(audiences) == 0 {
		audiences = []string{GraphAudience, GraphApplicationID}
	}

	switch c.Source() {
	case SourceNone:
		if err := CheckLoopback(c.ListenAddr); err != nil {
			return nil, err
		}
		logger.Warn("auth: --insecure-no-auth: every request is accepted without a token; for local experiments only", "addr", c.ListenAddr)
		return NewInsecureVerifier(logger), nil

	case SourceLocal:
		l, err := OpenLocalIssuer(c.DataDir)
		if err != nil {
			return nil, err
		}
		v := l.Verifier(opts)
		logger.Info("auth: trust source: local issuer; mint a token with 'portolan token --data "+c.DataDir+"'",
			"issuer", v.Issuer(), "audiences", v.Audiences(), "key", l.Path(), "kid", l.KeyID(), "clock_skew", c.ClockSkew)
		return v, nil

	case SourceJWKSFile:
		v, err := NewJWKSFileVerifier(c.JWKSFile, c.OIDCIssuer, audiences, opts)
		if err != nil {
			return nil, err
		}
		logger.Info("auth: trust source: JWKS file", "file", c.JWKSFile, "issuer", c.OIDCIssuer, "audiences", audiences, "clock_skew", c.ClockSkew)
		return v, nil
	}

	if u, err := url.Parse(c.OIDCIssuer); err == nil && u.Scheme == "http" {
		logger.Warn("auth: the OIDC issuer is plain http; its keys could be swapped in transit", "issuer", c.OIDCIssuer)
	}
	v, err := NewOIDCVerifier(ctx, c.OIDCIssuer, audiences, opts)
	if err != nil {
		return nil, err
	}
	var jwks string
	if ks, ok := v.Keys().(*RemoteKeySet); ok {
		jwks = ks.URL()
	}
	logger.Info("auth: trust source: OpenID Connect issuer", "issuer", c.OIDCIssuer, "jwks_uri", jwks, "audiences", audiences, "clock_skew", c.ClockSkew)
	return v, nil
}
