// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"portolan"
	"portolan/internal/auth"
	"portolan/internal/cli"
)

func tokenEnv(vars map[string]string) (*cli.Env, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	return &cli.Env{
		Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(k string) string { return vars[k] },
	}, &stdout, &stderr
}

// verifyLocal checks tok with the local issuer of dir, as serve would.
func verifyLocal(t *testing.T, dir, tok string) (*portolan.Principal, error) {
	t.Helper()
	l, err := auth.OpenLocalIssuer(dir)
	if err != nil {
		t.Fatal(err)
	}
	return l.Verifier(auth.Options{}).VerifyToken(context.Background(), tok)
}

func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	env, stdout, stderr := tokenEnv(nil)
	if err := program.Run(context.Background(), env, []string{"token", "--data", dir}); err != nil {
		t.Fatalf("token: %v\n%s", err, stderr)
	}
	tok := strings.TrimSuffix(stdout.String(), "\n")
	if strings.ContainsAny(tok, " \n") || strings.Count(tok, ".") != 2 {
		t.Fatalf("stdout is not one token: %q", stdout.String())
	}
	p, err := verifyLocal(t, dir, tok)
	if err != nil {
		t.Fatalf("the local verifier refused the printed token: %v", err)
	}
	if p.Subject != auth.DefaultSubject || !p.HasPermission(portolan.PermissionThreatIntelligenceRead) {
		t.Errorf("principal %+v", p)
	}
	if fi, err := os.Stat(filepath.Join(dir, "auth", "signing-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("signing key: %v, %v", fi, err)
	}
}

func TestTokenCommandFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		usage bool   // the command refuses its flags
		code  string // what the server answers the token, "" for success
		check func(*portolan.Principal) bool
	}{
		{name: "roles", args: []string{"--roles", "Other.Read," + portolan.PermissionThreatIntelligenceRead},
			check: func(p *portolan.Principal) bool { return len(p.Scopes) == 0 && len(p.Roles) == 2 }},
		{name: "tid and sub", args: []string{"--tid", "72f988bf-86f1-41af-91ab-2d7cd011db47", "--sub", "alice"},
			check: func(p *portolan.Principal) bool {
				return p.Subject == "alice" && p.TenantID == "72f988bf-86f1-41af-91ab-2d7cd011db47"
			}},
		{name: "Graph application ID audience", args: []string{"--aud", auth.GraphApplicationID}},
		{name: "scp without the permission", args: []string{"--scp", "User.Read"}, code: portolan.EFORBIDDEN},
		{name: "no scp", args: []string{"--scp", ""}, code: portolan.EFORBIDDEN},
		{name: "personal account", args: []string{"--tid", auth.PersonalAccountTenant}, code: portolan.EFORBIDDEN},
		{name: "other audience", args: []string{"--aud", "api://other"}, code: portolan.EUNAUTHORIZED},
		{name: "scp and roles", args: []string{"--scp", "a", "--roles", "b"}, usage: true},
		{name: "zero ttl", args: []string{"--ttl", "0s"}, usage: true},
		{name: "ttl over a year", args: []string{"--ttl", "9000h"}, usage: true},
		{name: "argument", args: []string{"extra"}, usage: true},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, stdout, stderr := tokenEnv(nil)
			err := program.Run(context.Background(), env, append([]string{"token", "--data", dir}, tt.args...))
			if tt.usage {
				if !errors.Is(err, cli.ErrUsage) {
					t.Errorf("got %v, want a usage error", err)
				}
				if stdout.Len() != 0 {
					t.Errorf("printed %q", stdout)
				}
				return
			}
			if err != nil {
				t.Fatalf("token: %v\n%s", err, stderr)
			}
			p, err := verifyLocal(t, dir, strings.TrimSpace(stdout.String()))
			if tt.code != "" {
				if portolan.ErrorCode(err) != tt.code {
					t.Errorf("server answer %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil && !tt.check(p) {
				t.Errorf("principal %+v", p)
			}
		})
	}
}

