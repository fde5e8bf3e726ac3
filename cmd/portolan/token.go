// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"portolan"
	"portolan/internal/auth"
	"portolan/internal/cli"
)

// runToken is `portolan token`: it mints a token of the local issuer of the
// data directory, the one serve trusts by default.
func runToken(_ context.Context, env *cli.Env, args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	stores := addStoreFlags(fs, env)
	scp := fs.String("scp", portolan.PermissionThreatIntelligenceRead, "delegated permissions, space-separated (the scp claim); \"\" for none")
	roles := fs.String("roles", "", "application permissions, comma-separated (the roles claim), instead of --scp")
	ttl := fs.Duration("ttl", auth.DefaultTokenTTL, "lifetime of the token, at most "+auth.MaxTokenTTL.String())
	tid := fs.String("tid", "", "tenant ID (the tid claim); "+auth.PersonalAccountTenant+" is refused as a personal account")
	sub := fs.String("sub", auth.DefaultSubject, "subject (the sub claim), which the server logs")
	aud := fs.String("aud", auth.GraphAudience, "audience (the aud claim); the server accepts "+auth.GraphAudience+" and "+auth.GraphApplicationID)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: portolan token [flags]

Prints a bearer token of the local issuer, the default trust source of
'portolan serve', on standard output. The issuer's signing key is
%s in the data directory, created on first use (mode 0600).
A server started on the same data directory without --oidc-issuer or
--jwks-file accepts the token:

  curl -H "Authorization: Bearer $(portolan token)" \
       https://<server>/beta/security/threatIntelligence/hosts/8.8.8.8/ports

Entra tokens carry either delegated permissions (--scp) or application
permissions (--roles), never both; the API requires
%s in one of them.

Flags:
`, auth.SigningKeyFile, portolan.PermissionThreatIntelligenceRead)
		fs.PrintDefaults()
	}
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token: unexpected argument %q: %w", fs.Arg(0), cli.ErrUsage)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	claims := auth.Claims{Subject: *sub, TenantID: *tid, Audience: *aud, TTL: *ttl, Scopes: strings.Fields(*scp)}
	if set["roles"] {
		if set["scp"] {
			return fmt.Errorf("token: --scp and --roles exclude each other, as delegated and application tokens do: %w", cli.ErrUsage)
		}
		claims.Scopes = nil
		claims.Roles = splitList(*roles)
	}
	if *ttl <= 0 || *ttl > auth.MaxTokenTTL {
		return fmt.Errorf("token: --ttl %s: must be between 1s and %s: %w", *ttl, auth.MaxTokenTTL, cli.ErrUsage)
	}

	l, err := auth.OpenLocalIssuer(stores.DataDir())
	if err != nil {
		return err
	}
	tok, err := l.Mint(claims)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(env.Stdout, tok)
	return err
}
