// SPDX-License-Identifier: Apache-2.0

package auth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"portolan"
	"portolan/internal/auth"
)

// TestConfigOpen opens each trust source through the one Config a server
// is configured with, and checks that it logs which one is in use.
func TestConfigOpen(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx := t.Context()

	t.Run("local issuer by default", func(t *testing.T) {
		dir := t.TempDir()
		cfg := auth.Config{DataDir: dir, ClockSkew: auth.DefaultClockSkew, Logger: logger}
		if cfg.Source() != auth.SourceLocal {
			t.Errorf("Source() = %q", cfg.Source())
		}
		v, err := auth.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		l, err := auth.OpenLocalIssuer(dir)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := l.Mint(auth.Claims{Scopes: []string{portolan.PermissionThreatIntelligenceRead}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.VerifyToken(ctx, tok); err != nil {
			t.Errorf("local token refused: %v", err)
		}
		if !strings.Contains(logs.String(), "trust source: local issuer") {
			t.Errorf("trust source not logged:\n%s", logs.String())
		}
	})
	t.Run("insecure on loopback", func(t *testing.T) {
		cfg := auth.Config{InsecureNoAuth: true, DataDir: t.TempDir(), ListenAddr: "127.0.0.1:8443", Logger: logger}
		if cfg.Source() != auth.SourceNone {
			t.Errorf("Source() = %q", cfg.Source())
		}
		v, err := auth.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.VerifyToken(ctx, ""); err != nil {
			t.Error(err)
		}
	})
	t.Run("insecure refused off loopback", func(t *testing.T) {
		for _, addr := range []string{":8443", "0.0.0.0:8443", "10.0.0.1:8443"} {
			cfg := auth.Config{InsecureNoAuth: true, ListenAddr: addr, Logger: logger}
			var ce *auth.ConfigError
			if _, err := auth.Open(ctx, cfg); err == nil || errors.As(err, &ce) {
				// Not a ConfigError: the address is where the server
				// runs, not a contradiction in its settings.
				t.Errorf("%s: %v", addr, err)
			}
		}
	})
	t.Run("JWKS file", func(t *testing.T) {
		l, err := auth.OpenLocalIssuer(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "jwks.json")
		b, err := json.Marshal(l.Keys().Set())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := auth.Config{JWKSFile: path, OIDCIssuer: auth.LocalIssuerName, ClockSkew: time.Minute, Logger: logger}
		if cfg.Source() != auth.SourceJWKSFile {
			t.Errorf("Source() = %q", cfg.Source())
		}
		v, err := auth.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := l.Mint(auth.Claims{Scopes: []string{portolan.PermissionThreatIntelligenceRead}})
		if _, err := v.VerifyToken(ctx, tok); err != nil {
			t.Errorf("token refused: %v", err)
		}
	})
	t.Run("OIDC issuer with the Graph audiences by default", func(t *testing.T) {
		f := newFakeIssuer(t, "/tenant/v2.0", newRSAKey(t, "k1", 2048))
		cfg := auth.Config{OIDCIssuer: f.issuer, Logger: logger}
		if cfg.Source() != auth.SourceOIDC {
			t.Errorf("Source() = %q", cfg.Source())
		}
		v, err := auth.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		av, ok := v.(*auth.Verifier)
		if !ok || av.Issuer() != f.issuer || !slices.Equal(av.Audiences(), []string{auth.GraphAudience, auth.GraphApplicationID}) {
			t.Errorf("verifier %#v", v)
		}
		if !strings.Contains(logs.String(), "jwks_uri="+f.srv.URL+"/discovery/keys") {
			t.Errorf("JWKS URI not logged:\n%s", logs.String())
		}
	})
}

// Settings that name no coherent trust source are a ConfigError, found by
// Validate before anything is opened.
func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  auth.Config
	}{
		{"audience without issuer", auth.Config{Audiences: []string{"api://x"}}},
		{"JWKS file without issuer", auth.Config{JWKSFile: "x.json"}},
		{"insecure with an issuer", auth.Config{InsecureNoAuth: true, OIDCIssuer: "https://issuer.test"}},
		{"insecure with a JWKS file", auth.Config{InsecureNoAuth: true, JWKSFile: "x.json", OIDCIssuer: "https://issuer.test"}},
		{"negative skew", auth.Config{ClockSkew: -time.Second}},
		{"huge skew", auth.Config{ClockSkew: time.Hour}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ce *auth.ConfigError
			if err := tt.cfg.Validate(); !errors.As(err, &ce) {
				t.Errorf("Validate: %v, want a ConfigError", err)
			}
			if _, err := auth.Open(t.Context(), tt.cfg); !errors.As(err, &ce) {
				t.Errorf("Open: %v, want a ConfigError", err)
			}
		})
	}
	for _, cfg := range []auth.Config{
		{},
		{ClockSkew: auth.MaxClockSkew},
		{OIDCIssuer: "https://issuer.test", Audiences: []string{"api://x"}},
		{OIDCIssuer: "https://issuer.test", JWKSFile: "x.json"},
		{InsecureNoAuth: true},
	} {
		if err := cfg.Validate(); err != nil {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}
