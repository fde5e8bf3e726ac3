// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"embed"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"portolan"
	"portolan/internal/auth"
	"portolan/internal/cli"
	"portolan/internal/httpapi"
	"portolan/internal/ingest"
	"portolan/internal/metrics"
	"portolan/internal/mmdb"
	"portolan/internal/notify"
)

// demoData are real captures of 127.0.0.1 (shared/samples, described in
// their README) that `serve --demo` loads, so the quick start has data
// without a scanner at hand.
//
//go:embed demodata
var demoData embed.FS

// Files of the data directory that serve owns.
const (
	skipTokenKeyFile = "skiptoken.key"
	tlsDirName       = "tls"
	selfSignedCert   = "selfsigned-cert.pem"
	selfSignedKey    = "selfsigned-key.pem"
)

// shutdownTimeout is how long in-flight requests get after SIGINT/SIGTERM.
const shutdownTimeout = 10 * time.Second

// selfSignedValidity is the lifetime of the generated certificate; it is
// renewed on start when less than a week remains.
const selfSignedValidity = 825 * 24 * time.Hour

// serveConfig is what serve reads from its flags and environment. Nothing
// in it has been opened yet.
type serveConfig struct {
	store *storeFlags
	auth  auth.Config
	addr  string
	// tlsCert and tlsKey serve https with the operator's certificate,
	// selfSigned with one created in the data directory.
	tlsCert, tlsKey string
	selfSigned      bool
	// demo loads the bundled captures; demoTempData says they go to a
	// throwaway data directory, since --data was not given.
	demo, demoTempData  bool
	trustForwardedProto bool
	// corsOrigins are the browser origins allowed to call the API.
	corsOrigins []string
	// changeRetention is how long the change record keeps what imports
	// changed; delta tokens older than that get 410.
	changeRetention time.Duration
	// limits bound each principal's rate and the expensive queries at once.
	limits httpapi.Limits
	// metricsAddr, when set, serves Prometheus metrics at /metrics there.
	metricsAddr string
	// console configures the web console at / (console.go).
	console *consoleFlags
	// notify configures change notifications.
	notify notifyFlags
	// geoipDB and asnDB are MaxMind-format databases whose facts serve
	// adds to ipAddress hosts as it reads them (internal/mmdb).
	geoipDB, asnDB string
	// scale is the import endpoint, the ingest bus and readiness (serve_scale.go).
	scale scaleConfig
}

// runServe is `portolan serve`: read the configuration, then serve it with
// the log buffered (one write per request would cost as much as the request).
func runServe(ctx context.Context, env *cli.Env, args []string) error {
	cfg, err := readServeConfig(env, args)
	if err != nil {
		return err
	}
	// Listen first: a port in use is reported at once, before the store
	// is opened and the demo's captures are loaded.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("serve: cannot listen on %s (set another address with --addr or PORTOLAN_ADDR): %w", cfg.addr, err)
	}
	defer ln.Close()
	env.KeepHeapFloor(serveHeapFloor)
	logOut := newLogWriter(env.Stderr)
	defer logOut.Close()
	logger := slog.New(slog.NewTextHandler(logOut, nil))
	cfg.auth.Logger = logger
	if cfg.demoTempData {
		// A throwaway store, so the demo never mixes its captures into
		// real data (PORTOLAN_DATA included); --data keeps it.
		dir, err := os.MkdirTemp("", "portolan-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.setDataDir(dir)
	}
	return serve(ctx, env, cfg, ln, logger)
}

// serveHeapFloor is the least heap serve lets grow before collecting
// garbage (cli.Env.KeepHeapFloor): between requests serve holds a few MiB,
// and with Go's default rule it collected 30 times a second under load.
// At 32 MiB it collects a few times a second, for about 26 MB more
// resident memory (A/B in README's Performance section).
const serveHeapFloor = 32 << 20

