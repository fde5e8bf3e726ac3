// SPDX-License-Identifier: Apache-2.0

package httpapi

import (
	"log/slog"
	"net/http"
	"strings"

	"portolan"
)

// authenticate is the one authentication middleware: it takes the bearer
// token from the Authorization header, has the verifier check it, and puts
// the principal into the request context for the handlers. Tokens are
// accepted only in the header (RFC 6750 §2.1); a token in the query string
// would end up in logs and browser histories, so it is refused.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		if hasQueryParameter(r.URL.RawQuery, "access_token") {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_request", error_description="Send the access token in the Authorization header, not in the query string."`)
			return portolan.Errorf(portolan.EUNAUTHORIZED, "Access tokens in the query string are not accepted; send the token in the Authorization header.")
		}
		// A request without a bearer token still goes to the verifier, with
		// "": the TokenVerifier contract makes it refuse that ("Access
		// token is empty."), and lets --insecure-no-auth accept it.
		token := bearerToken(r.Header.Get("Authorization"))
		p, err := s.verifier.VerifyToken(r.Context(), token)
		if err != nil {
			// The client learns only Graph's sentence; the log says which
			// check failed (the cause the verifier wrapped).
			attrs := []slog.Attr{slog.String("request-id", stateOf(r.Context()).id), slog.String("reason", err.Error())}
			if token != "" && s.tokenHint != "" {
				attrs = append(attrs, slog.String("hint", s.tokenHint))
			}
			s.logger.LogAttrs(r.Context(), slog.LevelWarn, "token refused", attrs...)
			s.observer.TokenRefused(refusalReason(token, err))
			// RFC 6750 §3.1: error="invalid_token" only when a token was
			// sent; writeError answers a missing one with a bare "Bearer".
			if portolan.ErrorCode(err) == portolan.EUNAUTHORIZED && token != "" {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+quotedStringContent(portolan.ErrorMessage(err))+`"`)
			}
			return err
		}
		if p == nil {
			return portolan.Errorf(portolan.EINTERNAL, "Internal error.")
		}
		// The verifier already refuses tokens without the permission
		// (portolan.TokenVerifier); checking again costs nothing and keeps a
		// lenient verifier from opening the API.
		if !p.HasPermission(portolan.PermissionThreatIntelligenceRead) {
			s.logger.LogAttrs(r.Context(), slog.LevelWarn, "token refused",
				slog.String("request-id", stateOf(r.Context()).id), slog.String("reason", "no "+portolan.PermissionThreatIntelligenceRead+" in scp or roles"), slog.String("subject", p.Subject))
			s.observer.TokenRefused("permission")
			return portolan.Errorf(portolan.EFORBIDDEN, "Missing permission on the request. API requires '%s'.", portolan.PermissionThreatIntelligenceRead)
		}
		stateOf(r.Context()).subject = p.Subject
		if err := s.limits.allow(w, p, s.now()); err != nil {
			return err
		}
		next.ServeHTTP(w, r.WithContext(portolan.NewContextWithPrincipal(r.Context(), p)))
		return nil
	})
}

// bearerToken returns the token of an "Authorization: Bearer <t>" header
// (the scheme is case-insensitive, RFC 9110 §11.1), "" for any other header.
func bearerToken(header string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// hasQueryParameter reports whether the raw query has a parameter named
// name (compared case-insensitively, undecoded names included).
func hasQueryParameter(rawQuery, name string) bool {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		key, _, _ := strings.Cut(pair, "=")
		if strings.EqualFold(key, name) {
			return true
		}
	}
	return false
}

// quotedStringContent makes s safe inside an HTTP quoted-string.
func quotedStringContent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