func TestTokenCommandDataFromEnv(t *testing.T) {
	dir := t.TempDir()
	env, stdout, _ := tokenEnv(map[string]string{"PORTOLAN_DATA": dir})
	if err := program.Run(context.Background(), env, []string{"token"}); err != nil {
		t.Fatal(err)
	}
	if _, err := verifyLocal(t, dir, strings.TrimSpace(stdout.String())); err != nil {
		t.Fatal(err)
	}
}

func TestTokenCommandHelp(t *testing.T) {
	env, _, stderr := tokenEnv(nil)
	if err := program.Run(context.Background(), env, []string{"token", "-h"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Usage: portolan token", "-scp", "-roles", "-ttl", "-tid", "-data"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, stderr)
		}
	}
}

// parseAuthFlags parses args into authFlags as serve would.
func parseAuthFlags(t *testing.T, vars map[string]string, args ...string) *authFlags {
	t.Helper()
	env, _, _ := tokenEnv(vars)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a := addAuthFlags(fs, env)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return a
}

// The flags and their environment variables map to auth.Config; which
// combinations are valid is internal/auth's test.
func TestAuthFlagsConfig(t *testing.T) {
	dir := t.TempDir()
	cfg, err := parseAuthFlags(t, nil).Config(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(auth.Config{DataDir: dir, ClockSkew: auth.DefaultClockSkew}, cfg, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}

	env := map[string]string{"PORTOLAN_OIDC_ISSUER": "https://issuer.test", "PORTOLAN_AUDIENCE": "api://a, b", "PORTOLAN_JWKS_FILE": "keys.json"}
	cfg, err = parseAuthFlags(t, env, "--clock-skew", "0").Config(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := auth.Config{OIDCIssuer: "https://issuer.test", Audiences: []string{"api://a", "b"}, JWKSFile: "keys.json", DataDir: dir}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
	cfg, err = parseAuthFlags(t, env, "--oidc-issuer", "https://other.test", "--audience", "c", "--jwks-file", "").Config(dir)
	if err != nil || cfg.OIDCIssuer != "https://other.test" || !slices.Equal(cfg.Audiences, []string{"c"}) || cfg.Source() != auth.SourceOIDC {
		t.Errorf("flags over environment: %+v, %v", cfg, err)
	}
	if cfg, err := parseAuthFlags(t, nil, "--insecure-no-auth").Config(dir); err != nil || cfg.Source() != auth.SourceNone {
		t.Errorf("--insecure-no-auth: %+v, %v", cfg, err)
	}

	for _, args := range [][]string{
		{"--audience", "api://x"},
		{"--jwks-file", "x.json"},
		{"--insecure-no-auth", "--oidc-issuer", "https://issuer.test"},
		{"--clock-skew", "-1s"},
		{"--clock-skew", "1h"},
	} {
		if _, err := parseAuthFlags(t, nil, args...).Config(dir); cli.ExitCode(err) != 2 {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
}

// TestTokenSaysWhichKeySigned: stdout is the token alone; stderr names the
// data directory and warns when the key had to be created, since a server
// on another directory refuses the token.
func TestTokenSaysWhichKeySigned(t *testing.T) {
	dir := t.TempDir()
	out, errOut, err := run(t, nil, "token", "--data", dir)
	if err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("%v %q", err, out)
	}
	if !strings.Contains(errOut, "warning: no signing key in data directory "+dir+"; created a new one") || !strings.Contains(errOut, "--data or PORTOLAN_DATA") {
		t.Errorf("first token: stderr %q", errOut)
	}
	_, errOut, err = run(t, map[string]string{"PORTOLAN_DATA": dir}, "token")
	if err != nil || strings.Contains(errOut, "warning") || !strings.Contains(errOut, "token signed by the key of data directory "+dir+" (") {
		t.Errorf("second token: %v, stderr %q", err, errOut)
	}
	if h := localTokenHint(dir); !strings.Contains(h, dir) || !strings.Contains(h, "portolan token") {
		t.Errorf("hint %q", h)
	}
}