// serve opens what cfg names and serves on ln until ctx is done.
func serve(ctx context.Context, env *cli.Env, cfg *serveConfig, ln net.Listener, logger *slog.Logger) error {
	// The address databases first: a wrong path is reported before the
	// store is opened.
	addresses, err := mmdb.Open(cfg.geoipDB, cfg.asnDB)
	if err != nil {
		return err
	}
	defer addresses.Close()
	if addresses != nil {
		logger.Info("address databases", "loaded", addresses.Describe())
	}
	files, err := prepareDataDir(cfg)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, env, cfg, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	closeScale, err := cfg.scale.open(ctx, store, cfg.store.DataDir(), !cfg.store.embedded(), logger)
	if err != nil {
		return err
	}
	defer closeScale()
	// The pruner stops, and is waited for, before the store closes.
	pctx, stopPruning := context.WithCancel(ctx)
	pruned := make(chan struct{})
	go func() { defer close(pruned); pruneChanges(pctx, store, cfg.changeRetention, logger) }()
	defer func() { <-pruned }()
	defer stopPruning()
	// So does the dispatcher of change notifications.
	endpoints, stopNotifications := startNotifications(ctx, store, cfg.notify, logger)
	defer stopNotifications()
	// The verifier gets the address actually bound (":0" picks a port) and
	// the command's context, which bounds its background key refresh.
	authCfg := cfg.auth
	authCfg.ListenAddr = ln.Addr().String()
	verifier, err := auth.Open(ctx, authCfg)
	if err != nil {
		return err
	}
	var observer *metrics.Serve
	if cfg.metricsAddr != "" {
		stopMetrics, m, err := serveMetrics(ctx, cfg.metricsAddr, store, logger)
		if err != nil {
			return err
		}
		defer stopMetrics()
		observer = m
	}
	srv, err := newHTTPServer(cfg, files, store, addresses, verifier, endpoints, observer, logger)
	if err != nil {
		return err
	}
	return listenAndServe(ctx, env, cfg, files, srv, ln, logger)
}

// serveMetrics serves serve's Prometheus metrics on a listener of their own
// (serveMetricsOn), the store's size among them.
func serveMetrics(ctx context.Context, addr string, store portolan.Store, logger *slog.Logger) (stop func(), m *metrics.Serve, err error) {
	ln, err := listenMetrics("serve", addr)
	if err != nil {
		return nil, nil, err
	}
	var size func(context.Context) (int64, error)
	if s, ok := store.(interface {
		SizeBytes(context.Context) (int64, error)
	}); ok {
		size = s.SizeBytes
	}
	m = metrics.NewServe(size)
	return serveMetricsOn(ln, m.Handler(), logger), m, nil
}

