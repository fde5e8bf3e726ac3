// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"portolan/internal/cli"
)

func consoleTestEnv() *cli.Env {
	var out, errOut bytes.Buffer
	return &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
}

func TestConsoleFlagsGoWithTheirTrustSource(t *testing.T) {
	for _, args := range [][]string{
		{"--oidc-client-id", "portolan"},
		{"--oidc-client-secret-file", "secret"},
		{"--oidc-client-id", "portolan", "--oidc-issuer", "https://idp.example", "--jwks-file", "keys.json"},
	} {
		if _, err := readServeConfig(consoleTestEnv(), args); !errors.Is(err, cli.ErrUsage) {
			t.Errorf("serve %s: %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	cfg, err := readServeConfig(consoleTestEnv(), []string{"--oidc-client-id", "portolan", "--oidc-issuer", "https://idp.example"})
	if err != nil {
		t.Fatal(err)
	}
	// A secret file others can read is refused; a 0600 one is read.
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.console.clientSecretFile = secret
	if _, err := cfg.console.oidcConfig(cfg.auth); checkFileModes && (err == nil || !strings.Contains(err.Error(), "chmod 600")) {
		t.Errorf("a secret of mode 0644: %v", err)
	}
	if err := os.Chmod(secret, 0o600); err != nil {
		t.Fatal(err)
	}
	oc, err := cfg.console.oidcConfig(cfg.auth)
	if err != nil || oc.ClientSecret != "s3cret" || oc.ClientID != "portolan" || oc.Issuer != "https://idp.example" {
		t.Errorf("oidcConfig: %+v, %v", oc, err)
	}
}

func TestAPIPathsStayTheAPIs(t *testing.T) {
	for path, api := range map[string]bool{
		"/beta": true, "/beta/security/threatIntelligence/hosts": true, "/v1.0/$metadata": true, "/healthz": true,
		"/readyz": true, "/portolan/v1/imports": true,
		"/": false, "/search": false, "/hosts/127.0.0.1": false, "/betamax": false, "/static/console.css": false,
	} {
		if isAPIPath(path) != api {
			t.Errorf("isAPIPath(%q) = %v", path, !api)
		}
	}
}
