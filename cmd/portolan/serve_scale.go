// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"portolan"
	"portolan/internal/cli"
	"portolan/internal/httpapi"
	"portolan/internal/importapi"
)

// scaleConfig is what serve needs for the scale-out (issue 16): the import
// endpoint's limit, the ingest bus its imports go to, and the readiness
// checks. Kept apart from serve.go so that the two grow independently.
type scaleConfig struct {
	maxImportBytes int64
	// bus, when its URL is set, is where imports go instead of the store.
	bus busFlags

	// Set by open: where imports go (the store, or the bus publisher) and
	// what /readyz checks besides the store.
	importTo portolan.ObservationService
	readyBus func(context.Context) error
	// sortDir is where an import puts its sorted runs, into the store or
	// onto the bus (ingest.Options.Sort); empty when the data directory
	// cannot be made.
	sortDir string
	// importConcurrency is how many batches of an import are stored at
	// once: as `ingest --store`, two into PostgreSQL, one elsewhere.
	importConcurrency int
	// importObserver, when set, counts the imports (serve's metrics).
	importObserver importapi.Observer
	// imports counts this server's own imports into the store, so that
	// its cache never answers from before an import it has just answered
	// (another process's is seen through the store's generation).
	imports atomic.Uint64
}

func (c *scaleConfig) addFlags(fs *flag.FlagSet, env *cli.Env) {
	c.bus.add(fs, env)
	fs.Int64Var(&c.maxImportBytes, "max-import-bytes", importapi.DefaultMaxBytes, "largest request body POST "+importapi.Path+" accepts (413 beyond)")
}

func (c *scaleConfig) check() error {
	if c.maxImportBytes <= 0 {
		return fmt.Errorf("serve: --max-import-bytes takes a positive number of bytes: %w", cli.ErrUsage)
	}
	return c.bus.check("serve")
}

// open connects what the scale-out needs; the returned function releases it.
// With --bus, imports are published (and /readyz checks the bus too).
func (c *scaleConfig) open(ctx context.Context, store portolan.Store, dataDir string, postgres bool, logger *slog.Logger) (func(), error) {
	c.importTo = store
	// With PostgreSQL the data directory may hold nothing yet (an OIDC
	// issuer signs the tokens); without it, bodies are stored in their
	// own order. Host order pays on the bus too: a message then carries
	// every scan of its hosts, which a worker writes once.
	if os.MkdirAll(dataDir, 0o700) == nil {
		c.sortDir = dataDir
	}
	if c.bus.url == "" {
		if postgres {
			c.importConcurrency = defaultPostgresIngestConcurrency
		}
		return func() {}, nil
	}
	b, err := c.bus.open(ctx, "portolan serve", logger)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	logger.Info(b.Describe(ctx))
	pub := b.Publisher()
	// An HTTP client waits for its answer: a full stream is a 503 with
	// Retry-After after this long, not a request held for minutes.
	pub.RetryFor = 30 * time.Second
	c.importTo, c.readyBus = pub, b.Ping
	return b.Close, nil
}

// configure sets the API's readiness check, and makes its cache generation
// move with this server's own imports too.
func (c *scaleConfig) configure(apiCfg *httpapi.Config, store portolan.Store) {
	apiCfg.Ready = c.ready(store)
	if gen := apiCfg.Generation; gen != nil {
		// The first call starts a store's change listener (PostgreSQL's
		// LISTEN): start it now, not with the first request.
		_, _ = gen(context.Background())
		apiCfg.Generation = func(ctx context.Context) (uint64, error) {
			g, err := gen(ctx)
			return g + c.imports.Load()<<40, err
		}
	}
}

// ready is /readyz's check: the store answers, and the bus when configured.
func (c *scaleConfig) ready(store portolan.Store) func(context.Context) error {
	return func(ctx context.Context) error {
		if p, ok := store.(interface{ Ping(context.Context) error }); ok {
			if err := p.Ping(ctx); err != nil {
				return fmt.Errorf("store: %w", err)
			}
		}
		if c.readyBus != nil {
			if err := c.readyBus(ctx); err != nil {
				return fmt.Errorf("bus: %w", err)
			}
		}
		return nil
	}
}

// mount adds the import endpoint to the API server, behind the same
// verifier, which must grant portolan.PermissionIngest.
func (c *scaleConfig) mount(api *httpapi.Server, verifier portolan.TokenVerifier, logger *slog.Logger) {
	h := &importapi.Handler{Verifier: verifier, Store: c.importTo, SortDir: c.sortDir, Concurrency: c.importConcurrency, MaxBytes: c.maxImportBytes, Logger: logger,
		OnImported: func() { c.imports.Add(1) }, Observer: c.importObserver}
	api.Mount(importapi.Path, func(w http.ResponseWriter, r *http.Request) error {
		// serve's read and write timeouts are sized for queries; an
		// import of a large file streams for longer.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(importTimeout))
		_ = rc.SetWriteDeadline(time.Now().Add(importTimeout))
		return h.ServeImport(w, r)
	})
}

// importTimeout bounds one import request: a gigabyte at a slow 2 MB/s.
const importTimeout = time.Hour
