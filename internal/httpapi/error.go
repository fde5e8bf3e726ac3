// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"portolan"
	"portolan/internal/odata"
)

// graphStatus is how one portolan error code is answered: the HTTP status
// and Graph's error code (graph-api.md Part A).
type graphStatus struct {
	status int
	code   string
}

// statusByCode is the one place where portolan error codes become HTTP
// statuses and Graph codes. Any code missing here is answered as a 500.
var statusByCode = map[string]graphStatus{
	portolan.EINVALID:       {http.StatusBadRequest, "BadRequest"},
	portolan.EVALIDATION:    {http.StatusBadRequest, "ValidationError"},
	portolan.EUNAUTHORIZED:  {http.StatusUnauthorized, "InvalidAuthenticationToken"},
	portolan.EFORBIDDEN:     {http.StatusForbidden, "Authorization_RequestDenied"},
	portolan.ENOTFOUND:      {http.StatusNotFound, "ResourceNotFound"},
	portolan.ENOTALLOWED:    {http.StatusMethodNotAllowed, "MethodNotAllowed"},
	portolan.ECONFLICT:      {http.StatusConflict, "Conflict"},
	portolan.ENOTACCEPTABLE: {http.StatusNotAcceptable, "NotAcceptable"},
	portolan.EGONE:          {http.StatusGone, "syncStateNotFound"},
	portolan.ETOOLONG:       {http.StatusRequestURITooLong, "RequestUriTooLong"},
	portolan.ETOOLARGE:      {http.StatusRequestHeaderFieldsTooLarge, "RequestHeaderFieldsTooLarge"},
	portolan.ETOOMANY:       {http.StatusTooManyRequests, "TooManyRequests"},
	portolan.ETOOBIG:        {http.StatusRequestEntityTooLarge, "RequestEntityTooLarge"},
	portolan.EINTERNAL:      {http.StatusInternalServerError, "generalException"},
	portolan.EUNAVAILABLE:   {http.StatusServiceUnavailable, "serviceNotAvailable"},
}

// statusClientClosedRequest is nginx's 499: the client went away before the
// answer, so nothing is written and nothing is worth a 500 in the log.
const statusClientClosedRequest = 499

// retryAfterSeconds is what 429 and 503 announce: the stores give no better
// estimate, and Kiota retries these statuses with this as the delay.
const retryAfterSeconds = "1"

// handlerFunc is a handler that reports failure by returning an error; a nil
// error means it has written the response.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc: the one place where a returned error becomes
// an HTTP response.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError answers err in Graph's error envelope. Domain errors carry a
// client-safe message; anything else is logged and answered with a generic
// sentence so that no internal detail leaks.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	st := stateOf(r.Context())
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		w.WriteHeader(statusClientClosedRequest)
		return
	}
	gs, ok := statusByCode[portolan.ErrorCode(err)]
	if !ok {
		gs = statusByCode[portolan.EINTERNAL]
	}
	if gs.status == http.StatusInternalServerError {
		s.logger.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request-id", st.id), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	}
	h := w.Header()
	// A handler may have prepared success headers before failing.
	h.Del("ETag")
	h.Del("Content-Encoding")
	h.Del("Vary")
	if len(s.corsOrigins) > 0 {
		h.Set("Vary", "Origin") // the CORS headers depend on it, errors included
	}
	switch gs.status {
	case http.StatusUnauthorized:
		if h.Get("WWW-Authenticate") == "" {
			h.Set("WWW-Authenticate", "Bearer")
		}
	case http.StatusMethodNotAllowed:
		if h.Get("Allow") == "" { // subscriptions and mounted routes (mount.go) allow more
			h.Set("Allow", "GET, HEAD")
		}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if h.Get("Retry-After") == "" { // a limiter may know better
			h.Set("Retry-After", retryAfterSeconds)
		}
	}
	message := portolan.ErrorMessage(err)
	if gs.status == http.StatusInternalServerError && portolan.ErrorCode(err) != portolan.EINTERNAL {
		message = "Internal error."
	}
	buf := getBuffer()
	defer putBuffer(buf)
	b := appendErrorBody((*buf)[:0], gs.code, message, s.now().UTC(), st.id, st.clientID)
	*buf = b
	h.Set("Content-Type", contentTypeJSON)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(gs.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// appendErrorBody writes Graph's error envelope. innerError.date has no zone,
// as Graph sends it (graph-api.md 4.5).
func appendErrorBody(b []byte, code, message string, now time.Time, requestID, clientRequestID string) []byte {
	b = append(b, `{"error":{"code":`...)
	b = appendString(b, code)
	b = append(b, `,"message":`...)
	b = appendString(b, message)
	b = append(b, `,"innerError":{"date":"`...)
	b = now.AppendFormat(b, "2006-01-02T15:04:05")
	b = append(b, `","request-id":`...)
	b = appendString(b, requestID)
	b = append(b, `,"client-request-id":`...)
	b = appendString(b, clientRequestID)
	return append(b, "}}}"...)
}

// queryError turns an odata parse error into the EINVALID domain error whose
// target is the option.
func queryError(err error) error {
	var oe *odata.OptionError
	var se *odata.SyntaxError
	switch {
	case errors.As(err, &oe):
		return &portolan.Error{Code: portolan.EINVALID, Message: oe.Error(), Target: oe.Option, Err: err}
	case errors.As(err, &se):
		return &portolan.Error{Code: portolan.EINVALID, Message: se.Msg, Target: se.Option, Err: err}
	}
	return err
}
