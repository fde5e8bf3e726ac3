// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"portolan/internal/auth"
	"portolan/internal/cli"
)

// authFlags are serve's flags that choose the trust source of bearer
// tokens. They only map flags and environment to an auth.Config: which
// combinations make sense is internal/auth's to say.
type authFlags struct {
	cfg      auth.Config
	audience string // comma- or space-separated, split by Config
}

// addAuthFlags registers --oidc-issuer (env PORTOLAN_OIDC_ISSUER), --audience (PORTOLAN_AUDIENCE), --jwks-file (PORTOLAN_JWKS_FILE), --clock-skew (default 1m), --insecure-no-auth.
func addAuthFlags(fs *flag.FlagSet, env *cli.Env) *authFlags {
	a := &authFlags{}
	fs.StringVar(&a.cfg.OIDCIssuer, "oidc-issuer", env.Getenv("PORTOLAN_OIDC_ISSUER"),
		"trust tokens of this OpenID Connect issuer, exactly as its discovery document spells it, e.g.\n"+
			"https://login.microsoftonline.com/{tenant}/v2.0 (Entra v2 tokens), https://sts.windows.net/{tenant}/ (Entra v1),\n"+
			"https://keycloak.example/realms/{realm}; with --jwks-file, only the expected iss (env PORTOLAN_OIDC_ISSUER)")
	fs.StringVar(&a.audience, "audience", env.Getenv("PORTOLAN_AUDIENCE"),
		"accepted token audiences, comma-separated, with --oidc-issuer or --jwks-file; with Entra ID, the\n"+
			"Application ID URI or client ID of Portolan's app registration, since Entra's tokens for Graph itself\n"+
			"can only be verified by Graph (default "+auth.GraphAudience+","+auth.GraphApplicationID+") (env PORTOLAN_AUDIENCE)")
	fs.StringVar(&a.cfg.JWKSFile, "jwks-file", env.Getenv("PORTOLAN_JWKS_FILE"),
		"trust the keys of this JWKS file instead of fetching them; needs --oidc-issuer for the expected iss (env PORTOLAN_JWKS_FILE)")
	fs.DurationVar(&a.cfg.ClockSkew, "clock-skew", auth.DefaultClockSkew, "tolerance on token exp and nbf, at most "+auth.MaxClockSkew.String())
	fs.BoolVar(&a.cfg.InsecureNoAuth, "insecure-no-auth", false,
		"accept every request without a token, for local experiments; only on a loopback address")
	return a
}

// Config returns the auth configuration of the parsed flags with the local
// issuer in dataDir. A combination internal/auth refuses is a usage error
// (exit status 2), found before serve opens anything.
func (a *authFlags) Config(dataDir string) (auth.Config, error) {
	cfg := a.cfg
	cfg.Audiences = splitList(a.audience)
	cfg.DataDir = dataDir
	if err := cfg.Validate(); err != nil {
		var ce *auth.ConfigError
		if errors.As(err, &ce) {
			return cfg, fmt.Errorf("%w: %w", err, cli.ErrUsage)
		}
		return cfg, err
	}
	return cfg, nil
}

// splitList splits a comma- or space-separated flag value.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}