// readServeConfig parses serve's flags and checks that they go together,
// so that a mistake is reported before anything is created or opened.
func readServeConfig(env *cli.Env, args []string) (*serveConfig, error) {
	cfg := &serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	cfg.store = addStoreFlags(fs, env)
	auths := addAuthFlags(fs, env)
	cfg.console = addConsoleFlags(fs, env)
	defaultAddr := env.Getenv("PORTOLAN_ADDR")
	if defaultAddr == "" {
		defaultAddr = "127.0.0.1:8080"
	}
	fs.StringVar(&cfg.addr, "addr", defaultAddr, "listen address (env PORTOLAN_ADDR)")
	fs.StringVar(&cfg.tlsCert, "tls-cert", env.Getenv("PORTOLAN_TLS_CERT"), "serve https with this PEM certificate (chain) file; needs --tls-key (env PORTOLAN_TLS_CERT)")
	fs.StringVar(&cfg.tlsKey, "tls-key", env.Getenv("PORTOLAN_TLS_KEY"), "PEM private key of --tls-cert (env PORTOLAN_TLS_KEY)")
	fs.BoolVar(&cfg.selfSigned, "tls-self-signed", false, "serve https with a certificate for 127.0.0.1, ::1 and localhost, created once in the data directory;\n"+
		"trust it with NODE_EXTRA_CA_CERTS=<path> or curl --cacert <path> (the path is printed)")
	fs.BoolVar(&cfg.demo, "demo", false, "load the bundled sample captures of 127.0.0.1 into the store (a temporary data directory unless\n"+
		"--data is given) and print a ready token and a curl command")
	corsFlag := false
	if v := env.Getenv("PORTOLAN_CORS_ORIGIN"); v != "" {
		cfg.corsOrigins = strings.Split(v, ",")
	}
	fs.Func("cors-origin", "allow browser applications on this `origin` (https://app.example, or * for any) to call the API; repeatable or\n"+
		"comma-separated; off by default (env PORTOLAN_CORS_ORIGIN)", func(v string) error {
		if !corsFlag { // the flag replaces the environment's list
			cfg.corsOrigins, corsFlag = nil, true
		}
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "*" && !strings.Contains(o, "://") {
				return fmt.Errorf("%q is not an origin such as https://app.example", o)
			}
			cfg.corsOrigins = append(cfg.corsOrigins, strings.TrimSpace(o))
		}
		return nil
	})
	fs.DurationVar(&cfg.changeRetention, "change-retention", defaultChangeRetention, "how long the change record behind hostPorts/delta keeps what imports changed;\n"+
		"older delta tokens get 410 syncStateNotFound")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", env.Getenv("PORTOLAN_METRICS_ADDR"), metricsAddrHelp)
	fs.StringVar(&cfg.geoipDB, "geoip-db", env.Getenv("PORTOLAN_GEOIP_DB"), "a MaxMind-format country `file` (GeoLite2-Country or -City, DB-IP Lite, IPinfo Lite .mmdb): fills\n"+
		"countryOrRegion (and netblock) of ipAddress hosts as they are served; without it they are null (env PORTOLAN_GEOIP_DB)")
	fs.StringVar(&cfg.asnDB, "asn-db", env.Getenv("PORTOLAN_ASN_DB"), "a MaxMind-format autonomous-system `file` (GeoLite2-ASN, DB-IP ASN Lite, IPinfo Lite .mmdb): fills\n"+
		"autonomousSystem, netblock and, where it marks hosting networks, hostingProvider (env PORTOLAN_ASN_DB)")
	cfg.limits = httpapi.DefaultLimits
	fs.Float64Var(&cfg.limits.RequestsPerSecond, "rate-limit", cfg.limits.RequestsPerSecond, "requests per second each principal may make on average (429 TooManyRequests with Retry-After\n"+
		"beyond); 0 turns the limit off")
	fs.IntVar(&cfg.limits.Burst, "rate-burst", cfg.limits.Burst, "requests a principal may make at once above --rate-limit")
	fs.IntVar(&cfg.limits.Expensive, "max-searches", cfg.limits.Expensive, "searches and delta queries ($filter, $orderby, estate-wide collections, delta) run at once;\n"+
		"more wait up to 5s for their turn, then get 429; 0 is no cap")
	if v := env.Getenv("PORTOLAN_NOTIFY_ALLOW"); v != "" {
		allow, err := notify.ParseAllow(v)
		if err != nil {
			return nil, fmt.Errorf("serve: PORTOLAN_NOTIFY_ALLOW: %v: %w", err, cli.ErrUsage)
		}
		cfg.notify.allow = allow
	}
	fs.Func("notify-allow", "let notification webhooks be in these private `CIDR`s (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7,\n"+
		"100.64.0.0/10 are refused otherwise; link-local, multicast and unspecified addresses always are);\n"+
		"comma-separated (env PORTOLAN_NOTIFY_ALLOW)", func(v string) error {
		allow, err := notify.ParseAllow(v)
		cfg.notify.allow = allow
		return err
	})
	fs.DurationVar(&cfg.notify.retryWindow, "notify-retry-window", notify.DefaultRetryWindow, "how long a change notification a webhook refuses is retried (exponential backoff with jitter)\n"+
		"before it is dropped with a log line and a 'missed' lifecycle notification")
	fs.DurationVar(&cfg.notify.backoffMax, "notify-backoff-max", notify.DefaultBackoffMax, "the longest pause between two attempts to deliver to a failing webhook")
	fs.DurationVar(&cfg.notify.lease, "notify-lease", notify.DefaultLeaseTTL, "of the serve processes sharing a store, one delivers the notifications (each change once); when it\n"+
		"dies, another takes over within this time and a third of it")
	fs.BoolVar(&cfg.trustForwardedProto, "trust-forwarded-proto", false, "build @odata.nextLink and @odata.context with the scheme of X-Forwarded-Proto; only behind a\n"+
		"reverse proxy that sets that header itself")
	cfg.scale.addFlags(fs, env)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: portolan serve [flags]

Serves the records through the Microsoft Graph threat-intelligence API under
/beta and /v1.0 (for example /beta/security/threatIntelligence/hosts/{id}/ports),
so Graph SDKs and curl work against it unchanged. Every API request needs a
bearer token; /healthz, /readyz and /{beta,v1.0}/$metadata are open.
POST /portolan/v1/imports takes scanner files from 'portolan ingest
--server' (tokens with the Portolan.Ingest role); with --bus they go to the
ingest bus. Stop with Ctrl-C: requests in flight get %s to finish.

