// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// metricsAddrHelp is the usage of --metrics-addr, the same for serve and
// worker.
const metricsAddrHelp = "serve Prometheus metrics at http://`addr`/metrics, a listener of their own without a token\n" +
	"(keep it on loopback or a private network); off by default (env PORTOLAN_METRICS_ADDR)"

// listenMetrics binds --metrics-addr for command, so that an address in use
// is reported before anything else is opened.
func listenMetrics(command, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot listen on %s for metrics (--metrics-addr): %w", command, addr, err)
	}
	return ln, nil
}

// serveMetricsOn serves h at GET /metrics on ln, a listener apart from any
// API (scrapers have no Graph token, and the metrics need not be reachable
// from where the API is), logs its URL and returns the function that stops
// it.
func serveMetricsOn(ln net.Listener, h http.Handler, logger *slog.Logger) (stop func()) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go srv.Serve(ln)
	logger.Info("metrics", "url", "http://"+printableAddr(ln.Addr())+"/metrics")
	return func() { srv.Close() }
}
