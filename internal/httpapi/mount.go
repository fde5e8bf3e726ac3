// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"portolan"
)

// Mount serves h at pattern (an http.ServeMux pattern such as
// "/portolan/v1/imports") behind what every route gets: the edge checks,
// request ids, the log line, panic recovery and, for a returned error,
// Graph's error envelope through the one status table. It adds neither
// authentication nor the response cache: a mounted handler authorizes its
// caller itself, for the permission it needs. Call it before serving.
func (s *Server) Mount(pattern string, h func(http.ResponseWriter, *http.Request) error) {
	s.mux.Handle(pattern, s.handle(handlerFunc(h)))
}

// readyTimeout bounds a readiness check, so that a hung dependency makes
// /readyz fail rather than hang the load balancer's probe.
const readyTimeout = 2 * time.Second

// serveReady answers /readyz, open without a token: 200 when the server's
// dependencies answer, 503 (with the envelope) when one does not. The cause
// is logged, not sent: it may name internal addresses.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) error {
	if err := checkMethod(r); err != nil {
		return err
	}
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		err := s.ready(ctx)
		cancel()
		if err != nil {
			s.logger.LogAttrs(r.Context(), slog.LevelWarn, "not ready",
				slog.String("request-id", stateOf(r.Context()).id), slog.String("reason", err.Error()))
			return portolan.WrapError(portolan.EUNAVAILABLE, err, "The service is not ready: a dependency is unreachable.")
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ready\n"))
	return nil
}