Change notifications: {root}/subscriptions takes Graph subscriptions to
hostPorts and POSTs each created or updated hostPort to their webhook, at
least once, retried for --notify-retry-window. Webhooks are https (http only
to loopback addresses); private addresses need --notify-allow.

Quick start:  portolan serve --demo

Flags:
`, shutdownTimeout)
		fs.PrintDefaults()
	}
	if err := cli.ParseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("serve: unexpected argument %q: %w", fs.Arg(0), cli.ErrUsage)
	}
	if cfg.limits.RequestsPerSecond < 0 || cfg.limits.Burst < 0 || cfg.limits.Expensive < 0 {
		return nil, fmt.Errorf("serve: --rate-limit, --rate-burst and --max-searches take 0 or more: %w", cli.ErrUsage)
	}
	if err := cfg.scale.check(); err != nil {
		return nil, err
	}
	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		return nil, fmt.Errorf("serve: --tls-cert and --tls-key go together: %w", cli.ErrUsage)
	}
	if cfg.selfSigned && cfg.tlsCert != "" {
		return nil, fmt.Errorf("serve: --tls-self-signed excludes --tls-cert and --tls-key: %w", cli.ErrUsage)
	}
	var err error
	if cfg.auth, err = auths.Config(cfg.store.DataDir()); err != nil {
		return nil, err
	}
	if err := cfg.console.check(cfg.auth); err != nil {
		return nil, err
	}
	dataGiven := false
	fs.Visit(func(f *flag.Flag) { dataGiven = dataGiven || f.Name == "data" })
	cfg.demoTempData = cfg.demo && !dataGiven
	return cfg, nil
}

// setDataDir points the store and the local issuer at dir together: they
// must never disagree about where the data lives.
func (c *serveConfig) setDataDir(dir string) {
	c.store.data = dir
	c.auth.DataDir = dir
}

// dataFiles is what serve keeps in its data directory, or was given.
type dataFiles struct {
	skipTokenKey []byte
	// certFile and keyFile, when set, serve https: the operator's pair or
	// the self-signed one.
	certFile, keyFile string
}

// prepareDataDir creates the data directory and the $skiptoken key, and the
// self-signed certificate when asked for.
func prepareDataDir(cfg *serveConfig) (dataFiles, error) {
	dir := cfg.store.DataDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return dataFiles{}, fmt.Errorf("serve: data directory: %w", err)
	}
	key, err := loadOrCreateKey(filepath.Join(dir, skipTokenKeyFile))
	if err != nil {
		return dataFiles{}, err
	}
	files := dataFiles{skipTokenKey: key, certFile: cfg.tlsCert, keyFile: cfg.tlsKey}
	if cfg.selfSigned {
		if files.certFile, files.keyFile, err = ensureSelfSigned(filepath.Join(dir, tlsDirName), time.Now()); err != nil {
			return dataFiles{}, err
		}
	}
	return files, nil
}

// openStore opens the store and, with --demo, loads the bundled captures.
func openStore(ctx context.Context, env *cli.Env, cfg *serveConfig, logger *slog.Logger) (portolan.Store, error) {
	store, err := cfg.store.Open(ctx, logger)
	if err != nil {
		return nil, err
	}
	if cfg.demo {
		if err := loadDemo(ctx, env, store); err != nil {
			store.Close()
			return nil, err
		}
	}
	return store, nil
}

// newHTTPServer builds the API over store, and the http.Server that carries
// it with timeouts that bound what one slow client can hold.
func newHTTPServer(cfg *serveConfig, files dataFiles, store portolan.Store, addresses *mmdb.DB, verifier portolan.TokenVerifier, endpoints portolan.EndpointChecker, observer *metrics.Serve, logger *slog.Logger) (*http.Server, error) {
	// Hosts are read through the address databases, when there are any.
	read := mmdb.Wrap(store, addresses)
	apiCfg := httpapi.Config{
		HostPorts:           store,
		Hosts:               read.Hosts,
		Certificates:        read.Certificates,
		Search:              read.Search,
		Changes:             read.Changes,
		Verifier:            verifier,
		SkipTokenKey:        files.skipTokenKey,
		TrustForwardedProto: cfg.trustForwardedProto,
		Logger:              logger,
		CORSOrigins:         cfg.corsOrigins,
		Limits:              cfg.limits,
		Endpoints:           endpoints,
	}
	if observer != nil {
		apiCfg.Observer = observer
		// Imports through the API are counted too (serve_scale.go mounts
		// the endpoint).
		cfg.scale.importObserver = observer
	}
	if cfg.auth.Source() == auth.SourceLocal {
		// The most common first-hour 401: a token of another directory.
		apiCfg.TokenHint = localTokenHint(cfg.auth.DataDir)
	}
	if ct, ok := store.(portolan.ChangeTracker); ok {
		apiCfg.Generation = ct.Generation
	}
	cfg.scale.configure(&apiCfg, store)
	api, err := httpapi.New(apiCfg)
	if err != nil {
		return nil, err
	}
	cfg.scale.mount(api, verifier, logger)
	handler, err := withConsole(cfg, store, read, verifier, api, logger)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:           handler,
		ConnContext:       httpapi.ConnContext,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if files.certFile != "" {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return srv, nil
}

// listenAndServe serves srv on ln, prints where, and shuts down gracefully
// once ctx is done.
func listenAndServe(ctx context.Context, env *cli.Env, cfg *serveConfig, files dataFiles, srv *http.Server, ln net.Listener, logger *slog.Logger) error {
	served := make(chan error, 1)
	if files.certFile != "" {
		// TLS is terminated here rather than by ServeTLS, so that the
		// listener below sees plain text: it gives the answers net/http
		// makes itself (a malformed request line, say) Graph's envelope.
		// This serves HTTP/1.1 only, which every Graph SDK speaks.
		cert, err := tls.LoadX509KeyPair(files.certFile, files.keyFile)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		tlsCfg := srv.TLSConfig.Clone()
		tlsCfg.Certificates = []tls.Certificate{cert}
		tlsCfg.NextProtos = []string{"http/1.1"}
		ln = tls.NewListener(ln, tlsCfg)
	}
	if api, ok := apiOf(srv.Handler); ok {
		ln = api.Listener(ln)
	}
	go func() { served <- srv.Serve(ln) }()
	scheme := "http"
	if files.certFile != "" {
		scheme = "https"
	}
	base := scheme + "://" + printableAddr(ln.Addr())
	if err := announce(env, cfg, base, files.certFile); err != nil {
		_ = srv.Close()
		return err
	}
	announceConsole(env, srv.Handler, base)
	logger.Info("serving", "url", base+"/beta", "tls", files.certFile != "", "data", cfg.store.DataDir())

	select {
	case err := <-served:
		// The listener failed (a bad certificate, say) before any signal.
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	return shutdown(srv, served, logger)
}

// shutdown gives the requests in flight shutdownTimeout to finish.
func shutdown(srv *http.Server, served <-chan error, logger *slog.Logger) error {
	logger.Info("shutting down", "timeout", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// announce prints what a person needs to start: the URL, where the
// self-signed certificate is, and in demo mode a token and a curl command.
func announce(env *cli.Env, cfg *serveConfig, base, certFile string) error {
	out := env.Stdout
	fmt.Fprintf(out, "Portolan serves the Graph threat-intelligence API at %s/beta (and %s/v1.0)\n", base, base)
	cacert := ""
	if cfg.selfSigned {
		fmt.Fprintf(out, "TLS certificate (self-signed): %s\n  trust it with NODE_EXTRA_CA_CERTS=%s or curl --cacert %s\n", certFile, certFile, certFile)
		cacert = " --cacert " + shellQuote(certFile)
	}
	if !cfg.demo {
		return nil
	}
	token, err := demoToken(cfg.auth)
	if err != nil {
		return err
	}
	header := ` -H "Authorization: Bearer $TOKEN"`
	if token != "" {
		fmt.Fprintf(out, "Token (24 h): %s\n", token)
		header = ` -H "Authorization: Bearer ` + token + `"`
	} else {
		fmt.Fprintf(out, "Token: from the configured issuer (set TOKEN)\n")
	}
	fmt.Fprintf(out, "Try:\n  curl%s%s %s/beta/security/threatIntelligence/hosts/127.0.0.1/ports\n", cacert, header, base)
	return nil
}

// demoToken mints a token (scp ThreatIntelligence.Read.All, ttl 24h) of the
// local issuer; it returns "" when another trust source is configured,
// whose tokens serve cannot mint.
func demoToken(cfg auth.Config) (string, error) {
	if cfg.Source() != auth.SourceLocal {
		return "", nil
	}
	l, err := auth.OpenLocalIssuer(cfg.DataDir)
	if err != nil {
		return "", err
	}
	return l.Mint(auth.Claims{Scopes: []string{portolan.PermissionThreatIntelligenceRead}, TTL: demoTokenTTL})
}

// demoTokenTTL is the lifetime of the token serve --demo prints.
const demoTokenTTL = 24 * time.Hour

// loadDemo ingests the bundled captures whose format this build can read
// (detected as `portolan ingest` would), so that formats added later are
// picked up without touching the list.
func loadDemo(ctx context.Context, env *cli.Env, store portolan.Store) error {
	entries, err := fs.ReadDir(demoData, "demodata")
	if err != nil {
		return err
	}
	var names, skipped []string
	for _, e := range entries {
		name := path.Join("demodata", e.Name())
		head, err := readHead(name, 4096)
		if err != nil {
			return err
		}
		if ingest.Detect(head) == "" {
			skipped = append(skipped, e.Name())
			continue
		}
		names = append(names, name)
	}
	if len(skipped) > 0 {
		fmt.Fprintf(env.Stderr, "demo: skipping captures in formats this build does not read: %s\n", strings.Join(skipped, ", "))
	}
	open := func(name string) (io.ReadCloser, error) { return demoData.Open(name) }
	return ingestPaths(ctx, env, store, names, open)
}

func readHead(name string, n int) ([]byte, error) {
	f, err := demoData.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, n)
	m, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return head[:m], nil
}

// loadOrCreateKey returns the 32-byte $skiptoken key in path, creating it
// (mode 0600) on first use. A stable key keeps next links valid across
// restarts; a damaged file is an error rather than silently replaced, since
// replacing it would invalidate every link in flight without saying why.
func loadOrCreateKey(path string) ([]byte, error) {
	const size = 32
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, size)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := writeFileExclusive(path, key, 0o600); errors.Is(err, fs.ErrExist) {
			// Another process created it first: use theirs.
			key, err = os.ReadFile(path)
			if err != nil {
				return nil, err
			}
		} else if err != nil {
			return nil, fmt.Errorf("serve: create %s: %w", path, err)
		} else {
			return key, nil
		}
	} else if err != nil {
		return nil, fmt.Errorf("serve: read %s: %w", path, err)
	}
	if len(key) != size {
		return nil, fmt.Errorf("serve: %s holds %d bytes, not %d; delete it to create a new key (open next links become invalid)", path, len(key), size)
	}
	return key, nil
}

// writeFileExclusive writes data to a new file at path, failing with
// fs.ErrExist when it exists. The data goes to a temporary file first, which
// is then linked into place, so a crash never leaves a short file behind.
func writeFileExclusive(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Link(tmp, path)
}

// replaceFile writes data to path atomically (temporary file, then rename).
func replaceFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// writeTemp writes data, synced, to a new temporary file next to path and
// returns its name.
func writeTemp(path string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return "", err
	}
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// ensureSelfSigned returns the certificate and key files in dir, creating
// them when they are missing, unreadable, or expire within a week: an ECDSA
// P-256 certificate for 127.0.0.1, ::1 and localhost. It is its own issuer
// (CA:TRUE), so that it can be handed to clients as the trust anchor
// (NODE_EXTRA_CA_CERTS, curl --cacert).
func ensureSelfSigned(dir string, now time.Time) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, selfSignedCert), filepath.Join(dir, selfSignedKey)
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
		if c, err := readCertificate(certFile); err == nil && now.Add(7*24*time.Hour).Before(c.NotAfter) {
			return certFile, keyFile, nil
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"Portolan"}, CommonName: "Portolan local server"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return "", "", err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", "", err
	}
	// The key first, so that a certificate on disk always has its key.
	if err := replaceFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		return "", "", err
	}
	if err := replaceFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

func readCertificate(file string) (*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	return x509.ParseCertificate(block.Bytes)
}

// printableAddr is the listen address as a client should dial it: the
// loopback address instead of "every interface".
func printableAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:=@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
