// SPDX-License-Identifier: Apache-2.0

package auth_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portolan"
	"portolan/internal/auth"
)

func TestLocalIssuerKeyFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not Unix permissions on Windows")
	}
	dir := t.TempDir()
	l, err := auth.OpenLocalIssuer(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "auth", "signing-key.pem")
	if l.Path() != path {
		t.Errorf("Path() = %s, want %s", l.Path(), path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("key file mode %04o, want 0600", m)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if m := di.Mode().Perm(); m != 0o700 {
		t.Errorf("key directory mode %04o, want 0700", m)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "auth", ".signing-key-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	// A second start reuses the key: tokens of the first still verify.
	tok, err := l.Mint(auth.Claims{Scopes: []string{portolan.PermissionThreatIntelligenceRead}})
	if err != nil {
		t.Fatal(err)
	}
	l2, err := auth.OpenLocalIssuer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l2.KeyID() != l.KeyID() || l2.KeyID() == "" {
		t.Errorf("kid %q on second start, %q on first", l2.KeyID(), l.KeyID())
	}
	if _, err := l2.Verifier(auth.Options{}).VerifyToken(context.Background(), tok); err != nil {
		t.Errorf("token of the first start: %v", err)
	}

	// A key others can read is refused, with the fix in the message.
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := auth.OpenLocalIssuer(dir)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: got %v, want a refusal that says chmod 600", mode, err)
		}
	}
	os.Chmod(path, 0o600)
	if _, err := auth.OpenLocalIssuer(dir); err != nil {
		t.Errorf("after chmod 600: %v", err)
	}
}

func TestLocalIssuerRefusesSharedDirectory(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not Unix permissions on Windows")
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "auth"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "auth"), 0o777)
	if _, err := auth.OpenLocalIssuer(dir); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("got %v", err)
	}
}

func TestLocalIssuerConcurrentFirstStart(t *testing.T) {
	dir := t.TempDir()
	kids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range kids {
		wg.Go(func() {
			l, err := auth.OpenLocalIssuer(dir)
			if err != nil {
				t.Error(err)
				return
			}
			kids[i] = l.KeyID()
		})
	}
	wg.Wait()
	for _, kid := range kids[1:] {
		if kid != kids[0] {
			t.Fatalf("concurrent starts made different keys: %q", kids)
		}
	}
}

func TestLocalIssuerMint(t *testing.T) {
	l, err := auth.OpenLocalIssuer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l.Now = func() time.Time { return testNow }
	v := l.Verifier(auth.Options{Now: func() time.Time { return testNow.Add(30 * time.Minute) }})

	tests := []struct {
		name   string
		claims auth.Claims
		want   *portolan.Principal
		code   string
	}{
		{name: "defaults with scp", claims: auth.Claims{Scopes: []string{portolan.PermissionThreatIntelligenceRead}},
			want: &portolan.Principal{Subject: auth.DefaultSubject, Scopes: []string{portolan.PermissionThreatIntelligenceRead}}},
		{name: "roles, tenant, subject", claims: auth.Claims{Subject: "app-1", TenantID: testTenant, Roles: []string{portolan.PermissionThreatIntelligenceRead}},
			want: &portolan.Principal{Subject: "app-1", TenantID: testTenant, Roles: []string{portolan.PermissionThreatIntelligenceRead}}},
		{name: "Graph application ID audience", claims: auth.Claims{Audience: auth.GraphApplicationID, Scopes: []string{portolan.PermissionThreatIntelligenceRead}},
			want: &portolan.Principal{Subject: auth.DefaultSubject, Scopes: []string{portolan.PermissionThreatIntelligenceRead}}},
		{name: "other audience", claims: auth.Claims{Audience: "api://other", Scopes: []string{portolan.PermissionThreatIntelligenceRead}}, code: portolan.EUNAUTHORIZED},
		{name: "expired", claims: auth.Claims{TTL: 10 * time.Minute, Scopes: []string{portolan.PermissionThreatIntelligenceRead}}, code: portolan.EUNAUTHORIZED},
		{name: "no permission", claims: auth.Claims{Scopes: []string{"User.Read"}}, code: portolan.EFORBIDDEN},
		{name: "personal account", claims: auth.Claims{TenantID: auth.PersonalAccountTenant, Scopes: []string{portolan.PermissionThreatIntelligenceRead}}, code: portolan.EFORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := l.Mint(tt.claims)
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.VerifyToken(context.Background(), tok)
			if tt.code != "" {
				if portolan.ErrorCode(err) != tt.code {
					t.Errorf("got %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, p); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
		})
	}

	for _, ttl := range []time.Duration{-time.Second, auth.MaxTokenTTL + time.Second} {
		if _, err := l.Mint(auth.Claims{TTL: ttl}); portolan.ErrorCode(err) != portolan.EINVALID {
			t.Errorf("ttl %s: %v", ttl, err)
		}
	}
}

// TestLocalIssuerDataDirsDoNotTrustEachOther: a token of one data
// directory is refused by another's verifier.
func TestLocalIssuerDataDirsDoNotTrustEachOther(t *testing.T) {
	a, err := auth.OpenLocalIssuer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := auth.OpenLocalIssuer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.Mint(auth.Claims{Scopes: []string{portolan.PermissionThreatIntelligenceRead}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verifier(auth.Options{}).VerifyToken(context.Background(), tok); portolan.ErrorCode(err) != portolan.EUNAUTHORIZED {
		t.Errorf("got %v", err)
	}
}

// TestLocalIssuerEd25519 uses an Ed25519 key an operator put in place.
func TestLocalIssuerEd25519(t *testing.T) {
	dir := t.TempDir()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "auth"), 0o700)
	if err := os.WriteFile(filepath.Join(dir, "auth", "signing-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
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
	h, _, _ := segments(tok)
	if header := string(mustUnb64(t, h)); !strings.Contains(header, `"alg":"EdDSA"`) {
		t.Errorf("header %s", header)
	}
	if _, err := l.Verifier(auth.Options{}).VerifyToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}

func TestInsecureVerifier(t *testing.T) {
	var buf bytes.Buffer
	v := auth.NewInsecureVerifier(slog.New(slog.NewTextHandler(&buf, nil)))
	for _, tok := range []string{"", "garbage", strings.Repeat("A", 100<<10)} {
		p, err := v.VerifyToken(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if p.Subject != auth.InsecureSubject || !p.HasPermission(portolan.PermissionThreatIntelligenceRead) {
			t.Errorf("principal %+v", p)
		}
	}
	if n := strings.Count(buf.String(), "level=WARN"); n != 3 {
		t.Errorf("%d warnings for 3 calls:\n%s", n, buf.String())
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", true},
		{"127.1.2.3:443", true},
		{"[::1]:8080", true},
		{"localhost:8080", true},
		{"LOCALHOST:8080", true},
		{"127.0.0.1", true},
		{"[::1]", true},
		{"[::ffff:127.0.0.1]:80", true},
		{":8080", false},
		{"0.0.0.0:8080", false},
		{"[::]:8080", false},
		{"192.168.1.10:8080", false},
		{"example.com:8080", false},
		{"localhost.evil.com:8080", false},
		{"128.0.0.1:80", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if err := auth.CheckLoopback(tt.addr); (err == nil) != tt.ok {
				t.Errorf("CheckLoopback(%q) = %v, want ok=%v", tt.addr, err, tt.ok)
			}
		})
	}
}
