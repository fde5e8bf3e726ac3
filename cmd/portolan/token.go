// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
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

	dir := stores.DataDir()
	keyPath := filepath.Join(dir, filepath.FromSlash(auth.SigningKeyFile))
	_, statErr := os.Stat(keyPath)
	l, err := auth.OpenLocalIssuer(dir)
	if err != nil {
		return err
	}
	tok, err := l.Mint(claims)
	if err != nil {
		return err
	}
	// Standard output is the token alone, for $(portolan token); which key
	// signed it goes to standard error, since a token of another data
	// directory is refused by the server (401) without saying why.
	abs, _ := filepath.Abs(dir)
	if errors.Is(statErr, os.ErrNotExist) {
		fmt.Fprintf(env.Stderr, "portolan: warning: no signing key in data directory %s; created a new one. A server started on another data directory refuses this token (401): run serve and token with the same --data or PORTOLAN_DATA.\n", abs)
	} else {
		fmt.Fprintf(env.Stderr, "portolan: token signed by the key of data directory %s (%s)\n", abs, keyPath)
	}
	_, err = fmt.Fprintln(env.Stdout, tok)
	return err
}

// localTokenHint is what serve logs with a refused token when it trusts
// the local issuer of dir.
func localTokenHint(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return "this server accepts tokens of the local issuer of data directory " + abs + "; a token from 'portolan token' on another data directory is refused (mint it with --data " + abs + ")"
}
