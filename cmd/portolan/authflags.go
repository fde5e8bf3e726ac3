// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"portolan"
	"portolan/internal/auth"
	"portolan/internal/cli"
)

// maxClockSkew bounds --clock-skew: Entra's own libraries allow 5 minutes,
// and more than that mostly keeps expired tokens alive.
const maxClockSkew = 10 * time.Minute

// demoTokenTTL is the lifetime of the token serve --demo prints.
const demoTokenTTL = 24 * time.Hour

// authFlags are the flags that choose the trust source of bearer tokens.
type authFlags struct {
	oidcIssuer string
	audience   string
	jwksFile   string
	clockSkew  time.Duration
	insecure   bool
}

// addAuthFlags registers --oidc-issuer (env PORTOLAN_OIDC_ISSUER), --audience (PORTOLAN_AUDIENCE), --jwks-file (PORTOLAN_JWKS_FILE), --clock-skew (default 1m), --insecure-no-auth.
func addAuthFlags(fs *flag.FlagSet, env *cli.Env) *authFlags {
	a := &authFlags{}
	fs.StringVar(&a.oidcIssuer, "oidc-issuer", env.Getenv("PORTOLAN_OIDC_ISSUER"),
		"trust tokens of this OpenID Connect issuer, exactly as its discovery document spells it, e.g.\n"+
			"https://login.microsoftonline.com/{tenant}/v2.0 (Entra v2 tokens), https://sts.windows.net/{tenant}/ (Entra v1),\n"+
			"https://keycloak.example/realms/{realm}; with --jwks-file, only the expected iss (env PORTOLAN_OIDC_ISSUER)")
	fs.StringVar(&a.audience, "audience", env.Getenv("PORTOLAN_AUDIENCE"),
		"accepted token audiences, comma-separated, with --oidc-issuer or --jwks-file; with Entra ID, the\n"+
			"Application ID URI or client ID of Portolan's app registration, since Entra's tokens for Graph itself\n"+
			"can only be verified by Graph (default "+auth.GraphAudience+","+auth.GraphApplicationID+") (env PORTOLAN_AUDIENCE)")
	fs.StringVar(&a.jwksFile, "jwks-file", env.Getenv("PORTOLAN_JWKS_FILE"),
		"trust the keys of this JWKS file instead of fetching them; needs --oidc-issuer for the expected iss (env PORTOLAN_JWKS_FILE)")
	fs.DurationVar(&a.clockSkew, "clock-skew", auth.DefaultClockSkew, "tolerance on token exp and nbf, at most "+maxClockSkew.String())
	fs.BoolVar(&a.insecure, "insecure-no-auth", false,
		"accept every request without a token, for local experiments; only on a loopback address")
	return a
}

// Verifier builds the configured verifier: OIDC issuer, JWKS file, or the local issuer in dataDir (the default). addr is the listen address (for the --insecure-no-auth loopback check). It logs which trust source is in use.
//
// ctx bounds the life of the OIDC key cache, which refreshes in the
// background: pass the server's context, not a start-up timeout.
func (a *authFlags) Verifier(ctx context.Context, dataDir, addr string, logger *slog.Logger) (portolan.TokenVerifier, error) {
	if a.clockSkew < 0 || a.clockSkew > maxClockSkew {
		return nil, fmt.Errorf("--clock-skew %s: must be between 0 and %s: %w", a.clockSkew, maxClockSkew, cli.ErrUsage)
	}
	opts := auth.Options{ClockSkew: a.clockSkew, Logger: logger}
	if a.clockSkew == 0 {
		opts.ClockSkew = -1 // auth.Options reads zero as "the default"
	}

	if a.insecure {
		if a.oidcIssuer != "" || a.jwksFile != "" {
			return nil, fmt.Errorf("--insecure-no-auth cannot be combined with --oidc-issuer or --jwks-file: %w", cli.ErrUsage)
		}
		if err := auth.CheckLoopback(addr); err != nil {
			return nil, err
		}
		logger.Warn("auth: --insecure-no-auth: every request is accepted without a token; for local experiments only", "addr", addr)
		return auth.NewInsecureVerifier(logger), nil
	}

	audiences := splitList(a.audience)
	if a.oidcIssuer == "" && a.jwksFile == "" {
		if len(audiences) > 0 {
			// Most likely a forgotten --oidc-issuer: say so instead of
			// quietly trusting the local issuer.
			return nil, fmt.Errorf("--audience applies to --oidc-issuer or --jwks-file; the local issuer's audience is %s: %w", auth.GraphAudience, cli.ErrUsage)
		}
		l, err := auth.OpenLocalIssuer(dataDir)
		if err != nil {
			return nil, err
		}
		v := l.Verifier(opts)
		logger.Info("auth: trust source: local issuer; mint a token with 'portolan token --data "+dataDir+"'",
			"issuer", v.Issuer(), "audiences", v.Audiences(), "key", l.Path(), "kid", l.KeyID(), "clock_skew", a.clockSkew)
		return v, nil
	}

	if a.oidcIssuer == "" {
		return nil, fmt.Errorf("--jwks-file needs --oidc-issuer, the iss its tokens carry: %w", cli.ErrUsage)
	}
	if len(audiences) == 0 {
		audiences = []string{auth.GraphAudience, auth.GraphApplicationID}
	}
	if a.jwksFile != "" {
		v, err := auth.NewJWKSFileVerifier(a.jwksFile, a.oidcIssuer, audiences, opts)
		if err != nil {
			return nil, err
		}
		logger.Info("auth: trust source: JWKS file", "file", a.jwksFile, "issuer", a.oidcIssuer, "audiences", audiences, "clock_skew", a.clockSkew)
		return v, nil
	}
	if u, err := url.Parse(a.oidcIssuer); err == nil && u.Scheme == "http" {
		logger.Warn("auth: the OIDC issuer is plain http; its keys could be swapped in transit", "issuer", a.oidcIssuer)
	}
	v, err := auth.NewOIDCVerifier(ctx, a.oidcIssuer, audiences, opts)
	if err != nil {
		return nil, err
	}
	var jwks string
	if ks, ok := v.Keys().(*auth.RemoteKeySet); ok {
		jwks = ks.URL()
	}
	logger.Info("auth: trust source: OpenID Connect issuer", "issuer", a.oidcIssuer, "jwks_uri", jwks, "audiences", audiences, "clock_skew", a.clockSkew)
	return v, nil
}

// DemoToken mints a token (scp ThreatIntelligence.Read.All, ttl 24h) from the local issuer in dataDir; it returns "" when another trust source is configured.
func (a *authFlags) DemoToken(dataDir string) (string, error) {
	if a.insecure || a.oidcIssuer != "" || a.jwksFile != "" {
		return "", nil
	}
	l, err := auth.OpenLocalIssuer(dataDir)
	if err != nil {
		return "", err
	}
	return l.Mint(auth.Claims{Scopes: []string{portolan.PermissionThreatIntelligenceRead}, TTL: demoTokenTTL})
}

// splitList splits a comma- or space-separated flag value.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}
