// SPDX-License-Identifier: Apache-2.0

package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"portolan"
	"portolan/internal/auth"
	"portolan/internal/cli"
	"portolan/internal/console"
	"portolan/internal/httpapi"
	"portolan/internal/mmdb"
)

// consoleKeyFile is the data directory's key of console sessions.
const consoleKeyFile = "console-session.key"

// checkFileModes says whether Unix permission bits mean anything here.
var checkFileModes = runtime.GOOS != "windows"

// consoleFlags are serve's flags of the web console.
type consoleFlags struct {
	off              bool
	clientID         string
	clientSecretFile string
	scopes           string
}

func addConsoleFlags(fs *flag.FlagSet, env *cli.Env) *consoleFlags {
	c := &consoleFlags{}
	fs.BoolVar(&c.off, "no-console", false, "serve the API only, without the web console at /")
	fs.StringVar(&c.clientID, "oidc-client-id", env.Getenv("PORTOLAN_OIDC_CLIENT_ID"),
		"sign people in to the console with --oidc-issuer's authorization-code flow (PKCE) as this client (env PORTOLAN_OIDC_CLIENT_ID)")
	fs.StringVar(&c.clientSecretFile, "oidc-client-secret-file", env.Getenv("PORTOLAN_OIDC_CLIENT_SECRET_FILE"),
		"file (mode 0600) holding the client secret, when the issuer requires one (env PORTOLAN_OIDC_CLIENT_SECRET_FILE)")
	fs.StringVar(&c.scopes, "oidc-scopes", env.Getenv("PORTOLAN_OIDC_SCOPES"),
		"scopes the console asks for besides openid, comma-separated: those that put ThreatIntelligence.Read.All into\n"+
			"the access token, e.g. api://portolan/ThreatIntelligence.Read.All (env PORTOLAN_OIDC_SCOPES)")
	return c
}

// check refuses console flags that do not fit the trust source.
func (c *consoleFlags) check(a auth.Config) error {
	if c.clientID == "" && c.clientSecretFile != "" {
		return fmt.Errorf("serve: --oidc-client-secret-file needs --oidc-client-id: %w", cli.ErrUsage)
	}
	if c.clientID != "" && a.Source() != auth.SourceOIDC {
		return fmt.Errorf("serve: --oidc-client-id needs --oidc-issuer (without --jwks-file): %w", cli.ErrUsage)
	}
	return nil
}

// oidcConfig reads the client secret, refusing a file others can read.
func (c *consoleFlags) oidcConfig(a auth.Config) (*console.OIDCConfig, error) {
	if c.clientID == "" {
		return nil, nil
	}
	oc := &console.OIDCConfig{Issuer: a.OIDCIssuer, ClientID: c.clientID, Scopes: splitList(c.scopes)}
	if c.clientSecretFile != "" {
		st, err := os.Stat(c.clientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("serve: --oidc-client-secret-file: %w", err)
		}
		if checkFileModes && st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("serve: %s is readable by others (mode %v); chmod 600 it", c.clientSecretFile, st.Mode().Perm())
		}
		secret, err := os.ReadFile(c.clientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("serve: --oidc-client-secret-file: %w", err)
		}
		oc.ClientSecret = strings.TrimSpace(string(secret))
	}
	return oc, nil
}

// withConsole returns the handler of the listener: the API under its roots
// and /healthz, the console everywhere else (or the API alone with
// --no-console).
func withConsole(cfg *serveConfig, store portolan.Store, read mmdb.Services, verifier portolan.TokenVerifier, api *httpapi.Server, logger *slog.Logger) (http.Handler, error) {
	if cfg.console.off {
		return api, nil
	}
	key, err := loadOrCreateKey(filepath.Join(cfg.store.DataDir(), consoleKeyFile))
	if err != nil {
		return nil, err
	}
	oc, err := cfg.console.oidcConfig(cfg.auth)
	if err != nil {
		return nil, err
	}
	ccfg := console.Config{
		HostPorts:    store,
		Hosts:        read.Hosts, // with the address databases' facts
		Certificates: read.Certificates,
		ParseSearch:  httpapi.ParseHostPortSearch,
		SessionKey:   key,
		Secure:       cfg.tlsCert != "" || cfg.selfSigned,
		// Behind a TLS-terminating proxy, as the API's links.
		TrustForwardedProto: cfg.trustForwardedProto,
		OIDC:                oc,
		Verifier:            verifier,
		Logger:              logger,
	}
	ccfg.Search, ccfg.Changes = read.Search, read.Changes
	ccfg.ChangeRetention = cfg.changeRetention
	if ccfg.Search == nil {
		return nil, fmt.Errorf("serve: the store cannot search; run with --no-console")
	}
	links := cfg.auth.Source() == auth.SourceLocal || cfg.auth.Source() == auth.SourceNone
	ccfg.Links = links
	con, err := console.New(ccfg)
	if err != nil {
		return nil, err
	}
	return &consoleRouter{api: api, console: con, links: links}, nil
}

// consoleRouter sends API paths to the API and the rest to the console.
type consoleRouter struct {
	api     *httpapi.Server
	console *console.Console
	// links says the console signs in with one-time links (the local
	// issuer); otherwise with the OIDC issuer or not at all.
	links bool
}

func (c *consoleRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isAPIPath(r.URL.Path) {
		c.api.ServeHTTP(w, r)
		return
	}
	c.console.ServeHTTP(w, r)
}

// isAPIPath reports whether a path belongs to the Graph API (its service
// roots and /healthz), whose answers stay Graph's.
func isAPIPath(p string) bool {
	for _, root := range []string{"/beta", "/v1.0", "/healthz", "/readyz", "/portolan"} {
		if p == root || strings.HasPrefix(p, root+"/") {
			return true
		}
	}
	return p == "*" || !strings.HasPrefix(p, "/")
}

// apiOf finds the API server behind a handler, for its listener wrapper.
func apiOf(h http.Handler) (*httpapi.Server, bool) {
	switch h := h.(type) {
	case *httpapi.Server:
		return h, true
	case *consoleRouter:
		return h.api, true
	}
	return nil, false
}

// announceConsole prints where the console is and, for the local issuer, a
// one-time sign-in link.
func announceConsole(env *cli.Env, h http.Handler, base string) {
	c, ok := h.(*consoleRouter)
	if !ok {
		return
	}
	if !c.links {
		fmt.Fprintf(env.Stdout, "Console: %s/ (sign in with the identity provider)\n", base)
		return
	}
	fmt.Fprintf(env.Stdout, "Console: %s  (one-time sign-in link, valid %d minutes)\n", c.console.NewSignInLink(base), int(console.SignInLinkTTL.Minutes()))
}
